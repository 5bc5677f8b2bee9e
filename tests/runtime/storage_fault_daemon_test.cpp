// `agentd run` with the storage fault switch (AGENTD_STORAGE_FAULT, storage/fault_injection.hpp):
// SQLITE_BUSY, SQLITE_FULL and SQLITE_IOERR at each point of a task's life. Whatever the point,
// the daemon stays up and keeps serving, the task the fault hits is retried or ends failed with a
// reason naming the storage error (never left running; a result the agent returned is recorded
// once the storage lets it), a task finished before is unchanged row
// for row, the file passes PRAGMA integrity_check, and the status counts equal a COUNT.
#include <httplib.h>
#include <sqlite3.h>

#include <regex>
#include <tuple>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

// Where the fault hits task B, the first task of the faulty daemon. N counts statements of the
// daemon process matching the prefix (the CLI that submits runs without the switch).
enum class Point { task_insert, task_start, claim_read_back, event_append, task_finish, section_store };

struct PointSpec {
  const char* name;
  const char* fault;  // "@N:prefix", appended to the code
  const char* agent;  // B's agent
};

PointSpec spec(Point p) {
  switch (p) {
    case Point::task_insert: return {"task_insert", "@1:INSERT INTO tasks", "storyteller"};  // POST /api/agents/NAME/run
    case Point::task_start: return {"task_start", "@1:UPDATE tasks SET status = ?, started_at", "storyteller"};
    case Point::claim_read_back:  // the claimed task read back (TaskStore::get)
      return {"claim_read_back", "@1:SELECT id, agent, plugin, priority, status, trigger, input, output, error, "
                                 "parent_id, attempt, created_at, started_at, finished_at, dry_run FROM tasks WHERE id",
              "storyteller"};
    case Point::event_append:  // 1: B's `started`, 2: its `llm_call`
      return {"event_append", "@2:INSERT INTO task_events (task_id, at, kind, data) VALUES", "storyteller"};
    case Point::task_finish: return {"task_finish", "@1:UPDATE tasks SET status = ?, finished_at", "storyteller"};
    case Point::section_store: return {"section_store", "@2:INSERT OR REPLACE INTO sections", "drafter"};
  }
  return {};
}

// What SQLite says for each code (sqlite3_errstr), as the task's error must name it.
std::string sqlite_message(const std::string& code) {
  if (code == "busy") return "database is locked";
  if (code == "full") return "database or disk is full";
  return "disk I/O error";
}

class StorageFaultDaemonTest : public DaemonTest, public ::testing::WithParamInterface<std::tuple<std::string, Point>> {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    write_agent("drafter", R"({"plugin": "prompt", "prompt": "A story about a dog.",
                                "generation": {"temperature": 0, "section_tokens": 32},
                                "settings": {"long_form": {"outline": ["Morning", "Noon", "Night"]}}})");
  }

  // The daemon with the switch set in its environment only (the CLI runs without it).
  std::unique_ptr<testing::ChildProcess> start_faulty(const std::string& plan) {
    ::setenv("AGENTD_STORAGE_FAULT", plan.c_str(), 1);
    std::unique_ptr<testing::ChildProcess> daemon;
    try {
      daemon = start_daemon({"--max-tokens", "8"});
    } catch (...) {
      ::unsetenv("AGENTD_STORAGE_FAULT");
      throw;
    }
    ::unsetenv("AGENTD_STORAGE_FAULT");
    std::smatch m;
    if (!std::regex_search(startup_log_, m, std::regex("http: listening on 127\\.0\\.0\\.1:(\\d+)"))) {
      throw std::runtime_error("no http line in:\n" + startup_log_);
    }
    http_ = std::make_unique<httplib::Client>("127.0.0.1", std::stoi(m[1]));
    http_->set_default_headers({{"X-Agentd-Request", "1"}});
    http_->set_read_timeout(60, 0);
    return daemon;
  }

  // The task as it ended (`submit --wait` exits 1 for a failed task, still printing it).
  json submit_and_wait(const std::string& agent) {
    auto r = agentd({"submit", agent, "--input", "Once upon a time", "--wait", "--json", "--timeout", "90s"});
    json task = json::parse(r.out, nullptr, false);
    if (task.is_object()) return task;
    ADD_FAILURE() << "the task did not end: " << r.err;
    std::smatch m;
    if (!std::regex_search(r.err, m, std::regex("task (\\d+) queued"))) throw std::runtime_error("not queued: " + r.err);
    return agentd_json({"task", m[1], "--json"});
  }

  // Every row of `sql` (with `id` bound if it takes one), columns joined by '|'.
  std::vector<std::string> rows(const std::string& sql, int64_t id = 0) {
    sqlite3* conn = nullptr;
    std::vector<std::string> out;
    if (sqlite3_open_v2(db().c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) throw std::runtime_error("open");
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      std::string error = sqlite3_errmsg(conn);
      sqlite3_close(conn);
      throw std::runtime_error(error + " in " + sql);
    }
    if (sqlite3_bind_parameter_count(s) > 0) sqlite3_bind_int64(s, 1, id);
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        row += (t ? t : "NULL") + std::string("|");
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    sqlite3_close(conn);
    return out;
  }

  std::vector<std::string> everything_of(int64_t id) {
    auto all = rows("SELECT * FROM tasks WHERE id = ?", id);
    for (auto& r : rows("SELECT * FROM task_events WHERE task_id = ? ORDER BY id", id)) all.push_back(r);
    for (auto& r : rows("SELECT * FROM sections WHERE task_id = ? ORDER BY idx", id)) all.push_back(r);
    return all;
  }

  std::string single(const std::string& sql) {
    auto r = rows(sql);
    std::string out;
    for (auto& line : r) out += line;
    return out;
  }

  std::unique_ptr<httplib::Client> http_;
};

