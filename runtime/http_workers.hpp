// The HTTP server's worker threads (httplib's Server::new_task_queue), sized on purpose.
//
// A worker serves one connection while it has a request to read or answer (a streamed answer
// included); between requests the connection is parked without a thread (http_connections.hpp).
// httplib's default pool has max(8, cores - 1) threads, so 8 slow background completions and
// every other client (an interactive chat included) waited for a thread before the engine ever
// saw it.
//
// This pool starts a thread when a job finds none idle, up to `max_threads`. Engine-bound
// requests are bounded per class well below that (HttpGate) and per client (ClientLimit), so what
// is left serves interactive requests, the control API and requests still being read. A thread
// idle for `idle_for` ends while more than `keep` are left: after a burst of 500 connections a
// daemon left running would otherwise hold 500 threads (their stacks and descriptors) for good.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace agentd::runtime {

class HttpWorkers : public httplib::TaskQueue {
 public:
  // What httplib is handed (it deletes its task queue when it stops listening, on its own after
  // an accept error too): forwards to a pool that outlives it, so that the idle-connection poller
  // can still hand it jobs (dropped) instead of touching a deleted queue.
  class Handle : public httplib::TaskQueue {
   public:
    explicit Handle(std::shared_ptr<HttpWorkers> pool) : pool_(std::move(pool)) {}
    void enqueue(std::function<void()> fn) override { pool_->enqueue(std::move(fn)); }
    void shutdown() override { pool_->shutdown(); }

   private:
    std::shared_ptr<HttpWorkers> pool_;
  };

  explicit HttpWorkers(size_t max_threads, size_t keep = 8,
                       std::chrono::milliseconds idle_for = std::chrono::seconds(60));
  ~HttpWorkers() override;

  // Once shutdown() began, a job is dropped unrun (the connection it holds is closed).
  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then joins every thread (httplib calls it when it stops listening).
  void shutdown() override;

  size_t threads() const;

 private:
  void work();

  // Under mutex_: moves the calling thread from threads_ to ended_ (joined later, by enqueue or
  // shutdown: a thread cannot join itself, and must not touch the pool once it may be gone).
  void retire_this_thread();

  const size_t max_threads_;
  const size_t keep_;
  const std::chrono::milliseconds idle_for_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  std::vector<std::thread> threads_;        // guarded by mutex_
  std::vector<std::thread> ended_;          // guarded by mutex_; retired, not yet joined
  size_t idle_ = 0;                         // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
};

}  // namespace agentd::runtime
