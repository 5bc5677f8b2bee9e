// PrioritySlots: a fiber-aware counting lock (N holders) granted by priority class.
//
// Contract
// - `capacity` slots. A caller asks for one slot with a Priority; slots are granted to waiters
//   in order of effective class (interactive > tool > background), FIFO inside a class.
// - Aging (options.aging > 0): a waiter that has waited k whole aging intervals counts as k
//   classes more urgent, up to tool: only a waiter that asked for interactive ranks as one
//   (aged_class in priority.hpp); a tie in effective class goes to the waiter that has waited
//   longer (then to the earlier arrival). Computed when a slot is granted, from
//   options.now, so no timers run.
// - Direct handoff: release() gives the freed slot straight to the best waiter and wakes only
//   that waiter. A newcomer never overtakes a queued waiter (try_acquire fails while anyone
//   waits, because every slot is then held), except one that queued with
//   QueuePlace::after_newcomers: a holder that was preempted and asks again, yielding to
//   waiters of its own class that arrive while it waits (FIFO among such waiters). It gives up
//   its place in its class, not its class.
// - acquire() returns a value, never throws for an expected outcome:
//     acquired  - the caller holds one slot and must release() it (or use SlotGuard);
//     timeout   - `deadline` (real steady_clock time) passed before a slot was granted;
//     cancelled - `stop` was requested before or while waiting.
//   If a grant races with a timeout or a stop request, the grant wins: the result is acquired.
//   A deadline already in the past still takes a free slot; a stop already requested does not.
// - Works from fibers (any launch policy, any scheduling algorithm, several threads) and from
//   plain threads: waiting suspends only the calling fiber (on a plain thread, the thread).
//   Slots have no owner: release() may come from another fiber or thread than acquire().
// - Statistics per requested class: acquisitions (try_acquire successes included, waiting 0),
//   timeouts, cancellations, and wait time of acquisitions measured with options.now.
//   p50/p99 are upper bounds: the upper edge of a log2 bucket of microseconds, capped at the
//   largest wait seen.
// - options.now must be thread-safe, must not block and must be monotonic; it is called with
//   the internal mutex held. The object must outlive every call on it; destroying it while a
//   caller waits or holds a slot is a programmer error.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string_view>

#include <boost/fiber/condition_variable.hpp>
#include <boost/intrusive/list.hpp>

#include "scheduler/priority.hpp"

namespace agentd::scheduler {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class AcquireStatus { acquired, timeout, cancelled };

// Where a waiter queues inside its class (see the contract).
enum class QueuePlace { in_arrival_order, after_newcomers };

std::string_view to_string(AcquireStatus s);

struct PrioritySlotsOptions {
  // Zero turns aging off.
  std::chrono::steady_clock::duration aging{0};
  // Clock for aging and wait statistics; tests inject a fake one. Empty = steady_clock::now.
  std::function<SteadyTime()> now = [] { return std::chrono::steady_clock::now(); };
};

struct WaitStats {
  std::uint64_t acquisitions = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t cancellations = 0;
  std::chrono::nanoseconds total_wait{0};
  std::chrono::nanoseconds max_wait{0};
  std::chrono::nanoseconds p50_wait{0};  // upper bound, see contract
  std::chrono::nanoseconds p99_wait{0};  // upper bound, see contract
};

namespace detail {

// Wait times of one priority class: counters plus a log2 histogram of microseconds.
// Bucket 0 holds waits below 1 us, bucket i holds [2^(i-1), 2^i) us, the last one the rest.
class WaitRecorder {
 public:
  void record_acquired(std::chrono::nanoseconds wait);
  void record_timeout() { ++timeouts_; }
  void record_cancelled() { ++cancellations_; }
  WaitStats snapshot() const;

 private:
  static constexpr std::size_t kBuckets = 40;  // last bucket starts at 2^38 us (~3 days)
  std::chrono::nanoseconds quantile(double q) const;

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t acquisitions_ = 0;
  std::uint64_t timeouts_ = 0;
  std::uint64_t cancellations_ = 0;
  std::chrono::nanoseconds total_wait_{0};
  std::chrono::nanoseconds max_wait_{0};
};

}  // namespace detail

class PrioritySlots {
 public:
  // Throws std::invalid_argument if capacity is 0.
  explicit PrioritySlots(std::size_t capacity, PrioritySlotsOptions options = {});
  PrioritySlots(const PrioritySlots&) = delete;
  PrioritySlots& operator=(const PrioritySlots&) = delete;
  ~PrioritySlots();

