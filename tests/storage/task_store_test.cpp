// TaskStore: the task life cycle, its timeline, listings and statistics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "storage/memory_store.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using core::Priority;
using test_support::scalar;
using test_support::set_task_times;

std::vector<int64_t> ids_of(const std::vector<Task>& tasks) {
  std::vector<int64_t> ids;
  for (const Task& t : tasks) ids.push_back(t.id);
  return ids;
}

std::vector<std::string> kinds_of(const std::vector<TaskEvent>& events) {
  std::vector<std::string> kinds;
  for (const TaskEvent& e : events) kinds.push_back(e.kind);
  return kinds;
}

class TaskStoreTest : public test_support::StorageTest {
 protected:
  // A new task brought to `state` through the public API only.
  int64_t task_in(TaskStatus state, const std::string& agent = "mail") {
    int64_t id = tasks.enqueue({.agent = agent, .input = "in"});
    switch (state) {
      case TaskStatus::queued: break;
      case TaskStatus::running: EXPECT_TRUE(tasks.claim(id)); break;
      case TaskStatus::finished: EXPECT_TRUE(tasks.claim(id) && tasks.finish(id, "out")); break;
      case TaskStatus::failed: EXPECT_TRUE(tasks.claim(id) && tasks.fail(id, "boom")); break;
      case TaskStatus::cancelled: EXPECT_TRUE(tasks.cancel(id, "no longer wanted")); break;
      case TaskStatus::interrupted: EXPECT_TRUE(tasks.claim(id) && tasks.interrupt(id, "shutdown")); break;
    }
    EXPECT_EQ(tasks.get(id)->status, state);
    return id;
  }

  std::unique_ptr<Database> db = open();
  TaskStore tasks{*db};
};

constexpr TaskStatus kAllStatuses[] = {TaskStatus::queued,   TaskStatus::running,   TaskStatus::finished,
                                       TaskStatus::failed,   TaskStatus::cancelled, TaskStatus::interrupted};

TEST_F(TaskStoreTest, StatusNamesRoundTrip) {
  for (TaskStatus s : kAllStatuses) EXPECT_EQ(parse_task_status(to_string(s)), s);
  EXPECT_EQ(parse_task_status("done"), std::nullopt);
}

TEST_F(TaskStoreTest, EnqueueStoresTheTaskWithAQueuedEvent) {
  int64_t parent = tasks.enqueue({.agent = "planner"});
  const int64_t before = now_ms();
  int64_t id = tasks.enqueue({.agent = "digest",
                              .plugin = "prompt",
                              .priority = Priority::tool,
                              .trigger = "every 15m",
                              .input = "summarise\n\"quoted\" ünïcode",
                              .parent_id = parent});
  const int64_t after = now_ms();
  EXPECT_GT(id, parent);
  auto t = tasks.get(id);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, id);
  EXPECT_EQ(t->agent, "digest");
  EXPECT_EQ(t->plugin, "prompt");
  EXPECT_EQ(t->priority, Priority::tool);
  EXPECT_EQ(t->status, TaskStatus::queued);
  EXPECT_EQ(t->trigger, "every 15m");
  EXPECT_EQ(t->input, "summarise\n\"quoted\" ünïcode");
  EXPECT_EQ(t->parent_id, parent);
  EXPECT_EQ(t->attempt, 1);
  EXPECT_GE(t->created_at, before);
  EXPECT_LE(t->created_at, after);
  EXPECT_EQ(t->started_at, std::nullopt);
  EXPECT_EQ(t->finished_at, std::nullopt);
  EXPECT_EQ(t->output, std::nullopt);
  EXPECT_EQ(t->error, std::nullopt);
  auto events = tasks.events(id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, event::queued);
  EXPECT_EQ(events[0].task_id, id);
  EXPECT_EQ(events[0].at, t->created_at);
  EXPECT_EQ(events[0].data["trigger"], "every 15m");
}

