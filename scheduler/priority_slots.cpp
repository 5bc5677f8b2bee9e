// PrioritySlots: all of its locking lives in this file (see the contract in the header).
//
// Invariant (under mutex_): if any waiter is queued, every slot is held. release() keeps it by
// handing the slot over instead of freeing it; a waiter queues only when no slot is free.
#include "scheduler/priority_slots.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace agentd::scheduler {

namespace {

using std::chrono::nanoseconds;

constexpr std::size_t class_of(Priority p) {
  return static_cast<std::size_t>(index(p));
}

}  // namespace

std::string_view to_string(AcquireStatus s) {
  switch (s) {
    case AcquireStatus::acquired:
      return "acquired";
    case AcquireStatus::timeout:
      return "timeout";
    case AcquireStatus::cancelled:
      return "cancelled";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// detail::WaitRecorder

namespace detail {

void WaitRecorder::record_acquired(nanoseconds wait) {
  if (wait < nanoseconds::zero()) wait = nanoseconds::zero();
  const auto micros = static_cast<std::uint64_t>(wait.count() / 1000);
  const std::size_t bucket = std::min<std::size_t>(std::bit_width(micros), kBuckets - 1);
  ++buckets_[bucket];
  ++acquisitions_;
  total_wait_ += wait;
  if (wait > max_wait_) max_wait_ = wait;
}

// Upper edge of the bucket holding the q-quantile, capped at the largest wait seen.
nanoseconds WaitRecorder::quantile(double q) const {
  if (acquisitions_ == 0) return nanoseconds::zero();
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(acquisitions_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i + 1 < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(nanoseconds(std::chrono::microseconds(1ULL << i)), max_wait_);
  }
  return max_wait_;
}

WaitStats WaitRecorder::snapshot() const {
  WaitStats s;
  s.acquisitions = acquisitions_;
  s.timeouts = timeouts_;
  s.cancellations = cancellations_;
  s.total_wait = total_wait_;
  s.max_wait = max_wait_;
  s.p50_wait = quantile(0.50);
  s.p99_wait = quantile(0.99);
  return s;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// PrioritySlots

// Runs in the thread/fiber that calls request_stop(). Taking mutex_ orders the wake-up after the
// waiter's own stop check, so it cannot be lost. The std::stop_callback owning this is destroyed
// before the Waiter, and its destructor waits for a running callback, so `waiter` is alive
// whenever this runs. That wait is skipped when the callback runs on the destroying OS thread
// (libstdc++ compares thread ids), i.e. in another fiber of that thread; it is still safe
// because this callback never suspends its fiber: a fiber of the same thread cannot be
// half-way through it. This is why mutex_ must not be a boost::fibers::mutex.
struct PrioritySlots::WakeOnStop {
  PrioritySlots* slots;
  Waiter* waiter;
  void operator()() const noexcept {
    Lock lock(slots->mutex_);
    waiter->wake.notify_one();
  }
};

PrioritySlots::PrioritySlots(std::size_t capacity, PrioritySlotsOptions options)
    : capacity_(capacity),
      aging_(options.aging),
      now_(options.now ? std::move(options.now)
                       : std::function<SteadyTime()>([] { return std::chrono::steady_clock::now(); })) {
  if (capacity_ == 0) throw std::invalid_argument("PrioritySlots: capacity must be at least 1");
}

PrioritySlots::~PrioritySlots() {
  for ([[maybe_unused]] const auto& queue : queues_) assert(queue.empty() && "waiters outlive lock");
}

AcquireStatus PrioritySlots::acquire(Priority priority, std::optional<SteadyTime> deadline,
                                     std::stop_token stop, QueuePlace place) {
  Waiter self(priority, place);
  // Registered before locking: if stop was already requested, the callback runs right here.
  std::stop_callback<WakeOnStop> on_stop(stop, WakeOnStop{this, &self});
  Lock lock(mutex_);  // declared after on_stop, so unlocked before on_stop is deregistered
  if (stop.stop_requested()) return give_up(self, AcquireStatus::cancelled);
  if (held_ < capacity_) {
    take_free_slot(priority);
    return AcquireStatus::acquired;
  }
  return wait_for_grant(lock, self, deadline, stop);
}

bool PrioritySlots::try_acquire(Priority priority) {
  Lock lock(mutex_);
  if (held_ == capacity_) return false;
  take_free_slot(priority);
  return true;
}

void PrioritySlots::release() {
  Lock lock(mutex_);
  assert(held_ > 0 && "release() without a held slot");
  if (!has_waiters()) {
    --held_;
    return;
  }
  const SteadyTime now = now_();
  grant_to(*best_waiter(now), now);  // the slot changes hands; held_ stays the same
}

std::size_t PrioritySlots::held() const {
  Lock lock(mutex_);
  return held_;
}

std::size_t PrioritySlots::waiting(Priority priority) const {
  Lock lock(mutex_);
  return queues_[class_of(priority)].size();
}

WaitStats PrioritySlots::stats(Priority priority) const {
  Lock lock(mutex_);
  return recorders_[class_of(priority)].snapshot();
}

// Requires mutex_ held and no free slot. Queues `self` and sleeps until granted, timed out or
// cancelled; only a release() that picks `self`, or a stop request, notifies it.
AcquireStatus PrioritySlots::wait_for_grant(Lock& lock, Waiter& self, std::optional<SteadyTime> deadline,
                                            const std::stop_token& stop) {
  self.since = now_();
  self.ticket = next_ticket_++;
  // Waiters that yield to newcomers are the queue's tail; a newcomer goes in before them.
  auto& queue = queues_[class_of(self.priority)];
  auto at = queue.end();
  if (self.place == QueuePlace::in_arrival_order) {
    while (at != queue.begin() && std::prev(at)->place == QueuePlace::after_newcomers) --at;
  }
  queue.insert(at, self);
  while (!self.granted) {
    if (stop.stop_requested()) return give_up(self, AcquireStatus::cancelled);
    if (!deadline) {
      self.wake.wait(lock);
    } else if (self.wake.wait_until(lock, *deadline) == boost::fibers::cv_status::timeout && !self.granted) {
      return give_up(self, AcquireStatus::timeout);
    }
  }
  return AcquireStatus::acquired;
}

// Requires mutex_ held. Leaves the queue (if queued) and counts the outcome.
AcquireStatus PrioritySlots::give_up(Waiter& self, AcquireStatus why) {
  if (self.is_linked()) {
    auto& queue = queues_[class_of(self.priority)];
    queue.erase(queue.iterator_to(self));
  }
  auto& recorder = recorders_[class_of(self.priority)];
  if (why == AcquireStatus::timeout) recorder.record_timeout();
  if (why == AcquireStatus::cancelled) recorder.record_cancelled();
  return why;
}

// Requires mutex_ held and at least one waiter. The head of each class queue is that class's
// longest waiter, hence its most urgent; the best of the three heads wins.
PrioritySlots::Waiter* PrioritySlots::best_waiter(SteadyTime now) {
  Waiter* best = nullptr;
  int best_class = kPriorityClasses;
  for (auto& queue : queues_) {
    if (queue.empty()) continue;
    Waiter& head = queue.front();
    const int cls = effective_class(head, now);
    if (best == nullptr || cls < best_class || (cls == best_class && waited_longer(head, *best))) {
      best = &head;
      best_class = cls;
    }
  }
  return best;
}

bool PrioritySlots::waited_longer(const Waiter& a, const Waiter& b) {
  return a.since != b.since ? a.since < b.since : a.ticket < b.ticket;
}

bool PrioritySlots::has_waiters() const {
  return std::any_of(queues_.begin(), queues_.end(), [](const auto& q) { return !q.empty(); });
}

// Requested class minus one per whole aging interval waited, never to interactive (aged_class).
int PrioritySlots::effective_class(const Waiter& w, SteadyTime now) const {
  if (aging_ <= std::chrono::steady_clock::duration::zero()) return index(w.priority);
  return aged_class(w.priority, (now - w.since) / aging_);
}

// Requires mutex_ held. Notifies while still holding mutex_: once unlocked, the waiter may
// return and destroy its condition variable.
void PrioritySlots::grant_to(Waiter& w, SteadyTime now) {
  auto& queue = queues_[class_of(w.priority)];
  queue.erase(queue.iterator_to(w));
  w.granted = true;
  recorders_[class_of(w.priority)].record_acquired(now - w.since);
  w.wake.notify_one();
}

// Requires mutex_ held and a free slot.
void PrioritySlots::take_free_slot(Priority priority) {
  ++held_;
  recorders_[class_of(priority)].record_acquired(nanoseconds::zero());
}

// ---------------------------------------------------------------------------------------------
// SlotGuard

SlotGuard::SlotGuard(PrioritySlots& slots, Priority priority, std::optional<SteadyTime> deadline,
                     std::stop_token stop)
    : slots_(nullptr), status_(slots.acquire(priority, deadline, std::move(stop))) {
  if (status_ == AcquireStatus::acquired) slots_ = &slots;
}

SlotGuard::SlotGuard(SlotGuard&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)), status_(other.status_) {}

SlotGuard& SlotGuard::operator=(SlotGuard&& other) noexcept {
  if (this != &other) {
    release();
    slots_ = std::exchange(other.slots_, nullptr);
    status_ = other.status_;
  }
  return *this;
}

void SlotGuard::release() {
  if (slots_ != nullptr) std::exchange(slots_, nullptr)->release();
}

}  // namespace agentd::scheduler
