// Kill -9 of the writer at random moments, many times over on the same file: the file stays
// intact, every commit the writer reported is there, and start-up recovery leaves no task running.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <sstream>

#include "tests/support/child_process.hpp"
#include "storage/retention.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using agentd::testing::ChildProcess;

// What the writer said it committed for one task.
struct Reported {
  TaskStatus status = TaskStatus::queued;
  int log_events = 0;
};

// queued < running < any end state: a task only moves forward between the writer's reports.
int rank(TaskStatus s) {
  switch (s) {
    case TaskStatus::queued: return 0;
    case TaskStatus::running: return 1;
    default: return 2;
  }
}

// Applies one line of the writer's output ("<id> <status>" or "<id> event <n>").
void record_line(std::map<int64_t, Reported>& reported, const std::string& line) {
  std::istringstream in(line);
  int64_t id = 0;
  std::string word;
  in >> id >> word;
  if (word == "event") {
    in >> reported[id].log_events;
    return;
  }
  auto status = parse_task_status(word);
  ASSERT_TRUE(status) << "unexpected line from the writer: " << line;
  reported[id].status = *status;
}

size_t count_kind(const std::vector<TaskEvent>& events, std::string_view kind) {
  return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](const TaskEvent& e) { return e.kind == kind; }));
}

// The timeline agrees with the status: one queued event, a started event if the task ever ran,
// and exactly the end event of its end state (a state change and its event are one transaction).
void expect_timeline_matches(TaskStore& tasks, const Task& t) {
  SCOPED_TRACE("task " + std::to_string(t.id) + " " + std::string(to_string(t.status)));
  auto events = tasks.events(t.id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind, event::queued);
  EXPECT_EQ(count_kind(events, event::queued), 1u);
  EXPECT_EQ(count_kind(events, event::started), t.started_at ? 1u : 0u);
  for (TaskStatus end : {TaskStatus::finished, TaskStatus::failed, TaskStatus::cancelled, TaskStatus::interrupted}) {
    EXPECT_EQ(count_kind(events, to_string(end)), t.status == end ? 1u : 0u) << to_string(end) << " events";
  }
}

// Every reported commit is in the file, in the reported state or a later one.
void expect_reported_commits(TaskStore& tasks, const std::map<int64_t, Reported>& reported) {
  for (const auto& [id, r] : reported) {
    SCOPED_TRACE("task " + std::to_string(id) + " reported " + std::string(to_string(r.status)));
    auto t = tasks.get(id);
    ASSERT_TRUE(t) << "a committed task was lost";
    if (rank(r.status) == 2) {
      EXPECT_EQ(t->status, r.status);
    } else {
      EXPECT_GE(rank(t->status), rank(r.status)) << "went back to " << to_string(t->status);
    }
    auto events = tasks.events(id);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().kind, event::queued);
    EXPECT_GE(count_kind(events, event::log), static_cast<size_t>(r.log_events));
  }
}

TEST(CrashTest, KilledWriterLosesNoReportedCommit) {
  constexpr int kRounds = 100;
  const auto budget = std::chrono::seconds(25);
  const auto started = std::chrono::steady_clock::now();
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  test_support::TempDir dir;
  const auto path = dir.path() / "agentd.db";
  open_database(path);  // created before the first writer starts
  std::map<int64_t, Reported> reported;  // everything any writer reported, across the rounds
  size_t recovered_total = 0;
  int64_t checked_up_to = 0;  // tasks up to this id had their timeline checked
  int rounds = 0;

  while (rounds < kRounds && std::chrono::steady_clock::now() - started < budget) {
    SCOPED_TRACE("round " + std::to_string(rounds));
    std::map<int64_t, Reported> this_round;
    {
      ChildProcess writer({AGENTD_STORAGE_CRASH_CHILD, path.string(), std::to_string(rng())});
      const int lines_before_kill = std::uniform_int_distribution<int>(1, 400)(rng);
      for (int i = 0; i < lines_before_kill; ++i) {
        auto line = writer.read_line();
        ASSERT_TRUE(line) << "the writer exited on its own (see its stderr)";
        record_line(this_round, *line);
      }
      writer.kill();
      // Lines written between the last one read and the kill report commits too.
      while (auto line = writer.read_line()) record_line(this_round, *line);
      int status = writer.wait();
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
    }
    reported.insert(this_round.begin(), this_round.end());

    auto db = open_database(path);
    ASSERT_EQ(integrity_check(*db), "ok");
    TaskStore tasks(*db);
    // Earlier rounds' tasks are checked again every tenth round (a later kill must not lose them).
    expect_reported_commits(tasks, rounds % 10 == 9 ? reported : this_round);
    for (TaskFilter page{.limit = 500};;) {  // this round's tasks, newest first
      auto rows = tasks.list(page);
      for (const Task& t : rows) {
        if (t.id > checked_up_to) expect_timeline_matches(tasks, t);
      }
      if (rows.size() < 500 || rows.back().id <= checked_up_to) break;
      page.before_id = rows.back().id;
    }
    if (auto newest = tasks.list({.limit = 1}); !newest.empty()) checked_up_to = newest[0].id;
    if (::testing::Test::HasFailure()) return;

    // What the daemon does at start-up.
    auto running = tasks.with_status(TaskStatus::running, 1'000'000);
    EXPECT_EQ(tasks.recover_interrupted(), static_cast<int>(running.size()));
    EXPECT_TRUE(tasks.with_status(TaskStatus::running).empty());
    for (const Task& was_running : running) {
      auto t = tasks.get(was_running.id);
      EXPECT_EQ(t->status, TaskStatus::interrupted);
      EXPECT_EQ(tasks.events(t->id).back().kind, event::interrupted);
      reported[t->id].status = TaskStatus::interrupted;
    }
    recovered_total += running.size();
    ++rounds;
  }
  EXPECT_GE(rounds, 20) << "fewer kills than intended within the time budget";
  EXPECT_GT(recovered_total, 0u) << "no kill ever caught a task running: the test proved little";
  EXPECT_GT(reported.size(), 100u);
  auto db = open_database(path);
  EXPECT_EQ(integrity_check(*db), "ok");
  TaskStore tasks(*db);
  expect_reported_commits(tasks, reported);
}

}  // namespace
}  // namespace agentd::storage
