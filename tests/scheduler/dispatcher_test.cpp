// Dispatcher: limits, the source's view of full groups, job classes, timeouts on an injected
// clock, cancellation, stuck jobs, exception isolation, stop with grace, and calls from a plain
// thread.
//
// Most tests run run() and a controller as two fibers of one thread that uses
// PriorityScheduling. Nothing sleeps: the controller waits for what jobs and hooks write on a
// Board, and moves time with a fake clock. After advancing it, tick() pokes the dispatcher and
// waits until run() has read the clock again; on one thread that means run() has acted on the
// new time and parked again before the controller resumes (nothing in these tests' jobs, hooks
// or source switches fibers). `poll` is 5 ms of real time: it only bounds waits.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/fiber/all.hpp>

#include "scenario.hpp"
#include "scheduler/dispatcher.hpp"
#include "scheduler/fiber_priority.hpp"

namespace agentd::scheduler::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using TimePoint = std::chrono::steady_clock::time_point;
using Groups = std::vector<std::string>;

// Lines written by jobs, hooks and the source, in order; fibers and plain threads can wait for
// a condition on them.
class Board {
 public:
  void add(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
    changed_.notify_all();
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool has(const std::string& line) const { return count(line) > 0; }
  int count(const std::string& line) const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(lines_.begin(), lines_.end(), line));
  }
  // Lines that start with `prefix`, in order.
  std::vector<std::string> starting_with(const std::string& prefix) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& line : lines_) {
      if (line.rfind(prefix, 0) == 0) out.push_back(line);
    }
    return out;
  }
  void wait_for(const std::string& line) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return std::find(lines_.begin(), lines_.end(), line) != lines_.end(); });
  }

 private:
  mutable std::mutex mutex_;
  boost::fibers::condition_variable_any changed_;
  std::vector<std::string> lines_;  // GUARDED_BY(mutex_)
};

// Opened once by the test; a job waits for it, and (if cooperative) for its stop request too.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return open_; });
  }
  void wait_or_stop(const std::stop_token& stop) {
    std::stop_callback wake(stop, [this] {
      std::lock_guard lock(mutex_);
      changed_.notify_all();
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return open_ || stop.stop_requested(); });
  }

 private:
  std::mutex mutex_;
  boost::fibers::condition_variable_any changed_;
  bool open_ = false;  // GUARDED_BY(mutex_)
};

// Fake time for DispatcherOptions::now, which also counts reads so that a test can wait until
// run() has looked at the clock again.
class TestClock {
 public:
  TimePoint now() {
    std::lock_guard lock(mutex_);
    ++reads_;
    read_.notify_all();
    return TimePoint(std::chrono::nanoseconds(ns_.load()));
  }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }
  // Pokes and returns once run() has started another iteration (which reads the clock first).
  void tick(Dispatcher& dispatcher) {
    std::unique_lock lock(mutex_);
    const std::uint64_t seen = reads_;
    lock.unlock();
    dispatcher.poke();
    lock.lock();
    read_.wait(lock, [&] { return reads_ > seen; });
  }

 private:
  std::atomic<std::int64_t> ns_{1'000'000'000};
  std::mutex mutex_;
  boost::fibers::condition_variable_any read_;
  std::uint64_t reads_ = 0;  // GUARDED_BY(mutex_)
};

// Hands out queued jobs in order, skipping the full groups, and records each call's argument.
class ScriptedSource {
 public:
  void push(Job job) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  std::optional<Job> next(const Groups& full_groups) {
    std::lock_guard lock(mutex_);
    calls_.push_back(full_groups);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (std::find(full_groups.begin(), full_groups.end(), it->group) != full_groups.end()) continue;
      Job job = std::move(*it);
      queue_.erase(it);
      return job;
    }
    return std::nullopt;
  }
  std::vector<Groups> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t call_count() const { return calls().size(); }
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::deque<Job> queue_;      // GUARDED_BY(mutex_)
  std::vector<Groups> calls_;  // GUARDED_BY(mutex_)
};

