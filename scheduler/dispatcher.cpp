// Dispatcher: all of its locking lives in this file (see the contract in the header).
//
// Shape: run() is a loop of iterations "read the clock, act on what is overdue (timeouts, end
// of grace, stuck jobs), admit jobs while there is room, wait". Each job runs in a detached
// fiber that owns a reference to the Shared state, so a stuck job's fiber can outlive run() and
// the Dispatcher. The bookkeeping is guarded by a std::mutex held only for a few list walks and
// never across a fiber switch or a call into source, hooks or options; run() waits on a
// boost::fibers::condition_variable_any, which any fiber or plain thread may notify.
#include "scheduler/dispatcher.hpp"

#include <algorithm>
#include <list>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/operations.hpp>

#include "scheduler/fiber_priority.hpp"

namespace agentd::scheduler {

namespace {

using TimePoint = std::chrono::steady_clock::time_point;
using Lock = std::unique_lock<std::mutex>;

// One admitted job whose fiber has not yet ended. Shared by the job's fiber, Shared::jobs and,
// for the length of one iteration, run().
struct RunningJob {
  RunningJob(Job j, TimePoint started)
      : job(std::move(j)),
        deadline(job.timeout ? std::optional<TimePoint>(started + *job.timeout) : std::nullopt) {}

  const Job job;
  const std::optional<TimePoint> deadline;  // start + timeout, on options.now
  std::stop_source stop;                    // thread-safe by itself
  // The three below are GUARDED_BY(Shared::mutex).
  std::optional<TimePoint> stop_requested_at;  // first stop request (timeout, cancel, shutdown)
  bool stuck = false;                          // given up: no longer counts against the limits
  bool returned = false;                       // its function has returned or thrown
};

using JobRef = std::shared_ptr<RunningJob>;

// True if this thread runs PriorityScheduling (or another algorithm whose properties are a
// FiberClass). A fiber gets its properties the first time it is queued, so a fiber that has
// never been queued (the main fiber of a fresh thread) yields once to find out.
bool thread_uses_priority_scheduling() {
  if (boost::fibers::context::active()->get_properties() == nullptr) boost::this_fiber::yield();
  return dynamic_cast<FiberClass*>(boost::fibers::context::active()->get_properties()) != nullptr;
}

template <typename F, typename... Args>
void call_if_set(const F& hook, Args&&... args) {
  if (hook) hook(std::forward<Args>(args)...);
}

// What run(), the job fibers and the public members share. Owned by the Dispatcher and by every
// job fiber still alive.
struct Shared {
  Shared(DispatcherOptions o, Dispatcher::Source s, DispatcherHooks h)
      : options(std::move(o)), source(std::move(s)), hooks(std::move(h)) {}

  const DispatcherOptions options;
  const Dispatcher::Source source;
  const DispatcherHooks hooks;

  // Never held across a fiber switch, nor while calling source, hooks, options.now or
  // options.group_limit, nor while requesting a stop token (that runs the job's callbacks).
  mutable std::mutex mutex;
  // run() waits here between iterations; notified with mutex held.
  boost::fibers::condition_variable_any wake;
  bool wake_pending = false;                    // GUARDED_BY(mutex): poke, stop, cancel or a job ended
  bool run_called = false;                      // GUARDED_BY(mutex)
  bool stopping = false;                        // GUARDED_BY(mutex)
  TimePoint grace_end{};                        // GUARDED_BY(mutex): meaningful once stopping
  std::list<JobRef> jobs;                       // GUARDED_BY(mutex): admitted, fiber not ended
  int counted = 0;                              // GUARDED_BY(mutex): jobs in `jobs` not stuck
  int stuck_running = 0;                        // GUARDED_BY(mutex): stuck and not returned
  std::map<std::string, int> counted_by_group;  // GUARDED_BY(mutex): like `counted`, no zeros

