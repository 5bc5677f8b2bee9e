#include "runtime/http_workers.hpp"

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"

namespace agentd::runtime {

HttpWorkers::HttpWorkers(size_t max_threads) : max_threads_(std::max<size_t>(max_threads, 1)) {}

HttpWorkers::~HttpWorkers() { shutdown(); }

void HttpWorkers::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // shutting down: the job (and the connection it holds) is dropped
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
      threads_.emplace_back([this] {
        core::name_this_thread(core::thread_names::http_worker);
        work();
      });
      if (threads_.size() == max_threads_) {
        spdlog::warn("http: all {} worker threads started; further connections wait for one", max_threads_);
      }
    }
  }
  ready_.notify_one();
}

void HttpWorkers::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  ready_.notify_all();
  for (auto& t : threads) t.join();
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
      ready_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
      --idle_;
      if (jobs_.empty()) return;  // stopping, nothing left
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