// Largest number of jobs seen running at once, overall and per group.
class ConcurrencyMeter {
 public:
  void enter(const std::string& group) {
    std::lock_guard lock(mutex_);
    max_total_ = std::max(max_total_, ++total_);
    max_by_group_[group] = std::max(max_by_group_[group], ++by_group_[group]);
  }
  void leave(const std::string& group) {
    std::lock_guard lock(mutex_);
    --total_;
    --by_group_[group];
  }
  int max_total() const {
    std::lock_guard lock(mutex_);
    return max_total_;
  }
  std::map<std::string, int> max_by_group() const {
    std::lock_guard lock(mutex_);
    return max_by_group_;
  }

 private:
  mutable std::mutex mutex_;
  int total_ = 0, max_total_ = 0;                       // GUARDED_BY(mutex_)
  std::map<std::string, int> by_group_, max_by_group_;  // GUARDED_BY(mutex_)
};

// "j3", "g3": built with += (GCC 12 warns, wrongly, about `"j" + std::to_string(n)`).
std::string numbered(const char* prefix, int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

std::string name_of(const Job& job) {
  return numbered("j", job.id);
}

class DispatcherTest : public ::testing::Test {
 protected:
  enum class Stop { cooperative, ignored };

  // A job that writes "start jN", waits for its gate (and, if cooperative, for a stop request),
  // then writes "end jN stop=0|1". A stop request writes "stop jN" at once, in the requester.
  Job job(int64_t id, std::string group, Priority priority = Priority::background,
          Stop stop = Stop::cooperative, std::optional<std::chrono::milliseconds> timeout = {}) {
    Gate& gate = gates_[id];
    Job j;
    j.id = id;
    j.group = group;
    j.priority = priority;
    j.timeout = timeout;
    j.run = [this, &gate, id, group, stop](std::stop_token token) {
      const std::string name = numbered("j", id);
      meter.enter(group);
      board.add("start " + name);
      std::stop_callback on_stop(token, [&] { board.add("stop " + name); });
      if (stop == Stop::cooperative) {
        gate.wait_or_stop(token);
      } else {
        gate.wait();
      }
      meter.leave(group);
      board.add("end " + name + " stop=" + (token.stop_requested() ? "1" : "0"));
    };
    return j;
  }
  void open(int64_t id) { gates_[id].open(); }

  DispatcherHooks hooks() {
    DispatcherHooks h;
    h.on_timeout = [this](const Job& j) { board.add("timeout " + name_of(j)); };
    h.on_stuck = [this](const Job& j) { board.add("stuck " + name_of(j)); };
    h.on_exception = [this](const Job& j, std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        board.add("exception " + name_of(j) + ": " + x.what());
      }
    };
    h.on_end = [this](const Job& j, bool stuck) {
      board.add("on_end " + name_of(j) + " stuck=" + (stuck ? "1" : "0"));
    };
    return h;
  }

  DispatcherOptions options(int concurrency) {
    DispatcherOptions o;
    o.concurrency = concurrency;
    o.stuck_after = 1000ms;
    o.poll = 5ms;
    o.now = [this] { return clock.now(); };
    return o;
  }

  Dispatcher::Source source_function() {
    return [this](const Groups& full) { return source.next(full); };
  }

  // run() and `controller` as fibers of a new thread using PriorityScheduling. The controller
  // ends with stop(0) so that a failed expectation cannot leave run() looping.
  void run_with_controller(Dispatcher& dispatcher, const std::function<void()>& controller) {
    std::thread thread([&] {
      boost::fibers::use_scheduling_algorithm<PriorityScheduling>();
      boost::fibers::fiber control(boost::fibers::launch::post, [&] {
        controller();
        dispatcher.stop(0ms);
      });
      dispatcher.run();
      control.join();
    });
    thread.join();
  }

  Watchdog watchdog{std::chrono::seconds(60)};
  TestClock clock;
  Board board;
  ScriptedSource source;
  ConcurrencyMeter meter;

 private:
  std::map<int64_t, Gate> gates_;  // node-based: a Gate never moves
};