  // Requires mutex held.
  void signal_locked() {
    wake_pending = true;
    wake.notify_all();
  }
  // Requires mutex held.
  void uncount_locked(const std::string& group) {
    --counted;
    auto it = counted_by_group.find(group);
    if (it != counted_by_group.end() && --it->second == 0) counted_by_group.erase(it);
  }
};

}  // namespace

struct Dispatcher::State {
  std::shared_ptr<Shared> shared;
};

namespace {

// Jobs found overdue in one iteration, collected under the lock and acted on without it.
struct Overdue {
  std::vector<JobRef> to_stop;    // stop token to request (timeout or end of grace)
  std::vector<JobRef> timed_out;  // on_timeout to call (a subset of to_stop)
  std::vector<JobRef> now_stuck;  // on_stuck to call
};

// Requires s.mutex held.
Overdue collect_overdue_locked(Shared& s, TimePoint now) {
  Overdue overdue;
  const bool grace_over = s.stopping && now >= s.grace_end;
  for (const JobRef& job : s.jobs) {
    if (job->returned || job->stuck) continue;
    if (!job->stop_requested_at && job->deadline && now >= *job->deadline) {
      job->stop_requested_at = now;
      overdue.to_stop.push_back(job);
      overdue.timed_out.push_back(job);
    } else if (!job->stop_requested_at && grace_over) {
      job->stop_requested_at = now;
      overdue.to_stop.push_back(job);
    }
    if (job->stop_requested_at && now - *job->stop_requested_at >= s.options.stuck_after) {
      job->stuck = true;
      s.uncount_locked(job->job.group);
      ++s.stuck_running;
      overdue.now_stuck.push_back(job);
    }
  }
  return overdue;
}

// Requires s.mutex held. How long run() may wait before something falls due on options.now,
// at most `poll`. Read on the injected clock, applied as real time: with a fake clock this only
// shortens a wait that poke() ends anyway.
std::chrono::steady_clock::duration next_wait_locked(const Shared& s, TimePoint now) {
  std::chrono::steady_clock::duration wait = s.options.poll;
  const auto consider = [&](TimePoint due) { wait = std::min(wait, std::max(due - now, wait.zero())); };
  for (const JobRef& job : s.jobs) {
    if (job->returned || job->stuck) continue;
    if (job->stop_requested_at) {
      consider(*job->stop_requested_at + s.options.stuck_after);
      continue;
    }
    if (job->deadline) consider(*job->deadline);
    if (s.stopping) consider(s.grace_end);
  }
  return wait;
}

// Runs in the job's own fiber: the job's function, then the hooks, then the bookkeeping.
void run_job(std::shared_ptr<Shared> shared, JobRef job) {
  std::exception_ptr error;
  try {
    job->job.run(job->stop.get_token());
  } catch (...) {
    error = std::current_exception();
  }
  bool stuck = false;
  {
    Lock lock(shared->mutex);
    job->returned = true;
    stuck = job->stuck;
    if (stuck) --shared->stuck_running;
  }
  // A hook that throws (its database busy or full) must not end the fiber: the job's slot is
  // given back below whatever happens; the hooks' owner reports its own errors.
  try {
    if (error && !stuck) call_if_set(shared->hooks.on_exception, job->job, error);
    call_if_set(shared->hooks.on_end, job->job, stuck);
  } catch (...) {
  }

  const std::string group = job->job.group;
  {
    Lock lock(shared->mutex);
    shared->jobs.remove(job);
  }
  // Usually the last reference: the Job and what its function holds are destroyed here, before
  // run() can see the job as ended (run() returns only then; see "Lifetime" in the header).
  job.reset();
  Lock lock(shared->mutex);
  if (!stuck) shared->uncount_locked(group);
  shared->signal_locked();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Dispatcher

Dispatcher::Dispatcher(DispatcherOptions options, Source source, DispatcherHooks hooks) {
  if (options.concurrency < 1) throw std::invalid_argument("Dispatcher: concurrency must be at least 1");
  if (options.poll <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("Dispatcher: poll must be positive");
  if (!source) throw std::invalid_argument("Dispatcher: source is empty");
  if (!options.now) options.now = [] { return std::chrono::steady_clock::now(); };
  state_ = std::make_unique<State>(
      State{std::make_shared<Shared>(std::move(options), std::move(source), std::move(hooks))});
}

Dispatcher::~Dispatcher() = default;

namespace {

// The run() loop, one object per call. Lives on run()'s stack.
class RunLoop {
 public:
  explicit RunLoop(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)), s_(*shared_), with_classes_(thread_uses_priority_scheduling()) {}

  void run() {
    for (;;) {
      const TimePoint now = s_.options.now();
      act_on(collect_overdue(now));
      if (finished()) return;
      admit();
      wait(now);
    }
  }

 private:
  Overdue collect_overdue(TimePoint now) {
    Lock lock(s_.mutex);
    return collect_overdue_locked(s_, now);
  }

  void act_on(const Overdue& overdue) {
    for (const JobRef& job : overdue.to_stop) job->stop.request_stop();
    for (const JobRef& job : overdue.timed_out) call_hook(s_.hooks.on_timeout, job->job);
    for (const JobRef& job : overdue.now_stuck) call_hook(s_.hooks.on_stuck, job->job);
  }

  // The hooks and the source are the caller's code; one that throws must not end the run loop's
  // fiber (and with it the process). Their owner logs its own errors; the next turn tries again.
  template <typename F, typename... Args>
  static void call_hook(const F& hook, Args&&... args) {
    try {
      call_if_set(hook, std::forward<Args>(args)...);
    } catch (...) {
    }
  }

  bool finished() const {
    Lock lock(s_.mutex);
    return s_.stopping && s_.counted == 0;
  }

  // Asks the source for jobs while there is room.
  void admit() {
    for (;;) {
      std::optional<std::map<std::string, int>> by_group = room();
      if (!by_group) return;
      std::optional<Job> job;
      try {
        job = s_.source(full_groups(*by_group));
      } catch (...) {
        return;  // e.g. the database is busy: asked again at the next turn
      }
      if (!job) return;
      start(std::move(*job));
    }
  }

  // Running jobs per group if another job may start now, else nullopt.
  std::optional<std::map<std::string, int>> room() const {
    Lock lock(s_.mutex);
    if (s_.stopping || s_.counted >= s_.options.concurrency) return std::nullopt;
    return s_.counted_by_group;
  }

  // Called unlocked: group_limit is the caller's code. Sorted, as the map is.
  std::vector<std::string> full_groups(const std::map<std::string, int>& by_group) const {
    std::vector<std::string> full;
    if (!s_.options.group_limit) return full;
    for (const auto& [group, running] : by_group) {
      const int limit = s_.options.group_limit(group);
      if (limit > 0 && running >= limit) full.push_back(group);
    }
    return full;
  }

  void start(Job job) {
    auto running = std::make_shared<RunningJob>(std::move(job), s_.options.now());
    const std::string& group = running->job.group;
    {
      Lock lock(s_.mutex);
      s_.jobs.push_back(running);
      ++s_.counted;
      ++s_.counted_by_group[group];
    }
    try {
      // launch::post queues the fiber, which gives it its properties, so its class is set
      // before it first runs (set_priority re-queues it).
      boost::fibers::fiber fiber(boost::fibers::launch::post, [shared = shared_, running]() mutable {
        run_job(std::move(shared), std::move(running));  // so run_job holds the fiber's only references
      });
      if (with_classes_) fiber.properties<FiberClass>().set_priority(running->job.priority);
      fiber.detach();
    } catch (...) {  // no fiber (stack allocation failed): the job never ran
      {
        Lock lock(s_.mutex);
        s_.jobs.remove(running);
        s_.uncount_locked(group);
      }
      call_if_set(s_.hooks.on_exception, running->job, std::current_exception());
    }
  }

  // Until woken (poke, stop, cancel, a job ended) or the next check falls due.
  void wait(TimePoint now) {
    Lock lock(s_.mutex);
    if (!s_.wake_pending) {
      const auto until = std::chrono::steady_clock::now() + next_wait_locked(s_, now);
      s_.wake.wait_until(lock, until, [this] { return s_.wake_pending; });
    }
    s_.wake_pending = false;
  }

  const std::shared_ptr<Shared> shared_;
  Shared& s_;
  const bool with_classes_;
};

}  // namespace

void Dispatcher::run() {
  Shared& s = *state_->shared;
  {
    Lock lock(s.mutex);
    if (s.run_called) throw std::logic_error("Dispatcher::run() called twice");
    s.run_called = true;
  }
  RunLoop(state_->shared).run();
}

void Dispatcher::poke() {
  Shared& s = *state_->shared;
  Lock lock(s.mutex);
  s.signal_locked();
}

bool Dispatcher::cancel(int64_t id) {
  Shared& s = *state_->shared;
  const TimePoint now = s.options.now();
  std::vector<std::stop_source> found;  // not the jobs: this thread must not end up destroying one
  {
    Lock lock(s.mutex);
    for (const JobRef& job : s.jobs) {
      if (job->job.id != id || job->returned) continue;
      if (!job->stop_requested_at) job->stop_requested_at = now;
      found.push_back(job->stop);
    }
    if (found.empty()) return false;
    s.signal_locked();  // run() re-plans its wait around the stuck deadline
  }
  for (std::stop_source& stop : found) stop.request_stop();  // may run the job's stop callbacks
  return true;
}

void Dispatcher::stop(std::chrono::milliseconds grace) {
  Shared& s = *state_->shared;
  const TimePoint grace_end = s.options.now() + grace;
  Lock lock(s.mutex);
  if (!s.stopping || grace_end < s.grace_end) s.grace_end = grace_end;
  s.stopping = true;
  s.signal_locked();
}

DispatcherSnapshot Dispatcher::snapshot() const {
  const Shared& s = *state_->shared;
  Lock lock(s.mutex);
  DispatcherSnapshot snap;
  snap.running = s.counted;
  snap.stuck = s.stuck_running;
  snap.by_group = s.counted_by_group;
  snap.stopping = s.stopping;
  return snap;
}

}  // namespace agentd::scheduler
