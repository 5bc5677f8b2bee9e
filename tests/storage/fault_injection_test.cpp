// The storage fault-injection switch: the Nth statement (optionally matching a SQL prefix) fails
// with SQLITE_BUSY, SQLITE_FULL or SQLITE_IOERR, reported word for word as SQLite's own error of
// that code is, and the state change it belonged to is rolled back whole.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/fault_injection.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::HasSubstr;
using test_support::scalar;

class FaultInjectionTest : public test_support::StorageTest {
 protected:
  void TearDown() override { disarm_fault(); }

  // The message and code of the DatabaseError `f` throws (fails the test if it throws none).
  template <typename F>
  static std::pair<std::string, int> error_of(F&& f) {
    try {
      f();
    } catch (const DatabaseError& e) {
      return {e.what(), e.code()};
    }
    ADD_FAILURE() << "no DatabaseError";
    return {"", 0};
  }
};

TEST(FaultPlanTest, ParsesCodeCountAndPrefix) {
  FaultPlan p = parse_fault_plan("full@7");
  EXPECT_EQ(p.code, SQLITE_FULL);
  EXPECT_EQ(p.nth, 7);
  EXPECT_EQ(p.sql_prefix, "");
  p = parse_fault_plan("ioerr@3:UPDATE tasks");
  EXPECT_EQ(p.code, SQLITE_IOERR);
  EXPECT_EQ(p.nth, 3);
  EXPECT_EQ(p.sql_prefix, "UPDATE tasks");
  p = parse_fault_plan("busy@1:COMMIT");
  EXPECT_EQ(p.code, SQLITE_BUSY);
  EXPECT_EQ(p.sql_prefix, "COMMIT");
}

TEST(FaultPlanTest, RefusesMalformedSpecsNamingTheVariable) {
  for (const char* bad : {"full", "nope@1", "full@0", "full@x", "full@7x", "full@", "full@2:", "@3"}) {
    try {
      parse_fault_plan(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("AGENTD_STORAGE_FAULT='" + std::string(bad) + "'"));
    }
  }
}

TEST_F(FaultInjectionTest, TheNthMatchingStatementFailsOnceAndTheRestRun) {
  auto db = open();
  TaskStore tasks(*db);
  arm_fault(parse_fault_plan("full@3:INSERT INTO tasks"));
  tasks.enqueue({.agent = "a"});
  tasks.enqueue({.agent = "a"});
  auto [message, code] = error_of([&] { tasks.enqueue({.agent = "a"}); });
  EXPECT_EQ(code, SQLITE_FULL);
  EXPECT_THAT(message, HasSubstr("step: database or disk is full [in: INSERT INTO tasks"));
  tasks.enqueue({.agent = "a"});  // fired once: disarmed
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM tasks"), 3);
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM task_events"), 3) << "the failed enqueue left no event";
}

TEST_F(FaultInjectionTest, ASelectCountsOnceNotOncePerRow) {
  auto db = open();
  TaskStore tasks(*db);
  for (int i = 0; i < 5; ++i) tasks.enqueue({.agent = "a"});
  arm_fault(parse_fault_plan("ioerr@2:SELECT id, agent"));
  EXPECT_EQ(tasks.list({}).size(), 5u);  // five rows, one statement
  auto [message, code] = error_of([&] { tasks.list({}); });
  EXPECT_EQ(code, SQLITE_IOERR);
  EXPECT_THAT(message, HasSubstr("step: disk I/O error [in: SELECT id, agent"));
}

// A fault in the middle of a state change (its timeline event) undoes the whole change: the task
// row, its event and the status counts are as before, and the change can be made again.
TEST_F(FaultInjectionTest, AFaultInsideAStateChangeRollsBackAllOfIt) {
  auto db = open();
  TaskStore tasks(*db);
  int64_t id = tasks.enqueue({.agent = "a"});
  ASSERT_TRUE(tasks.claim(id));
  auto counts = tasks.count_by_status();
  const int64_t events = scalar(*db, "SELECT count(*) FROM task_events");
  for (const char* spec : {"busy@1:INSERT INTO task_events", "full@1:UPDATE tasks", "ioerr@1:COMMIT"}) {
    SCOPED_TRACE(spec);
    arm_fault(parse_fault_plan(spec));
    error_of([&] { tasks.finish(id, "out"); });
    EXPECT_EQ(tasks.get(id)->status, TaskStatus::running);
    EXPECT_EQ(tasks.get(id)->output, std::nullopt);
    EXPECT_EQ(scalar(*db, "SELECT count(*) FROM task_events"), events);
    EXPECT_EQ(tasks.count_by_status(), counts);
  }
  EXPECT_TRUE(tasks.finish(id, "out"));
  EXPECT_EQ(tasks.get(id)->status, TaskStatus::finished);
}