TEST_F(DispatcherTest, RunsAtMostConcurrencyJobsAtOnceAndStartsThemInSourceOrder) {
  for (int64_t id = 1; id <= 5; ++id) source.push(job(id, numbered("g", id)));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j2");
    const std::size_t calls = source.call_count();
    clock.tick(dispatcher);
    EXPECT_EQ(source.call_count(), calls) << "no room, so the source must not be asked";
    EXPECT_FALSE(board.has("start j3"));
    EXPECT_EQ(dispatcher.snapshot().running, 2);
    for (int64_t id = 1; id <= 5; ++id) open(id);
    board.wait_for("on_end j5 stuck=0");
  });
  EXPECT_EQ(meter.max_total(), 2);
  EXPECT_THAT(board.starting_with("start"),
              ElementsAre("start j1", "start j2", "start j3", "start j4", "start j5"));
  EXPECT_EQ(dispatcher.snapshot().running, 0);
}

TEST_F(DispatcherTest, GroupLimitsHoldAndTheSourceSeesWhichGroupsAreFull) {
  for (auto [id, group] :
       {std::pair<int64_t, const char*>{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "b"}, {6, "c"}}) {
    source.push(job(id, group));
  }
  DispatcherOptions o = options(4);
  o.group_limit = [](const std::string& group) { return group == "a" ? 1 : group == "b" ? 2 : 0; };
  Dispatcher dispatcher(std::move(o), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j6");
    const auto calls = source.calls();
    ASSERT_GE(calls.size(), 4u);
    EXPECT_THAT(calls[0], IsEmpty());
    EXPECT_THAT(calls[1], ElementsAre("a"));
    EXPECT_THAT(calls[2], ElementsAre("a"));
    EXPECT_THAT(calls[3], ElementsAre("a", "b"));
    EXPECT_THAT(board.starting_with("start"), ElementsAre("start j1", "start j3", "start j4", "start j6"));
    EXPECT_THAT(dispatcher.snapshot().by_group, ElementsAre(Pair("a", 1), Pair("b", 2), Pair("c", 1)));

    open(6);  // room again, but only for a and b, both full
    board.wait_for("on_end j6 stuck=0");
    clock.tick(dispatcher);
    EXPECT_THAT(source.calls().back(), ElementsAre("a", "b"));
    EXPECT_EQ(source.queued(), 2u);

    const std::size_t before = source.call_count();
    open(1);  // a has room again
    board.wait_for("start j2");
    const auto later = source.calls();
    EXPECT_THAT(std::vector<Groups>(later.begin() + static_cast<std::ptrdiff_t>(before), later.end()),
                Contains(ElementsAre("b")));
    for (int64_t id : {2, 3, 4, 5}) open(id);
    board.wait_for("on_end j5 stuck=0");
  });
  EXPECT_EQ(meter.max_total(), 4);
  EXPECT_THAT(meter.max_by_group(), ElementsAre(Pair("a", 1), Pair("b", 2), Pair("c", 1)));
}

// Admitted in one burst, the jobs start by class: each fiber has its class before it first runs.
TEST_F(DispatcherTest, EachJobFiberRunsWithTheJobsPriorityAsItsClass) {
  source.push(job(1, "g1", Priority::background));
  source.push(job(2, "g2", Priority::tool));
  source.push(job(3, "g3", Priority::interactive));
  Board classes;  // the class of the fiber each job runs in
  Dispatcher dispatcher(
      options(3),
      [&](const Groups& full) {
        std::optional<Job> j = source.next(full);
        if (j) {
          j->run = [inner = std::move(j->run), &classes, id = j->id](std::stop_token stop) {
            classes.add(numbered("j", id) + " " +
                        std::string(to_string(boost::this_fiber::properties<FiberClass>().priority())));
            inner(std::move(stop));
          };
        }
        return j;
      },
      hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j1");
    for (int64_t id : {1, 2, 3}) open(id);
  });
  EXPECT_THAT(classes.lines(), ElementsAre("j3 interactive", "j2 tool", "j1 background"));
  EXPECT_THAT(board.starting_with("start"), ElementsAre("start j3", "start j2", "start j1"));
}

