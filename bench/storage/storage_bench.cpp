// storage_bench: seeds a realistic task history into a fresh database file, then times the queries
// behind `agentd tasks` (default and filtered listings) and `agentd task ID` (task + timeline).
//
//   storage_bench [--tasks 1000000] [--queries 1000] [--seed 1] [--dir $TMPDIR] [--keep]
//   storage_bench --db FILE      times the queries on an existing database (no insert figure)
//   storage_bench --schema N     seeds at schema version N instead of the latest (compare indexes)
//
// The last two lines are the results:
//   insert_tasks_per_s N        tasks through the daemon's own path (TaskStore: enqueue, claim, an
//                               llm_call event, finish: a transaction each, as the daemon commits)
//   history_query_p99_ms N      the worst p99 over every listing shape the CLI and HTTP API issue
//                               (--text included: a word, a phrase in no task, a 2-letter scan); the
//                               bulk seed rate is printed apart
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "storage/retention.hpp"
#include "storage/schema.hpp"
#include "storage/task_store.hpp"
#include "storage/task_window.hpp"

namespace {

using namespace agentd::storage;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::array<const char*, 12> kAgents = {"mail",    "news",   "digest",  "backup",
                                                 "calendar", "notes",  "web",     "code-review",
                                                 "finance",  "photos", "health",  "home"};
// Busy agents (mail, news, home automation) fire far more often than the weekly ones.
constexpr std::array<double, 12> kAgentWeight = {20, 15, 4, 1, 8, 6, 10, 5, 2, 3, 3, 23};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Options {
  int64_t tasks = 1'000'000;
  int queries = 1000;
  uint64_t seed = 1;
  std::string dir;
  std::string db;
  int schema = -1;
  bool keep = false;
};

// --- Seeding -------------------------------------------------------------------------------------

std::string words(std::mt19937_64& rng, int n) {
  static const char* vocab[] = {"summarise", "the",   "inbox", "report", "weekly", "feed",  "check",
                                "backup",    "photos", "from", "garden", "sensor", "budget", "meeting",
                                "notes",     "draft",  "reply", "to",    "alice",  "about", "invoice"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += vocab[rng() % std::size(vocab)];
  }
  return out;
}

// Writes `n` tasks over the last 90 days, each with its queued / started / end events, in
// transactions of `batch` tasks, through the same statements TaskStore uses. Returns seconds.
double seed_history(Database& db, int64_t n, uint64_t seed, int64_t now) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<int> agent(kAgentWeight.begin(), kAgentWeight.end());
  std::discrete_distribution<int> priority({5, 25, 70});                  // interactive, tool, background
  std::discrete_distribution<int> outcome({85, 8, 4, 3});                 // finished, failed, cancelled, interrupted
  const TaskStatus ends[] = {TaskStatus::finished, TaskStatus::failed, TaskStatus::cancelled, TaskStatus::interrupted};
  const char* triggers[] = {"every 15m", "cron 0 7 * * * Europe/Paris", "watch ~/inbox", "manual", "event mail.new"};
  const int64_t start = now - 90 * kDayMs;
  const int64_t step = std::max<int64_t>(1, 90 * kDayMs / std::max<int64_t>(n, 1));
  constexpr int kBatch = 10'000;