TEST_F(TaskStoreTest, ClaimFinishRecordsTimesOutputAndTimeline) {
  int64_t id = tasks.enqueue({.agent = "mail"});
  ASSERT_TRUE(tasks.claim(id));
  auto running = tasks.get(id);
  EXPECT_EQ(running->status, TaskStatus::running);
  ASSERT_TRUE(running->started_at);
  EXPECT_GE(*running->started_at, running->created_at);
  ASSERT_TRUE(tasks.finish(id, "three new mails"));
  auto done = tasks.get(id);
  EXPECT_EQ(done->status, TaskStatus::finished);
  EXPECT_EQ(done->output, "three new mails");
  EXPECT_EQ(done->error, std::nullopt);
  EXPECT_EQ(done->started_at, running->started_at);
  ASSERT_TRUE(done->finished_at);
  EXPECT_GE(*done->finished_at, *done->started_at);
  auto events = tasks.events(id);
  EXPECT_THAT(kinds_of(events), ElementsAre("queued", "started", "finished"));
  EXPECT_EQ(events[2].data["output_bytes"], 15);
}

TEST_F(TaskStoreTest, FailAndCancelRecordTheReason) {
  int64_t failing = task_in(TaskStatus::running);
  ASSERT_TRUE(tasks.fail(failing, "model not found"));
  auto f = tasks.get(failing);
  EXPECT_EQ(f->status, TaskStatus::failed);
  EXPECT_EQ(f->error, "model not found");
  EXPECT_EQ(f->output, std::nullopt);
  EXPECT_TRUE(f->finished_at);
  EXPECT_EQ(tasks.events(failing).back().data["error"], "model not found");

  int64_t queued = task_in(TaskStatus::queued);
  ASSERT_TRUE(tasks.cancel(queued, "user asked"));
  auto c = tasks.get(queued);
  EXPECT_EQ(c->status, TaskStatus::cancelled);
  EXPECT_EQ(c->error, "user asked");
  EXPECT_EQ(c->started_at, std::nullopt);
  EXPECT_TRUE(c->finished_at);
  EXPECT_THAT(kinds_of(tasks.events(queued)), ElementsAre("queued", "cancelled"));
  EXPECT_EQ(tasks.events(queued).back().data["reason"], "user asked");

  int64_t running = task_in(TaskStatus::running);
  ASSERT_TRUE(tasks.cancel(running, "deadline"));
  EXPECT_THAT(kinds_of(tasks.events(running)), ElementsAre("queued", "started", "cancelled"));
}

TEST_F(TaskStoreTest, RequeueAfterInterruptStartsANewAttempt) {
  int64_t id = task_in(TaskStatus::interrupted);
  EXPECT_TRUE(tasks.get(id)->finished_at);
  ASSERT_TRUE(tasks.requeue(id));
  auto t = tasks.get(id);
  EXPECT_EQ(t->status, TaskStatus::queued);
  EXPECT_EQ(t->attempt, 2);
  EXPECT_EQ(t->started_at, std::nullopt);
  EXPECT_EQ(t->finished_at, std::nullopt);
  ASSERT_TRUE(tasks.claim(id));
  ASSERT_TRUE(tasks.finish(id, "second time lucky"));
  EXPECT_EQ(tasks.get(id)->attempt, 2);
  EXPECT_THAT(kinds_of(tasks.events(id)),
              ElementsAre("queued", "started", "interrupted", "resumed", "started", "finished"));
}

