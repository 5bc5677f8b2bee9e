// SectionStore: the outline of a long-form task and its independently written sections.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/section_store.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> titles_of(const std::vector<Section>& sections) {
  std::vector<std::string> titles;
  for (const Section& s : sections) titles.push_back(s.title);
  return titles;
}

class SectionStoreTest : public test_support::StorageTest {
 protected:
  std::unique_ptr<Database> db = open();
  SectionStore sections{*db};
  int64_t task = TaskStore(*db).enqueue({.agent = "writer"});
};

TEST_F(SectionStoreTest, StatusNamesRoundTrip) {
  for (auto s : {SectionStatus::pending, SectionStatus::running, SectionStatus::done, SectionStatus::failed}) {
    EXPECT_EQ(parse_section_status(to_string(s)), s);
  }
  EXPECT_EQ(parse_section_status("finished"), std::nullopt);
}

TEST_F(SectionStoreTest, PlanCreatesPendingSectionsInOrder) {
  sections.plan(task, {"Intro", "Method", "Results"});
  auto list = sections.list(task);
  EXPECT_THAT(titles_of(list), ElementsAre("Intro", "Method", "Results"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(list[i].task_id, task);
    EXPECT_EQ(list[i].idx, i);
    EXPECT_EQ(list[i].status, SectionStatus::pending);
    EXPECT_EQ(list[i].text, "");
    EXPECT_GT(list[i].updated_at, 0);
  }
  EXPECT_EQ(sections.first_unfinished(task), 0);
}

TEST_F(SectionStoreTest, PlanAgainKeepsExistingSections) {
  sections.plan(task, {"Intro", "Body"});
  sections.put({.task_id = task, .idx = 0, .title = "Intro", .text = "Hello.", .tokens = 2,
                .status = SectionStatus::done});
  sections.plan(task, {"Another intro", "Another body", "Conclusion"});  // e.g. a resumed task re-plans
  auto list = sections.list(task);
  EXPECT_THAT(titles_of(list), ElementsAre("Intro", "Body", "Conclusion"));
  EXPECT_EQ(list[0].text, "Hello.");
  EXPECT_EQ(list[0].status, SectionStatus::done);
  EXPECT_EQ(list[2].status, SectionStatus::pending);
}

TEST_F(SectionStoreTest, PutReplacesTheWholeSection) {
  sections.plan(task, {"Intro"});
  sections.put({.task_id = task, .idx = 0, .title = "Intro", .text = "A long first draft.", .tokens = 40,
                .status = SectionStatus::running});
  sections.put({.task_id = task, .idx = 0, .title = "Opening", .text = "", .tokens = 0,
                .status = SectionStatus::failed});
  auto list = sections.list(task);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].title, "Opening");
  EXPECT_EQ(list[0].text, "") << "put must not merge with the previous text";
  EXPECT_EQ(list[0].tokens, 0);
  EXPECT_EQ(list[0].status, SectionStatus::failed);
}

TEST_F(SectionStoreTest, PutWithoutAPlanAndSetStatus) {
  sections.put({.task_id = task, .idx = 1, .title = "Second", .text = "two", .tokens = 1,
                .status = SectionStatus::done});
  sections.put({.task_id = task, .idx = 0, .title = "First", .text = "one", .tokens = 1,
                .status = SectionStatus::running});
  EXPECT_THAT(titles_of(sections.list(task)), ElementsAre("First", "Second"));
  sections.set_status(task, 0, SectionStatus::done);
  EXPECT_EQ(sections.list(task)[0].status, SectionStatus::done);
  EXPECT_EQ(sections.list(task)[0].text, "one");
}

TEST_F(SectionStoreTest, FirstUnfinishedIsTheLowestSectionNotDone) {
  EXPECT_EQ(sections.first_unfinished(task), std::nullopt) << "no sections at all";
  sections.plan(task, {"a", "b", "c", "d"});
  sections.set_status(task, 0, SectionStatus::done);
  sections.set_status(task, 1, SectionStatus::done);
  sections.set_status(task, 3, SectionStatus::done);
  EXPECT_EQ(sections.first_unfinished(task), 2);
  sections.set_status(task, 1, SectionStatus::failed);
  EXPECT_EQ(sections.first_unfinished(task), 1);
  for (int i = 0; i < 4; ++i) sections.set_status(task, i, SectionStatus::done);
  EXPECT_EQ(sections.first_unfinished(task), std::nullopt);
}

TEST_F(SectionStoreTest, TasksHaveTheirOwnSections) {
  int64_t other = TaskStore(*db).enqueue({.agent = "writer"});
  sections.plan(task, {"mine"});
  sections.plan(other, {"theirs", "also theirs"});
  EXPECT_THAT(titles_of(sections.list(task)), ElementsAre("mine"));
  EXPECT_THAT(titles_of(sections.list(other)), ElementsAre("theirs", "also theirs"));
  EXPECT_THAT(sections.list(other + 1), IsEmpty());
}

TEST_F(SectionStoreTest, SectionsOfAnUnknownTaskAreRefused) {
  EXPECT_THROW(sections.put({.task_id = 999, .idx = 0, .title = "x"}), DatabaseError);
  EXPECT_THROW(sections.plan(999, {"x", "y"}), DatabaseError);
  EXPECT_THAT(sections.list(999), IsEmpty()) << "a failed plan must leave nothing behind";
}

}  // namespace
}  // namespace agentd::storage
