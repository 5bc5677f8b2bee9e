// Who gets the slot next: class order, FIFO inside a class, aging, direct handoff, N holders.
#include <atomic>
#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scheduler/priority_lock.hpp"
#include "slots_test_support.hpp"

namespace agentd::scheduler::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

class GrantOrderTest : public PrioritySlotsTest {};

TEST_P(GrantOrderTest, GrantsByClassThenFifoInsideClassWhenAgingIsOff) {
  FakeClock clock;
  PriorityLock lock({.aging = {}, .now = clock.function()});
  Journal journal;
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::tool), AcquireStatus::acquired);
    // An hour between arrivals: with aging off, waiting long must not matter.
    for (auto [priority, name] : {std::pair{Priority::background, "bg1"},
                                  {Priority::tool, "tool1"},
                                  {Priority::background, "bg2"},
                                  {Priority::interactive, "int1"},
                                  {Priority::tool, "tool2"},
                                  {Priority::interactive, "int2"}}) {
      queue_recorder(scenario, lock, priority, name, journal);
      clock.advance(1h);
    }
    lock.release();
  });
  EXPECT_THAT(journal.entries(), ElementsAre("int1", "int2", "tool1", "tool2", "bg1", "bg2"));
  EXPECT_EQ(lock.held(), 0u);
}

// A preempted chat asking again lets chats that arrive after it go first (the engine's chat
// turns), yet still outranks lower classes.
TEST_P(GrantOrderTest, WaitersThatYieldGoAfterLaterNewcomersOfTheirClassOnly) {
  FakeClock clock;
  PriorityLock lock({.aging = {}, .now = clock.function()});
  Journal journal;
  constexpr auto yields = QueuePlace::after_newcomers;
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::tool), AcquireStatus::acquired);
    queue_recorder(scenario, lock, Priority::interactive, "int1", journal);
    queue_recorder(scenario, lock, Priority::interactive, "resumed1", journal, yields);
    queue_recorder(scenario, lock, Priority::tool, "tool1", journal);
    queue_recorder(scenario, lock, Priority::interactive, "int2", journal);
    queue_recorder(scenario, lock, Priority::interactive, "resumed2", journal, yields);
    queue_recorder(scenario, lock, Priority::interactive, "int3", journal);
    queue_recorder(scenario, lock, Priority::tool, "resumed_tool", journal, yields);
    queue_recorder(scenario, lock, Priority::tool, "tool2", journal);
    lock.release();
  });
  EXPECT_THAT(journal.entries(),
              ElementsAre("int1", "int2", "int3", "resumed1", "resumed2", "tool1", "tool2", "resumed_tool"));
}

TEST_P(GrantOrderTest, AgingRaisesOneClassPerWholeIntervalAndTiesGoToOlder) {
  FakeClock clock;
  PriorityLock lock({.aging = 10ms, .now = clock.function()});
  Journal journal;
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::interactive), AcquireStatus::acquired);
    queue_recorder(scenario, lock, Priority::background, "bgA", journal);
    clock.advance(10ms);
    queue_recorder(scenario, lock, Priority::tool, "toolB", journal);
    clock.advance(5ms);
    queue_recorder(scenario, lock, Priority::interactive, "intC", journal);
    // Now bgA has waited 15 ms = 1 whole interval: it ranks as tool, and is older than toolB.
    lock.release();
  });
  EXPECT_THAT(journal.entries(), ElementsAre("intC", "bgA", "toolB"));
}

TEST_P(GrantOrderTest, AgingStopsAtToolSoTheUsersChatAlwaysGoesFirst) {
  FakeClock clock;
  PriorityLock lock({.aging = 10ms, .now = clock.function()});
  Journal journal;
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::tool), AcquireStatus::acquired);
    queue_recorder(scenario, lock, Priority::background, "bgV", journal);
    clock.advance(1ms);
    queue_recorder(scenario, lock, Priority::tool, "toolW", journal);
    clock.advance(1ms);
    queue_recorder(scenario, lock, Priority::interactive, "intX", journal);
    clock.advance(60ms);
    // Waited: bgV 62 ms, toolW 61 ms, intX 60 ms: 6 intervals each. bgV ranks as tool, no
    // further, and is older than toolW; neither ranks as interactive. Aging up to interactive
    // would put bgV and toolW before intX, by age.
    lock.release();
  });
  EXPECT_THAT(journal.entries(), ElementsAre("intX", "bgV", "toolW"));
}

