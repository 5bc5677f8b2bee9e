// The evaluator's deterministic parts, exactly: claims from a draft, facts from a list, numbers and
// dates no fact has, the model's verdict validated (garbage included), the score and the reports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/evaluator/claims.hpp"
#include "agents/evaluator/evaluation_report.hpp"
#include "agents/evaluator/number_check.hpp"
#include "agents/evaluator/verdict.hpp"
#include "engine/json_schema_grammar.hpp"

namespace agentd::agents::evaluation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// ---- claims ------------------------------------------------------------------------------------

TEST(SplitClaims, SentencesOfParagraphsAndListItemsWithHeadingsSkipped) {
  const char* draft =
      "# The Tower\n\n"
      "## Why it was built\n\n"
      "The tower opened in 1889. It was the entrance\nto the World's Fair!\n\n"
      "- It is **330 metres** tall today.\n"
      "- Visitors take the `lift` to the top\n"
      "1. Is it painted every seven years?\n";
  ClaimList c = split_claims(draft, 10);
  EXPECT_THAT(c.claims, ElementsAre("The tower opened in 1889.", "It was the entrance to the World's Fair!",
                                    "It is 330 metres tall today.", "Visitors take the lift to the top",
                                    "Is it painted every seven years?"));
  EXPECT_EQ(c.total, 5u);
}

TEST(SplitClaims, DecimalsDoNotEndASentenceButShortFragmentsAreDropped) {
  ClaimList c = split_claims("It weighs 7.3 thousand tonnes (e.g. a lot). Yes. Built in v1.2 style, it stands.", 10);
  // "a lot)." and "Yes." are under three words.
  EXPECT_THAT(c.claims, ElementsAre("It weighs 7.3 thousand tonnes (e.g.", "Built in v1.2 style, it stands."));
  EXPECT_EQ(c.total, 2u);
}

TEST(SplitClaims, CodeFencesCommentsAndQuotesAreHandled) {
  ClaimList c = split_claims("```\nnot a claim at all.\n```\n<!-- a comment\nthat spans lines. -->\n"
                             "> The quoted line is a claim.\n",
                             10);
  EXPECT_THAT(c.claims, ElementsAre("The quoted line is a claim."));
}

TEST(SplitClaims, AtMostMaxClaimsButAllAreCounted) {
  ClaimList c = split_claims("One two three. Four five six. Seven eight nine.", 2);
  EXPECT_THAT(c.claims, ElementsAre("One two three.", "Four five six."));
  EXPECT_EQ(c.total, 3u);
  EXPECT_THAT(split_claims("# Only a heading\n\n", 5).claims, IsEmpty());
}

TEST(SplitClaims, ALongSentenceIsCutToFourHundredBytes) {
  std::string sentence;
  for (int i = 0; i < 100; ++i) sentence += "word ";
  ClaimList c = split_claims(sentence + "end.", 5);
  ASSERT_EQ(c.claims.size(), 1u);
  EXPECT_LE(c.claims[0].size(), 400u);
  EXPECT_TRUE(c.claims[0].ends_with("..."));
}

// ---- facts -------------------------------------------------------------------------------------

TEST(ParseFacts, BulletsNumbersAndPlainLinesWithHeadingsAndCommentsSkipped) {
  FactList f = parse_facts("# Facts\n<!-- note\nstill note -->\n- one\n* two\n+ three\n4. four\n5) five\nsix\n\n", 10, 100);
  EXPECT_THAT(f.facts, ElementsAre("one", "two", "three", "four", "five", "six"));
  EXPECT_THAT(f.problems, IsEmpty());
}

TEST(ParseFacts, OverlongLinesAndFactsPastTheLimitAreLeftOutWithProblems) {
  FactList f = parse_facts("- short\n- " + std::string(50, 'x') + "\n- a\n- b\n- c\n", 2, 20);
  EXPECT_THAT(f.facts, ElementsAre("short", "a"));
  EXPECT_THAT(f.problems, ElementsAre("line 2: 50 bytes; a fact has at most 20",
                                      "2 fact(s) beyond the first 2 left out"));
}

// ---- numbers -----------------------------------------------------------------------------------

TEST(NumbersIn, NormalisesGroupsZerosDecimalsAndDates) {
  EXPECT_THAT(numbers_in("1,200 people, 007 agents, 3.50 euros, 2.0 m, 0.25 and 0"),
              ElementsAre("1200", "7", "3.5", "2", "0.25", "0"));
  EXPECT_THAT(numbers_in("on 2024-03-05 and 1887-1-28"), ElementsAre("2024-3-5", "1887-1-28"));
  EXPECT_THAT(numbers_in("from 2019-2021"), ElementsAre("2019", "2021"));
  EXPECT_THAT(numbers_in("-3 $5 40% 3rd 10km"), ElementsAre("3", "5", "40", "3", "10"));
  EXPECT_THAT(numbers_in("1,2 and 12,34 and 1234,567"), ElementsAre("1", "2", "12", "34", "1234", "567"));
  EXPECT_THAT(numbers_in("in 1889."), ElementsAre("1889"));
}

