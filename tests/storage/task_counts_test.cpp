// Task counts by status (what GET /metrics reports) come from the task_counts table the schema's
// triggers keep, not from a scan of tasks: equal to a COUNT at every step of a task's life, through
// crash recovery, pruning and a rolled-back change, for 20k tasks; and reading them runs no
// statement that touches the tasks table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "storage/retention.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::Not;
using ::testing::IsEmpty;

class TaskCountsTest : public test_support::StorageTest {
 protected:
  // Per agent, what grouping every task says (agent_stats()'s query before schema 7), as text.
  static std::vector<std::string> grouped(Database& db) {
    std::vector<std::string> out;
    auto s = db.prepare(
        "SELECT agent, count(*), sum(status = 'queued'), sum(status = 'running'), sum(status = 'finished'), "
        "sum(status = 'failed'), sum(status = 'cancelled'), sum(status = 'interrupted'), "
        "(SELECT created_at FROM tasks t WHERE t.agent = tasks.agent ORDER BY id DESC LIMIT 1), "
        "coalesce(avg(CASE WHEN status = 'finished' THEN finished_at - started_at END), 0) "
        "FROM tasks GROUP BY agent ORDER BY agent");
    while (s.step()) {
      std::string row;
      for (int c = 1; c < 9; ++c) row += std::to_string(s.int64(c)) + " ";
      out.push_back(s.text(0) + " " + row + std::to_string(std::lround(s.real(9))));
    }
    return out;
  }
  static std::vector<std::string> kept(TaskStore& tasks) {
    std::vector<std::string> out;
    for (const AgentStats& a : tasks.agent_stats()) {
      out.push_back(a.agent + " " + std::to_string(a.total) + " " + std::to_string(a.queued) + " " +
                    std::to_string(a.running) + " " + std::to_string(a.finished) + " " + std::to_string(a.failed) + " " +
                    std::to_string(a.cancelled) + " " + std::to_string(a.interrupted) + " " +
                    std::to_string(a.last_created_at.value_or(0)) + " " + std::to_string(std::lround(a.mean_duration_ms)));
    }
    return out;
  }

  // What a full scan says, in count_by_status() order.
  static std::array<int64_t, kTaskStatuses> counted(Database& db) {
    std::array<int64_t, kTaskStatuses> out{};
    auto s = db.prepare("SELECT status, count(*) FROM tasks GROUP BY status");
    while (s.step()) out[static_cast<size_t>(*parse_task_status(s.text(0)))] = s.int64(1);
    return out;
  }
};

// Every SQL statement `f` runs on `db` (sqlite3_trace_v2).
template <typename F>
std::vector<std::string> statements_run(Database& db, F&& f) {
  std::vector<std::string> seen;
  auto trace = [](unsigned, void* ctx, void* stmt, void*) -> int {
    static_cast<std::vector<std::string>*>(ctx)->push_back(sqlite3_sql(static_cast<sqlite3_stmt*>(stmt)));
    return 0;
  };
  sqlite3_trace_v2(db.handle(), SQLITE_TRACE_STMT, trace, &seen);
  f();
  sqlite3_trace_v2(db.handle(), 0, nullptr, nullptr);
  return seen;
}

TEST_F(TaskCountsTest, EqualACountThroughEveryChangeAt20kTasks) {
  auto db = open();
  TaskStore tasks(*db);
  {
    Transaction batch(*db);  // one commit for the set-up; every store call is still its own savepoint
    for (int i = 0; i < 20'000; ++i) {
      int64_t id = tasks.enqueue({.agent = i % 3 ? "mail" : "digest"});
      if (i % 5 == 0) continue;  // stays queued
      tasks.claim(id);
      if (i % 5 == 1) tasks.finish(id, "out");
      if (i % 5 == 2) tasks.fail(id, "boom");
      if (i % 5 == 3) tasks.cancel(id, "no");
      if (i % 5 == 4 && i % 2) tasks.interrupt(id, "stop");
    }
    batch.commit();
  }
  EXPECT_EQ(tasks.count_by_status(), counted(*db));

  tasks.recover_interrupted();  // running → interrupted, many rows in one statement
  EXPECT_EQ(tasks.count_by_status(), counted(*db));
  for (const Task& t : tasks.with_status(TaskStatus::interrupted, 100)) tasks.requeue(t.id);
  EXPECT_EQ(tasks.count_by_status(), counted(*db));

  db->exec("UPDATE tasks SET created_at = 1000 WHERE id <= 4000");  // old enough to prune
  auto pruned = prune_history(*db, 2000, /*batch=*/700);
  EXPECT_GT(pruned.tasks, 2000);
  EXPECT_EQ(tasks.count_by_status(), counted(*db));

  {
    Transaction undone(*db);  // a change rolled back takes its count change with it
    tasks.enqueue({.agent = "mail"});
    tasks.cancel(tasks.with_status(TaskStatus::queued, 1).at(0).id, "x");
  }
  EXPECT_EQ(tasks.count_by_status(), counted(*db));
  int64_t total = 0;
  for (int64_t n : tasks.count_by_status()) total += n;
  EXPECT_EQ(total, test_support::scalar(*db, "SELECT count(*) FROM tasks"));
}

