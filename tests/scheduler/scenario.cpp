#include "scenario.hpp"

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>
#include <boost/fiber/algo/shared_work.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/operations.hpp>

namespace agentd::scheduler::testing {

std::string to_string(Mode mode) {
  switch (mode) {
    case Mode::fibers_post:
      return "FibersPost";
    case Mode::fibers_dispatch:
      return "FibersDispatch";
    case Mode::fibers_shared_work:
      return "FibersSharedWork";
    case Mode::plain_threads:
      return "PlainThreads";
  }
  return "?";
}

void Scenario::run(const std::function<void()>& controller) {
  switch (mode_) {
    case Mode::fibers_post:
    case Mode::fibers_dispatch:
      run_fibers_here(controller);
      break;
    case Mode::fibers_shared_work:
      run_fibers_on_threads(controller);
      break;
    case Mode::plain_threads:
      run_threads(controller);
      break;
  }
}

void Scenario::spawn(std::function<void()> actor) {
  switch (mode_) {
    case Mode::fibers_post:
    case Mode::fibers_shared_work:
      fibers_.emplace_back(boost::fibers::launch::post, std::move(actor));
      break;
    case Mode::fibers_dispatch:
      fibers_.emplace_back(boost::fibers::launch::dispatch, std::move(actor));
      break;
    case Mode::plain_threads:
      threads_.emplace_back(std::move(actor));
      break;
  }
}

void Scenario::wait_until(const std::function<bool()>& condition) const {
  while (!condition()) yield();
}

void Scenario::yield() const {
  if (uses_fibers()) {
    boost::this_fiber::yield();
  } else {
    std::this_thread::yield();
  }
}

void Scenario::join_actors() {
  for (auto& f : fibers_) f.join();
  for (auto& t : threads_) t.join();
  fibers_.clear();
  threads_.clear();
}

// The controller is a fiber on the calling thread (default round-robin scheduler).
void Scenario::run_fibers_here(const std::function<void()>& controller) {
  const auto policy =
      mode_ == Mode::fibers_dispatch ? boost::fibers::launch::dispatch : boost::fibers::launch::post;
  boost::fibers::fiber main_fiber(policy, [&] {
    controller();
    join_actors();
  });
  main_fiber.join();
}

// Fresh threads share one work queue (algo::shared_work), so the controller and the actors
// migrate between threads; each thread parks its main fiber until the controller is done.
// `done` is guarded by a std::mutex (visible to ThreadSanitizer, unlike boost::fibers::mutex)
// and announced while holding it, and the controller fiber is detached rather than joined: so
// no thread can exit, destroying its scheduler, while another thread is still waking it up.
// (Boost 1.74's shared_work::notify() unlocks before notify_all(); see scheduler/README.md.)
void Scenario::run_fibers_on_threads(const std::function<void()>& controller) {
  std::mutex mutex;
  boost::fibers::condition_variable_any done_cv;  // parks main fibers, not threads
  bool done = false;                              // guarded by mutex

  auto announce_done = [&] {
    std::lock_guard lock(mutex);
    done = true;
    done_cv.notify_all();
  };
  auto worker = [&](bool starts_controller) {
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::shared_work>(true);
    if (starts_controller) {
      boost::fibers::fiber(boost::fibers::launch::post, [&] {
        controller();
        join_actors();
        announce_done();
      }).detach();
    }
    std::unique_lock lock(mutex);
    done_cv.wait(lock, [&] { return done; });
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < kSharedWorkThreads; ++i) pool.emplace_back(worker, i == 0);
  for (auto& t : pool) t.join();
}

// The controller runs on the calling thread, each actor on its own std::thread.
void Scenario::run_threads(const std::function<void()>& controller) {
  controller();
  join_actors();
}

Watchdog::Watchdog(std::chrono::seconds limit)
    : thread_([this, limit] {
        std::unique_lock lock(mutex_);
        if (!finished_cv_.wait_for(lock, limit, [this] { return finished_; })) {
          const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
          std::fprintf(stderr, "watchdog: %s.%s did not finish within %llds (lost wake-up?)\n",
                       test ? test->test_suite_name() : "?", test ? test->name() : "?",
                       static_cast<long long>(limit.count()));
          std::abort();
        }
      }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  finished_cv_.notify_one();
  thread_.join();
}

}  // namespace agentd::scheduler::testing
