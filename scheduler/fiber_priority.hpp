// The agent thread's Boost.Fiber scheduling algorithm: ready fibers run by priority class
// (interactive > tool > background), FIFO inside a class. A fiber's class is a property
// (`FiberClass`); changing it while the fiber is ready re-queues it at the back of its new class
// (Boost.Fiber calls property_change()). Fibers that never set a class (the main fiber, the
// dispatcher loop) run as `tool`, so an interactive agent fiber goes first and background ones
// wait. Boost's own internal dispatcher context (which moves fibers woken by timers or by other
// threads into the ready queues) is queued as `interactive`, at the back: otherwise a ready
// interactive fiber that only yields would keep an interactive fiber that is being woken out of
// the ready queues. Idle: the thread sleeps in suspend_until() until a fiber is woken from any
// thread (notify()), like boost::fibers::algo::round_robin (which notifies after unlocking; this
// one notifies with its mutex held, so a waking thread cannot destroy the condition variable
// while notify() still uses it).
// Strict priority: a lower class runs only when no fiber of a higher class is ready.
// Threads: set_priority() must be called on the thread the fiber runs on (the algorithm's
// queues are that thread's); notify() is the only member called from other threads.
//
// Install once per thread, before that thread launches any fiber:
//   boost::fibers::use_scheduling_algorithm<agentd::scheduler::PriorityScheduling>();
// Set a fiber's class from inside it or before it first runs:
//   boost::this_fiber::properties<FiberClass>().set_priority(Priority::interactive);
//   boost::fibers::fiber f(boost::fibers::launch::post, fn);  // queued, so it has properties
//   f.properties<FiberClass>().set_priority(Priority::background);
// (A fiber launched with launch::dispatch has no properties until it is first queued.)
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/properties.hpp>
#include <boost/fiber/scheduler.hpp>

#include "scheduler/priority.hpp"

namespace agentd::scheduler {

class FiberClass : public boost::fibers::fiber_properties {
 public:
  explicit FiberClass(boost::fibers::context* ctx) : fiber_properties(ctx) {}
  Priority priority() const { return priority_; }
  // Re-queues the fiber if it is ready and the class changed.
  void set_priority(Priority p);

 private:
  Priority priority_ = Priority::tool;
};

class PriorityScheduling : public boost::fibers::algo::algorithm_with_properties<FiberClass> {
 public:
  PriorityScheduling() = default;
  PriorityScheduling(const PriorityScheduling&) = delete;
  PriorityScheduling& operator=(const PriorityScheduling&) = delete;

  void awakened(boost::fibers::context* ctx, FiberClass& props) noexcept override;
  boost::fibers::context* pick_next() noexcept override;
  bool has_ready_fibers() const noexcept override;
  void property_change(boost::fibers::context* ctx, FiberClass& props) noexcept override;
  void suspend_until(std::chrono::steady_clock::time_point const& until) noexcept override;
  void notify() noexcept override;

 private:
  using ReadyQueue = boost::fibers::scheduler::ready_queue_type;
  ReadyQueue ready_[kPriorityClasses];
  std::mutex mutex_;
  std::condition_variable wake_;
  bool notified_ = false;  // GUARDED_BY(mutex_)
};

}  // namespace agentd::scheduler