// Every operation from every state: allowed ones move the task and add one event; refused ones
// change nothing at all.
TEST_F(TaskStoreTest, TransitionsAreRefusedFromWrongStates) {
  struct Op {
    const char* name;
    std::vector<TaskStatus> from;
    TaskStatus to;
    const char* kind;
    bool (*apply)(TaskStore&, int64_t);
  };
  const Op ops[] = {
      {"claim", {TaskStatus::queued}, TaskStatus::running, "started",
       [](TaskStore& s, int64_t id) { return s.claim(id); }},
      {"finish", {TaskStatus::running}, TaskStatus::finished, "finished",
       [](TaskStore& s, int64_t id) { return s.finish(id, "late output"); }},
      {"fail", {TaskStatus::running, TaskStatus::interrupted}, TaskStatus::failed, "failed",
       [](TaskStore& s, int64_t id) { return s.fail(id, "late error"); }},
      {"cancel", {TaskStatus::queued, TaskStatus::running}, TaskStatus::cancelled, "cancelled",
       [](TaskStore& s, int64_t id) { return s.cancel(id, "late cancel"); }},
      {"interrupt", {TaskStatus::running}, TaskStatus::interrupted, "interrupted",
       [](TaskStore& s, int64_t id) { return s.interrupt(id, "late interrupt"); }},
      {"requeue", {TaskStatus::interrupted}, TaskStatus::queued, "resumed",
       [](TaskStore& s, int64_t id) { return s.requeue(id); }},
  };
  for (const Op& op : ops) {
    for (TaskStatus from : kAllStatuses) {
      SCOPED_TRACE(std::string(op.name) + " from " + std::string(to_string(from)));
      int64_t id = task_in(from);
      const Task before = *tasks.get(id);
      const size_t events_before = tasks.events(id).size();
      const bool allowed = std::find(op.from.begin(), op.from.end(), from) != op.from.end();
      EXPECT_EQ(op.apply(tasks, id), allowed);
      const Task after = *tasks.get(id);
      auto events = tasks.events(id);
      if (allowed) {
        EXPECT_EQ(after.status, op.to);
        ASSERT_EQ(events.size(), events_before + 1);
        EXPECT_EQ(events.back().kind, op.kind);
      } else {
        EXPECT_EQ(after.status, before.status);
        EXPECT_EQ(after.output, before.output);
        EXPECT_EQ(after.error, before.error);
        EXPECT_EQ(after.attempt, before.attempt);
        EXPECT_EQ(after.started_at, before.started_at);
        EXPECT_EQ(after.finished_at, before.finished_at);
        EXPECT_EQ(events.size(), events_before);
      }
    }
  }
}

TEST_F(TaskStoreTest, UnknownTaskIdIsNotFoundAndNotChanged) {
  const int64_t ghost = 4242;
  task_in(TaskStatus::queued);
  EXPECT_EQ(tasks.get(ghost), std::nullopt);
  EXPECT_FALSE(tasks.claim(ghost));
  EXPECT_FALSE(tasks.finish(ghost, "x"));
  EXPECT_FALSE(tasks.fail(ghost, "x"));
  EXPECT_FALSE(tasks.cancel(ghost, "x"));
  EXPECT_FALSE(tasks.interrupt(ghost, "x"));
  EXPECT_FALSE(tasks.requeue(ghost));
  EXPECT_THAT(tasks.events(ghost), IsEmpty());
  EXPECT_EQ(tasks.get(ghost), std::nullopt);
  // The timeline of a task that does not exist is refused (foreign key), not silently kept.
  EXPECT_THROW(tasks.add_event(ghost, event::log, {{"msg", "hello"}}), DatabaseError);
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM task_events WHERE task_id = 4242"), 0);
}

TEST_F(TaskStoreTest, ClaimNextTakesTheMostUrgentClassThenTheOldest) {
  int64_t bg_old = tasks.enqueue({.agent = "a", .priority = Priority::background});
  int64_t tool = tasks.enqueue({.agent = "a", .priority = Priority::tool});
  int64_t chat1 = tasks.enqueue({.agent = "a", .priority = Priority::interactive});
  int64_t bg_new = tasks.enqueue({.agent = "a", .priority = Priority::background});
  int64_t cancelled = tasks.enqueue({.agent = "a", .priority = Priority::interactive});
  int64_t chat2 = tasks.enqueue({.agent = "a", .priority = Priority::interactive});
  ASSERT_TRUE(tasks.cancel(cancelled, "not needed"));

  std::vector<int64_t> order;
  while (auto t = tasks.claim_next()) {
    EXPECT_EQ(t->status, TaskStatus::running);
    EXPECT_TRUE(t->started_at);
    order.push_back(t->id);
  }
  EXPECT_THAT(order, ElementsAre(chat1, chat2, tool, bg_old, bg_new));
  EXPECT_EQ(tasks.get(cancelled)->status, TaskStatus::cancelled);
}

