#include "runtime/daemon.hpp"

#include <pthread.h>
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <boost/fiber/all.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "core/thread_name.hpp"
#include "runtime/agent_catalog.hpp"
#include "runtime/http_server.hpp"
#include "runtime/lock_file.hpp"
#include "runtime/metrics.hpp"
#include "runtime/status.hpp"
#include "runtime/task_runner.hpp"
#include "runtime/triggers.hpp"
#include "scheduler/dispatcher.hpp"
#include "scheduler/fiber_priority.hpp"
#include "storage/retention.hpp"
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

sigset_t daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  return set;
}

// What the signal thread tells the agent thread. The only state shared between them.
struct Control {
  std::mutex mutex;
  boost::fibers::condition_variable_any changed;
  bool stopping = false;        // GUARDED_BY(mutex)
  bool reload = false;          // GUARDED_BY(mutex)
};

// Takes SIGTERM/SIGINT/SIGHUP with sigwait. The signals are blocked in every thread: run_daemon
// blocks them before it starts any (the engine's included). The first stop signal drains with
// the grace period; a second one (an impatient Ctrl-C) cancels running tasks at once.
class SignalThread {
 public:
  template <typename OnStop>
  SignalThread(Control& control, OnStop on_stop) : set_(daemon_signals()) {
    thread_ = std::thread([this, &control, on_stop] {
      core::name_this_thread(core::thread_names::signals);
      int stops = 0;
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (done_) return;
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP: reloading agents");
          std::lock_guard lock(control.mutex);
          control.reload = true;
          control.changed.notify_all();
          continue;
        }
        const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
        if (++stops == 1) {
          spdlog::info("{}: stopping", name);
          on_stop(false);
        } else {
          spdlog::warn("{} again: cancelling running tasks now", name);
          on_stop(true);
        }
      }
    });
  }
  ~SignalThread() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait
    thread_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

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

void log_catalog(const AgentCatalog::Report& r, const AgentCatalog& catalog) {
  spdlog::info("agents: {} enabled, {} disabled, {} with errors (from {})", r.usable, r.disabled, r.broken,
               catalog.options().dir.string());
}

// Everything the agent thread runs after start-up.
class Server {
 public:
  Server(const DaemonOptions& o, storage::Database& db, engine::LlamaEngine& engine, engine::Engine& metered,
         AgentCatalog& catalog, TriggerRunner& triggers, StatusBoard& board)
      : o_(o),
        db_(db),
        tasks_(db),
        engine_(engine),
        catalog_(catalog),
        triggers_(triggers),
        board_(board),
        runner_(metered, db, catalog),
        dispatcher_(dispatcher_options(), [this](const auto& full) { return claim(full); }, runner_.hooks()) {}

  void poke() { dispatcher_.poke(); }
  void set_router(engine::Router* router) { runner_.set_router(router); }
  void set_live_output(agents::LiveOutput* live) { runner_.set_live_output(live); }
  void set_http_address(std::string address) { http_address_ = std::move(address); }

  void serve() {
    SignalThread signals(control_, [this](bool now) { stop(now); });
    spdlog::info("serving: up to {} tasks at once; SIGHUP reloads agents, SIGTERM or Ctrl-C stops", o_.concurrency);
    boost::fibers::fiber dispatcher([this] { restart_on_error("dispatcher", [this] { dispatcher_.run(); }); });
    boost::fibers::fiber housekeeping([this] { restart_on_error("housekeeping", [this] { housekeep(); }); });
    dispatcher.join();
    housekeeping.join();
    write_status(true);
  }

 private:
  scheduler::DispatcherOptions dispatcher_options() const {
    scheduler::DispatcherOptions d;
    d.concurrency = o_.concurrency;
    d.group_limit = [this](const std::string& agent) {
      auto a = catalog_.find(agent);
      return a ? a->config.limits.max_concurrent : 1;
    };
    d.stuck_after = o_.stuck_after;
    d.poll = o_.poll;
    return d;
  }

