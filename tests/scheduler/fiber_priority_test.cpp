// PriorityScheduling: ready fibers run by class, FIFO inside a class, re-queued when their class
// changes, and an idle thread wakes for timers and for fibers woken from other threads.
// Each test runs its fibers on a fresh thread that installs the algorithm; a Watchdog turns a
// lost wake-up into a failure.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/fiber/all.hpp>

#include "scheduler/fiber_priority.hpp"
#include "slots_test_support.hpp"

namespace agentd::scheduler::testing {
namespace {

using namespace std::chrono_literals;
using boost::fibers::fiber;
using boost::fibers::launch;
using ::testing::ElementsAre;

// Runs `body` on a new thread whose fibers use PriorityScheduling; returns when it is done.
void on_priority_thread(const std::function<void()>& body) {
  std::thread thread([&] {
    boost::fibers::use_scheduling_algorithm<PriorityScheduling>();
    body();
  });
  thread.join();
}

// Launches a fiber with launch::post and gives it a class before it first runs.
fiber post_with_class(Priority priority, std::function<void()> fn) {
  fiber f(launch::post, std::move(fn));
  f.properties<FiberClass>().set_priority(priority);
  return f;
}

void join_all(std::vector<fiber>& fibers) {
  for (auto& f : fibers) f.join();
}

// A flag that fibers wait for without blocking their thread; any thread may open it. Built on
// std::mutex and condition_variable_any, not on Boost's promise or channels: those guard their
// state with Boost.Fiber locks compiled into the uninstrumented libboost_fiber, so TSan would
// report their cross-thread use as races (see scheduler/README.md).
class FiberGate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  boost::fibers::condition_variable_any opened_;
  bool open_ = false;  // GUARDED_BY(mutex_)
};

// One value at a time from one side to the other; fibers and plain threads alike.
class Mailbox {
 public:
  void put(int value) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !value_; });
    value_ = value;
    changed_.notify_all();
  }
  int take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return value_.has_value(); });
    const int value = *std::exchange(value_, std::nullopt);
    changed_.notify_all();
    return value;
  }

 private:
  std::mutex mutex_;
  boost::fibers::condition_variable_any changed_;
  std::optional<int> value_;  // GUARDED_BY(mutex_)
};

TEST(PriorityScheduling, PostedFibersRunByClassThenInLaunchOrder) {
  Watchdog watchdog(60s);
  Journal journal;
  on_priority_thread([&] {
    std::vector<fiber> fibers;
    for (auto [priority, name] : {std::pair{Priority::background, "bg1"},
                                  {Priority::tool, "tool1"},
                                  {Priority::background, "bg2"},
                                  {Priority::interactive, "int1"},
                                  {Priority::tool, "tool2"},
                                  {Priority::interactive, "int2"}}) {
      fibers.push_back(
          post_with_class(priority, [&journal, name = std::string(name)] { journal.add(name); }));
    }
    EXPECT_TRUE(journal.entries().empty()) << "launch::post must not run the fiber yet";
    join_all(fibers);
  });
  EXPECT_THAT(journal.entries(), ElementsAre("int1", "int2", "tool1", "tool2", "bg1", "bg2"));
}

// launch::dispatch runs the new fiber at once, before it has properties; it sets its own class
// (this_fiber::properties yields once to get them) and waits. Once the gate opens, the woken
// fibers run by class, FIFO inside a class.
TEST(PriorityScheduling, DispatchedFibersRunAtOnceThenByClassOnceWoken) {
  Watchdog watchdog(60s);
  Journal started;
  Journal journal;
  on_priority_thread([&] {
    FiberGate gate;
    std::vector<fiber> fibers;
    for (auto [priority, name] : {std::pair{Priority::tool, "tool1"},
                                  {Priority::background, "bg1"},
                                  {Priority::interactive, "int1"},
                                  {Priority::tool, "tool2"},
                                  {Priority::background, "bg2"},
                                  {Priority::interactive, "int2"}}) {
      fibers.emplace_back(launch::dispatch, [&, priority, name = std::string(name)] {
        started.add(name);
        boost::this_fiber::properties<FiberClass>().set_priority(priority);
        gate.wait();
        EXPECT_EQ(boost::this_fiber::properties<FiberClass>().priority(), priority) << name;
        journal.add(name);
      });
      EXPECT_EQ(started.entries().back(), name) << "launch::dispatch must run the fiber first";
    }
    gate.open();
    join_all(fibers);
  });
  EXPECT_THAT(journal.entries(), ElementsAre("int1", "int2", "tool1", "tool2", "bg1", "bg2"));
}

TEST(PriorityScheduling, SetPriorityOnAReadyFiberMovesItToTheBackOfItsNewClass) {
  Watchdog watchdog(60s);
  Journal journal;
  on_priority_thread([&] {
    const auto record = [&journal](std::string name) { return [&journal, name] { journal.add(name); }; };
    std::vector<fiber> fibers;
    fibers.push_back(post_with_class(Priority::tool, record("A")));
    fibers.push_back(post_with_class(Priority::tool, record("B")));
    fibers.push_back(post_with_class(Priority::tool, record("E")));
    fibers.push_back(post_with_class(Priority::interactive, record("C")));
    fibers.push_back(post_with_class(Priority::background, record("D")));
    // Ready queues now: interactive [C], tool [A, B, E], background [D].
    fibers[0].properties<FiberClass>().set_priority(Priority::background);   // A: background [D, A]
    fibers[4].properties<FiberClass>().set_priority(Priority::interactive);  // D: interactive [C, D]
    fibers[1].properties<FiberClass>().set_priority(Priority::tool);         // B: unchanged, stays first
    join_all(fibers);
  });
  EXPECT_THAT(journal.entries(), ElementsAre("C", "D", "B", "E", "A"));
}