TEST_F(TaskStoreTest, ClaimNextAmongAgentsLeavesTheOthersQueued) {
  int64_t mail = tasks.enqueue({.agent = "mail", .priority = Priority::interactive});
  int64_t news_bg = tasks.enqueue({.agent = "news", .priority = Priority::background});
  int64_t news_tool = tasks.enqueue({.agent = "news", .priority = Priority::tool});
  int64_t odd = tasks.enqueue({.agent = "it's \"quoted\"", .priority = Priority::tool});

  EXPECT_FALSE(tasks.claim_next(std::vector<std::string>{}));
  auto first = tasks.claim_next({"news", "calendar"});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, news_tool);
  EXPECT_EQ(tasks.claim_next({"news"})->id, news_bg);
  EXPECT_FALSE(tasks.claim_next({"news"}));
  EXPECT_EQ(tasks.claim_next({"it's \"quoted\""})->id, odd);
  EXPECT_EQ(tasks.get(mail)->status, TaskStatus::queued);
}

TEST_F(TaskStoreTest, NestedTransactionsMakeSeveralCallsOneChange) {
  int64_t before = scalar(*db, "SELECT COUNT(*) FROM tasks");
  {
    Transaction outer(*db);
    tasks.enqueue({.agent = "a"});
    tasks.enqueue({.agent = "b"});
    // destroyed without commit: both inserts (each committed by its own nested Transaction) go
  }
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM tasks"), before);
  {
    Transaction outer(*db);
    tasks.enqueue({.agent = "a"});
    {
      Transaction inner(*db);
      tasks.enqueue({.agent = "rolled back"});
    }
    outer.commit();
  }
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM tasks"), before + 1);
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM tasks WHERE agent = 'rolled back'"), 0);
}

TEST_F(TaskStoreTest, TextThatIsNotUtf8IsStoredWithReplacementCharacters) {
  int64_t id = task_in(TaskStatus::running);
  const std::string cut = std::string("caf\xC3", 4);  // "café" cut inside its last character
  tasks.add_event(id, event::log, {{"message", cut}});
  EXPECT_EQ(tasks.events(id).back().data["message"], "caf\uFFFD");
  MemoryStore memory(*db);
  memory.set("mail", "subject", cut);
  EXPECT_EQ(memory.get("mail", "subject"), "caf\uFFFD");
}

TEST_F(TaskStoreTest, TimelineKeepsEventsInOrderWithTheirData) {
  int64_t id = task_in(TaskStatus::running);
  tasks.add_event(id, event::llm_call,
                  {{"route", "local"}, {"queue_wait_ms", 12}, {"ttft_ms", 80}, {"prompt_tokens", 300}});
  tasks.add_event(id, event::section, {{"idx", 0}, {"title", "Intro"}});
  tasks.add_event(id, event::memory_write, {{"key", "last_seen"}});
  tasks.add_event(id, event::emitted, {{"event", "digest.ready"}});
  tasks.add_event(id, event::log);
  ASSERT_TRUE(tasks.finish(id, "ok"));
  int64_t other = task_in(TaskStatus::running);
  tasks.add_event(other, event::log, {{"msg", "not mine"}});

  auto events = tasks.events(id);
  EXPECT_THAT(kinds_of(events), ElementsAre("queued", "started", "llm_call", "section", "memory_write",
                                            "emitted", "log", "finished"));
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].id, events[i - 1].id);
    EXPECT_GE(events[i].at, events[i - 1].at);
    EXPECT_EQ(events[i].task_id, id);
  }
  EXPECT_EQ(events[2].data["route"], "local");
  EXPECT_EQ(events[2].data["ttft_ms"], 80);
  EXPECT_EQ(events[3].data["title"], "Intro");
  EXPECT_EQ(events[6].data, nlohmann::json::object());
}

TEST_F(TaskStoreTest, WithStatusListsOnlyThatStatus) {
  int64_t q1 = task_in(TaskStatus::queued);
  task_in(TaskStatus::running);
  int64_t q2 = task_in(TaskStatus::queued);
  task_in(TaskStatus::finished);
  EXPECT_THAT(ids_of(tasks.with_status(TaskStatus::queued)), ElementsAre(q2, q1));
  EXPECT_THAT(ids_of(tasks.with_status(TaskStatus::queued, 1)), ElementsAre(q2));
  EXPECT_THAT(tasks.with_status(TaskStatus::interrupted), IsEmpty());
}

// --- list() ------------------------------------------------------------------------------------

