// How a wait ends: timeout at a real deadline, cancellation through std::stop_token, the RAII
// guard, and the per-class statistics that count all of it.
#include <atomic>
#include <chrono>
#include <stop_token>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scheduler/priority_lock.hpp"
#include "slots_test_support.hpp"

namespace agentd::scheduler::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using ::testing::ElementsAre;

class WaitOutcomeTest : public PrioritySlotsTest {};

TEST_P(WaitOutcomeTest, TimesOutAtRealDeadlineWithoutTakingTheSlot) {
  PriorityLock lock;
  std::atomic<bool> done{false};
  AcquireStatus status = AcquireStatus::acquired;
  steady_clock::duration waited{};
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::interactive), AcquireStatus::acquired);
    scenario.spawn([&] {
      const auto start = steady_clock::now();
      status = lock.acquire(Priority::tool, start + 30ms);
      waited = steady_clock::now() - start;
      done = true;
    });
    scenario.wait_until([&] { return done.load(); });
    EXPECT_EQ(lock.waiting(Priority::tool), 0u);
    EXPECT_EQ(lock.held(), 1u);
    lock.release();
  });
  EXPECT_EQ(status, AcquireStatus::timeout);
  EXPECT_GE(waited, 30ms);
  EXPECT_EQ(lock.held(), 0u);
  EXPECT_EQ(lock.stats(Priority::tool).timeouts, 1u);
  EXPECT_EQ(lock.stats(Priority::tool).acquisitions, 0u);
}

TEST_P(WaitOutcomeTest, PastDeadlineTakesAFreeSlotButDoesNotWaitForAHeldOne) {
  PriorityLock lock;
  scenario.run([&] {
    const auto past = steady_clock::now() - 1s;
    EXPECT_EQ(lock.acquire(Priority::tool, past), AcquireStatus::acquired);
    EXPECT_EQ(lock.acquire(Priority::interactive, past), AcquireStatus::timeout);
    lock.release();
  });
  EXPECT_EQ(lock.held(), 0u);
}

TEST_P(WaitOutcomeTest, StopRequestCancelsOnlyThatWaiter) {
  PriorityLock lock;
  Journal journal;
  std::stop_source stop;
  std::atomic<bool> cancelled_done{false};
  AcquireStatus cancelled_status = AcquireStatus::acquired;
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::interactive), AcquireStatus::acquired);
    scenario.spawn([&] {
      cancelled_status = lock.acquire(Priority::tool, std::nullopt, stop.get_token());
      cancelled_done = true;
    });
    scenario.wait_until([&] { return lock.waiting(Priority::tool) == 1; });
    queue_recorder(scenario, lock, Priority::background, "bg", journal);
    // Another actor requests the stop, so the callback runs outside the waiter.
    scenario.spawn([&] { stop.request_stop(); });
    scenario.wait_until([&] { return cancelled_done.load(); });
    EXPECT_EQ(lock.waiting(Priority::tool), 0u);
    EXPECT_EQ(lock.waiting(Priority::background), 1u);
    lock.release();
  });
  EXPECT_EQ(cancelled_status, AcquireStatus::cancelled);
  EXPECT_THAT(journal.entries(), ElementsAre("bg"));
  EXPECT_EQ(lock.held(), 0u);
  EXPECT_EQ(lock.stats(Priority::tool).cancellations, 1u);
}

TEST_P(WaitOutcomeTest, StopRequestedBeforehandCancelsEvenWhenASlotIsFree) {
  PriorityLock lock;
  std::stop_source stop;
  stop.request_stop();
  scenario.run([&] {
    EXPECT_EQ(lock.acquire(Priority::interactive, std::nullopt, stop.get_token()), AcquireStatus::cancelled);
  });
  EXPECT_EQ(lock.held(), 0u);
  EXPECT_EQ(lock.stats(Priority::interactive).cancellations, 1u);
}

TEST_P(WaitOutcomeTest, GuardReleasesAtScopeEndAndOwnsNothingAfterTimeout) {
  PrioritySlots slots(1);
  scenario.run([&] {
    {
      SlotGuard guard(slots, Priority::tool);
      EXPECT_TRUE(guard.owns());
      EXPECT_EQ(guard.status(), AcquireStatus::acquired);
      SlotGuard late(slots, Priority::interactive, steady_clock::now() + 1ms);
      EXPECT_FALSE(late);
      EXPECT_EQ(late.status(), AcquireStatus::timeout);
      SlotGuard moved(std::move(guard));
      EXPECT_FALSE(guard.owns());
      EXPECT_TRUE(moved.owns());
      EXPECT_EQ(slots.held(), 1u);
    }
    EXPECT_EQ(slots.held(), 0u);
  });
}

TEST_P(WaitOutcomeTest, StatsCountOutcomesAndWaitTimesPerClass) {
  FakeClock clock;
  PriorityLock lock({.now = clock.function()});
  Journal journal;
  std::stop_source stop;
  std::atomic<bool> timed_out{false}, cancelled{false};
  scenario.run([&] {
    // Tool waiters wait 100 us ten times and 50 ms once (fake clock); interactive never waits.
    for (int i = 0; i < 11; ++i) {
      ASSERT_EQ(lock.acquire(Priority::interactive), AcquireStatus::acquired);
      queue_recorder(scenario, lock, Priority::tool, "tool", journal);
      clock.advance(i < 10 ? std::chrono::nanoseconds(100us) : std::chrono::nanoseconds(50ms));
      lock.release();
    }
    ASSERT_EQ(lock.acquire(Priority::interactive), AcquireStatus::acquired);
    scenario.spawn([&] {
      EXPECT_EQ(lock.acquire(Priority::tool, steady_clock::now() + 1ms), AcquireStatus::timeout);
      timed_out = true;
    });
    scenario.spawn([&] {
      EXPECT_EQ(lock.acquire(Priority::background, std::nullopt, stop.get_token()), AcquireStatus::cancelled);
      cancelled = true;
    });
    scenario.wait_until([&] { return lock.waiting(Priority::background) == 1; });
    stop.request_stop();
    scenario.wait_until([&] { return timed_out && cancelled; });
    lock.release();
  });

  const WaitStats tool = lock.stats(Priority::tool);
  EXPECT_EQ(tool.acquisitions, 11u);
  EXPECT_EQ(tool.timeouts, 1u);
  EXPECT_EQ(tool.cancellations, 0u);
  EXPECT_EQ(tool.total_wait, 10 * 100us + 50ms);
  EXPECT_EQ(tool.max_wait, 50ms);
  EXPECT_EQ(tool.p50_wait, 128us);  // upper edge of the [64, 128) us bucket
  EXPECT_EQ(tool.p99_wait, 50ms);   // capped at the largest wait

  const WaitStats interactive = lock.stats(Priority::interactive);
  EXPECT_EQ(interactive.acquisitions, 12u);
  EXPECT_EQ(interactive.max_wait, 0ns);
  EXPECT_EQ(interactive.p99_wait, 0ns);

  const WaitStats background = lock.stats(Priority::background);
  EXPECT_EQ(background.acquisitions, 0u);
  EXPECT_EQ(background.cancellations, 1u);
  EXPECT_EQ(background.p50_wait, 0ns);
}

AGENTD_INSTANTIATE_FOR_ALL_MODES(WaitOutcomeTest);

}  // namespace
}  // namespace agentd::scheduler::testing
