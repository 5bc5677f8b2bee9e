// The crash loop: the daemon with the twelve shipped agents and long-form drafts is killed with
// SIGKILL at random moments, 20 times, and started again each time. After every kill the database
// is whole (PRAGMA integrity_check), no task seen before is gone, no ended task has changed, and
// no finished section has changed or been started again; after a final clean run every task is
// finished, or failed with a reason.
//
// The moments come from a seed printed with every failure; AGENTD_CRASH_SEED=N replays one run.
// Half the kills land at a random point in the first six seconds (start-up, recovery, mid-task,
// mid-section), half just after the daemon reported its 1st to 3rd piece of progress (a section
// or a task done), so that every run leaves finished sections for the next to resume from.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

#include "tests/runtime/shipped_checkout.hpp"

namespace agentd {
namespace {

constexpr int kKills = 20;
// Interrupted tasks must be able to run again after every kill, so none is given up on the way
// (the give-up rule has its own test); the final check then sees what the work itself came to.
constexpr int kMaxAttempts = kKills + 5;

// What the kills must never change, read from the database while no daemon runs.
struct Snapshot {
  std::map<int64_t, std::string> status;                    // every task: id -> status
  std::map<int64_t, std::string> ended;                     // finished/failed/cancelled: id -> row
  std::map<std::pair<int64_t, int>, std::string> sections;  // done sections: (task, idx) -> row
  std::string integrity;
};

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 10000);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Each row's columns joined with '|' (NULL as "∅").
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      auto& row = out.emplace_back();
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        auto* text = sqlite3_column_text(st, i);
        row.push_back(text ? reinterpret_cast<const char*>(text) : "∅");
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string joined(const std::vector<std::string>& row, size_t from) {
  std::string s;
  for (size_t i = from; i < row.size(); ++i) s += (i > from ? "|" : "") + row[i];
  return s;
}

Snapshot snapshot(const std::string& path) {
  Db db(path);
  Snapshot s;
  s.integrity = db.rows("PRAGMA integrity_check")[0][0];
  for (const auto& r : db.rows("SELECT id, status, output, error, finished_at, attempt FROM tasks")) {
    int64_t id = std::stoll(r[0]);
    s.status[id] = r[1];
    if (r[1] == "finished" || r[1] == "failed" || r[1] == "cancelled") s.ended[id] = joined(r, 1);
  }
  for (const auto& r : db.rows("SELECT task_id, idx, title, text, tokens, updated_at FROM sections WHERE status = 'done'"))
    s.sections[{std::stoll(r[0]), std::stoi(r[1])}] = joined(r, 2);
  return s;
}

// Kills the daemon after `after` unless cancelled first: the guard for a kill that waits on log
// lines which never come (an idle daemon), never the way a test waits for something.
class KillAfter {
 public:
  KillAfter(testing::ChildProcess& daemon, std::chrono::milliseconds after)
      : thread_([this, &daemon, after] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, after, [this] { return cancelled_; })) daemon.kill();
        }) {}
  ~KillAfter() {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::thread thread_;
};

class CrashLoopTest : public ShippedAgentsTest {
 protected:
  void SetUp() override {
    ShippedAgentsTest::SetUp();
    std::ofstream(dir_ / "agentd.json") << R"({"daemon": {"max_attempts": )" << kMaxAttempts << "}}";
  }

  std::vector<std::string> run_args() {
    return {testing::agentd_binary(), "--db", db(), "run", "--model", test_model(), "--threads", "1",
            "--log-file-level", "off", "--listen", "127.0.0.1:0", "--agents", agents_dir()};
  }

  int64_t submit(const std::string& agent, const std::string& input) {
    auto r = agentd({"submit", agent, "--agents", agents_dir(), "--input", input});
    EXPECT_EQ(r.exit_code, 0) << agent << ": " << r.err;
    return r.exit_code == 0 ? std::stoll(r.out) : -1;
  }

  // Reads the daemon's log to its end (it was killed), failing on a finished section started
  // again. Kills it at the `kill_at`-th line that reports progress (a section or a task done).
  void follow(testing::ChildProcess& daemon, std::set<std::pair<int64_t, int>>& done, size_t kill_at) {
    static const std::regex section(R"(task (\d+) \([a-z0-9_-]+\): section (\d+) (started|done))");
    size_t progress = 0;
    while (auto line = daemon.read_line()) {
      log_ += *line + "\n";
      bool finished = line->find(" finished: ") != std::string::npos;
      std::smatch m;
      bool is_section = std::regex_search(*line, m, section);
      if ((finished || (is_section && m[3] == "done")) && ++progress == kill_at) daemon.kill();
      if (!is_section) continue;
      std::pair<int64_t, int> key{std::stoll(m[1]), std::stoi(m[2]) - 1};
      if (m[3] == "done") done.insert(key);
      else EXPECT_FALSE(done.count(key)) << "section " << m[2] << " of task " << m[1] << " was finished, and started again";
    }
  }