class TaskListTest : public TaskStoreTest {
 protected:
  void SetUp() override {
    struct Seed {
      const char* agent;
      TaskStatus status;
      int64_t created_at;
      const char* input;
    };
    const Seed seeds[] = {
        {"alpha", TaskStatus::finished, 1000, "water the plants"},  // output "done 50% of garden"
        {"beta", TaskStatus::failed, 2000, "send report"},          // error "smtp timeout"
        {"alpha", TaskStatus::queued, 3000, "go 50x faster"},
        {"alpha", TaskStatus::running, 4000, "read feed"},
        {"beta", TaskStatus::finished, 5000, "summarise feed"},
        {"gamma", TaskStatus::cancelled, 6000, "plants again"},
        {"alpha", TaskStatus::finished, 7000, "compile digest"},
        {"beta", TaskStatus::queued, 8000, "later"},
    };
    for (const Seed& s : seeds) {
      int64_t id = tasks.enqueue({.agent = s.agent, .input = s.input});
      if (s.status != TaskStatus::queued && s.status != TaskStatus::cancelled) { ASSERT_TRUE(tasks.claim(id)); }
      if (s.status == TaskStatus::finished) {
        ASSERT_TRUE(tasks.finish(id, id == 1 ? "done 50% of garden" : "fine"));
      }
      if (s.status == TaskStatus::failed) { ASSERT_TRUE(tasks.fail(id, "smtp timeout")); }
      if (s.status == TaskStatus::cancelled) { ASSERT_TRUE(tasks.cancel(id, "dropped")); }
      set_task_times(*db, id, s.created_at);
      ids.push_back(id);
    }
    ASSERT_THAT(ids, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8));
  }

  std::vector<int64_t> list(const TaskFilter& f) { return ids_of(tasks.list(f)); }
  std::vector<int64_t> ids;
};

TEST_F(TaskListTest, DefaultIsNewestFirst) {
  EXPECT_THAT(list({}), ElementsAre(8, 7, 6, 5, 4, 3, 2, 1));
  auto full = tasks.list({});
  EXPECT_EQ(full[7].output, "done 50% of garden");
  EXPECT_EQ(full[6].error, "smtp timeout");
}

TEST_F(TaskListTest, LimitCapsTheRows) {
  EXPECT_THAT(list({.limit = 3}), ElementsAre(8, 7, 6));
  EXPECT_THAT(list({.limit = 0}), IsEmpty());
}

TEST_F(TaskListTest, FiltersByAgent) {
  EXPECT_THAT(list({.agent = "alpha"}), ElementsAre(7, 4, 3, 1));
  EXPECT_THAT(list({.agent = "gamma"}), ElementsAre(6));
  EXPECT_THAT(list({.agent = "nobody"}), IsEmpty());
}

TEST_F(TaskListTest, FiltersByStatus) {
  EXPECT_THAT(list({.status = TaskStatus::finished}), ElementsAre(7, 5, 1));
  EXPECT_THAT(list({.status = TaskStatus::running}), ElementsAre(4));
  EXPECT_THAT(list({.status = TaskStatus::interrupted}), IsEmpty());
}

TEST_F(TaskListTest, FiltersByCreationTimeSinceInclusiveUntilExclusive) {
  EXPECT_THAT(list({.since_ms = 5000}), ElementsAre(8, 7, 6, 5));
  EXPECT_THAT(list({.until_ms = 5000}), ElementsAre(4, 3, 2, 1));
  EXPECT_THAT(list({.since_ms = 2000, .until_ms = 6000}), ElementsAre(5, 4, 3, 2));
  EXPECT_THAT(list({.since_ms = 9000}), IsEmpty());
}

TEST_F(TaskListTest, FiltersByTextInInputOutputOrError) {
  EXPECT_THAT(list({.text = "plants"}), ElementsAre(6, 1));  // input
  EXPECT_THAT(list({.text = "garden"}), ElementsAre(1));     // output
  EXPECT_THAT(list({.text = "smtp"}), ElementsAre(2));       // error
  EXPECT_THAT(list({.text = "feed"}), ElementsAre(5, 4));
  // Literal text, not a pattern: '%' and '_' match only themselves.
  EXPECT_THAT(list({.text = "50%"}), ElementsAre(1));
  EXPECT_THAT(list({.text = "_"}), IsEmpty());
  EXPECT_THAT(list({.text = "'; DROP TABLE tasks; --"}), IsEmpty());
  EXPECT_EQ(list({}).size(), 8u);
}

