// PriorityScheduling: one FIFO ready queue per priority class (see the contract in the header).
//
// Every member but notify() runs on the algorithm's own thread, inside Boost.Fiber's scheduler,
// so the ready queues need no lock. mutex_ guards only the wake-up flag shared with notify().
#include "scheduler/fiber_priority.hpp"

#include <algorithm>

#include <boost/fiber/type.hpp>

namespace agentd::scheduler {

namespace {

using boost::fibers::context;

// Boost's dispatcher context is queued as interactive: it is what moves fibers woken by timers
// or by other threads into the ready queues, so it must not wait behind ready fibers.
int queue_index(const context* ctx, const FiberClass& props) {
  if (ctx->is_context(boost::fibers::type::dispatcher_context)) return index(Priority::interactive);
  return index(props.priority());
}

}  // namespace

void FiberClass::set_priority(Priority p) {
  if (p == priority_) return;
  priority_ = p;
  notify();  // Boost.Fiber forwards to PriorityScheduling::property_change()
}

void PriorityScheduling::awakened(context* ctx, FiberClass& props) noexcept {
  ctx->ready_link(ready_[queue_index(ctx, props)]);
}

context* PriorityScheduling::pick_next() noexcept {
  for (auto& queue : ready_) {
    if (queue.empty()) continue;
    context* next = &queue.front();
    queue.pop_front();
    return next;
  }
  return nullptr;
}

bool PriorityScheduling::has_ready_fibers() const noexcept {
  return std::any_of(std::begin(ready_), std::end(ready_), [](const ReadyQueue& q) { return !q.empty(); });
}

// A fiber that is not ready (running, blocked, sleeping) picks up its new class the next time
// it is awakened; a ready one moves to the back of its new class now.
void PriorityScheduling::property_change(context* ctx, FiberClass& props) noexcept {
  if (!ctx->ready_is_linked()) return;
  ctx->ready_unlink();
  awakened(ctx, props);
}

void PriorityScheduling::suspend_until(std::chrono::steady_clock::time_point const& until) noexcept {
  std::unique_lock lock(mutex_);
  if (until == std::chrono::steady_clock::time_point::max()) {
    wake_.wait(lock, [this] { return notified_; });
  } else {
    wake_.wait_until(lock, until, [this] { return notified_; });
  }
  notified_ = false;
}

// Called from any thread. Notifies with mutex_ held (unlike round_robin): the woken thread
// cannot get past the mutex, exit and destroy wake_ while this call still uses it.
void PriorityScheduling::notify() noexcept {
  std::lock_guard lock(mutex_);
  notified_ = true;
  wake_.notify_all();
}

}  // namespace agentd::scheduler
