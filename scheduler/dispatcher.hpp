// Dispatcher: runs jobs, each in its own fiber on the calling thread, with a global concurrency
// limit, a per-group limit (a group is an agent), a per-job timeout, cooperative cancellation
// and a watchdog. It knows nothing of agents or storage: jobs come from a Source function (the
// runtime claims tasks from the TaskStore there) and a job is just a function of a stop token.
//
// Contract
// - run() loops on the calling thread (a fiber of it) until stop() has been called and every
//   job has ended or been given up as stuck; then it returns. Call run() once (a second call
//   throws std::logic_error).
// - Admission: whenever there is room (running < concurrency), run() calls
//   `source(full_groups)` where full_groups lists the groups at their limit (sorted by name);
//   the source returns the next job not in those groups, or nullopt. Each job runs in a new fiber
//   whose FiberClass is the job's priority. It calls source again at once after a job ends, after
//   poke(), and every `poll` otherwise (new work may appear in another process's writes). A job
//   the source returns anyway for a full group still runs (the source has claimed it).
// - Priorities need PriorityScheduling (fiber_priority.hpp) on run()'s thread. run() checks the
//   thread's algorithm once (at most one yield); under any other algorithm the jobs still run,
//   in that algorithm's order, without a FiberClass.
// - Timeout: `timeout` counts from the job's start on `now`. When it passes, the job's stop
//   token is requested and hooks.on_timeout runs (not if the job's stop was already requested
//   by cancel() or shutdown). A job that has not returned `stuck_after` after its stop request
//   (timeout, cancel() or shutdown) is stuck: hooks.on_stuck runs once,
//   and the job stops counting against the global and group limits, so it cannot block others.
//   Its fiber is not killed (nothing can kill a fiber); when it returns, nothing more is called
//   except hooks.on_end with stuck = true.
// - cancel(id) requests the stop token of a running job; false if no such job runs (a stuck job
//   still runs: cancel() returns true and changes nothing).
// - A job that throws: the exception is caught, hooks.on_exception runs, the dispatcher and
//   the other jobs go on. Then on_end(stuck = false) runs as for a job that returned. A job with
//   an empty `run` counts as throwing std::bad_function_call.
// - stop(grace): no more admissions; running jobs get `grace` (on `now`) to finish, then their
//   stop tokens are requested; stuck detection then applies as above. Idempotent; a later call
//   with an earlier end of grace brings it forward, never back. stop() before run() makes run()
//   return at once.
// - Time is read from options.now only, so tests drive timeouts with a fake clock and poke().
//   Real waiting between checks is bounded by `poll` (shorter when a timeout, the end of grace
//   or a stuck deadline is nearer on `now`). options.now must be thread-safe and must not block:
//   cancel() and stop() read it on the caller's thread.
// - poke(), cancel(), stop() and snapshot() are safe from any thread or fiber; hooks and source
//   are called on run()'s thread, never with an internal lock held. Source and hooks must not
//   throw (a hook throwing inside a job's fiber terminates the process, as any exception leaving
//   a fiber does).
// - Lifetime: run() returns only after every job that is not stuck has ended (its on_end has
//   returned and its Job, with whatever its function holds, is destroyed). A stuck job's fiber
//   is detached and keeps the dispatcher's shared state (options, source, hooks) alive, so the
//   Dispatcher may be destroyed before it returns; whatever the hooks refer to must then stay
//   valid until it returns, since it still calls on_end. Boost.Fiber runs such a fiber to its
//   end before run()'s thread can exit. Destroying the Dispatcher while run() runs is an error.
// - The constructor throws std::invalid_argument if concurrency < 1, poll <= 0 or source is
//   empty; an empty options.now means steady_clock::now.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "scheduler/priority.hpp"

namespace agentd::scheduler {

struct Job {
  int64_t id = 0;
  std::string group;  // concurrency group (the agent's name)
  Priority priority = Priority::background;
  std::optional<std::chrono::milliseconds> timeout;
  std::function<void(std::stop_token)> run;
};

struct DispatcherHooks {
  std::function<void(const Job&)> on_timeout;
  std::function<void(const Job&)> on_stuck;
  std::function<void(const Job&, std::exception_ptr)> on_exception;
  std::function<void(const Job&, bool stuck)> on_end;  // the job's function returned or threw
};

struct DispatcherOptions {
  int concurrency = 4;
  // Most jobs of one group running at once; 0 or less = no limit beyond `concurrency`.
  std::function<int(const std::string& group)> group_limit;
  std::chrono::milliseconds stuck_after{30'000};
  std::chrono::milliseconds poll{200};
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
};

struct DispatcherSnapshot {
  int running = 0;                    // not counting stuck jobs
  int stuck = 0;                      // stuck and not yet returned
  std::map<std::string, int> by_group;  // running per group, not counting stuck jobs
  bool stopping = false;
  bool operator==(const DispatcherSnapshot&) const = default;
};

class Dispatcher {
 public:
  using Source = std::function<std::optional<Job>(const std::vector<std::string>& full_groups)>;

  Dispatcher(DispatcherOptions options, Source source, DispatcherHooks hooks = {});
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void run();
  void poke();
  bool cancel(int64_t id);
  void stop(std::chrono::milliseconds grace);
  DispatcherSnapshot snapshot() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace agentd::scheduler