TEST_F(TaskListTest, TextIgnoresAsciiCase) {
  EXPECT_THAT(list({.text = "GARDEN"}), ElementsAre(1));
  EXPECT_THAT(list({.text = "Smtp Timeout"}), ElementsAre(2));
  EXPECT_THAT(list({.text = "Fe"}), ElementsAre(5, 4));  // under 3 characters: the scan, same rule
}

TEST_F(TaskListTest, TextPagesNewestFirstWithBeforeIdAndOtherFilters) {
  for (const char* text : {"plants", "feed", "fine"}) {
    std::vector<int64_t> seen;
    TaskFilter page{.text = text, .limit = 1};
    for (int pages = 0; pages < 10; ++pages) {
      auto rows = list(page);
      if (rows.empty()) break;
      seen.push_back(rows[0]);
      page.before_id = rows[0];
    }
    EXPECT_EQ(seen, list({.text = text})) << text;
  }
  EXPECT_THAT(list({.text = "fine"}), ElementsAre(7, 5));
  EXPECT_THAT(list({.agent = "alpha", .text = "fine"}), ElementsAre(7));
  EXPECT_THAT(list({.status = TaskStatus::finished, .since_ms = 6000, .text = "fine"}), ElementsAre(7));
  EXPECT_THAT(list({.text = "fine", .before_id = 7}), ElementsAre(5));
}

// The trigram index over-matches; every row it proposes is checked against the text itself.
TEST_F(TaskStoreTest, TextIsLiteralAndNeverCrossesFromOneColumnToTheNext) {
  auto add = [&](const char* input, const char* output) {
    int64_t id = tasks.enqueue({.agent = "a", .input = input});
    EXPECT_TRUE(tasks.claim(id));
    EXPECT_TRUE(tasks.finish(id, output));
    return id;
  };
  const int64_t percent = add("rate 50% off", "");
  add("rate 500 off", "");
  const int64_t underscore = add("rate_limit hit", "");
  add("rateXlimit hit", "");
  const int64_t split = add("ends with abc", "def starts here");
  const int64_t unicode = add("Ünïcödé café", "");
  auto ids = [&](std::string text) { return ids_of(tasks.list({.text = std::move(text)})); };
  EXPECT_THAT(ids("50% off"), ElementsAre(percent));
  EXPECT_THAT(ids("rate_limit"), ElementsAre(underscore));
  EXPECT_THAT(ids("abc def"), IsEmpty());
  EXPECT_THAT(ids("abc\x1f" "def"), IsEmpty());
  EXPECT_THAT(ids("abc"), ElementsAre(split));
  EXPECT_THAT(ids("nïc"), ElementsAre(unicode));  // 3 characters, 5 bytes: the index
  EXPECT_THAT(ids("fé"), ElementsAre(unicode));   // 2 characters, 3 bytes: the scan
  EXPECT_THAT(ids("\\"), IsEmpty());
}

// Triggers keep the index in step with the rows: a task's output and error are found once it
// ends, an interrupted and requeued task is still found, a deleted one is gone; FTS5's own check
// compares the index with the text it reads through the view.
TEST_F(TaskStoreTest, TheTextIndexFollowsEveryChangeToATask) {
  auto found = [&](const char* text) { return ids_of(tasks.list({.text = text})); };
  const int64_t a = tasks.enqueue({.agent = "a", .input = "pick apples"});
  const int64_t b = tasks.enqueue({.agent = "b", .input = "pick pears"});
  EXPECT_THAT(found("pick"), ElementsAre(b, a));
  ASSERT_TRUE(tasks.claim(a));
  ASSERT_TRUE(tasks.finish(a, "twelve apples in the basket"));
  ASSERT_TRUE(tasks.claim(b));
  ASSERT_TRUE(tasks.fail(b, "ladder broke"));
  EXPECT_THAT(found("basket"), ElementsAre(a));
  EXPECT_THAT(found("LADDER"), ElementsAre(b));
  const int64_t c = tasks.enqueue({.agent = "c", .input = "pick plums"});
  ASSERT_TRUE(tasks.claim(c));
  ASSERT_TRUE(tasks.interrupt(c, "stopped"));
  ASSERT_TRUE(tasks.requeue(c));
  EXPECT_THAT(found("plums"), ElementsAre(c));
  db->exec("DELETE FROM tasks WHERE id = " + std::to_string(a));
  EXPECT_THAT(found("apples"), IsEmpty());
  EXPECT_THAT(found("pick"), ElementsAre(c, b));
  EXPECT_NO_THROW(db->exec("INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('integrity-check', 1)"));
}

