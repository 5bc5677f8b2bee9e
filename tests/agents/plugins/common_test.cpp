// Code shared by the plugins: the bounded set of seen ids kept in memory, content hashes, and
// HTML to text.
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/common/content_hash.hpp"
#include "agents/common/html_text.hpp"
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

TEST(HtmlTextTest, DropsMarkupKeepsTextAndLineStructure) {
  EXPECT_EQ(html_to_text("<p>One<br>two</p><ul><li>a</li><li>b &amp; c</li></ul>"),
            "One\ntwo\n\n- a\n- b & c");
  EXPECT_EQ(html_to_text("<SCRIPT type=x>alert(1)</SCRIPT>Hi<style>b{}</style> <b>there</b>"), "Hi there");
  EXPECT_EQ(html_to_text("<head><title>t</title></head><template>x</template>body"), "body");
  EXPECT_EQ(html_to_text("keep <scripted> words"), "keep words");  // not a <script> element
  EXPECT_EQ(html_to_text("a<!-- hidden -->b<!-- never closed"), "ab");
  EXPECT_EQ(html_to_text("text <a href=\"x"), "text");  // an unterminated tag is not text
  EXPECT_EQ(html_to_text("  lots   of\n\n  space  "), "lots of space");
  EXPECT_EQ(html_to_text("<pre>line 1\nline 2</pre>and\nmore"), "line 1\nline 2\n\nand more");
  // Inline elements join words, other tags separate them.
  EXPECT_EQ(html_to_text("un<b>bold</b>ed<img src=x>word"), "unbolded word");
  EXPECT_EQ(html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"), "a b\nc");
  EXPECT_EQ(html_to_text("<div><div><p>deep</p></div></div><div>x</div>"), "deep\n\nx");
}

TEST(HtmlTextTest, DecodesEveryCharacterReference) {
  EXPECT_EQ(html_to_text("&lt;b&gt; &quot;q&quot; &#39;s&#x27; &euro;5 &#8212; &nbsp;x &#160;y"),
            "<b> \"q\" 's' \u20ac5 \u2014 x y");
  EXPECT_EQ(html_to_text("&eacute;&Eacute;&szlig; &hearts; &thetasym;"), "\u00e9\u00c9\u00df \u2665 \u03d1");
  EXPECT_EQ(html_to_text("AT&T &unknown; & alone, 1 < 2"), "AT&T &unknown; & alone, 1 < 2");
}

TEST(HtmlTextTest, HostileMarkupIsTextAndDeepNestingIsBounded) {
  EXPECT_EQ(html_to_text("<img src=x onerror=alert(1)>caption<script>alert(2)</script>"), "caption");
  EXPECT_EQ(html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "<script>alert(1)</script>");  // text, as written
  std::string deep;
  for (int i = 0; i < 100'000; ++i) deep += "<div><span>";
  deep += "bottom";
  std::string text = html_to_text("top" + deep);  // neither the parse nor the walk recurses per level
  EXPECT_EQ(text.substr(0, 3), "top");
  EXPECT_EQ(html_to_text(""), "");
}

}  // namespace
}  // namespace agentd::agents