TEST(NumbersIn, DigitsGluedToALetterInFrontAreNames) {
  EXPECT_THAT(numbers_in("B2B mp3 H2O v1.2 x_9"), IsEmpty());
  EXPECT_THAT(numbers_in("no numbers here"), IsEmpty());
}

TEST(UnknownNumbers, ClaimNumbersNoFactHasOnceEachInOrder) {
  std::set<std::string> known = fact_numbers({"Built from 1887-01-28 to 1889.", "It has 1,665 steps."});
  EXPECT_THAT(known, ::testing::IsSupersetOf({"1887-1-28", "1887", "1", "28", "1889", "1665"}));
  EXPECT_THAT(unknown_numbers("Work began on January 28, 1887 and took 1665 steps.", known), IsEmpty());
  EXPECT_THAT(unknown_numbers("It opened in 1890 with 1700 steps, in 1890.", known), ElementsAre("1890", "1700"));
  EXPECT_THAT(unknown_numbers("It began on 1887-02-28.", known), ElementsAre("1887-2-28"));
}

// ---- verdicts ----------------------------------------------------------------------------------

TEST(VerdictSchema, AllowsOnlyTheThreeVerdictsAndFactIndicesInRange) {
  nlohmann::json schema = nlohmann::json::parse(verdict_schema(3));
  EXPECT_EQ(schema["properties"]["verdict"]["enum"], (nlohmann::json{"supported", "contradicted", "absent"}));
  EXPECT_EQ(schema["properties"]["fact"]["enum"], (nlohmann::json{-1, 0, 1, 2}));
  EXPECT_EQ(schema["required"], (nlohmann::json{"verdict", "fact", "reason"}));
  // The local engine can turn it into a grammar.
  EXPECT_NO_THROW(engine::json_schema_to_gbnf(verdict_schema(3)));
  EXPECT_NO_THROW(engine::json_schema_to_gbnf(verdict_schema(0)));
}

TEST(ParseVerdict, AValidAnswer) {
  ClaimVerdict v = parse_verdict(R"({"verdict": "contradicted", "fact": 2, "reason": "it says 300 m"})", 3);
  EXPECT_EQ(v.verdict, Verdict::contradicted);
  EXPECT_EQ(v.fact, 2);
  EXPECT_EQ(v.reason, "it says 300 m");
  EXPECT_TRUE(v.from_model);
}

TEST(ParseVerdict, AbsentNeverCitesAFact) {
  ClaimVerdict v = parse_verdict(R"({"verdict": "absent", "fact": 1, "reason": "x"})", 3);
  EXPECT_EQ(v.verdict, Verdict::absent);
  EXPECT_EQ(v.fact, -1);
  EXPECT_TRUE(v.from_model);
}

TEST(ParseVerdict, GarbageBecomesAnAbsentFallback) {
  for (const char* garbage : {"", "Once upon a time", "{\"verdict\": \"supp", "[1, 2]", "42", "{}",
                              R"({"verdict": 1, "fact": 0})", R"({"verdict": "maybe", "fact": 0})"}) {
    SCOPED_TRACE(garbage);
    ClaimVerdict v = parse_verdict(garbage, 3);
    EXPECT_EQ(v.verdict, Verdict::absent);
    EXPECT_EQ(v.fact, -1);
    EXPECT_FALSE(v.from_model);
    EXPECT_FALSE(v.reason.empty());
  }
}

TEST(ParseVerdict, SupportedOrContradictedWithoutAFactInRangeIsAbsent) {
  for (const char* answer : {R"({"verdict": "supported", "fact": 3, "reason": "r"})",
                             R"({"verdict": "supported", "fact": -1, "reason": "r"})",
                             R"({"verdict": "contradicted", "reason": "r"})",
                             R"({"verdict": "supported", "fact": 1.0, "reason": "r"})",
                             R"({"verdict": "supported", "fact": "1", "reason": "r"})"}) {
    SCOPED_TRACE(answer);
    ClaimVerdict v = parse_verdict(answer, 3);
    EXPECT_EQ(v.verdict, Verdict::absent);
    EXPECT_EQ(v.fact, -1);
    EXPECT_FALSE(v.from_model);
    EXPECT_THAT(v.reason, HasSubstr("cited no fact in range"));
  }
}