TEST_F(TaskListTest, PagesWithBeforeId) {
  std::vector<int64_t> seen;
  TaskFilter page{.limit = 3};
  for (int pages = 0; pages < 10; ++pages) {
    auto rows = list(page);
    if (rows.empty()) break;
    seen.insert(seen.end(), rows.begin(), rows.end());
    page.before_id = rows.back();
  }
  EXPECT_THAT(seen, ElementsAre(8, 7, 6, 5, 4, 3, 2, 1));
  EXPECT_THAT(list({.before_id = 4}), ElementsAre(3, 2, 1));
}

TEST_F(TaskListTest, CombinesFilters) {
  EXPECT_THAT(list({.agent = "alpha", .status = TaskStatus::finished, .since_ms = 2000}), ElementsAre(7));
  EXPECT_THAT(list({.agent = "beta", .text = "feed"}), ElementsAre(5));
  EXPECT_THAT(list({.agent = "alpha", .until_ms = 5000, .before_id = 4, .limit = 1}), ElementsAre(3));
}

// --- agent_stats() -----------------------------------------------------------------------------

TEST_F(TaskStoreTest, AgentStatsCountsStatusesAndMeanDuration) {
  auto finished_in = [&](int64_t ms, int64_t created) {
    int64_t id = task_in(TaskStatus::finished, "alpha");
    set_task_times(*db, id, created, created + 10, created + 10 + ms);
  };
  finished_in(100, 1000);
  finished_in(300, 2000);
  int64_t failed = task_in(TaskStatus::failed, "alpha");
  set_task_times(*db, failed, 3000, 3000, 3000 + 50'000);  // not a finished task: not in the mean
  set_task_times(*db, task_in(TaskStatus::running, "alpha"), 4000, 4000);
  set_task_times(*db, task_in(TaskStatus::queued, "alpha"), 9000);  // the newest task
  set_task_times(*db, task_in(TaskStatus::cancelled, "beta"), 500);
  set_task_times(*db, task_in(TaskStatus::interrupted, "beta"), 600);
  set_task_times(*db, task_in(TaskStatus::interrupted, "beta"), 700);

  auto stats = tasks.agent_stats();
  ASSERT_EQ(stats.size(), 2u);
  const AgentStats& a = stats[0];
  EXPECT_EQ(a.agent, "alpha");
  EXPECT_EQ(a.total, 5);
  EXPECT_EQ(a.queued, 1);
  EXPECT_EQ(a.running, 1);
  EXPECT_EQ(a.finished, 2);
  EXPECT_EQ(a.failed, 1);
  EXPECT_EQ(a.cancelled, 0);
  EXPECT_EQ(a.interrupted, 0);
  EXPECT_EQ(a.last_created_at, 9000);
  EXPECT_DOUBLE_EQ(a.mean_duration_ms, 200.0);
  const AgentStats& b = stats[1];
  EXPECT_EQ(b.agent, "beta");
  EXPECT_EQ(b.total, 3);
  EXPECT_EQ(b.cancelled, 1);
  EXPECT_EQ(b.interrupted, 2);
  EXPECT_EQ(b.finished, 0);
  EXPECT_EQ(b.last_created_at, 700);
  EXPECT_DOUBLE_EQ(b.mean_duration_ms, 0.0);
}

TEST_F(TaskStoreTest, AgentStatsOfAnEmptyDatabaseIsEmpty) { EXPECT_THAT(tasks.agent_stats(), IsEmpty()); }

// --- recover_interrupted() ---------------------------------------------------------------------

TEST_F(TaskStoreTest, RecoverInterruptedMovesOnlyRunningTasks) {
  std::map<int64_t, TaskStatus> others;
  for (TaskStatus s : kAllStatuses) {
    if (s != TaskStatus::running) others[task_in(s)] = s;
  }
  int64_t r1 = task_in(TaskStatus::running);
  int64_t r2 = task_in(TaskStatus::running, "other-agent");
  std::map<int64_t, size_t> events_before;
  for (const auto& [id, s] : others) events_before[id] = tasks.events(id).size();

  EXPECT_EQ(tasks.recover_interrupted(), 2);

  for (int64_t id : {r1, r2}) {
    auto t = tasks.get(id);
    EXPECT_EQ(t->status, TaskStatus::interrupted);
    EXPECT_TRUE(t->finished_at);
    auto events = tasks.events(id);
    EXPECT_THAT(kinds_of(events), ElementsAre("queued", "started", "interrupted"));
    EXPECT_TRUE(events.back().data.contains("reason"));
  }
  for (const auto& [id, s] : others) {
    EXPECT_EQ(tasks.get(id)->status, s);
    EXPECT_EQ(tasks.events(id).size(), events_before[id]);
  }
  EXPECT_EQ(tasks.recover_interrupted(), 0);  // nothing left running: a second pass does nothing
  EXPECT_EQ(tasks.events(r1).size(), 3u);
  EXPECT_TRUE(tasks.requeue(r1));
}

}  // namespace
}  // namespace agentd::storage