  std::string log_;  // the last run's log
};

TEST_F(CrashLoopTest, TwentySigkillsLoseNothingAndEveryTaskEndsAfterACleanRun) {
  uint64_t seed = std::getenv("AGENTD_CRASH_SEED") ? std::stoull(std::getenv("AGENTD_CRASH_SEED")) : std::random_device{}();
  SCOPED_TRACE("AGENTD_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> submitted;
  Snapshot before;  // empty: no database yet
  std::set<std::pair<int64_t, int>> done_sections;

  for (int kill = 1; kill <= kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    // Work queued while the daemon is down, as a user's CLI would: a long-form draft every fifth
    // run (besides the shipped one), two chats each run, so a run killed at its n-th progress line
    // has such lines to come.
    if (kill % 5 == 1) submitted.push_back(submit("drafter", "A short guide to the lighthouses of Brittany"));
    for (int i = 0; i < 2; ++i) submitted.push_back(submit("chat", "What should I read next? Run " + std::to_string(kill)));

    log_.clear();
    {
      testing::ChildProcess daemon(run_args(), /*merge_stderr=*/true);
      bool by_time = std::uniform_int_distribution<int>(0, 1)(rng) == 0;
      auto delay = std::chrono::milliseconds(by_time ? std::uniform_int_distribution<int>(0, 6000)(rng) : 30'000);
      size_t progress = by_time ? 0 : std::uniform_int_distribution<size_t>(1, 3)(rng);
      {
        KillAfter guard(daemon, delay);
        follow(daemon, done_sections, progress);
      }
      int status = daemon.wait();
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the daemon ended on its own:\n" << log_;
    }

    Snapshot after = snapshot(db());
    ASSERT_EQ(after.integrity, "ok");
    for (const auto& [id, status] : before.status)
      EXPECT_TRUE(after.status.count(id)) << "task " << id << " (" << status << ") is gone";
    for (const auto& [id, row] : before.ended) EXPECT_EQ(after.ended[id], row) << "ended task " << id << " changed";
    for (const auto& [key, row] : before.sections)
      EXPECT_EQ(after.sections[key], row) << "finished section " << key.second + 1 << " of task " << key.first << " changed";
    for (const auto& [key, row] : after.sections) done_sections.insert(key);
    if (HasFailure()) FAIL() << "log of the run:\n" << log_;
    before = std::move(after);
  }
  for (int64_t id : submitted) EXPECT_TRUE(before.status.count(id)) << "submitted task " << id << " is gone";

  // A clean run: every task left behind runs to its end; then SIGTERM.
  auto unsettled = [&] {
    return Db(db()).rows("SELECT count(*) FROM tasks WHERE status IN ('queued', 'running', 'interrupted')")[0][0];
  };
  auto daemon = start_daemon({"--agents", agents_dir()});
  log_ = startup_log_;
  {
    KillAfter hang_guard(*daemon, std::chrono::minutes(10));
    while (unsettled() != "0") {  // a task's end is logged after it is recorded
      auto line = daemon->read_line();
      ASSERT_TRUE(line) << "the daemon exited before every task ended:\n" << log_;
      log_ += *line + "\n";
    }
  }
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);

  Snapshot last = snapshot(db());
  EXPECT_EQ(last.integrity, "ok");
  EXPECT_GE(last.status.size(), submitted.size() + 10) << "the shipped agents' own runs are there too";
  for (const auto& [id, row] : before.ended) EXPECT_EQ(last.ended[id], row) << "ended task " << id << " changed";
  for (const auto& [key, row] : before.sections) EXPECT_EQ(last.sections[key], row);
  for (const auto& r : Db(db()).rows("SELECT id, agent, status, coalesce(error, '') FROM tasks")) {
    SCOPED_TRACE("task " + r[0] + " (" + r[1] + ")");
    EXPECT_TRUE(r[2] == "finished" || (r[2] == "failed" && !r[3].empty())) << r[2] << ": " << r[3];
  }
  // The drafts were written to the end, section after section, across the kills.
  for (const auto& r : Db(db()).rows("SELECT t.id, count(s.idx) FROM tasks t LEFT JOIN sections s ON s.task_id = t.id "
                                     "AND s.status = 'done' WHERE t.agent = 'drafter' AND t.status = 'finished' GROUP BY t.id"))
    EXPECT_EQ(r[1], "3") << "draft " << r[0] << " has 3 sections";
  if (HasFailure()) ADD_FAILURE() << "log of the clean run:\n" << log_;
}

}  // namespace
}  // namespace agentd
