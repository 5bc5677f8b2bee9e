// Many contenders at once: no lost wake-ups, never more holders than slots, and fibers and
// plain threads waking each other.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/fiber/fiber.hpp>

#include "scheduler/priority_lock.hpp"
#include "slots_test_support.hpp"

namespace agentd::scheduler::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using ::testing::ElementsAre;

class ContentionTest : public PrioritySlotsTest {};

// Counts what the contenders saw; the holder count is checked against the capacity.
struct HammerTally {
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::atomic<long> acquired{0};
  std::atomic<long> timed_out{0};

  void enter() {
    const int now_inside = ++inside;
    int seen = max_inside.load();
    while (now_inside > seen && !max_inside.compare_exchange_weak(seen, now_inside)) {
    }
  }
  void leave() {
    --inside;
    ++acquired;
  }
};

// Every 8th attempt carries a 50 us deadline so timeouts race with grants.
void hammer(Scenario& scenario, PrioritySlots& slots, HammerTally& tally, int actor, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    const auto priority = static_cast<Priority>((actor + i) % kPriorityClasses);
    std::optional<SteadyTime> deadline;
    if (i % 8 == 0) deadline = steady_clock::now() + 50us;
    const AcquireStatus status = slots.acquire(priority, deadline);
    if (status == AcquireStatus::timeout) {
      ++tally.timed_out;
      continue;
    }
    ASSERT_EQ(status, AcquireStatus::acquired);
    tally.enter();
    if (i % 4 == 0) scenario.yield();  // hold the slot across a switch now and then
    tally.leave();
    slots.release();
  }
}

TEST_P(ContentionTest, HammeringLosesNoWakeUpAndNeverExceedsCapacity) {
  const int actors = scenario.uses_fibers() ? 64 : 8;
  const int rounds = scenario.uses_fibers() ? 200 : 400;
  for (std::size_t capacity : {1u, 3u}) {
    SCOPED_TRACE(::testing::Message() << "capacity " << capacity);
    PrioritySlots slots(capacity);
    HammerTally tally;
    scenario.run([&] {
      for (int a = 0; a < actors; ++a) {
        scenario.spawn([&, a] { hammer(scenario, slots, tally, a, rounds); });
      }
    });
    EXPECT_EQ(tally.acquired + tally.timed_out, long{actors} * rounds);
    EXPECT_LE(tally.max_inside, static_cast<int>(capacity));
    EXPECT_EQ(slots.held(), 0u);
    long stats_acquired = 0, stats_timeouts = 0;
    for (Priority p : {Priority::interactive, Priority::tool, Priority::background}) {
      EXPECT_EQ(slots.waiting(p), 0u);
      stats_acquired += static_cast<long>(slots.stats(p).acquisitions);
      stats_timeouts += static_cast<long>(slots.stats(p).timeouts);
    }
    EXPECT_EQ(stats_acquired, tally.acquired);
    EXPECT_EQ(stats_timeouts, tally.timed_out);
  }
}

AGENTD_INSTANTIATE_FOR_ALL_MODES(ContentionTest);

// Fibers on one thread wait; a plain thread holds the lock and releases it.
TEST(MixedFibersAndThreads, PlainThreadReleaseWakesFibersInClassOrder) {
  Watchdog watchdog(std::chrono::seconds(60));
  PriorityLock lock;
  Journal journal;
  ASSERT_EQ(lock.acquire(Priority::interactive), AcquireStatus::acquired);
  std::thread fiber_thread([&] {
    Scenario fibers(Mode::fibers_post);
    fibers.run([&] {
      queue_recorder(fibers, lock, Priority::background, "bg", journal);
      queue_recorder(fibers, lock, Priority::tool, "tool", journal);
      queue_recorder(fibers, lock, Priority::interactive, "int", journal);
    });
  });
  while (lock.waiting(Priority::interactive) == 0) std::this_thread::yield();
  lock.release();
  fiber_thread.join();
  EXPECT_THAT(journal.entries(), ElementsAre("int", "tool", "bg"));
  EXPECT_EQ(lock.held(), 0u);
}

// Plain threads wait; a fiber on another thread holds the lock and releases it.
TEST(MixedFibersAndThreads, FiberReleaseWakesPlainThreadsInClassOrder) {
  Watchdog watchdog(std::chrono::seconds(60));
  PriorityLock lock;
  Journal journal;
  std::atomic<bool> fiber_holds{false}, all_queued{false};
  std::thread fiber_thread([&] {
    boost::fibers::fiber holder([&] {
      EXPECT_EQ(lock.acquire(Priority::background), AcquireStatus::acquired);
      fiber_holds = true;
      while (!all_queued) boost::this_fiber::yield();
      lock.release();
    });
    holder.join();
  });
  while (!fiber_holds) std::this_thread::yield();
  Scenario threads(Mode::plain_threads);
  threads.run([&] {
    queue_recorder(threads, lock, Priority::tool, "tool", journal);
    queue_recorder(threads, lock, Priority::background, "bg", journal);
    queue_recorder(threads, lock, Priority::interactive, "int", journal);
    all_queued = true;
  });
  fiber_thread.join();
  EXPECT_THAT(journal.entries(), ElementsAre("int", "tool", "bg"));
  EXPECT_EQ(lock.held(), 0u);
}

}  // namespace
}  // namespace agentd::scheduler::testing