TEST_F(DispatcherTest, OneAtATimeJobsRunInTheOrderTheSourceReturnsThem) {
  source.push(job(1, "g", Priority::background));
  source.push(job(2, "g", Priority::interactive));
  source.push(job(3, "g", Priority::tool));
  Dispatcher dispatcher(options(1), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    for (int64_t id : {1, 2, 3}) {
      board.wait_for("start " + numbered("j", id));
      open(id);
    }
    board.wait_for("on_end j3 stuck=0");
  });
  EXPECT_THAT(board.starting_with("start"), ElementsAre("start j1", "start j2", "start j3"));
}

// With poll at an hour, only the job's end and poke() can make run() ask the source again.
TEST_F(DispatcherTest, SourceIsAskedAgainWhenAJobEndsAndWhenPoked) {
  source.push(job(1, "g"));
  source.push(job(2, "g"));
  DispatcherOptions o = options(1);
  o.poll = std::chrono::hours(1);
  Dispatcher dispatcher(std::move(o), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j1");
    open(1);
    board.wait_for("start j2");  // no poke: the end of j1 must do it
    open(2);
    board.wait_for("on_end j2 stuck=0");
    source.push(job(3, "g"));
    dispatcher.poke();
    board.wait_for("start j3");
    open(3);
    board.wait_for("on_end j3 stuck=0");
  });
  EXPECT_THAT(board.starting_with("start"), ElementsAre("start j1", "start j2", "start j3"));
}

TEST_F(DispatcherTest, TimeoutFiresWhenTheInjectedClockPassesIt) {
  source.push(job(1, "g", Priority::tool, Stop::cooperative, 100ms));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j1");
    clock.advance(99ms);
    clock.tick(dispatcher);
    EXPECT_FALSE(board.has("timeout j1"));
    EXPECT_FALSE(board.has("stop j1"));

    clock.advance(1ms);
    clock.tick(dispatcher);
    EXPECT_TRUE(board.has("timeout j1"));
    EXPECT_TRUE(board.has("stop j1"));
    board.wait_for("on_end j1 stuck=0");
    EXPECT_TRUE(board.has("end j1 stop=1"));
  });
  EXPECT_EQ(board.count("timeout j1"), 1);
  EXPECT_FALSE(board.has("stuck j1"));
}

TEST_F(DispatcherTest, CancelStopsACooperativeJobAndIsFalseForUnknownIds) {
  source.push(job(1, "g"));
  source.push(job(2, "g"));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j2");
    EXPECT_FALSE(dispatcher.cancel(99));
    EXPECT_TRUE(dispatcher.cancel(1));
    EXPECT_TRUE(board.has("stop j1"));  // requested inside cancel()
    board.wait_for("on_end j1 stuck=0");
    EXPECT_TRUE(board.has("end j1 stop=1"));
    EXPECT_FALSE(dispatcher.cancel(1)) << "j1 has ended";
    EXPECT_FALSE(board.has("stop j2"));
    EXPECT_EQ(dispatcher.snapshot().running, 1);
    open(2);
    board.wait_for("on_end j2 stuck=0");
  });
  EXPECT_TRUE(board.has("end j2 stop=0"));
  EXPECT_FALSE(board.has("timeout j1"));
}

