#include "scheduler/blocking_pool.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>

#include <boost/fiber/condition_variable.hpp>

#include "core/thread_name.hpp"

namespace agentd::scheduler {

// One queued call, shared by the caller (who may stop waiting) and the thread running it.
struct BlockingPool::Call {
  Job job;
  std::stop_source stop;
  std::mutex mutex;
  boost::fibers::condition_variable_any ended_cv;
  bool ran = false;         // set by the worker before end()
  bool ended = false;       // guarded by mutex
  std::exception_ptr error;  // guarded by mutex

  // Notified under the lock: the caller cannot see `ended` and return before notify_all has
  // returned. Otherwise its thread could end and destroy its fiber scheduler while notify_all
  // was still waking it there (TSan saw pthread_cond_destroy race the broadcast).
  void end(std::exception_ptr e) {
    std::lock_guard lock(mutex);
    ended = true;
    error = std::move(e);
    ended_cv.notify_all();
  }
};

namespace {

// Wakes the waiting caller when its stop is requested (possibly from another thread); locking
// first means the wake cannot fall between the caller's check and its wait.
struct WakeCaller {
  std::mutex* mutex;
  boost::fibers::condition_variable_any* cv;
  void operator()() const noexcept {
    { std::lock_guard lock(*mutex); }
    cv->notify_all();
  }
};

}  // namespace

BlockingPool::BlockingPool(std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("BlockingPool: at least one thread");
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      core::name_this_thread(core::thread_names::blocking);
      worker();
    });
  }
}

BlockingPool::~BlockingPool() {
  std::deque<std::shared_ptr<Call>> never_started;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    never_started.swap(queue_);
    for (const auto& call : running_) call->stop.request_stop();
  }
  work_.notify_all();
  for (const auto& call : never_started) {
    call->stop.request_stop();
    call->end(nullptr);
  }
  for (std::thread& t : threads_) t.join();
}

BlockingStatus BlockingPool::run(Job job, std::stop_token stop, Clock::time_point deadline) {
  auto call = std::make_shared<Call>();
  call->job = std::move(job);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw std::logic_error("BlockingPool::run after the pool began shutting down");
    queue_.push_back(call);
  }
  work_.notify_one();
  // Registered before locking: if stop was already requested, the callback runs right here.
  std::stop_callback<WakeCaller> on_stop(stop, WakeCaller{&call->mutex, &call->ended_cv});
  std::unique_lock lock(call->mutex);  // after on_stop, so unlocked before it is deregistered
  bool ended = call->ended_cv.wait_until(lock, deadline, [&] { return call->ended || stop.stop_requested(); });
  if (call->ended) {
    if (call->error) std::rethrow_exception(call->error);
    return call->ran ? BlockingStatus::done : BlockingStatus::cancelled;  // not run: the pool shut down
  }
  lock.unlock();
  call->stop.request_stop();  // the job learns it through its token; its thread stays busy until it returns
  return ended ? BlockingStatus::cancelled : BlockingStatus::timeout;
}

void BlockingPool::worker() {
  for (;;) {
    std::shared_ptr<Call> call;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      call = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(call);
    }
    std::exception_ptr error;
    if (!call->stop.stop_requested()) {
      call->ran = true;
      try {
        call->job(call->stop.get_token());
      } catch (...) {
        error = std::current_exception();
      }
    }
    {
      std::lock_guard lock(mutex_);
      running_.erase(std::find(running_.begin(), running_.end(), call));
    }
    call->end(error);
  }
}

const char* to_string(BlockingStatus s) {
  switch (s) {
    case BlockingStatus::done: return "done";
    case BlockingStatus::cancelled: return "cancelled";
    case BlockingStatus::timeout: return "timeout";
  }
  return "?";
}

}  // namespace agentd::scheduler
