#include "engine/stop_matcher.hpp"

#include <gtest/gtest.h>

namespace agentd::engine {
namespace {

TEST(StopMatcher, PassesTextThroughWithoutStops) {
  StopMatcher m;
  EXPECT_EQ(m.feed("Hello").text, "Hello");
  EXPECT_EQ(m.feed(" world").text, " world");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, EndsBeforeAStopStringSpanningPieces) {
  StopMatcher m({"END"});
  auto a = m.feed("story E");
  EXPECT_EQ(a.text, "story ");  // "E" might start "END": held back
  EXPECT_FALSE(a.stopped);
  auto b = m.feed("N");
  EXPECT_EQ(b.text, "");
  auto c = m.feed("D and more");
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.text, "");
}

TEST(StopMatcher, ReleasesHeldTextWhenItIsNotAStop) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.feed("E").text, "");
  EXPECT_EQ(m.feed("x").text, "Ex");
  EXPECT_EQ(m.feed("EN").text, "");
  EXPECT_EQ(m.flush(), "EN");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"cat", "a"});
  auto out = m.feed("the cat");  // "cat" starts at 4, "a" at 5
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.text, "the ");
}

TEST(StopMatcher, HoldsBackIncompleteUtf8) {
  StopMatcher m;
  const std::string e_acute = "\xC3\xA9";
  EXPECT_EQ(m.feed("caf" + e_acute.substr(0, 1)).text, "caf");
  EXPECT_EQ(m.feed(e_acute.substr(1)).text, e_acute);
  EXPECT_EQ(incomplete_utf8_tail("\xE2\x82"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("\xE2\x82\xAC"), 0u);
}

}  // namespace
}  // namespace agentd::engine