// j1 ignores its stop request. stuck_after (1 s on the fake clock) later it is given up: it no
// longer holds the only slot of group g nor the only global slot, so j2 of the same group starts.
TEST_F(DispatcherTest, JobIgnoringItsStopBecomesStuckAndFreesItsSlots) {
  source.push(job(1, "g", Priority::tool, Stop::ignored));
  source.push(job(2, "g"));
  DispatcherOptions o = options(1);
  o.group_limit = [](const std::string&) { return 1; };
  Dispatcher dispatcher(std::move(o), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j1");
    EXPECT_TRUE(dispatcher.cancel(1));
    clock.advance(999ms);
    clock.tick(dispatcher);
    EXPECT_FALSE(board.has("stuck j1"));
    EXPECT_FALSE(board.has("start j2"));
    EXPECT_EQ(dispatcher.snapshot().running, 1);

    clock.advance(1ms);
    clock.tick(dispatcher);
    EXPECT_TRUE(board.has("stuck j1"));
    board.wait_for("start j2");
    DispatcherSnapshot snap = dispatcher.snapshot();
    EXPECT_EQ(snap.running, 1);
    EXPECT_EQ(snap.stuck, 1);
    EXPECT_THAT(snap.by_group, ElementsAre(Pair("g", 1)));
    EXPECT_TRUE(dispatcher.cancel(1)) << "a stuck job still runs";

    clock.advance(10s);
    clock.tick(dispatcher);
    EXPECT_EQ(board.count("stuck j1"), 1) << "on_stuck runs once";

    open(1);  // j1 returns at last
    board.wait_for("on_end j1 stuck=1");
    EXPECT_EQ(dispatcher.snapshot().stuck, 0);
    EXPECT_EQ(dispatcher.snapshot().running, 1);
    open(2);
    board.wait_for("on_end j2 stuck=0");
  });
  EXPECT_FALSE(board.has("timeout j1"));
  EXPECT_THAT(board.starting_with("exception"), IsEmpty());
}

TEST_F(DispatcherTest, ExceptionInOneJobIsReportedAndOthersGoOn) {
  Job thrower;
  thrower.id = 1;
  thrower.group = "g";
  thrower.run = [](std::stop_token) { throw std::runtime_error("boom"); };
  Job empty;
  empty.id = 2;
  empty.group = "g";
  source.push(job(3, "g"));
  source.push(std::move(thrower));
  source.push(std::move(empty));
  source.push(job(4, "g"));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("on_end j1 stuck=0");
    board.wait_for("on_end j2 stuck=0");
    board.wait_for("start j4");
    open(3);
    open(4);
    board.wait_for("on_end j3 stuck=0");
    board.wait_for("on_end j4 stuck=0");
  });
  EXPECT_TRUE(board.has("exception j1: boom"));
  EXPECT_THAT(board.starting_with("exception j2"), ElementsAre(::testing::HasSubstr("bad_function_call")));
  EXPECT_TRUE(board.has("end j3 stop=0"));
  EXPECT_TRUE(board.has("end j4 stop=0"));
}

TEST_F(DispatcherTest, StopLetsJobsFinishDuringGraceThenRequestsTheirStop) {
  source.push(job(1, "g1"));
  source.push(job(2, "g2"));
  source.push(job(3, "g3"));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  run_with_controller(dispatcher, [&] {
    board.wait_for("start j2");
    dispatcher.stop(100ms);
    EXPECT_TRUE(dispatcher.snapshot().stopping);
    open(1);  // j1 finishes within grace; its slot must not go to j3
    board.wait_for("on_end j1 stuck=0");
    clock.advance(99ms);
    clock.tick(dispatcher);
    EXPECT_FALSE(board.has("stop j2"));
    EXPECT_FALSE(board.has("start j3"));

    clock.advance(1ms);
    clock.tick(dispatcher);
    EXPECT_TRUE(board.has("stop j2"));
    board.wait_for("on_end j2 stuck=0");
  });
  EXPECT_TRUE(board.has("end j1 stop=0"));
  EXPECT_TRUE(board.has("end j2 stop=1"));
  EXPECT_FALSE(board.has("start j3"));
  EXPECT_EQ(source.queued(), 1u);
  EXPECT_FALSE(board.has("timeout j2"));
}

