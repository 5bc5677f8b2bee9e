// Readers (the CLI, the HTTP API's handlers) use their own read-only connections while the daemon writes:
// thanks to WAL they never wait for the writer and never see "database is locked".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <sstream>
#include <thread>

#include "tests/support/child_process.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using agentd::testing::ChildProcess;

int64_t total_tasks(TaskStore& view) {
  int64_t total = 0;
  for (const AgentStats& a : view.agent_stats()) total += a.total;
  return total;
}

// The reads a history view does: newest tasks, one task with its timeline, a filtered listing and
// the per-agent statistics. Returns the number of tasks seen.
int64_t browse(TaskStore& view, int64_t id) {
  auto newest = view.list({});
  EXPECT_FALSE(newest.empty());
  auto task = view.get(id);
  EXPECT_TRUE(task) << "task " << id << " was reported committed but is not visible";
  EXPECT_FALSE(view.events(id).empty());
  view.list({.agent = "mail", .status = TaskStatus::finished, .since_ms = 0, .limit = 20});
  return total_tasks(view);
}

TEST(ConcurrentReadTest, ReaderProcessNeverWaitsForAWriterProcess) {
  test_support::TempDir dir;
  const auto path = dir.path() / "agentd.db";
  open_database(path);
  ChildProcess writer({AGENTD_STORAGE_CRASH_CHILD, path.string(), "12345"});
  ASSERT_TRUE(writer.read_line());  // the writer is up and has committed

  auto reader = open_database(path, OpenMode::read_only);
  TaskStore view(*reader);
  int64_t first_total = -1, last_total = -1;
  for (int i = 0; i < 500; ++i) {
    // Each line is one more commit by the writer, which keeps writing while we read.
    auto line = writer.read_line();
    ASSERT_TRUE(line) << "the writer exited (see its stderr)";
    int64_t id = 0;
    std::istringstream(*line) >> id;
    try {
      int64_t total = browse(view, id);
      EXPECT_GE(total, last_total) << "the reader saw the history shrink";
      EXPECT_GE(total, id) << "ids are dense here: task " << id << " implies as many tasks";
      if (first_total < 0) first_total = total;
      last_total = total;
    } catch (const DatabaseError& e) {
      FAIL() << "reader error while the writer writes: " << e.what();
    }
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(last_total, first_total) << "the reader never saw the writer's new tasks";
  writer.kill();
  writer.wait();
}

TEST(ConcurrentReadTest, ReaderThreadWithItsOwnConnection) {
  test_support::TempDir dir;
  const auto path = dir.path() / "agentd.db";
  auto db = open_database(path);
  TaskStore tasks(*db);
  constexpr int kTasks = 1500;
  std::atomic<int64_t> committed{0};  // the last id the writer committed
  std::atomic<bool> writer_done{false};
  std::latch reader_ready(1);
  std::vector<int64_t> totals;
  std::string reader_error;

  std::thread reader_thread([&] {
    try {
      // No busy timeout at all: if a read ever had to wait for the writer it fails at once with
      // "database is locked" instead of quietly waiting.
      Database reader(path, OpenMode::read_only, /*busy_timeout_ms=*/0);
      TaskStore view(reader);
      totals.push_back(total_tasks(view));
      reader_ready.count_down();
      for (;;) {
        const bool last_pass = writer_done.load();  // read before reading the database
        const int64_t id = committed.load();
        int64_t total = id > 0 ? browse(view, id) : total_tasks(view);
        EXPECT_GE(total, id);
        totals.push_back(total);
        if (last_pass) break;
      }
    } catch (const std::exception& e) {
      reader_error = e.what();
      reader_ready.count_down();
    }
  });

  reader_ready.wait();  // the reader has seen the empty history before the first write
  for (int i = 0; i < kTasks; ++i) {
    int64_t id = tasks.enqueue({.agent = i % 2 ? "mail" : "news", .input = "task " + std::to_string(i)});
    tasks.claim(id);
    tasks.add_event(id, event::log, {{"i", i}});
    tasks.finish(id, "done");
    committed.store(id);
  }
  writer_done.store(true);
  reader_thread.join();

  EXPECT_EQ(reader_error, "") << "the reader failed while the writer wrote";
  ASSERT_GE(totals.size(), 2u);
  EXPECT_EQ(totals.front(), 0);
  EXPECT_EQ(totals.back(), kTasks) << "the last pass started after the last commit";
  EXPECT_TRUE(std::is_sorted(totals.begin(), totals.end())) << "the reader saw the history shrink";
  EXPECT_GT(totals.size(), 2u) << "no read happened while the writer was writing";
}

}  // namespace
}  // namespace agentd::storage