// A running fiber that lowers its class keeps running; the new class applies from its next
// yield on.
TEST(PriorityScheduling, ClassSetWhileRunningAppliesWhenTheFiberIsNextQueued) {
  Watchdog watchdog(60s);
  Journal journal;
  on_priority_thread([&] {
    std::vector<fiber> fibers;
    fibers.push_back(post_with_class(Priority::tool, [&] {
      journal.add("A1");
      boost::this_fiber::properties<FiberClass>().set_priority(Priority::background);
      journal.add("A2");
      boost::this_fiber::yield();
      journal.add("A3");
    }));
    fibers.push_back(post_with_class(Priority::tool, [&] {
      journal.add("B1");
      boost::this_fiber::yield();
      journal.add("B2");
    }));
    join_all(fibers);
  });
  EXPECT_THAT(journal.entries(), ElementsAre("A1", "A2", "B1", "B2", "A3"));
}

TEST(PriorityScheduling, FibersThatNeverSetAClassRunAsTool) {
  Watchdog watchdog(60s);
  on_priority_thread([] {
    EXPECT_EQ(boost::this_fiber::properties<FiberClass>().priority(), Priority::tool);  // main fiber
    fiber f(launch::post,
            [] { EXPECT_EQ(boost::this_fiber::properties<FiberClass>().priority(), Priority::tool); });
    EXPECT_EQ(f.properties<FiberClass>().priority(), Priority::tool);
    f.join();
  });
}

// The thread has nothing ready and no timer: it sleeps in suspend_until(max) until a plain
// thread wakes the waiting fiber (scheduler::set_remote_ready -> notify()).
TEST(PriorityScheduling, PlainThreadWakesAnIdleSchedulerThread) {
  Watchdog watchdog(60s);
  FiberGate gate;
  std::atomic<bool> about_to_wait{false};
  std::thread notifier;
  on_priority_thread([&] {
    notifier = std::thread([&] {
      while (!about_to_wait.load()) std::this_thread::yield();  // a spin, bounded by the watchdog
      gate.open();
    });
    fiber waiter = post_with_class(Priority::interactive, [&] {
      about_to_wait = true;
      gate.wait();
    });
    waiter.join();
  });
  notifier.join();
}

// Many round trips between a fiber and a plain thread, each wake-up crossing threads both ways.
TEST(PriorityScheduling, FiberAndPlainThreadPingPong) {
  Watchdog watchdog(60s);
  constexpr int kRounds = 500;
  Mailbox to_thread;
  Mailbox to_fiber;
  std::thread echo([&] {
    for (int i = 0; i < kRounds; ++i) to_fiber.put(to_thread.take() + 1);
  });
  on_priority_thread([&] {
    fiber pinger(launch::post, [&] {
      int value = 0;
      for (int i = 0; i < kRounds; ++i) {
        to_thread.put(value);
        value = to_fiber.take();
      }
      EXPECT_EQ(value, kRounds);
    });
    pinger.join();
  });
  echo.join();
}

// The thread is idle with one timer pending: suspend_until(deadline) returns when it passes.
TEST(PriorityScheduling, SleepingFiberWakesAtItsDeadline) {
  Watchdog watchdog(60s);
  on_priority_thread([] {
    const auto start = std::chrono::steady_clock::now();
    fiber sleeper(launch::post, [] { boost::this_fiber::sleep_for(2ms); });
    sleeper.join();
    EXPECT_GE(std::chrono::steady_clock::now() - start, 2ms);
  });
}

// Boost's dispatcher context moves woken fibers into the ready queues. If it queued behind
// the fibers it serves, two interactive fibers that only yield (each yield hands over to the
// other) would keep a sleeping or remotely woken interactive fiber from ever running again:
// this test would hang.
TEST(PriorityScheduling, YieldingInteractiveFibersDoNotStarveWakeUpsOfTheirClass) {
  Watchdog watchdog(60s);
  std::atomic<bool> sleeper_done{false};
  std::atomic<bool> remote_done{false};
  FiberGate from_thread;
  std::thread notifier;
  on_priority_thread([&] {
    const auto spin = [&] {
      while (!sleeper_done || !remote_done) boost::this_fiber::yield();
    };
    fiber spinner1 = post_with_class(Priority::interactive, spin);
    fiber spinner2 = post_with_class(Priority::interactive, spin);
    fiber sleeper = post_with_class(Priority::interactive, [&] {
      boost::this_fiber::sleep_for(1ms);
      sleeper_done = true;
    });
    fiber remote = post_with_class(Priority::interactive, [&] {
      from_thread.wait();
      remote_done = true;
    });
    notifier = std::thread([&] { from_thread.open(); });
    spinner1.join();
    spinner2.join();
    sleeper.join();
    remote.join();
  });
  notifier.join();
  EXPECT_TRUE(sleeper_done);
  EXPECT_TRUE(remote_done);
}

}  // namespace
}  // namespace agentd::scheduler::testing
