// Code shared by the plugins: the bounded set of seen ids kept in memory, content hashes, and
// HTML character references.
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/common/content_hash.hpp"
#include "agents/common/html_entities.hpp"
#include "agents/common/seen_ids.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

TEST(SeenIdsTest, AddsOnceAndDropsTheOldestPastCapacity) {
  SeenIds seen(3);
  EXPECT_TRUE(seen.add("a"));
  EXPECT_FALSE(seen.add("a"));
  EXPECT_TRUE(seen.add("b"));
  EXPECT_TRUE(seen.add("c"));
  EXPECT_TRUE(seen.add("d"));
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen.contains("a"));
  EXPECT_TRUE(seen.contains("b"));
  EXPECT_TRUE(seen.contains("d"));
  EXPECT_EQ(seen.to_json(), nlohmann::json({"b", "c", "d"}));
  EXPECT_TRUE(seen.add("a"));  // dropped, so new again
  EXPECT_EQ(seen.to_json(), nlohmann::json({"c", "d", "a"}));
}

TEST(SeenIdsTest, ReadsOnlyArraysOfStringsAndKeepsTheNewestWhenTooMany) {
  EXPECT_EQ(SeenIds::from_json({"x", 5, "y", nullptr, "x"}, 10).to_json(), nlohmann::json({"x", "y"}));
  EXPECT_EQ(SeenIds::from_json({{"x", 1}}, 10).size(), 0u);  // an object, not an array
  EXPECT_EQ(SeenIds::from_json("x", 10).size(), 0u);
  EXPECT_EQ(SeenIds::from_json(nullptr, 10).size(), 0u);
  EXPECT_EQ(SeenIds::from_json({"1", "2", "3", "4"}, 2).to_json(), nlohmann::json({"3", "4"}));
}

class SeenIdsMemoryTest : public test_support::AgentsTest {};

TEST_F(SeenIdsMemoryTest, SurvivesAcrossTasksInTheAgentsOwnMemory) {
  {
    TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
    SeenIds seen = SeenIds::recall(ctx, "seen", 5);
    EXPECT_EQ(seen.size(), 0u);
    seen.add("id:1");
    seen.add("id:2");
    seen.remember(ctx, "seen");
  }
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  SeenIds again = SeenIds::recall(ctx, "seen", 5);
  EXPECT_TRUE(again.contains("id:1"));
  EXPECT_TRUE(again.contains("id:2"));
  EXPECT_EQ(memory.get("writer", "seen"), nlohmann::json({"id:1", "id:2"}));
  EXPECT_FALSE(memory.get("other", "seen").has_value());
}

TEST(ContentHashTest, IsFnv1a64InHex) {
  EXPECT_EQ(content_hash(""), "cbf29ce484222325");
  EXPECT_EQ(content_hash("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(content_hash("foobar"), "85944171f73967e8");
  EXPECT_NE(content_hash("ab"), content_hash("ba"));
}

TEST(HtmlEntitiesTest, SymbolsInAnyCaseLettersOnlyInTheirOwn) {
  EXPECT_EQ(decode_html_entities("&amp;&AMP;&Nbsp;&copy;&REG; &bull;"), "&& \u00a9\u00ae \u2022");
  EXPECT_EQ(decode_html_entities("&eacute; &Eacute; &UUML; &szlig;"), "\u00e9 &Eacute; &UUML; \u00df");
  EXPECT_EQ(decode_html_entities("&#160;&#xa0;&#65;&#X42;"), "  AB");
  EXPECT_EQ(decode_html_entities("& &; &#; &#x; &amp &toolongtobeanentity; &#99999999;"),
            "& &; &#; &#x; &amp &toolongtobeanentity; \uFFFD");
  std::string out;
  EXPECT_EQ(decode_html_entity("x&lt;y", 1, out), 4u);
  EXPECT_EQ(out, "<");
  EXPECT_EQ(decode_html_entity("x&y", 1, out), 0u);
  EXPECT_EQ(out, "<");
}

}  // namespace
}  // namespace agentd::agents
