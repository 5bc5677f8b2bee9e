// BlockingPool: a fixed set of threads for calls that block their thread (a network transfer),
// so a fiber can wait for one while the other fibers of its thread go on.
//
// run() queues `job` and waits until it returns, `stop` is requested, or `deadline` passes; a
// fiber waits fiber-aware, a plain thread blocks. On cancellation or timeout, run() requests
// stop on the job's own token and returns at once: the job keeps its pool thread until it
// returns, so a job that ignores its token costs one of the pool's threads, never a new one,
// and the pool's size bounds how many blocking calls run at a time (the rest queue).
// An exception thrown by the job is rethrown by run().
//
// The job may outlive run() (cancelled, timed out): it must own what it uses (capture by value).
// The destructor requests stop on every job, running or queued, and joins the threads, so jobs
// must return once their token says stop (a read timeout at worst).
//
// Locking follows priority_slots (README.md, "Locking design"): std::mutex never held across a
// fiber switch, a fibers condition_variable_any for the waiting caller.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

namespace agentd::scheduler {

enum class BlockingStatus { done, cancelled, timeout };

class BlockingPool {
 public:
  using Clock = std::chrono::steady_clock;
  using Job = std::function<void(std::stop_token)>;

  explicit BlockingPool(std::size_t threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  BlockingStatus run(Job job, std::stop_token stop, Clock::time_point deadline);

  std::size_t threads() const { return threads_.size(); }

 private:
  struct Call;
  void worker();

  std::mutex mutex_;
  std::condition_variable work_;           // plain threads only wait here
  std::deque<std::shared_ptr<Call>> queue_;  // guarded by mutex_
  std::vector<std::shared_ptr<Call>> running_;  // guarded by mutex_
  bool stopping_ = false;                  // guarded by mutex_
  std::vector<std::thread> threads_;       // last: started after the rest exists
};

const char* to_string(BlockingStatus s);

}  // namespace agentd::scheduler