  // The dispatcher's source: the most urgent queued task among loaded agents with room.
  // Called at every poll (5 times a second): an empty queue costs one index probe, not a list of
  // every agent's name bound into a query (with 1,000 agents that was most of an idle daemon's CPU).
  std::optional<scheduler::Job> claim(const std::vector<std::string>& full) {
    bool queued = false;
    survive("looking at the queue", [&] { queued = tasks_.any_queued(); });
    if (!queued) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& name : catalog_.usable_names()) {
      if (std::find(full.begin(), full.end(), name) == full.end()) names.push_back(name);
    }
    std::optional<storage::Task> task;
    survive("claiming the next task", [&] { task = tasks_.claim_next(names); });
    if (!task) return std::nullopt;
    auto agent = catalog_.find(task->agent);
    return runner_.job_for(std::move(*task), std::move(agent));
  }

  // A step of the daemon's own fibers that fails (the database busy past its timeout, the disk
  // full) is logged and tried again at its next turn; it never ends the process, and nothing
  // committed is lost (SQLite rolled the statement back).
  template <typename F>
  static void survive(const char* what, F&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      log_failure(what, e.what());
    }
  }

  // A step's failure, logged once a minute while it keeps failing the same way (a full disk
  // failed the claim every 200 ms: 665 lines in two minutes), with how often it failed meanwhile.
  // Agent thread only.
  static void log_failure(const std::string& what, const std::string& error) {
    struct Last {
      std::string error;
      std::chrono::steady_clock::time_point logged;
      int unlogged = 0;
    };
    static std::map<std::string, Last> last;
    const auto now = std::chrono::steady_clock::now();
    Last& l = last[what];
    if (l.error == error && now - l.logged < std::chrono::minutes(1)) {
      ++l.unlogged;
      return;
    }
    spdlog::error("{} failed: {}; retried later{}", what, error,
                  l.unlogged ? " (" + std::to_string(l.unlogged) + " more failures since the last report)" : "");
    l = {error, now, 0};
  }

  // A daemon fiber's top level. Each step inside already catches its own errors; should anything
  // escape the loop all the same, it is logged and the loop entered again: an exception leaving
  // a fiber would end the process (std::terminate). The pause keeps an error that recurs at once
  // from spinning the agent thread.
  template <typename F>
  void restart_on_error(const char* fiber, F&& loop) {
    for (;;) {
      try {
        loop();
        return;
      } catch (const std::exception& e) {
        spdlog::error("{} fiber: {}; restarting its loop", fiber, e.what());
      } catch (...) {
        spdlog::error("{} fiber: unknown exception; restarting its loop", fiber);
      }
      boost::this_fiber::sleep_for(o_.poll);
    }
  }

  // Called on the signal thread; `now`: no grace period.
  void stop(bool now) {
    runner_.shutting_down();
    {
      std::lock_guard lock(control_.mutex);
      control_.stopping = true;
      control_.changed.notify_all();
    }
    auto grace = now ? std::chrono::milliseconds(0) : o_.grace;
    if (!now) spdlog::info("draining: running tasks have {} ms to finish (a second signal cancels them now)", grace.count());
    dispatcher_.stop(grace);
  }

  // Freed heap pages back to the system, once a minute. glibc keeps what an arena freed unless
  // its top is free (arenas are capped at two: cap_malloc_arenas); a 20-minute soak of small tasks saw the
  // rest of resident memory wander from 43 to 74 MiB while the live heap stayed under 50 MiB
  // (heaptrack). A trim walks the free lists: a few ms, off the engine's thread.
  static void return_free_heap() {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }

  void housekeep() {
    auto next_status = SteadyClock::now();
    auto next_trim = SteadyClock::now() + std::chrono::minutes(1);
    std::unique_lock lock(control_.mutex);
    while (!control_.stopping) {
      bool reload = std::exchange(control_.reload, false);
      lock.unlock();
      if (reload) reload_agents();
      survive("firing triggers", [&] {
        if (int n = triggers_.tick(storage::now_ms()); n > 0) {
          fired_ += static_cast<uint64_t>(n);
          dispatcher_.poke();
        }
      });
      survive("looking for cancelled tasks", [&] { notice_cancellations(); });
      if (SteadyClock::now() >= next_status) {
        survive("writing the status", [&] { write_status(false); });
        next_status = SteadyClock::now() + std::chrono::seconds(2);
      }
      if (SteadyClock::now() >= next_trim) {
        return_free_heap();
        next_trim = SteadyClock::now() + std::chrono::minutes(1);
      }
      lock.lock();
      control_.changed.wait_for(lock, wait_time());
    }
  }

  std::chrono::milliseconds wait_time() const {
    auto wait = o_.poll;
    if (auto next = triggers_.next_due()) {
      wait = std::clamp(std::chrono::milliseconds(*next - storage::now_ms()), std::chrono::milliseconds(0), wait);
    }
    return wait;
  }

  void reload_agents() {
    ++reloads_;
    try {
      auto report = catalog_.load();
      log_catalog(report, catalog_);
      int queued = triggers_.sync(catalog_, storage::now_ms());
      if (queued) spdlog::info("reload: {} missed run(s) queued", queued);
      dispatcher_.poke();
    } catch (const std::exception& e) {
      spdlog::error("reload failed, keeping the agents loaded before: {}", e.what());
    }
  }

  // A task cancelled from another process (`agentd cancel`) while its job runs here.
  void notice_cancellations() {
    for (int64_t id : std::vector<int64_t>(runner_.running().begin(), runner_.running().end())) {
      auto t = tasks_.get(id);
      if (t && t->status == storage::TaskStatus::cancelled) dispatcher_.cancel(id);
    }
  }

  // What the status shows that can change while the daemon runs, apart from the clock and memory.
  struct StatusInputs {
    uint64_t reloads = 0, fired = 0;
    scheduler::DispatcherSnapshot dispatcher;
    int64_t tokens = 0, prompt_tokens = 0, decode_steps = 0;
    int engine_busy = 0;  // running + paused + queued, every class
    bool operator==(const StatusInputs&) const = default;
  };

  // The status (board and status.json) every 2 s while anything changes, every 30 s while
  // nothing does: with 1,000 agents it is ~1.2 MB of JSON (their definitions), and rebuilding
  // it every 2 s was most of an idle daemon's CPU (3 % of a core; bench/README, "Daemon overhead").
  void write_status(bool final, bool force = false) {
    const auto stats = engine_.stats();
    const double rate = meter_.update(stats.tokens_generated, storage::now_ms());
    StatusInputs in{reloads_, fired_, dispatcher_.snapshot(), stats.tokens_generated, stats.prompt_tokens,
                    stats.decode_steps, 0};
    for (const auto& c : stats.by_class) in.engine_busy += c.running + c.paused + c.queued;
    const auto now = SteadyClock::now();
    if (!final && !force && in == last_status_ && rate == 0 && last_rate_ == 0 &&
        now - last_status_at_ < std::chrono::seconds(30)) {
      return;
    }
    auto status = status_json(started_at_, engine_, rate, in.dispatcher, catalog_, triggers_, final);
    if (!http_address_.empty()) status["http"] = http_address_;
    board_.set(status);
    write_status_file(status_file(o_.db_path), status);
    last_status_ = std::move(in);
    last_status_at_ = now;
    last_rate_ = rate;
  }

 public:
  // Before serving: the HTTP API reads the board from its first request on.
  void publish_status() { write_status(false, /*force=*/true); }

 private:

  const DaemonOptions& o_;
  storage::Database& db_;
  storage::TaskStore tasks_;
  engine::LlamaEngine& engine_;
  AgentCatalog& catalog_;
  TriggerRunner& triggers_;
  StatusBoard& board_;
  TaskRunner runner_;
  scheduler::Dispatcher dispatcher_;
  Control control_;
  ThroughputMeter meter_;
  int64_t started_at_ = storage::now_ms();
  std::string http_address_;  // host:port the HTTP server listens on, once it does
  uint64_t reloads_ = 0;      // agent reloads (SIGHUP)
  uint64_t fired_ = 0;        // tasks queued by triggers
  StatusInputs last_status_;  // what the last status written showed
  SteadyClock::time_point last_status_at_{};
  double last_rate_ = 0;
};

}  // namespace

