// MemoryStore: per-agent JSON key/value memory and full-text searchable notes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/memory_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<int64_t> ids_of(const std::vector<Note>& notes) {
  std::vector<int64_t> ids;
  for (const Note& n : notes) ids.push_back(n.id);
  return ids;
}

class MemoryStoreTest : public test_support::StorageTest {
 protected:
  std::unique_ptr<Database> db = open();
  MemoryStore memory{*db};
};

TEST_F(MemoryStoreTest, JsonValuesRoundTrip) {
  const std::vector<nlohmann::json> values = {
      nlohmann::json::object(),
      nlohmann::json::array(),
      nullptr,
      true,
      int64_t{9007199254740993},  // above 2^53: must not pass through a double
      -17,
      0.1,
      "plain text",
      "quotes \" and ' and \\ and \n newlines and ünïcödé 🐧",
      {{"nested", {{"list", {1, "two", nullptr, {{"three", 3.5}}}}}}, {"empty", ""}},
  };
  for (size_t i = 0; i < values.size(); ++i) memory.set("agent", "k" + std::to_string(i), values[i]);
  for (size_t i = 0; i < values.size(); ++i) {
    auto got = memory.get("agent", "k" + std::to_string(i));
    ASSERT_TRUE(got) << i;
    EXPECT_EQ(*got, values[i]) << got->dump();
  }
  EXPECT_EQ(memory.get("agent", "k4")->get<int64_t>(), 9007199254740993);
}

TEST_F(MemoryStoreTest, SetOverwritesAndEraseRemoves) {
  EXPECT_EQ(memory.get("a", "missing"), std::nullopt);
  memory.set("a", "count", 1);
  const int64_t first = memory.list("a")[0].updated_at;
  memory.set("a", "count", 2);
  EXPECT_EQ(memory.get("a", "count"), 2);
  EXPECT_GE(memory.list("a")[0].updated_at, first);
  EXPECT_EQ(memory.list("a").size(), 1u);
  EXPECT_TRUE(memory.erase("a", "count"));
  EXPECT_FALSE(memory.erase("a", "count"));
  EXPECT_EQ(memory.get("a", "count"), std::nullopt);
}

TEST_F(MemoryStoreTest, ListIsSortedByKey) {
  memory.set("a", "zeta", 1);
  memory.set("a", "alpha", "x");
  memory.set("a", "mid", nlohmann::json{{"k", true}});
  auto entries = memory.list("a");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "alpha");
  EXPECT_EQ(entries[0].value, "x");
  EXPECT_EQ(entries[1].key, "mid");
  EXPECT_EQ(entries[1].value["k"], true);
  EXPECT_EQ(entries[2].key, "zeta");
}

TEST_F(MemoryStoreTest, AgentsDoNotSeeEachOthersKeys) {
  memory.set("mail", "last_seen", "mail's");
  memory.set("news", "last_seen", "news's");
  memory.set("news", "only_news", 1);
  EXPECT_EQ(memory.get("mail", "last_seen"), "mail's");
  EXPECT_EQ(memory.get("news", "last_seen"), "news's");
  EXPECT_EQ(memory.get("mail", "only_news"), std::nullopt);
  EXPECT_EQ(memory.list("mail").size(), 1u);
  EXPECT_FALSE(memory.erase("mail", "only_news"));
  EXPECT_TRUE(memory.erase("mail", "last_seen"));
  EXPECT_EQ(memory.get("news", "last_seen"), "news's");
}

TEST_F(MemoryStoreTest, AgentsDoNotSeeEachOthersNotes) {
  int64_t mine = memory.add_note("mail", "invoice from the garden centre");
  memory.add_note("news", "garden centre opens a new shop");
  auto found = memory.search_notes("mail", "garden centre");
  ASSERT_THAT(ids_of(found), ElementsAre(mine));
  EXPECT_EQ(found[0].agent, "mail");
  EXPECT_THAT(ids_of(memory.recent_notes("mail")), ElementsAre(mine));
  EXPECT_THAT(memory.search_notes("weather", "garden"), IsEmpty());
}

