#include "runtime/http_workers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/thread_kind.hpp"
#include "core/thread_name.hpp"

namespace agentd::runtime {

HttpWorkers::HttpWorkers(size_t max_threads, size_t keep, std::chrono::milliseconds idle_for)
    : max_threads_(std::max<size_t>(max_threads, 1)), keep_(keep), idle_for_(idle_for) {}

HttpWorkers::~HttpWorkers() { shutdown(); }

void HttpWorkers::enqueue(std::function<void()> fn) {
  std::vector<std::thread> ended;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // shutting down: the job (and the connection it holds) is dropped
    ended.swap(ended_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
      threads_.emplace_back([this] {
        core::name_this_thread(core::thread_names::http_worker);
        core::mark_thread_without_fibers();  // it waits for tokens: core/thread_kind.hpp
        work();
      });
      if (threads_.size() == max_threads_) {
        spdlog::warn("http: all {} worker threads started; further connections wait for one", max_threads_);
      }
    }
  }
  ready_.notify_one();
  for (auto& t : ended) t.join();  // each has left work() already: a short join
}

void HttpWorkers::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
    for (auto& t : ended_) threads.push_back(std::move(t));
    ended_.clear();
  }
  ready_.notify_all();
  for (auto& t : threads) t.join();
}

void HttpWorkers::retire_this_thread() {
  const auto self = std::this_thread::get_id();
  auto it = std::find_if(threads_.begin(), threads_.end(), [&](const std::thread& t) { return t.get_id() == self; });
  if (it == threads_.end()) return;  // shutdown() took it: it joins this thread
  ended_.push_back(std::move(*it));
  threads_.erase(it);
}

size_t HttpWorkers::threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void HttpWorkers::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      ++idle_;
      const bool woken = ready_.wait_for(lock, idle_for_, [this] { return !jobs_.empty() || stopping_; });
      --idle_;
      if (!woken && threads_.size() > keep_) {  // idle for idle_for_, and more than keep_ are left
        retire_this_thread();
        return;
      }
      if (jobs_.empty()) {
        if (stopping_) return;  // nothing left
        continue;               // timed out, one of the threads kept
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    // httplib's job serves one connection; its handlers catch their own exceptions, so one that
    // still gets here is httplib's: logged, and the thread goes on serving.
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("http: a connection ended with an exception: {}", e.what());
    } catch (...) {
      spdlog::error("http: a connection ended with an unknown exception");
    }
  }
}

}  // namespace agentd::runtime
