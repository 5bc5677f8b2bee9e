// PromptTemplate: {{placeholders}} are parsed and checked at load time, and filled on render.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "agents/prompt/prompt_template.hpp"

namespace agentd::agents {
namespace {

using Kind = PromptTemplate::Kind;
using ::testing::HasSubstr;

std::string describe(const PromptTemplate::Part& p) {
  static const char* names[] = {"text", "input", "input_file", "file", "memory", "event",
                                "date", "time", "datetime", "weekday", "agent", "task"};
  return std::string(names[static_cast<int>(p.kind)]) + (p.arg.empty() ? "" : ":" + p.arg);
}

std::vector<std::string> parts_of(const PromptTemplate& t) {
  std::vector<std::string> out;
  for (const auto& p : t.parts()) out.push_back(describe(p));
  return out;
}

// The message of the std::invalid_argument that parsing `text` throws.
std::string parse_error(const std::string& text, const std::vector<Kind>& allowed = {}) {
  try {
    PromptTemplate t(text, allowed);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument for " << text;
  return "";
}

TEST(PromptTemplateTest, PlainTextIsOneTextPartAndRendersUnchanged) {
  PromptTemplate t("Summarise { this } please }}");
  EXPECT_THAT(parts_of(t), ::testing::ElementsAre("text:Summarise { this } please }}"));
  int calls = 0;
  EXPECT_EQ(t.render([&](const PromptTemplate::Part&) {
    ++calls;
    return std::string("X");
  }),
            "Summarise { this } please }}");
  EXPECT_EQ(calls, 0);

  PromptTemplate empty("");
  EXPECT_TRUE(empty.parts().empty());
  EXPECT_EQ(empty.render([](const PromptTemplate::Part&) { return std::string("X"); }), "");
}

TEST(PromptTemplateTest, ParsesEveryPlaceholderKind) {
  PromptTemplate t(
      "A{{input}}B{{input_file}}{{file:notes/today.md}}{{memory:last_summary}}{{event.stats.words}}"
      "{{date}}{{time}}{{datetime}}{{weekday}}{{agent}}{{task}}Z");
  EXPECT_THAT(parts_of(t), ::testing::ElementsAre("text:A", "input", "text:B", "input_file", "file:notes/today.md",
                                                  "memory:last_summary", "event:stats.words", "date", "time",
                                                  "datetime", "weekday", "agent", "task", "text:Z"));
}

TEST(PromptTemplateTest, RenderFillsEachPlaceholderInPlace) {
  PromptTemplate t("Dear {{agent}}, task {{task}}: {{memory:greeting}} / {{event.user.name}} / {{input}}.");
  std::vector<std::string> asked;
  std::string out = t.render([&](const PromptTemplate::Part& p) {
    asked.push_back(describe(p));
    std::string filled = "<";  // built step by step: GCC 12 warns (-Wrestrict) on the one-line form
    return filled.append(describe(p)).append(">");
  });
  EXPECT_EQ(out, "Dear <agent>, task <task>: <memory:greeting> / <event:user.name> / <input>.");
  EXPECT_THAT(asked, ::testing::ElementsAre("agent", "task", "memory:greeting", "event:user.name", "input"));
}

TEST(PromptTemplateTest, SpacesInsideTheBracesAreAllowed) {
  PromptTemplate t("{{ input }}|{{   date}}|{{ memory:  my key  }}|{{ file: a b.md }}|{{\tevent.x \t}}");
  EXPECT_THAT(parts_of(t), ::testing::ElementsAre("input", "text:|", "date", "text:|", "memory:my key", "text:|",
                                                  "file:a b.md", "text:|", "event:x"));
}

TEST(PromptTemplateTest, UnknownPlaceholderIsRefusedByName) {
  std::string message = parse_error("Hello {{nmae}} and {{input}}");
  EXPECT_THAT(message, HasSubstr("{{nmae}}"));
  EXPECT_THAT(message, HasSubstr("unknown placeholder"));
  EXPECT_THAT(message, HasSubstr("input_file"));  // lists the known ones

  EXPECT_THAT(parse_error("{{ Input }}"), HasSubstr("{{Input}}: unknown placeholder"));
  EXPECT_THAT(parse_error("{{}}"), HasSubstr("{{}}: unknown placeholder"));
  EXPECT_THAT(parse_error("{{files:a.md}}"), HasSubstr("{{files:a.md}}"));
}

TEST(PromptTemplateTest, PlaceholderWithoutItsNameIsRefused) {
  EXPECT_THAT(parse_error("{{memory:}}"), HasSubstr("missing the name after 'memory:'"));
  EXPECT_THAT(parse_error("{{file:  }}"), HasSubstr("missing the name after 'file:'"));
  EXPECT_THAT(parse_error("{{event.}}"), HasSubstr("missing the name after 'event.'"));
}

TEST(PromptTemplateTest, UnclosedBracesAreRefusedWithTheirOffset) {
  std::string message = parse_error("Hello {{input");
  EXPECT_THAT(message, HasSubstr("'{{' at offset 6"));
  EXPECT_THAT(message, HasSubstr("never closed"));
  EXPECT_THAT(parse_error("{{input}} then {{date"), HasSubstr("offset 15"));
  EXPECT_THAT(parse_error("{{input} }"), HasSubstr("never closed"));
}

TEST(PromptTemplateTest, AllowedKindsRestrictThePlaceholders) {
  const std::vector<Kind> name_only = {Kind::date, Kind::time, Kind::datetime, Kind::weekday, Kind::agent, Kind::task};
  PromptTemplate ok("out-{{date}}-{{ task }}-{{agent}}.md", name_only);
  EXPECT_THAT(parts_of(ok), ::testing::ElementsAre("text:out-", "date", "text:-", "task", "text:-", "agent",
                                                   "text:.md"));

  EXPECT_THAT(parse_error("{{input}}.md", name_only), HasSubstr("{{input}} is not allowed here"));
  EXPECT_THAT(parse_error("{{ file:secret }}", name_only), HasSubstr("{{file:secret}} is not allowed here"));
  EXPECT_THAT(parse_error("{{memory:k}}", name_only), HasSubstr("{{memory:k}} is not allowed here"));
  // Unknown stays unknown, restricted or not.
  EXPECT_THAT(parse_error("{{bogus}}", name_only), HasSubstr("unknown placeholder"));
}

TEST(PromptTemplateTest, UsesReportsTheKindsPresent) {
  PromptTemplate t("Read {{input_file}} and {{ memory:k }}");
  EXPECT_TRUE(t.uses(Kind::input_file));
  EXPECT_TRUE(t.uses(Kind::memory));
  EXPECT_TRUE(t.uses(Kind::text));
  EXPECT_FALSE(t.uses(Kind::input));
  EXPECT_FALSE(t.uses(Kind::file));
  EXPECT_FALSE(t.uses(Kind::event));
  EXPECT_FALSE(t.uses(Kind::date));

  PromptTemplate only("{{input}}");
  EXPECT_TRUE(only.uses(Kind::input));
  EXPECT_FALSE(only.uses(Kind::text));
  EXPECT_FALSE(only.uses(Kind::input_file));
}

}  // namespace
}  // namespace agentd::agents
