// BlockingPool: a job's value and exception come back to the caller; a caller that is cancelled
// or whose deadline passes stops waiting at once and the job is told through its token; the
// pool's size bounds how many jobs run; shutdown stops running jobs and cancels queued ones.
// Jobs that must block wait on their own stop token, so nothing sleeps.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include <boost/fiber/all.hpp>
#include <gtest/gtest.h>

#include "scheduler/blocking_pool.hpp"

namespace agentd::scheduler {
namespace {

using Clock = BlockingPool::Clock;
constexpr auto kNoDeadline = Clock::time_point::max();

// Blocks the pool thread until the job's token asks it to stop.
void until_stopped(std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait(lock, stop, [] { return false; });
}

TEST(BlockingPool, RunsTheJobOnAPoolThreadAndReturnsWhenItEnds) {
  BlockingPool pool(1);
  std::thread::id ran_on;
  EXPECT_EQ(pool.run([&](std::stop_token) { ran_on = std::this_thread::get_id(); }, {}, kNoDeadline),
            BlockingStatus::done);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(BlockingPool, RethrowsWhatTheJobThrew) {
  BlockingPool pool(1);
  EXPECT_THROW(pool.run([](std::stop_token) { throw std::runtime_error("no route to host"); }, {}, kNoDeadline),
               std::runtime_error);
}

TEST(BlockingPool, ACancelledCallerStopsWaitingAndTheJobIsToldToStop) {
  BlockingPool pool(1);
  std::stop_source caller;
  std::promise<void> job_saw_stop;
  auto job = [caller, &job_saw_stop](std::stop_token stop) mutable {
    caller.request_stop();  // the task is cancelled while its blocking call runs
    until_stopped(stop);
    job_saw_stop.set_value();
  };
  EXPECT_EQ(pool.run(job, caller.get_token(), kNoDeadline), BlockingStatus::cancelled);
  job_saw_stop.get_future().wait();  // returns only because run() stopped the job
}

TEST(BlockingPool, APassedDeadlineEndsTheWaitAndStopsTheJob) {
  BlockingPool pool(1);
  std::atomic<bool> started{false}, saw_stop{false};
  auto job = [&](std::stop_token stop) {
    started = true;
    until_stopped(stop);
    saw_stop = true;
  };
  EXPECT_EQ(pool.run(job, {}, Clock::now()), BlockingStatus::timeout);
  // The pool's one thread takes the next job only after that one ended: it was either never
  // started (stopped while queued) or stopped while it ran.
  EXPECT_EQ(pool.run([](std::stop_token) {}, {}, kNoDeadline), BlockingStatus::done);
  EXPECT_EQ(started.load(), saw_stop.load());
}

TEST(BlockingPool, AFiberWaitsWithoutBlockingItsThread) {
  BlockingPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  bool other_fiber_ran = false;
  BlockingStatus status{};
  boost::fibers::fiber waiting([&] {
    status = pool.run([released](std::stop_token) { released.wait(); }, {}, kNoDeadline);
  });
  boost::fibers::fiber other([&] {
    other_fiber_ran = true;  // runs while `waiting` is suspended in run()
    release.set_value();
  });
  waiting.join();
  other.join();
  EXPECT_TRUE(other_fiber_ran);
  EXPECT_EQ(status, BlockingStatus::done);
}

TEST(BlockingPool, ItsSizeBoundsHowManyJobsRunAtOnce) {
  BlockingPool pool(1);
  std::promise<void> first_started, release_first;
  std::shared_future<void> released = release_first.get_future().share();
  std::thread first([&] {
    pool.run([&, released](std::stop_token) {
      first_started.set_value();
      released.wait();
    }, {}, kNoDeadline);
  });
  first_started.get_future().wait();
  // The only thread is busy: a second job queues, and its caller's passed deadline ends the
  // wait before it ever ran.
  bool second_ran = false;
  EXPECT_EQ(pool.run([&](std::stop_token) { second_ran = true; }, {}, Clock::now()), BlockingStatus::timeout);
  release_first.set_value();
  first.join();
  EXPECT_EQ(pool.run([](std::stop_token) {}, {}, kNoDeadline), BlockingStatus::done);  // the queue moved on
  EXPECT_FALSE(second_ran);  // stopped before it started
}

TEST(BlockingPool, ShutdownStopsRunningJobs) {
  std::promise<void> started;
  std::thread caller;
  BlockingStatus status{};
  {
    BlockingPool pool(1);
    caller = std::thread([&] {
      status = pool.run([&](std::stop_token stop) {
        started.set_value();
        until_stopped(stop);  // ends only when the destructor stops it
      }, {}, kNoDeadline);
    });
    started.get_future().wait();
  }
  caller.join();  // run() returned: the job ended when the pool shut down
  EXPECT_EQ(status, BlockingStatus::done);
}

TEST(BlockingPool, RefusesZeroThreads) { EXPECT_THROW(BlockingPool(0), std::invalid_argument); }

}  // namespace
}  // namespace agentd::scheduler