// Claiming reads the task back; if that read fails, the claim is undone: the task stays queued
// for the next turn instead of `running` with nothing running it.
TEST_F(FaultInjectionTest, AFailedReadBackUndoesTheClaim) {
  auto db = open();
  TaskStore tasks(*db);
  int64_t id = tasks.enqueue({.agent = "a"});
  arm_fault(parse_fault_plan("ioerr@1:SELECT id, agent, plugin, priority, status, trigger, input, output, error, "
                             "parent_id, attempt, created_at, started_at, finished_at, dry_run FROM tasks WHERE id"));
  EXPECT_THROW(tasks.claim_next(std::vector<std::string>{"a"}), DatabaseError);
  EXPECT_EQ(tasks.get(id)->status, TaskStatus::queued);
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM task_events WHERE kind = 'started'"), 0);
  auto claimed = tasks.claim_next(std::vector<std::string>{"a"});
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->id, id);
  EXPECT_EQ(claimed->status, TaskStatus::running);
}

// The injected SQLITE_FULL reads exactly like a real one (the page limit reached).
TEST_F(FaultInjectionTest, AnInjectedFullReadsLikeARealOne) {
  auto db = open();
  TaskStore tasks(*db);
  tasks.enqueue({.agent = "a"});
  db->exec("PRAGMA max_page_count = " + std::to_string(scalar(*db, "PRAGMA page_count")));
  auto real = error_of([&] { tasks.enqueue({.agent = "a", .input = std::string(1 << 20, 'x')}); });
  db->exec("PRAGMA max_page_count = 1073741823");
  arm_fault(parse_fault_plan("full@1:INSERT INTO tasks"));
  auto injected = error_of([&] { tasks.enqueue({.agent = "a"}); });
  EXPECT_EQ(real.second, SQLITE_FULL);
  EXPECT_EQ(injected, real);
}

// The injected SQLITE_BUSY reads exactly like a real one (another connection holds the lock).
TEST_F(FaultInjectionTest, AnInjectedBusyReadsLikeARealOne) {
  open();
  auto holder = open();
  Database waiter(db_path(), OpenMode::read_write, /*busy_timeout_ms=*/0);
  TaskStore tasks(waiter);
  std::pair<std::string, int> real;
  {
    Transaction lock(*holder);
    real = error_of([&] { tasks.enqueue({.agent = "a"}); });
  }
  arm_fault(parse_fault_plan("busy@1:BEGIN IMMEDIATE"));
  auto injected = error_of([&] { tasks.enqueue({.agent = "a"}); });
  EXPECT_EQ(real.second, SQLITE_BUSY);
  EXPECT_THAT(real.first, HasSubstr("exec: database is locked [in: BEGIN IMMEDIATE]"));
  EXPECT_EQ(injected, real);
}

// The connection's last message is not reused for an injected error: a stale "not an error" or
// an earlier, different failure would misreport it.
TEST_F(FaultInjectionTest, AnInjectedErrorAfterAnotherErrorNamesItsOwnCode) {
  auto db = open();
  EXPECT_THROW(db->exec("SELECT * FROM no_such_table"), DatabaseError);
  arm_fault(parse_fault_plan("ioerr@1"));
  auto [message, code] = error_of([&] { db->exec("SELECT 1"); });
  EXPECT_EQ(code, SQLITE_IOERR);
  EXPECT_EQ(message, db_path().string() + ": exec: disk I/O error [in: SELECT 1]");
}

}  // namespace
}  // namespace agentd::storage