TEST_F(TaskCountsTest, ReadingThemTouchesNoTaskRow) {
  auto db = open();
  TaskStore tasks(*db);
  for (int i = 0; i < 1000; ++i) tasks.enqueue({.agent = "mail"});
  auto run = statements_run(*db, [&] { tasks.count_by_status(); });
  ASSERT_FALSE(run.empty());
  const std::regex tasks_table(R"(\btasks\b)");
  for (const auto& sql : run) {
    auto plan = db->prepare("EXPLAIN QUERY PLAN " + sql);
    std::string steps;
    while (plan.step()) steps += plan.text(3) + "; ";
    EXPECT_FALSE(std::regex_search(steps, tasks_table)) << sql << " → " << steps;
  }
}

// agent_stats() (`agentd status`, /api/status) reads the per-agent counts: equal to grouping every
// task at each step of a task's life, /v1 records and pruning included, and a rolled-back change
// takes its count with it.
TEST_F(TaskCountsTest, PerAgentStatsEqualGroupingEveryTask) {
  auto db = open();
  TaskStore tasks(*db);
  {
    Transaction batch(*db);
    for (int i = 0; i < 6'000; ++i) {
      int64_t id = tasks.enqueue({.agent = i % 3 ? "mail" : i % 2 ? "digest" : "news"});
      if (i % 5 == 0) continue;
      tasks.claim(id);
      if (i % 5 == 1) tasks.finish(id, "out");
      if (i % 5 == 2) tasks.fail(id, "boom");
      if (i % 5 == 3) tasks.cancel(id, "no");
    }
    EndedCall call;
    call.started_at = 1000;
    call.finished_at = 1750;
    tasks.record_call({.agent = "v1:script"}, call);
    batch.commit();
  }
  EXPECT_EQ(kept(tasks), grouped(*db));
  EXPECT_EQ(kept(tasks).size(), 4u);
  tasks.recover_interrupted();
  EXPECT_EQ(kept(tasks), grouped(*db));
  for (const Task& t : tasks.with_status(TaskStatus::interrupted, 100)) tasks.requeue(t.id);
  EXPECT_EQ(kept(tasks), grouped(*db));

  db->exec("UPDATE tasks SET created_at = 1000 WHERE id <= 3000 OR agent = 'v1:script'");
  prune_history(*db, 2000, /*batch=*/700);
  EXPECT_EQ(kept(tasks), grouped(*db));
  EXPECT_EQ(kept(tasks).size(), 3u);  // the /v1 record is pruned away, and its agent with it
  {
    Transaction undone(*db);
    tasks.enqueue({.agent = "coder"});
  }
  EXPECT_EQ(kept(tasks), grouped(*db));
}

TEST_F(TaskCountsTest, PerAgentStatsReadNoTaskRowButEachAgentsNewest) {
  auto db = open();
  TaskStore tasks(*db);
  for (int i = 0; i < 1000; ++i) tasks.enqueue({.agent = i % 2 ? "mail" : "news"});
  auto run = statements_run(*db, [&] { tasks.agent_stats(); });
  ASSERT_FALSE(run.empty());
  for (const auto& sql : run) {
    auto plan = db->prepare("EXPLAIN QUERY PLAN " + sql);
    std::string steps;
    while (plan.step()) steps += plan.text(3) + "; ";
    EXPECT_THAT(steps, Not(::testing::HasSubstr("SCAN t"))) << sql << " → " << steps;
    EXPECT_THAT(steps, Not(::testing::HasSubstr("SCAN tasks"))) << sql << " → " << steps;
  }
}

// A database written before the counts existed (schema 2) gets them filled in by the migration.
TEST_F(TaskCountsTest, AreFilledInWhenAnOlderDatabaseIsMigrated) {
  {
    Database db(db_path());
    migrate(db, 2);
    // Written in version 2's own SQL: today's TaskStore writes columns that version lacks.
    for (int i = 0; i < 10; ++i) {
      const char* status = i % 4 == 1 ? "finished" : i % 2 ? "running" : "queued";
      db.exec(std::string("INSERT INTO tasks (agent, status, created_at) VALUES ('mail', '") + status + "', 1)");
    }
  }
  auto db = open();
  EXPECT_EQ(TaskStore(*db).count_by_status(), counted(*db));
  EXPECT_EQ(TaskStore(*db).count_by_status()[static_cast<size_t>(TaskStatus::finished)], 3);
  TaskStore tasks(*db);
  EXPECT_EQ(kept(tasks), grouped(*db));  // and the per-agent counts (schema 7)
}

}  // namespace
}  // namespace agentd::storage