  auto& insert_task = db.cached(
      "INSERT INTO tasks (agent, plugin, priority, status, trigger, input, output, error, parent_id, attempt, "
      "created_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  auto& insert_event = db.cached("INSERT INTO task_events (task_id, at, kind, data) VALUES (?, ?, ?, ?)");
  auto event = [&](int64_t id, int64_t at, std::string_view kind, const std::string& data) {
    insert_event.bind_all(id, at, kind, data).run();
  };

  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n;) {
    Transaction tx(db);
    for (int b = 0; b < kBatch && i < n; ++b, ++i) {
      const int a = agent(rng);
      const int64_t created = start + i * step + static_cast<int64_t>(rng() % static_cast<uint64_t>(step));
      // The newest tasks are still waiting or running; everything older has ended.
      TaskStatus status = ends[outcome(rng)];
      if (n - i <= 5) status = TaskStatus::running;
      else if (n - i <= 60) status = TaskStatus::queued;
      const bool started = status != TaskStatus::queued && !(status == TaskStatus::cancelled && rng() % 2);
      const int64_t started_at = created + 50 + static_cast<int64_t>(rng() % 2000);
      const int64_t finished_at = started_at + 500 + static_cast<int64_t>(rng() % 60'000);
      const bool ended = status != TaskStatus::queued && status != TaskStatus::running;
      std::optional<std::string> output, error;
      if (status == TaskStatus::finished) output = words(rng, 40 + static_cast<int>(rng() % 60));
      if (status == TaskStatus::failed) error = "model call failed: " + words(rng, 6);
      if (status == TaskStatus::cancelled) error = "cancelled by user";
      const std::string trigger = triggers[rng() % std::size(triggers)];
      insert_task
          .bind_all(kAgents[static_cast<size_t>(a)], "prompt",
                    agentd::core::to_string(static_cast<agentd::core::Priority>(priority(rng))),
                    to_string(status), trigger, words(rng, 8 + static_cast<int>(rng() % 20)), output, error,
                    std::nullopt, 1, created, started ? std::optional<int64_t>(started_at) : std::nullopt,
                    ended ? std::optional<int64_t>(started ? finished_at : created + 10) : std::nullopt)
          .run();
      const int64_t id = db.last_insert_rowid();
      event(id, created, "queued", "{\"trigger\":\"" + trigger + "\"}");
      if (started) event(id, started_at, "started", "{}");
      if (ended) {
        std::string data = status == TaskStatus::finished ? "{\"output_bytes\":" + std::to_string(output->size()) + "}"
                                                          : "{\"reason\":\"bench\"}";
        event(id, started ? finished_at : created + 10, to_string(status), data);
      }
    }
    tx.commit();
  }
  return ms_since(t0) / 1000.0;
}

// --- Queries -------------------------------------------------------------------------------------

struct Timing {
  std::string name;
  std::vector<double> ms;
  double percentile(double p) const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  }
};

// Runs `query` `runs` times; the first two runs warm the cache and are not counted.
Timing time_query(const std::string& name, int runs, const std::function<size_t()>& query, size_t& rows) {
  Timing t{name, {}};
  for (int i = 0; i < runs + 2; ++i) {
    const auto t0 = Clock::now();
    rows += query();
    if (i >= 2) t.ms.push_back(ms_since(t0));
  }
  return t;
}

void explain(Database& db, const std::string& sql) {
  auto s = db.prepare("EXPLAIN QUERY PLAN " + sql);
  std::printf("  plan of: %s\n", sql.c_str());
  while (s.step()) std::printf("    %s\n", s.text(3).c_str());
}