  // Waits for a slot until granted, `deadline` passes, or `stop` is requested.
  AcquireStatus acquire(Priority priority, std::optional<SteadyTime> deadline = {},
                        std::stop_token stop = {}, QueuePlace place = QueuePlace::in_arrival_order);
  // Takes a slot only if one is free now (so never while someone waits).
  bool try_acquire(Priority priority);
  // Gives one held slot back: to the best waiter if any, else to the free pool.
  void release();

  std::size_t capacity() const { return capacity_; }
  std::size_t held() const;
  std::size_t waiting(Priority priority) const;
  WaitStats stats(Priority priority) const;

 private:
  // One caller blocked in acquire(); lives on that caller's stack while it is queued.
  // since, ticket and granted are guarded by mutex_; `wake` synchronises itself.
  struct Waiter : boost::intrusive::list_base_hook<> {
    Waiter(Priority p, QueuePlace q) : priority(p), place(q) {}
    const Priority priority;
    const QueuePlace place;
    SteadyTime since{};                          // when it queued, from now_
    std::uint64_t ticket = 0;                    // arrival order; breaks ties of `since`
    bool granted = false;                        // set by the release() that hands this waiter its slot
    boost::fibers::condition_variable_any wake;  // notified on grant or stop request only
  };
  struct WakeOnStop;
  using WaiterQueue = boost::intrusive::list<Waiter>;
  using Lock = std::unique_lock<std::mutex>;

  AcquireStatus wait_for_grant(Lock& lock, Waiter& self, std::optional<SteadyTime> deadline,
                               const std::stop_token& stop);
  AcquireStatus give_up(Waiter& self, AcquireStatus why);
  Waiter* best_waiter(SteadyTime now);
  static bool waited_longer(const Waiter& a, const Waiter& b);
  bool has_waiters() const;
  int effective_class(const Waiter& w, SteadyTime now) const;
  void grant_to(Waiter& w, SteadyTime now);
  void take_free_slot(Priority priority);

  const std::size_t capacity_;
  const std::chrono::steady_clock::duration aging_;
  const std::function<SteadyTime()> now_;

  // Guards the bookkeeping only, for well under a microsecond, and is never held across a
  // fiber switch: waiting for a slot suspends the fiber on Waiter::wake, which releases the
  // mutex first. So a plain mutex is safe here, and better than boost::fibers::mutex:
  // - no FIFO lock convoy when plain threads contend (4-40x faster in the thread tests);
  // - ThreadSanitizer sees it (boost::fibers::mutex lives in the uninstrumented libboost_fiber);
  // - the stop callback never suspends while taking it, which std::stop_callback needs (see
  //   WakeOnStop in the .cpp).
  mutable std::mutex mutex_;
  // All members below are guarded by mutex_.
  std::size_t held_ = 0;                                          // slots currently held
  std::uint64_t next_ticket_ = 0;                                 // arrival order of waiters
  std::array<WaiterQueue, kPriorityClasses> queues_;              // FIFO per requested class
  std::array<detail::WaitRecorder, kPriorityClasses> recorders_;  // per requested class
};

// Holds one slot for a scope. Check owns() (or the status) before relying on the slot.
class SlotGuard {
 public:
  SlotGuard(PrioritySlots& slots, Priority priority, std::optional<SteadyTime> deadline = {},
            std::stop_token stop = {});
  SlotGuard(SlotGuard&& other) noexcept;
  SlotGuard& operator=(SlotGuard&& other) noexcept;
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  ~SlotGuard() { release(); }

  AcquireStatus status() const { return status_; }
  bool owns() const { return slots_ != nullptr; }
  explicit operator bool() const { return owns(); }
  // Releases early; a no-op if the guard owns nothing.
  void release();

 private:
  PrioritySlots* slots_;  // null when not owning a slot
  AcquireStatus status_;
};

}  // namespace agentd::scheduler
