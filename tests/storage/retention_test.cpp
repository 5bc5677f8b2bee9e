// prune_history and integrity_check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "storage/memory_store.hpp"
#include "storage/retention.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::UnorderedElementsAreArray;
using test_support::scalar;
using test_support::set_task_times;

class RetentionTest : public test_support::StorageTest {
 protected:
  // A task created at `created_at`, brought to `status`, with one extra event and one section.
  int64_t task(TaskStatus status, int64_t created_at, std::optional<int64_t> parent = {}) {
    int64_t id = tasks.enqueue({.agent = "a", .input = "in", .parent_id = parent});
    if (status != TaskStatus::queued && status != TaskStatus::cancelled) { EXPECT_TRUE(tasks.claim(id)); }
    tasks.add_event(id, event::log, {{"n", id}});
    sections.plan(id, {"only"});
    switch (status) {
      case TaskStatus::finished: EXPECT_TRUE(tasks.finish(id, "o")); break;
      case TaskStatus::failed: EXPECT_TRUE(tasks.fail(id, "e")); break;
      case TaskStatus::cancelled: EXPECT_TRUE(tasks.cancel(id, "c")); break;
      case TaskStatus::interrupted: EXPECT_TRUE(tasks.interrupt(id, "i")); break;
      default: break;
    }
    set_task_times(*db, id, created_at);
    return id;
  }

  std::set<int64_t> remaining_ids() {
    std::set<int64_t> ids;
    auto s = db->prepare("SELECT id FROM tasks");
    while (s.step()) ids.insert(s.int64(0));
    return ids;
  }

  int64_t events_of(int64_t id) {
    return scalar(*db, "SELECT count(*) FROM task_events WHERE task_id = " + std::to_string(id));
  }

  std::unique_ptr<Database> db = open();
  TaskStore tasks{*db};
  SectionStore sections{*db};
};

TEST_F(RetentionTest, PrunesOldEndedTasksWithTheirEventsAndSections) {
  const int64_t cutoff = 10'000;
  std::vector<int64_t> victims = {task(TaskStatus::finished, 1000), task(TaskStatus::failed, 2000),
                                  task(TaskStatus::cancelled, 3000), task(TaskStatus::interrupted, 4000),
                                  task(TaskStatus::finished, cutoff - 1)};
  std::vector<int64_t> kept = {task(TaskStatus::queued, 1000), task(TaskStatus::running, 1500),
                               task(TaskStatus::finished, cutoff), task(TaskStatus::failed, 20'000)};
  int64_t child = task(TaskStatus::finished, 30'000, victims[0]);
  kept.push_back(child);
  int64_t victim_events = 0;
  for (int64_t id : victims) victim_events += events_of(id);
  MemoryStore memory(*db);
  memory.set("a", "k", "v");
  memory.add_note("a", "remember this");

  PruneResult r = prune_history(*db, cutoff, /*batch=*/2);  // several batches, the last one short
  EXPECT_EQ(r.tasks, static_cast<int64_t>(victims.size()));
  EXPECT_EQ(r.events, victim_events);
  EXPECT_THAT(remaining_ids(), UnorderedElementsAreArray(kept));
  for (int64_t id : victims) {
    EXPECT_EQ(events_of(id), 0) << id;
    EXPECT_TRUE(sections.list(id).empty()) << id;
  }
  for (int64_t id : kept) {
    EXPECT_GT(events_of(id), 1) << id;
    EXPECT_EQ(sections.list(id).size(), 1u) << id;
  }
  EXPECT_EQ(tasks.get(child)->parent_id, std::nullopt) << "the pruned parent is forgotten, the child kept";
  EXPECT_EQ(memory.get("a", "k"), "v");
  EXPECT_EQ(memory.search_notes("a", "remember").size(), 1u);
  EXPECT_EQ(integrity_check(*db), "ok");

  PruneResult again = prune_history(*db, cutoff);
  EXPECT_EQ(again.tasks, 0);
  EXPECT_EQ(again.events, 0);
}

TEST_F(RetentionTest, BatchSizeDividingTheVictimsExactly) {
  for (int i = 0; i < 6; ++i) task(TaskStatus::finished, 100 + i);
  int64_t fresh = task(TaskStatus::finished, 5000);
  PruneResult r = prune_history(*db, 1000, /*batch=*/3);
  EXPECT_EQ(r.tasks, 6);
  EXPECT_EQ(r.events, 6 * 4);  // queued, started, log, finished
  EXPECT_THAT(remaining_ids(), UnorderedElementsAreArray({fresh}));
}

TEST_F(RetentionTest, IntegrityCheckReportsForeignKeyViolations) {
  int64_t id = task(TaskStatus::finished, 1000);
  EXPECT_EQ(integrity_check(*db), "ok");
  db->exec("PRAGMA foreign_keys = OFF");
  db->exec("DELETE FROM tasks WHERE id = " + std::to_string(id));  // orphans its events
  EXPECT_THAT(integrity_check(*db), ::testing::HasSubstr("task_events"));
}

// A page of the file zeroed (a disk or a copy gone wrong): the start-up check refuses the file,
// naming it, the damage and the way out; the full check lists the damage instead of one error.
TEST_F(RetentionTest, ADamagedFileIsRefusedNamingTheDamageAndTheWayOut) {
  EXPECT_NO_THROW(require_intact(*db));
  for (int i = 0; i < 300; ++i) tasks.enqueue({.agent = "a", .input = "input " + std::to_string(i) + std::string(300, 'x')});
  db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const int64_t pages = scalar(*db, "PRAGMA page_count"), page_size = scalar(*db, "PRAGMA page_size");
  db.reset();
  {
    std::fstream f(db_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((pages / 2) * page_size);
    const std::string zeros(static_cast<size_t>(page_size), '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  Database damaged(db_path());
  try {
    require_intact(damaged);
    FAIL() << "a damaged file passed the start-up check";
  } catch (const DatabaseError& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, ::testing::HasSubstr(db_path().string() + " is damaged"));
    EXPECT_THAT(what, ::testing::HasSubstr("Page " + std::to_string(pages / 2 + 1)));
    EXPECT_THAT(what, ::testing::HasSubstr(".recover"));
  }
  EXPECT_THAT(integrity_check(damaged), ::testing::HasSubstr("Page " + std::to_string(pages / 2 + 1)));
}

}  // namespace
}  // namespace agentd::storage