TEST_P(StorageFaultDaemonTest, TheDaemonStaysUpTheTaskEndsWithTheReasonAndNothingCommittedIsLost) {
  const auto& [code, point] = GetParam();
  const PointSpec where = spec(point);
  const std::string message = sqlite_message(code);

  // A: finished by a daemon without the switch, then photographed row by row.
  int64_t a = 0;
  {
    auto daemon = start_daemon({"--max-tokens", "8"});
    json done = submit_and_wait("storyteller");
    ASSERT_EQ(done["status"], "finished");
    a = done["id"];
    daemon->signal(SIGTERM);
    ASSERT_EQ(exit_code(daemon->wait()), 0);
  }
  const auto a_before = everything_of(a);
  ASSERT_GE(a_before.size(), 4u);

  // B: the task the fault hits.
  auto daemon = start_faulty(code + where.fault);
  int64_t b = 0;
  if (point == Point::task_insert) {
    auto refused = http_->Post("/api/agents/storyteller/run", R"({"input": "Once upon a time"})", "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 500) << refused->body;
    EXPECT_NE(refused->body.find(message), std::string::npos) << refused->body;
    auto accepted = http_->Post("/api/agents/storyteller/run", R"({"input": "Once upon a time"})", "application/json");
    ASSERT_TRUE(accepted);
    ASSERT_EQ(accepted->status, 202) << accepted->body;
    b = json::parse(accepted->body)["id"];
    ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(b) + " finished:"));
  } else {
    json ended = submit_and_wait(where.agent);
    b = ended["id"];
  }
  json task_b = agentd_json({"task", std::to_string(b), "--json"});
  if (point == Point::task_insert || point == Point::task_start || point == Point::claim_read_back) {
    // Nothing of the agent's work was lost: the insert or the claim is simply tried again.
    EXPECT_EQ(task_b["status"], "finished") << task_b.dump(2);
    EXPECT_EQ(task_b["attempt"], 1);
    if (point != Point::task_insert) {  // the fault did fire: the daemon logged the failed claim
      EXPECT_TRUE(wait_for_line(*daemon, "claiming the next task failed: " + db() + ": step: " + message));
    }
  } else if (point == Point::task_finish) {
    // The agent's result is held and its recording tried again: the model's work is not lost.
    EXPECT_EQ(task_b["status"], "finished") << task_b.dump(2);
    EXPECT_EQ(task_b["attempt"], 1);
    EXPECT_FALSE(task_b.value("output", "").empty()) << task_b.dump(2);
    EXPECT_TRUE(wait_for_line(*daemon, "could not record its result: " + db() + ": step: " + message));
  } else {
    EXPECT_EQ(task_b["status"], "failed") << task_b.dump(2);
    std::string error = task_b.value("error", "");
    EXPECT_NE(error.find(message), std::string::npos) << error;
  }
  if (point == Point::section_store) {
    ASSERT_EQ(task_b["sections"].size(), 3u);
    EXPECT_EQ(task_b["sections"][0]["status"], "done") << "the section saved before the fault is kept";
  }

  // Still serving, through HTTP and through the queue.
  auto status = http_->Get("/api/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);
  EXPECT_EQ(submit_and_wait("storyteller")["status"], "finished");
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);

  // Nothing committed before the fault changed; nothing is left running; the file is sound.
  EXPECT_EQ(everything_of(a), a_before);
  EXPECT_EQ(single("SELECT count(*) FROM tasks WHERE status IN ('queued', 'running', 'interrupted')"),
            "0|");
  EXPECT_EQ(single("PRAGMA integrity_check"), "ok|");
  EXPECT_EQ(single("SELECT group_concat(status || '=' || n) FROM (SELECT status, n FROM task_counts ORDER BY status)"),
            single("SELECT group_concat(status || '=' || n) FROM (SELECT s.status, "
                   "(SELECT count(*) FROM tasks t WHERE t.status = s.status) AS n FROM task_counts s ORDER BY s.status)"));
}

INSTANTIATE_TEST_SUITE_P(
    EveryCodeAtEveryPoint, StorageFaultDaemonTest,
    ::testing::Combine(::testing::Values("busy", "full", "ioerr"),
                       ::testing::Values(Point::task_insert, Point::task_start, Point::claim_read_back,
                                         Point::event_append, Point::task_finish, Point::section_store)),
    [](const auto& info) { return std::get<0>(info.param) + "_at_" + spec(std::get<1>(info.param)).name; });

}  // namespace
}  // namespace agentd