TEST(ParseVerdict, TheReasonIsOneLineAndBounded) {
  ClaimVerdict v = parse_verdict(R"({"verdict": "supported", "fact": 0, "reason": "a\nb"})", 1);
  EXPECT_EQ(v.reason, "a b");
  nlohmann::json long_reason = {{"verdict", "supported"}, {"fact", 0}, {"reason", std::string(500, 'r')}};
  EXPECT_EQ(parse_verdict(long_reason.dump(), 1).reason.size(), 200u);
}

TEST(Judge, ANumberNoFactHasTurnsSupportedIntoAbsentOnly) {
  ClaimVerdict supported{Verdict::supported, 0, "ok", true};
  EXPECT_EQ(judge("c", supported, {}).final_verdict, Verdict::supported);
  EXPECT_FALSE(judge("c", supported, {}).flagged());
  EXPECT_EQ(judge("c", supported, {"1890"}).final_verdict, Verdict::absent);
  ClaimVerdict contradicted{Verdict::contradicted, 1, "no", true};
  EXPECT_EQ(judge("c", contradicted, {"1890"}).final_verdict, Verdict::contradicted);
  EXPECT_TRUE(judge("c", contradicted, {}).flagged());
}

TEST(ScoreOf, SupportedOverClaimsWithCounts) {
  std::vector<ClaimResult> r = {judge("a", {Verdict::supported, 0, "", true}, {}),
                                judge("b", {Verdict::supported, 0, "", true}, {"9"}),
                                judge("c", {Verdict::contradicted, 1, "", true}, {}),
                                judge("d", {Verdict::absent, -1, "garbage", false}, {}),
                                judge("e", {Verdict::supported, 1, "", true}, {})};
  Score s = score_of(r);
  EXPECT_EQ(s.claims, 5);
  EXPECT_EQ(s.supported, 2);
  EXPECT_EQ(s.contradicted, 1);
  EXPECT_EQ(s.absent, 2);
  EXPECT_EQ(s.number_flags, 1);
  EXPECT_EQ(s.model_fallbacks, 1);
  EXPECT_DOUBLE_EQ(s.score, 0.4);
  EXPECT_EQ(score_line(s),
            "score 0.40: 2 of 5 claims supported, 1 contradicted, 2 absent; 1 with numbers in no fact; "
            "1 unusable model answers");
  EXPECT_DOUBLE_EQ(score_of({}).score, 0.0);
}

// ---- reports -----------------------------------------------------------------------------------

TEST(EvaluationReport, MarkdownListsOnlyFlaggedClaimsWithTheirFactsAndNumbers) {
  Evaluation e;
  e.draft = "/d/draft-1.md";
  e.facts_file = "facts.md";
  e.facts = {"It is 330 metres tall.", "It opened in 1889."};
  e.results = {judge("It is 330 metres tall.", {Verdict::supported, 0, "same", true}, {}),
               judge("It opened in 1890.", {Verdict::supported, 1, "close", true}, {"1890"}),
               judge("It is blue.", {Verdict::contradicted, 0, "no colour", true}, {})};
  e.claims_found = 4;
  std::string md = markdown_report(e);
  EXPECT_THAT(md, HasSubstr("# Evaluation of /d/draft-1.md\n\nscore 0.33: 1 of 3 claims supported"));
  EXPECT_THAT(md, HasSubstr("claims checked: 3 (of 4; the rest were not checked)"));
  EXPECT_THAT(md, HasSubstr("1. **absent**: It opened in 1890.\n   - fact 1: It opened in 1889.\n"
                            "   - numbers in no fact: 1890\n   - the model said supported; a number overrides it\n"));
  EXPECT_THAT(md, HasSubstr("2. **contradicted**: It is blue.\n   - fact 0: It is 330 metres tall.\n"
                            "   - model: no colour\n"));
  EXPECT_THAT(md, Not(HasSubstr("**supported**")));

  nlohmann::json j = json_report(e);
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(j["counts"]["claims_found"], 4);
  ASSERT_EQ(j["claims"].size(), 3u);
  EXPECT_EQ(j["claims"][1], (nlohmann::json{{"claim", "It opened in 1890."},
                                            {"verdict", "absent"},
                                            {"model_verdict", "supported"},
                                            {"fact", 1},
                                            {"reason", "close"},
                                            {"from_model", true},
                                            {"unknown_numbers", {"1890"}},
                                            {"flagged", true}}));
}

TEST(EvaluationReport, NothingFlaggedSaysSo) {
  Evaluation e;
  e.draft = "d.md";
  e.facts = {"x"};
  e.results = {judge("It is so.", {Verdict::supported, 0, "", true}, {})};
  e.claims_found = 1;
  EXPECT_THAT(markdown_report(e), HasSubstr("None: every claim is supported by a fact."));
}

}  // namespace
}  // namespace agentd::agents::evaluation