// At most two glibc malloc arenas (unless MALLOC_ARENA_MAX says otherwise), set before any thread
// starts. With glibc's default (8 per core) every HTTP, dispatcher and pool thread gets an arena
// of its own and keeps what it freed there: in two 30-minute soaks run side by side (bench/README,
// "Soak"), the rest of resident memory grew 17 MiB and levelled off at ~66 MiB with the default,
// 9.5 MiB and flat at 54 MiB from minute 14 with two arenas, for chat latency within noise.
static void cap_malloc_arenas() {
#ifdef __GLIBC__
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
#endif
}

int run_daemon(const DaemonOptions& o) {
  cap_malloc_arenas();
  sigset_t signals = daemon_signals();
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
  // This thread becomes the agent thread: its fibers run by priority class.
  boost::fibers::use_scheduling_algorithm<scheduler::PriorityScheduling>();
  try {
    spdlog::info("agentd starting: database {}", o.db_path.string());
    std::unique_ptr<LockFile> lock;
    std::unique_ptr<storage::Database> db;
    std::unique_ptr<engine::LlamaEngine> engine;
    AgentCatalog catalog(with_defaults(o.agents, data_dir), agents::builtin_plugins());
    {
      Step s("take the lock");
      lock = std::make_unique<LockFile>(o.db_path.string() + ".lock");
    }
    {
      Step s("open storage");
      db = std::make_unique<storage::Database>(o.db_path);
    }
    {
      Step s("check the database");  // before anything writes into it
      storage::require_intact(*db);
    }
    {
      Step s("migrate");
      storage::migrate(*db);
    }
    storage::TaskStore tasks(*db);
    {
      Step s("recover interrupted");
      apply_interrupted_policy(tasks, o.max_attempts);
    }
    {
      Step s("load the model");
      engine::LlamaEngineOptions eo = o.engine;
      if (eo.prefix_cache_dir.empty()) eo.prefix_cache_dir = (data_dir / "prefix-cache").string();
      eo.on_warning = [](const std::string& w) { spdlog::warn("engine: {}", w); };
      engine = std::make_unique<engine::LlamaEngine>(eo);
      auto info = engine->info();
      spdlog::info("model {}: {} policy, {} slots x {} tokens, CPU backend {}", info.model, info.policy, info.slots,
                   info.context, engine->stats().cpu_backend);
    }
    {
      Step s("load agents");
      log_catalog(catalog.load(), catalog);
    }
    TriggerRunner triggers(*db);
    {
      Step s("start triggers");
      int queued = triggers.sync(catalog, storage::now_ms());
      spdlog::info("triggers: {} active, {} missed run(s) queued", triggers.states().size(), queued);
    }
    Metrics metrics;
    MeteredEngine metered(*engine, metrics);
    StatusBoard board;
    agents::LiveOutput live;  // interactive tasks' text as it is written, for /api/tasks/ID/events
    Server server(o, *db, *engine, metered, catalog, triggers, board);
    server.set_live_output(&live);
    std::unique_ptr<engine::OpenAIEngine> cloud;
    std::unique_ptr<MeteredEngine> cloud_metered;
    std::unique_ptr<engine::Router> router;
    if (o.cloud) {
      Step s("connect the cloud engine");
      cloud = std::make_unique<engine::OpenAIEngine>(o.cloud->engine);
      cloud_metered = std::make_unique<MeteredEngine>(*cloud, metrics);
      auto* llama = engine.get();
      router = std::make_unique<engine::Router>(
          metered, cloud_metered.get(), [llama](const engine::Request& r) { return int(llama->tokenize_prompt(r).size()); },
          engine::RouterOptions{o.cloud->escalate_complexity, engine->info().context, o.cloud->prices});
      server.set_router(router.get());
      spdlog::info("cloud: {} model {} for agents routed cloud or auto", o.cloud->engine.base_url, o.cloud->engine.model);
    }
    server.publish_status();
    std::unique_ptr<HttpServer> http;
    if (o.http.enabled) {
      Step s("start HTTP");
      auto* llama = engine.get();
      engine::EngineInfo info = engine->info();
      info.model = std::filesystem::path(info.model).stem().string();  // the id clients name
      http = std::make_unique<HttpServer>(
          o.http, HttpContext{metered, [llama] { return llama->stats(); }, info, o.agents.max_tokens, metrics,
                              board, o.db_path, [&server] { server.poke(); }, &live});
      spdlog::info("http: listening on {}:{} (OpenAI-compatible /v1, control API /api, /metrics)", http->host(),
                   http->port());
      server.set_http_address(http->host() + ":" + std::to_string(http->port()));
      server.publish_status();
    }
    server.serve();
    if (http) http->stop();
    spdlog::info("agentd stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

}  // namespace agentd::runtime