namespace agentd::storage {
namespace {

// Decode speed over a window: completion tokens over decode seconds (tokens / decode_tokens_per_s)
// of the window's llm_call events only, per bucket from the window's start.
TEST_F(TaskStoreTest, DecodeRateSumsTheWindowsModelCallsPerBucket) {
  int64_t id = task_in(TaskStatus::running);
  auto call_at = [&](int64_t at, nlohmann::json data, std::string_view kind = "llm_call") {
    tasks.add_event(id, kind, data);
    db->exec("UPDATE task_events SET at = " + std::to_string(at) + " WHERE id = (SELECT max(id) FROM task_events)");
  };
  const int64_t since = 1'000'000, bucket = 300'000;
  call_at(since - 1, {{"completion_tokens", 999}, {"decode_tokens_per_s", 1.0}});     // before the window
  call_at(since, {{"completion_tokens", 100}, {"decode_tokens_per_s", 50.0}});        // 2 s, bucket 0
  call_at(since + 10, {{"completion_tokens", 20}, {"decode_tokens_per_s", 0.0}});     // no decode time: not counted
  call_at(since + 20, {{"completion_tokens", 30}});                                  // an old row without the rate
  call_at(since + 30, {{"completion_tokens", 500}, {"decode_tokens_per_s", 5.0}}, "log");  // not a model call
  call_at(since + 2 * bucket + 5, {{"completion_tokens", 300}, {"decode_tokens_per_s", 100.0}});  // 3 s, bucket 2
  call_at(since + 2 * bucket + 6, {{"completion_tokens", 100}, {"decode_tokens_per_s", 100.0}});  // 1 s, bucket 2

  TaskStore::DecodeRate r = tasks.decode_rate(since, bucket);
  EXPECT_EQ(r.tokens, 500);
  EXPECT_DOUBLE_EQ(r.seconds, 6.0);
  ASSERT_EQ(r.buckets.size(), 2u);
  EXPECT_EQ(r.buckets[0].start_ms, since);
  EXPECT_EQ(r.buckets[0].tokens, 100);
  EXPECT_DOUBLE_EQ(r.buckets[0].seconds, 2.0);
  EXPECT_EQ(r.buckets[1].start_ms, since + 2 * bucket);
  EXPECT_EQ(r.buckets[1].tokens, 400);
  EXPECT_DOUBLE_EQ(r.buckets[1].seconds, 4.0);
  EXPECT_THAT(tasks.decode_rate(since + 3 * bucket, bucket).buckets, IsEmpty());
}

// The last hour's calls are read through the partial index on llm_call times, not by scanning
// every event ever written (the Overview asks every few seconds).
TEST_F(TaskStoreTest, DecodeRateReadsAnIndexRangeOfModelCalls) {
  auto plan = db->prepare(
      "EXPLAIN QUERY PLAN SELECT at, data FROM task_events WHERE kind = 'llm_call' AND at >= 1");
  std::string steps;
  while (plan.step()) steps += plan.text(3) + "; ";
  EXPECT_THAT(steps, ::testing::HasSubstr("task_events_llm_calls")) << steps;
}

}  // namespace
}  // namespace agentd::storage