// Shutdown with a job that ignores its stop: run() returns once it is stuck, without waiting for
// it. Its fiber, detached, still calls on_end when it returns, here before the thread ends.
TEST_F(DispatcherTest, RunReturnsAfterShutdownWithoutWaitingForAStuckJob) {
  source.push(job(1, "g", Priority::tool, Stop::ignored));
  std::atomic<bool> run_returned{false};
  std::thread thread([&] {
    boost::fibers::use_scheduling_algorithm<PriorityScheduling>();
    {
      Dispatcher dispatcher(options(1), source_function(), hooks());
      boost::fibers::fiber control(boost::fibers::launch::post, [&] {
        board.wait_for("start j1");
        dispatcher.stop(0ms);
        clock.tick(dispatcher);
        EXPECT_TRUE(board.has("stop j1"));
        clock.advance(1000ms);
        dispatcher.poke();
      });
      dispatcher.run();
      run_returned = true;
      EXPECT_TRUE(board.has("stuck j1"));
      EXPECT_FALSE(board.has("on_end j1 stuck=1"));
      control.join();
    }  // the Dispatcher is gone; the stuck fiber keeps what it needs
    open(1);
    board.wait_for("on_end j1 stuck=1");
  });
  thread.join();
  EXPECT_TRUE(run_returned);
}

TEST_F(DispatcherTest, StopAndCancelFromAPlainThreadWhileRunRunsOnAnother) {
  source.push(job(1, "g"));
  source.push(job(2, "g"));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  std::thread runner([&] {
    boost::fibers::use_scheduling_algorithm<PriorityScheduling>();
    dispatcher.run();
    board.add("run returned");
  });
  std::thread controller([&] {
    board.wait_for("start j2");
    EXPECT_EQ(dispatcher.snapshot().running, 2);
    dispatcher.poke();
    EXPECT_FALSE(dispatcher.cancel(99));
    EXPECT_TRUE(dispatcher.cancel(1));  // j1's stop callback runs here, on this thread
    board.wait_for("on_end j1 stuck=0");
    dispatcher.stop(0ms);
    board.wait_for("run returned");
  });
  controller.join();
  runner.join();
  EXPECT_TRUE(board.has("end j1 stop=1"));
  EXPECT_TRUE(board.has("end j2 stop=1"));
  EXPECT_EQ(dispatcher.snapshot().running, 0);
  EXPECT_TRUE(dispatcher.snapshot().stopping);
}

TEST_F(DispatcherTest, StopBeforeRunMakesRunReturnAtOnceAndRunIsOnce) {
  source.push(job(1, "g"));
  Dispatcher dispatcher(options(1), source_function(), hooks());
  dispatcher.stop(1h);
  dispatcher.run();
  EXPECT_EQ(source.call_count(), 0u);
  EXPECT_THROW(dispatcher.run(), std::logic_error);
}

// On a thread without PriorityScheduling jobs still run (in round-robin order), without classes.
TEST_F(DispatcherTest, RunsJobsOnAThreadWithAnotherSchedulingAlgorithm) {
  source.push(job(1, "g1", Priority::background));
  source.push(job(2, "g2", Priority::interactive));
  Dispatcher dispatcher(options(2), source_function(), hooks());
  std::thread thread([&] {  // default algorithm: round_robin
    boost::fibers::fiber control(boost::fibers::launch::post, [&] {
      board.wait_for("start j2");
      open(1);
      open(2);
      board.wait_for("on_end j2 stuck=0");
      dispatcher.stop(0ms);
    });
    dispatcher.run();
    control.join();
  });
  thread.join();
  EXPECT_THAT(board.starting_with("start"), ElementsAre("start j1", "start j2"));
}

TEST(DispatcherConstruction, RejectsBadOptions) {
  const auto none = [](const Groups&) { return std::optional<Job>(); };
  DispatcherOptions zero;
  zero.concurrency = 0;
  EXPECT_THROW((Dispatcher{zero, none}), std::invalid_argument);
  DispatcherOptions no_poll;
  no_poll.poll = 0ms;
  EXPECT_THROW((Dispatcher{no_poll, none}), std::invalid_argument);
  EXPECT_THROW((Dispatcher{DispatcherOptions{}, Dispatcher::Source{}}), std::invalid_argument);
  EXPECT_NO_THROW((Dispatcher{DispatcherOptions{}, none}));
}

}  // namespace
}  // namespace agentd::scheduler::testing