TEST_P(GrantOrderTest, ReleaseHandsSlotToWaiterSoNewcomerCannotBarge) {
  PriorityLock lock;
  std::atomic<bool> waiter_holds{false}, let_go{false}, waiter_done{false};
  scenario.run([&] {
    ASSERT_EQ(lock.acquire(Priority::background), AcquireStatus::acquired);
    scenario.spawn([&] {
      EXPECT_EQ(lock.acquire(Priority::background), AcquireStatus::acquired);
      waiter_holds = true;
      scenario.wait_until([&] { return let_go.load(); });
      lock.release();
      waiter_done = true;
    });
    scenario.wait_until([&] { return lock.waiting(Priority::background) == 1; });
    lock.release();
    // The waiter owns the slot from here on, whether or not it has run yet.
    EXPECT_FALSE(lock.try_acquire(Priority::interactive));
    EXPECT_EQ(lock.held(), 1u);
    EXPECT_EQ(lock.waiting(Priority::background), 0u);
    scenario.wait_until([&] { return waiter_holds.load(); });
    let_go = true;
    scenario.wait_until([&] { return waiter_done.load(); });
    EXPECT_EQ(lock.held(), 0u);
    EXPECT_TRUE(lock.try_acquire(Priority::interactive));
    lock.release();
  });
}

TEST_P(GrantOrderTest, CountingSlotsGrantUpToCapacityToTheBestWaiters) {
  PrioritySlots slots(3);
  std::atomic<int> waiters_holding{0};
  std::atomic<bool> let_go{false};
  auto hold_until_let_go = [&](Priority priority) {
    scenario.spawn([&, priority] {
      ASSERT_EQ(slots.acquire(priority), AcquireStatus::acquired);
      ++waiters_holding;
      scenario.wait_until([&] { return let_go.load(); });
      slots.release();
    });
  };
  scenario.run([&] {
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(slots.try_acquire(Priority::tool));
    EXPECT_FALSE(slots.try_acquire(Priority::interactive));
    EXPECT_EQ(slots.held(), 3u);
    for (Priority p : {Priority::background, Priority::tool, Priority::interactive, Priority::interactive}) {
      const std::size_t before = slots.waiting(p);
      hold_until_let_go(p);
      scenario.wait_until([&] { return slots.waiting(p) == before + 1; });
    }
    slots.release();
    slots.release();
    scenario.wait_until([&] { return waiters_holding == 2; });
    EXPECT_EQ(slots.waiting(Priority::interactive), 0u);
    EXPECT_EQ(slots.waiting(Priority::tool), 1u);
    EXPECT_EQ(slots.waiting(Priority::background), 1u);
    EXPECT_EQ(slots.held(), 3u);
    slots.release();  // the last of the controller's three: goes to the tool waiter
    scenario.wait_until([&] { return waiters_holding == 3; });
    EXPECT_EQ(slots.waiting(Priority::tool), 0u);
    EXPECT_EQ(slots.waiting(Priority::background), 1u);
    let_go = true;
  });
  EXPECT_EQ(waiters_holding, 4);
  EXPECT_EQ(slots.held(), 0u);
}

TEST(PrioritySlotsConstruction, RejectsZeroCapacity) {
  EXPECT_THROW(PrioritySlots(0), std::invalid_argument);
  EXPECT_EQ(PriorityLock().capacity(), 1u);
  EXPECT_EQ(to_string(AcquireStatus::cancelled), "cancelled");
}

AGENTD_INSTANTIATE_FOR_ALL_MODES(GrantOrderTest);

}  // namespace
}  // namespace agentd::scheduler::testing
