// Test harness: runs one scenario (a controller plus the actors it spawns) as fibers under a
// launch policy on one thread, as fibers shared by several threads, or as plain threads, so
// every test of the priority lock runs in each of those modes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/fiber/fiber.hpp>

namespace agentd::scheduler::testing {

enum class Mode { fibers_post, fibers_dispatch, fibers_shared_work, plain_threads };

std::string to_string(Mode mode);

class Scenario {
 public:
  explicit Scenario(Mode mode) : mode_(mode) {}
  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;

  // Runs `controller` and returns once it and every actor it spawned have finished.
  void run(const std::function<void()>& controller);
  // Called from the controller only: starts `actor` concurrently with the controller.
  void spawn(std::function<void()> actor);
  // Polls `condition`, yielding (fiber or thread) between polls; never sleeps.
  void wait_until(const std::function<bool()>& condition) const;
  // Lets other fibers / threads run.
  void yield() const;

  bool uses_fibers() const { return mode_ != Mode::plain_threads; }

 private:
  void run_fibers_here(const std::function<void()>& controller);
  void run_fibers_on_threads(const std::function<void()>& controller);
  void run_threads(const std::function<void()>& controller);
  void join_actors();

  static constexpr int kSharedWorkThreads = 3;

  Mode mode_;
  // Touched only by the controller (which may migrate between threads, but runs sequentially).
  std::vector<boost::fibers::fiber> fibers_;
  std::vector<std::thread> threads_;
};

// Aborts the process with a message if a test does not finish in time: a lost wake-up shows as
// a failure instead of a hang. Waits on a condition variable, it does not sleep.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit);
  ~Watchdog();

 private:
  std::mutex mutex_;
  std::condition_variable finished_cv_;
  bool finished_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace agentd::scheduler::testing
