// TaskWindow against a full recount of the same file: random days of tasks added, started,
// ended, interrupted and requeued, cancelled and deleted, with the clock moving the window.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "storage/task_store.hpp"
#include "storage/task_window.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using test_support::scalar;
using test_support::set_task_times;

constexpr int64_t kSpan = 10'000;

// The figures, counted from every task in the window (what TaskWindow must agree with).
std::vector<AgentWindowStats> recount(Database& db, int64_t now) {
  std::map<std::string, std::pair<AgentWindowStats, std::vector<int64_t>>> by_agent;
  auto s = db.prepare("SELECT agent, status, finished_at - started_at FROM tasks WHERE created_at >= ?");
  s.bind(1, now - kSpan);
  while (s.step()) {
    auto& [a, durations] = by_agent[s.text(0)];
    a.agent = s.text(0);
    ++a.total;
    const std::string status = s.text(1);
    a.finished += status == "finished";
    a.failed += status == "failed" || status == "interrupted";
    if (!s.is_null(2)) durations.push_back(s.int64(2));
  }
  std::vector<AgentWindowStats> out;
  for (auto& [agent, entry] : by_agent) {
    auto& [a, durations] = entry;
    std::sort(durations.begin(), durations.end());
    if (!durations.empty()) a.p95_duration_ms = static_cast<double>(durations[std::min(durations.size() - 1, durations.size() * 95 / 100)]);
    out.push_back(a);
  }
  return out;
}

std::string text(const std::vector<AgentWindowStats>& v) {
  std::string out;
  for (const auto& a : v) {
    out += a.agent + ": " + std::to_string(a.total) + " tasks, " + std::to_string(a.finished) + " finished, " +
           std::to_string(a.failed) + " failed, p95 " + std::to_string(a.p95_duration_ms) + "\n";
  }
  return out;
}

class TaskWindowTest : public test_support::StorageTest {
 protected:
  std::unique_ptr<Database> db = open();
  TaskStore tasks{*db};
  int64_t clock = 1'000'000;

  int64_t add(const std::string& agent) {
    const int64_t id = tasks.enqueue({.agent = agent, .input = "x"});
    set_task_times(*db, id, clock);
    return id;
  }
  std::vector<int64_t> with(TaskStatus s) {
    std::vector<int64_t> ids;
    for (const Task& t : tasks.with_status(s, 100'000)) ids.push_back(t.id);
    return ids;
  }
};

TEST_F(TaskWindowTest, AgreesWithAFullRecountThroughARandomDayAndReadsOnlyWhatChanged) {
  std::mt19937 rng(7);
  auto pick = [&](const std::vector<int64_t>& ids) { return ids[rng() % ids.size()]; };
  const char* agents[] = {"mail", "news", "digest"};
  TaskWindow window(kSpan);
  int full_reads = 0, deletions_of_ended = 0;
  int64_t seen_up_to = 0;       // the last refresh's newest id
  std::set<int64_t> open_then;  // and the tasks not ended then
  for (int step = 0; step < 400; ++step) {
    std::vector<int64_t> deleted_created;
    for (int op = 0; op < 5; ++op) {
      switch (rng() % 8) {
        case 0:
        case 1: add(agents[rng() % 3]); break;
        case 2:
          if (auto q = with(TaskStatus::queued); !q.empty()) {
            const int64_t id = pick(q);
            ASSERT_TRUE(tasks.claim(id));
            set_task_times(*db, id, tasks.get(id)->created_at, clock);
          }
          break;
        case 3:
          if (auto r = with(TaskStatus::running); !r.empty()) {
            const int64_t id = pick(r);
            const Task t = *tasks.get(id);
            ASSERT_TRUE(rng() % 4 ? tasks.finish(id, "ok") : tasks.fail(id, "boom"));
            set_task_times(*db, id, t.created_at, t.started_at, *t.started_at + static_cast<int64_t>(rng() % 5000));
          }
          break;
        case 4:
          if (auto r = with(TaskStatus::running); !r.empty()) { ASSERT_TRUE(tasks.interrupt(pick(r), "stop")); }
          break;
        case 5:
          if (auto i = with(TaskStatus::interrupted); !i.empty()) { ASSERT_TRUE(tasks.requeue(pick(i))); }
          break;
        case 6:
          if (auto q = with(TaskStatus::queued); !q.empty()) { ASSERT_TRUE(tasks.cancel(pick(q), "no")); }
          break;
        case 7:
          if (auto f = with(TaskStatus::finished); !f.empty() && rng() % 3 == 0) {
            const int64_t id = pick(f);
            // Seen ended by the last refresh: only the row count can tell (if still in the window).
            if (id <= seen_up_to && !open_then.count(id)) deleted_created.push_back(tasks.get(id)->created_at);
            db->exec("DELETE FROM tasks WHERE id = " + std::to_string(id));
          }
          break;
      }
    }
    clock += static_cast<int64_t>(rng() % 400);
    const bool deleted_ended_in_window =
        std::any_of(deleted_created.begin(), deleted_created.end(), [&](int64_t at) { return at >= clock - kSpan; });
    const auto figures = window.refresh(*db, clock);
    ASSERT_EQ(text(figures), text(recount(*db, clock))) << "step " << step;
    const auto last = window.last_refresh();
    if (step > 0) {
      // Only a deleted ended task makes it read the whole window again.
      EXPECT_EQ(last.full, deleted_ended_in_window) << "step " << step;
      if (!last.full) {
        const int64_t open = scalar(*db, "SELECT count(*) FROM tasks WHERE status IN ('queued', 'running', 'interrupted')");
        EXPECT_LE(last.rows_read, 5 + open) << "step " << step;
      }
    }
    full_reads += last.full;
    seen_up_to = tasks.latest_id();
    open_then.clear();
    for (TaskStatus s : {TaskStatus::queued, TaskStatus::running, TaskStatus::interrupted}) {
      for (int64_t id : with(s)) open_then.insert(id);
    }
    deletions_of_ended += deleted_ended_in_window;
  }
  EXPECT_EQ(full_reads, 1 + deletions_of_ended);
  EXPECT_GT(scalar(*db, "SELECT count(*) FROM tasks WHERE created_at < " + std::to_string(clock - kSpan)), 100)
      << "the clock should have moved many tasks out of the window";
}

TEST_F(TaskWindowTest, TasksLeaveTheWindowAsTheClockMoves) {
  TaskWindow window(kSpan);
  add("mail");
  clock += 6'000;
  add("mail");
  add("news");
  EXPECT_EQ(text(window.refresh(*db, clock)), "mail: 2 tasks, 0 finished, 0 failed, p95 0.000000\nnews: 1 tasks, 0 finished, 0 failed, p95 0.000000\n");
  EXPECT_EQ(text(window.refresh(*db, clock + 4'001)), "mail: 1 tasks, 0 finished, 0 failed, p95 0.000000\nnews: 1 tasks, 0 finished, 0 failed, p95 0.000000\n");
  EXPECT_EQ(text(window.refresh(*db, clock + 10'001)), "");
  EXPECT_FALSE(window.last_refresh().full);
}

TEST_F(TaskWindowTest, ReadsThroughAReadOnlyConnectionWhileTheWriterWrites) {
  auto reader = open(OpenMode::read_only);
  TaskWindow window(kSpan);
  add("mail");
  EXPECT_EQ(window.refresh(*reader, clock).at(0).total, 1);
  add("mail");
  EXPECT_EQ(window.refresh(*reader, clock).at(0).total, 2);
}

}  // namespace
}  // namespace agentd::storage