TEST_F(MemoryStoreTest, SearchRanksTheBetterMatchFirst) {
  // Enough other notes that the query words are rare (bm25's idf is ~0 for words in half the notes).
  std::vector<int64_t> unrelated;
  for (int i = 0; i < 12; ++i) unrelated.push_back(memory.add_note("a", "meeting notes about budget " + std::to_string(i)));
  int64_t passing = memory.add_note("a", "bought a new hose for the garden");
  int64_t best = memory.add_note("a", "tomato plants in the garden need water; the garden tomatoes are ripe");
  int64_t other = memory.add_note("a", "tomato soup recipe");
  auto found = memory.search_notes("a", "garden tomato");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].id, best) << "mentions both words, several times";
  EXPECT_THAT(ids_of(found), ::testing::UnorderedElementsAre(best, passing, other));
  for (size_t i = 1; i < found.size(); ++i) EXPECT_LE(found[i - 1].rank, found[i].rank);
  EXPECT_LT(found[0].rank, 0.0) << "bm25 scores are negative, lower is better";
  EXPECT_LT(found[0].rank, found[1].rank);
  for (const Note& n : found) EXPECT_THAT(unrelated, ::testing::Not(::testing::Contains(n.id)));
  EXPECT_THAT(ids_of(memory.search_notes("a", "garden tomato", 1)), ElementsAre(best));
  // Stemming: "plant" finds "plants", "tomatoes" finds "tomato".
  EXPECT_THAT(ids_of(memory.search_notes("a", "plant")), ElementsAre(best));
}

TEST_F(MemoryStoreTest, RecentNotesAreNewestFirstAndBoundedByTime) {
  int64_t n1 = memory.add_note("a", "one");
  int64_t n2 = memory.add_note("a", "two");
  int64_t n3 = memory.add_note("a", "three");
  db->prepare("UPDATE notes SET at = id * 1000").run();
  EXPECT_THAT(ids_of(memory.recent_notes("a")), ElementsAre(n3, n2, n1));
  EXPECT_THAT(ids_of(memory.recent_notes("a", 2)), ElementsAre(n3, n2));
  EXPECT_THAT(ids_of(memory.recent_notes("a", 10, n2 * 1000)), ElementsAre(n3, n2));
  EXPECT_EQ(memory.recent_notes("a")[0].text, "three");
}

TEST_F(MemoryStoreTest, NotesSinceSpansAgentsOldestFirst) {
  int64_t old = memory.add_note("mail", "old");
  int64_t m = memory.add_note("mail", "mail note");
  int64_t n = memory.add_note("news", "news note");
  db->prepare("UPDATE notes SET at = id * 1000").run();
  EXPECT_THAT(ids_of(memory.notes_since(m * 1000)), ElementsAre(m, n));
  EXPECT_THAT(ids_of(memory.notes_since(0)), ElementsAre(old, m, n));
  EXPECT_THAT(ids_of(memory.notes_since(0, 1)), ElementsAre(old));
  EXPECT_EQ(memory.notes_since(n * 1000)[0].agent, "news");
}

TEST_F(MemoryStoreTest, FtsQueryQuotesEveryWord) {
  EXPECT_EQ(fts_query("hello world"), "\"hello\" OR \"world\"");
  EXPECT_EQ(fts_query("\"foo AND (bar"), "\"foo\" OR \"AND\" OR \"bar\"");
  EXPECT_EQ(fts_query("café"), "\"café\"");
  EXPECT_EQ(fts_query(""), "");
  EXPECT_EQ(fts_query(" \"()*^:- "), "");
}

TEST_F(MemoryStoreTest, HostileQueriesNeverThrow) {
  int64_t id = memory.add_note("a", "foo and bar went to the market");
  const char* hostile[] = {
      "\"foo AND (bar", "foo\"", "(", ")", "\"", "*", "^foo", "foo*", "NEAR(foo bar)", "text:foo",
      "- foo", "NOT", "AND OR NOT", "'); DROP TABLE notes; --", "{foo bar}", "foo + bar", "",
      "   ", "\xff\xfe broken utf-8", "\\", "%_", "foo:bar:baz",
  };
  for (const char* q : hostile) {
    SCOPED_TRACE(q);
    std::vector<Note> found;
    EXPECT_NO_THROW(found = memory.search_notes("a", q));
    for (const Note& n : found) EXPECT_EQ(n.id, id);
  }
  EXPECT_THAT(ids_of(memory.search_notes("a", "\"foo AND (bar")), ElementsAre(id));
  EXPECT_THAT(ids_of(memory.search_notes("a", "NEAR(foo bar)")), ElementsAre(id));
  EXPECT_THAT(memory.search_notes("a", "*"), IsEmpty());
  EXPECT_EQ(memory.recent_notes("a").size(), 1u) << "the notes table survived";
}

}  // namespace
}  // namespace agentd::storage
