// Bounded JSON: the pre-scan that keeps documents too deep, too large, with NUL bytes or bytes
// that are not UTF-8 away from nlohmann, and the parse that reports a problem's place.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "scheduler/bounded_json.hpp"

namespace agentd::scheduler {
namespace {

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(BoundedJsonTest, NestingIsCountedOutsideStringsAndComments) {
  JsonBounds bounds{1 << 20, 3};
  EXPECT_EQ(json_bounds_problem(nested(3), bounds), std::nullopt);
  EXPECT_EQ(json_bounds_problem(nested(4), bounds), "nested deeper than 3 levels at line 1, column 4");
  EXPECT_EQ(json_bounds_problem(R"({"a": "[[[[{{{{", "b": [1, "\"[[[["]})", bounds), std::nullopt);
  EXPECT_EQ(json_bounds_problem("// [[[[\n{\"a\": /* {{{{ */ [1]}", bounds), std::nullopt);
  EXPECT_EQ(json_bounds_problem("{\"a\":\n  {\"b\": [[1]]}}", bounds), "nested deeper than 3 levels at line 2, column 10");
  // Siblings do not add up.
  EXPECT_EQ(json_bounds_problem("[[[1]], [[2]], [[3]]]", bounds), std::nullopt);
}

TEST(BoundedJsonTest, SizeNulAndUtf8AreChecked) {
  EXPECT_EQ(json_bounds_problem("[1, 2]", {5, 64}), "6 bytes is more than the limit of 5");
  EXPECT_EQ(json_bounds_problem(std::string("{}\0{\"x\": 1}", 11)), "a NUL byte at line 1, column 3");
  EXPECT_EQ(json_bounds_problem("{\"a\":\n \"caf\xe9\"}"), "not UTF-8: a bad byte at line 2, column 6");
  EXPECT_EQ(json_bounds_problem("// \xff\n{}"), "not UTF-8: a bad byte at line 1, column 4");
  EXPECT_EQ(json_bounds_problem("{\"a\": \"caf\xc3\xa9 \xf0\x9f\x98\x80\"}"), std::nullopt);
}

TEST(BoundedJsonTest, Utf8ValidationRefusesOverlongSurrogatesAndTooLarge) {
  EXPECT_EQ(first_invalid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf"), std::nullopt);
  EXPECT_EQ(first_invalid_utf8("\xc0\xaf"), 0u);           // overlong '/'
  EXPECT_EQ(first_invalid_utf8("ab\xed\xa0\x80"), 2u);     // a surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);   // past U+10FFFF
  EXPECT_EQ(first_invalid_utf8("abc\xe2\x82"), 3u);        // cut short
  EXPECT_EQ(escape_invalid_utf8("caf\xe9 \xc3\xa9\xff"), "caf\\xE9 \xc3\xa9\\xFF");
}

TEST(BoundedJsonTest, ParseReportsTheProblemAndItsPlace) {
  EXPECT_EQ(parse_bounded_json(R"({"a": [1, 2]})")["a"][1], 2);
  EXPECT_EQ(parse_bounded_json("// note\n{\"a\": 1}", {}, /*allow_comments=*/true)["a"], 1);
  auto error_of = [](std::string_view text, bool comments = false) {
    try {
      parse_bounded_json(text, {}, comments);
    } catch (const BoundedJsonError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(error_of(nested(100000)), "nested deeper than 64 levels at line 1, column 65");
  EXPECT_NE(error_of("{\"a\": 1} x").find("parse error at line 1"), std::string::npos);
  EXPECT_NE(error_of("// note\n{}").find("parse error"), std::string::npos) << "comments only when allowed";
  EXPECT_NE(error_of("[1e999]").find("number overflow"), std::string::npos) << error_of("[1e999]");
  EXPECT_EQ(error_of(R"({"a": 1, "b": {"a": 2, "c": [{"a": 3}, {"a": 4}]}, "a": 5})"),
            "duplicate key \"a\" (a key may appear once in an object)");
  EXPECT_EQ(error_of(R"({"a": [{"x": 1}, {"x": 2}], "b": {"x": 3}})"), "(accepted)") << "the same key in other objects";
}

}  // namespace
}  // namespace agentd::scheduler
