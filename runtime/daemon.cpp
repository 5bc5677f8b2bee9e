#include "runtime/daemon.hpp"

#include <pthread.h>
#include <signal.h>

#include <boost/fiber/all.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <thread>

#include "runtime/lock_file.hpp"
#include "storage/schema.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Logs how long one start-up step took.
class Step {
 public:
  explicit Step(const char* name) : name_(name), start_(SteadyClock::now()) {}
  ~Step() {
    auto ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start_).count();
    spdlog::info("start-up: {:<24} {:8.1f} ms", name_, ms);
  }

 private:
  const char* name_;
  SteadyClock::time_point start_;
};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  return set;
}

// Waits for SIGTERM/SIGINT with sigwait and reports it. The signals must be blocked in every
// thread, so run_daemon blocks them before it starts any (the engine's included).
class SignalWaiter {
 public:
  template <typename OnStop>
  explicit SignalWaiter(OnStop on_stop) : set_(stop_signals()) {
    thread_ = std::thread([this, on_stop] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP: nothing to reload yet (agents.d arrives with the runtime issue)");
          continue;
        }
        if (!done_) spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        on_stop();
        return;
      }
    });
  }
  ~SignalWaiter() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait if no signal came
    thread_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The agent thread's state: who runs, who must stop. Fibers on this thread and the signal thread
// meet here, so every field is guarded by `mutex`.
struct Serving {
  boost::fibers::mutex mutex;
  boost::fibers::condition_variable changed;
  bool stopping = false;                               // GUARDED_BY(mutex)
  int running = 0;                                     // GUARDED_BY(mutex)
  std::map<int64_t, engine::Generation*> in_flight;    // GUARDED_BY(mutex)
};

void run_task(const DaemonOptions& o, engine::Engine& engine, storage::TaskStore& tasks, Serving& serving,
              const storage::Task& task) {
  spdlog::info("task {} ({}) started", task.id, task.agent);
  engine::Request request;
  request.messages = {{"user", task.input}};
  request.priority = task.priority;
  request.max_tokens = o.max_tokens;
  request.task_id = task.id;
  try {
    auto generation = engine.submit(std::move(request));
    {
      std::lock_guard lock(serving.mutex);
      serving.in_flight[task.id] = generation.get();
    }
    engine::Result result = generation->wait();
    {
      std::lock_guard lock(serving.mutex);
      serving.in_flight.erase(task.id);
    }
    tasks.add_event(task.id, storage::event::llm_call,
                    {{"route", "local"},
                     {"queue_wait_ms", result.queue_wait_ms},
                     {"ttft_ms", result.ttft_ms},
                     {"prompt_tokens", result.prompt_tokens},
                     {"completion_tokens", result.completion_tokens},
                     {"decode_tokens_per_s", result.decode_tokens_per_s},
                     {"times_preempted", result.times_preempted},
                     {"finish", engine::to_string(result.finish)}});
    switch (result.finish) {
      case engine::FinishReason::stop:
      case engine::FinishReason::length:
        tasks.finish(task.id, result.text);
        spdlog::info("task {} finished: {} tokens", task.id, result.completion_tokens);
        break;
      case engine::FinishReason::cancelled:
        tasks.interrupt(task.id, "the daemon stopped before the task ended");
        spdlog::warn("task {} interrupted by shutdown", task.id);
        break;
      case engine::FinishReason::deadline:
        tasks.fail(task.id, "deadline passed");
        break;
      case engine::FinishReason::error:
        tasks.fail(task.id, result.error);
        spdlog::error("task {} failed: {}", task.id, result.error);
        break;
    }
  } catch (const std::exception& e) {  // a refused request (too long, ...) fails this task only
    std::lock_guard lock(serving.mutex);
    serving.in_flight.erase(task.id);
    tasks.fail(task.id, e.what());
    spdlog::error("task {} failed: {}", task.id, e.what());
  }
  std::lock_guard lock(serving.mutex);
  --serving.running;
  serving.changed.notify_all();
}

// Claims queued tasks (most urgent first) into fibers until told to stop, then drains.
void serve(const DaemonOptions& o, engine::Engine& engine, storage::TaskStore& tasks) {
  Serving serving;
  SignalWaiter signals([&serving] {
    std::lock_guard lock(serving.mutex);
    serving.stopping = true;
    serving.changed.notify_all();
  });
  spdlog::info("serving: up to {} tasks at once; stop with SIGTERM or Ctrl-C", o.concurrency);

  std::unique_lock lock(serving.mutex);
  while (!serving.stopping) {
    while (serving.running < o.concurrency) {
      lock.unlock();
      auto task = tasks.claim_next();
      lock.lock();
      if (!task) break;
      ++serving.running;
      boost::fibers::fiber([&, t = std::move(*task)] { run_task(o, engine, tasks, serving, t); }).detach();
    }
    // New tasks arrive through the database (from `agentd submit`, another process): look again
    // after `poll`, or at once when a task ends or a signal came.
    serving.changed.wait_for(lock, o.poll);
  }

  spdlog::info("draining: {} running task(s), grace {} ms", serving.running, o.grace.count());
  auto deadline = SteadyClock::now() + o.grace;
  serving.changed.wait_until(lock, deadline, [&] { return serving.running == 0; });
  for (auto& [id, generation] : serving.in_flight) generation->cancel();
  serving.changed.wait(lock, [&] { return serving.running == 0; });
}

// Interrupted tasks run again, up to max_attempts runs; past that they fail.
void apply_interrupted_policy(storage::TaskStore& tasks, int max_attempts) {
  int recovered = tasks.recover_interrupted();
  int requeued = 0, given_up = 0;
  for (const auto& t : tasks.with_status(storage::TaskStatus::interrupted)) {
    if (t.attempt < max_attempts) {
      requeued += tasks.requeue(t.id);
    } else {
      given_up += tasks.fail(t.id, "interrupted " + std::to_string(t.attempt) + " times; not retried");
    }
  }
  spdlog::info("recovery: {} left running by a crash, {} requeued, {} given up", recovered, requeued, given_up);
}

}  // namespace

int run_daemon(const DaemonOptions& o) {
  sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started from here
  std::filesystem::path data_dir = o.db_path.has_parent_path() ? o.db_path.parent_path() : ".";
  try {
    std::filesystem::create_directories(data_dir);
    LogOptions log = o.log;
    if (log.file.empty()) log.file = data_dir / "agentd.log";
    setup_logging(log);
  } catch (const std::exception& e) {
    spdlog::error("cannot set up {}: {}", data_dir.string(), e.what());
    return 1;
  }
  try {
    spdlog::info("agentd starting: database {}", o.db_path.string());
    std::unique_ptr<LockFile> lock;
    std::unique_ptr<storage::Database> db;
    std::unique_ptr<engine::LlamaEngine> engine;
    {
      Step s("take the lock");
      lock = std::make_unique<LockFile>(o.db_path.string() + ".lock");
    }
    {
      Step s("open storage, migrate");
      db = storage::open_database(o.db_path);
    }
    storage::TaskStore tasks(*db);
    {
      Step s("recover interrupted");
      apply_interrupted_policy(tasks, o.max_attempts);
    }
    {
      Step s("load the model");
      engine = std::make_unique<engine::LlamaEngine>(o.engine);
      auto info = engine->info();
      spdlog::info("model {}: {} policy, {} slots x {} tokens", info.model, info.policy, info.slots, info.context);
    }
    serve(o, *engine, tasks);
    spdlog::info("agentd stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

}  // namespace agentd::runtime