// Times the CLI's queries on `path` through its own read-only connection, prints the table and
// returns the worse p99 of the default and the filtered listing.
double time_history_queries(const std::filesystem::path& path, const Options& opt) {
  auto db = open_database(path, OpenMode::read_only);
  TaskStore tasks(*db);
  int64_t max_id = 0, now = 0;
  {
    auto s = db->prepare("SELECT max(id), max(created_at) FROM tasks");
    s.step();
    max_id = std::max<int64_t>(1, s.int64(0));
    now = s.int64(1);
  }
  std::mt19937_64 rng(opt.seed + 1);
  const TaskStatus statuses[] = {TaskStatus::finished, TaskStatus::failed,  TaskStatus::cancelled,
                                 TaskStatus::interrupted, TaskStatus::queued, TaskStatus::running};
  const int64_t windows[] = {3600'000, 6 * 3600'000, kDayMs, 7 * kDayMs, 30 * kDayMs, 90 * kDayMs};
  auto any_agent = [&] { return std::string(kAgents[rng() % kAgents.size()]); };
  auto any_status = [&] { return statuses[rng() % std::size(statuses)]; };
  size_t rows = 0;
  std::vector<Timing> timings;
  timings.push_back(time_query("default listing (newest 20)", opt.queries,
                               [&] { return tasks.list({}).size(); }, rows));
  timings.push_back(time_query("filtered: agent+status+since", opt.queries, [&] {
    TaskFilter f{.agent = any_agent(), .status = any_status()};
    f.since_ms = now - windows[rng() % std::size(windows)];
    return tasks.list(f).size();
  }, rows));
  timings.push_back(time_query("task + timeline (get+events)", opt.queries, [&] {
    int64_t id = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_id));
    auto t = tasks.get(id);
    return static_cast<size_t>(t.has_value()) + tasks.events(id).size();
  }, rows));
  // Every listing shape the CLI (agentd tasks: --agent, --status, --since/--until, --text) and the
  // HTTP API (paging, finished_since) issue; the worst p99 among them is the result.
  timings.push_back(time_query("page: before random id", opt.queries, [&] {
    TaskFilter f{.before_id = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_id))};
    return tasks.list(f).size();
  }, rows));
  timings.push_back(time_query("agent only", opt.queries / 10,
                               [&] { return tasks.list({.agent = any_agent()}).size(); }, rows));
  timings.push_back(time_query("agent+status, last 10 min", opt.queries / 10, [&] {
    return tasks.list({.agent = any_agent(), .status = any_status(), .since_ms = now - 600'000}).size();
  }, rows));
  timings.push_back(time_query("status only", opt.queries / 10, [&] { return tasks.list({.status = any_status()}).size(); }, rows));
  timings.push_back(time_query("finished since (HTTP /tasks?finished_since)", opt.queries / 10, [&] {
    TaskFilter f;
    f.finished_since_ms = now - windows[rng() % std::size(windows)];
    return tasks.list(f).size();
  }, rows));
  timings.push_back(time_query("since+until window", opt.queries / 10, [&] {
    TaskFilter f;
    f.until_ms = now - static_cast<int64_t>(rng() % static_cast<uint64_t>(90 * kDayMs));
    f.since_ms = *f.until_ms - kDayMs;
    return tasks.list(f).size();
  }, rows));
  timings.push_back(time_query("--text a word", std::max(3, opt.queries / 10),
                               [&] { return tasks.list({.text = words(rng, 1)}).size(); }, rows));
  // The worst case for the index: every trigram of the phrase is common, the phrase is in no task.
  timings.push_back(time_query("--text words in no task's order", std::max(3, opt.queries / 10), [&] {
    return tasks.list({.text = words(rng, 1) + " " + words(rng, 1) + " zz"}).size();
  }, rows));
  timings.push_back(time_query("--text 2 letters, none (a scan)", 3,
                               [&] { return tasks.list({.text = "zq"}).size(); }, rows));
  const size_t listings = timings.size();  // every listing shape above counts; agent_stats is no listing
  timings.push_back(time_query("(info) agent_stats", 3, [&] { return tasks.agent_stats().size(); }, rows));
  // The dashboard's 24 h window per agent: read whole (a new window each run), then brought up to
  // date after a task was added (one window, refreshed as the live stream does).
  timings.push_back(time_query("(info) 24 h window, first refresh", 3,
                               [&] { return TaskWindow(kDayMs).refresh(*db, now).size(); }, rows));
  TaskWindow day(kDayMs);
  day.refresh(*db, now);
  auto writer = open_database(db->path());  // the queries' connection is read-only
  TaskStore written(*writer);
  timings.push_back(time_query("(info) 24 h window, next refresh", 20, [&] {
    written.enqueue({.agent = any_agent(), .plugin = "prompt", .input = "window"});
    return day.refresh(*db, now).size();
  }, rows));

  std::printf("\n%-36s %6s %9s %9s %9s %9s\n", "query", "runs", "p50 ms", "p90 ms", "p99 ms", "max ms");
  for (const Timing& t : timings) {
    std::printf("%-36s %6zu %9.3f %9.3f %9.3f %9.3f\n", t.name.c_str(), t.ms.size(), t.percentile(50),
                t.percentile(90), t.percentile(99), t.percentile(100));
  }
  std::printf("(%zu rows read)\n\n", rows);
  explain(*db, "SELECT id FROM tasks WHERE 1 ORDER BY id DESC LIMIT 20");
  explain(*db, "SELECT * FROM tasks WHERE 1 AND agent = ? AND status = ? AND created_at >= ? "
               "ORDER BY id DESC LIMIT 20");
  explain(*db, "SELECT * FROM tasks WHERE 1 AND agent = ? ORDER BY id DESC LIMIT 20");
  double worst = 0;
  for (size_t i = 0; i < listings; ++i) worst = std::max(worst, timings[i].percentile(99));
  return worst;
}

// Tasks as the daemon writes them: enqueue, claim, one llm_call event, finish, each its own
// transaction through TaskStore (the bulk seed above batches many tasks per transaction).
double daemon_path_tasks_per_s(Database& db, int64_t n) {
  TaskStore tasks(db);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = tasks.enqueue({.agent = kAgents[i % kAgents.size()], .plugin = "prompt", .input = "daemon path"});
    tasks.claim(id);
    tasks.add_event(id, event::llm_call, {{"route", "local"}, {"prompt_tokens", 300}, {"completion_tokens", 60}});
    tasks.finish(id, "done");
  }
  return static_cast<double>(n) / (ms_since(t0) / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Task history at scale: insert rate and listing latency"};
  app.add_option("--tasks", opt.tasks, "tasks to seed")->capture_default_str();
  app.add_option("--queries", opt.queries, "timed runs of each query")->capture_default_str();
  app.add_option("--seed", opt.seed, "random seed")->capture_default_str();
  app.add_option("--dir", opt.dir, "where to create the database (default $TMPDIR or /tmp)");
  app.add_flag("--keep", opt.keep, "keep the database file afterwards");
  app.add_option("--schema", opt.schema, "schema version to seed at (default: latest)");
  app.add_option("--db", opt.db, "time the queries on this existing database instead of seeding one");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!opt.db.empty()) {  // queries only, on a file seeded earlier (--keep)
      double p99 = time_history_queries(opt.db, opt);
      std::printf("\ninsert_tasks_per_s n/a\nhistory_query_p99_ms %.3f\n", p99);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_bench: %s\n", e.what());
    return 1;
  }

  if (opt.dir.empty()) opt.dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  std::string tmpl = opt.dir + "/agentd-storage-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::perror(("mkdtemp " + tmpl).c_str());
    return 1;
  }
  const std::filesystem::path dir = tmpl;
  const auto path = dir / "agentd.db";
  int rc = 0;
  try {
    double insert_s = 0, daemon_rate = 0;
    {
      Database db(path);
      migrate(db, opt.schema);
      std::printf("schema version %d\n", db.user_version());
      insert_s = seed_history(db, opt.tasks, opt.seed, now_ms());
      const int64_t n = std::clamp<int64_t>(opt.tasks / 50, 100, 20000);
      daemon_rate = daemon_path_tasks_per_s(db, n);
      std::printf("daemon path (TaskStore: enqueue, claim, event, finish): %lld tasks at %.0f tasks/s\n",
                  static_cast<long long>(n), daemon_rate);
    }  // closing checkpoints the WAL into the file
    const double insert_rate = static_cast<double>(opt.tasks) / insert_s;
    std::printf("seeded %lld tasks with ~3 events each in %.1f s: seed_tasks_per_s %.0f (batched); file %.0f MiB\n",
                static_cast<long long>(opt.tasks), insert_s, insert_rate,
                static_cast<double>(std::filesystem::file_size(path)) / (1 << 20));
    const double p99 = time_history_queries(path, opt);
    if (opt.keep) std::printf("kept %s\n", path.c_str());
    std::printf("\ninsert_tasks_per_s %.0f\n", daemon_rate);
    std::printf("history_query_p99_ms %.3f\n", p99);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_bench: %s\n", e.what());
    rc = 1;
  }
  if (!opt.keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return rc;
}
