// SectionalGenerator against a GoogleMock Engine whose generations answer scripted Results, and an
// in-memory SectionJournal that records every call. No model: these run in the default ctest set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/repetition.hpp"
#include "engine/sectional.hpp"

namespace agentd::engine {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class MockEngine : public Engine {
 public:
  MOCK_METHOD(std::unique_ptr<Generation>, submit, (Request request), (override));
  MOCK_METHOD(EngineInfo, info, (), (const, override));
};

// Answers a fixed Result; `on_wait` runs inside wait() (to cancel mid-generation).
class FakeGeneration : public Generation {
 public:
  FakeGeneration(Result result, std::function<void()> on_wait, int* cancels)
      : result_(std::move(result)), on_wait_(std::move(on_wait)), cancels_(cancels) {}
  std::optional<std::string> next_piece() override { return std::nullopt; }
  void cancel() override {
    if (cancels_) ++*cancels_;
  }
  Result wait() override {
    if (on_wait_) on_wait_();
    return result_;
  }

 private:
  Result result_;
  std::function<void()> on_wait_;
  int* cancels_;
};

// Records everything the generator tells it; `stored_*` is what an earlier run left behind.
class RecordingJournal : public SectionJournal {
 public:
  struct Saved {
    SectionText section;
    int attempts = 0;
  };

  std::vector<std::string> outline() override {
    events.push_back("outline?");
    return stored_outline;
  }
  void save_outline(const std::vector<std::string>& titles) override {
    events.push_back("save_outline");
    saved_outlines.push_back(titles);
  }
  std::vector<SectionText> finished() override {
    events.push_back("finished?");
    return stored_finished;
  }
  void section_started(int idx, const std::string& title) override {
    events.push_back("started " + std::to_string(idx));
    started.emplace_back(idx, title);
  }
  void save(const SectionText& section, int attempts_taken) override {
    events.push_back("save " + std::to_string(section.idx));
    saved.push_back({section, attempts_taken});
    if (on_save) on_save(section);
  }
  void attempt(const SectionAttempt& a) override {
    events.push_back("attempt " + std::to_string(a.idx) + "/" + std::to_string(a.attempt));
    attempts.push_back(a);
  }
  void call(const nlohmann::json& request, const Result& result) override {
    events.push_back("call");
    requests.push_back(request);
    calls.push_back(result);
  }

  std::vector<std::string> stored_outline;
  std::vector<SectionText> stored_finished;

  std::vector<std::string> events;
  std::vector<std::vector<std::string>> saved_outlines;
  std::vector<std::pair<int, std::string>> started;
  std::vector<Saved> saved;
  std::vector<SectionAttempt> attempts;
  std::vector<Result> calls;
  std::vector<nlohmann::json> requests;  // what each call asked, as request_record() keeps it
  std::function<void(const SectionText&)> on_save;
};

Result done(std::string text, FinishReason finish = FinishReason::stop, int tokens = 50) {
  Result r;
  r.text = std::move(text);
  r.finish = finish;
  r.completion_tokens = tokens;
  r.prompt_tokens = 100;
  return r;
}

// `n` distinct words ("tag0 tag1 ..."), a period after every 8th: distinct-4 ratio 1.0.
std::string varied(const std::string& tag, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += (i % 8 == 0) ? ". " : " ";
    s += tag + std::to_string(i);
  }
  return s + ".";
}

// `phrase` `times` times, without the trailing space (as a section's text is stored, trimmed).
std::string repeated(const std::string& phrase, int times) {
  std::string s;
  for (int i = 0; i < times; ++i) s += phrase;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

const std::string kLoop = repeated("the cat sat on the mat ", 40);

// All user/system text of a request, joined.
std::string content_of(const Request& r) {
  std::string all;
  for (const auto& m : r.messages) all += m.content + "\n";
  return all;
}

class SectionalTest : public ::testing::Test {
 protected:
  // Each submit captures its request and answers the next scripted Result. A submit beyond the
  // script fails the test and answers an error (never a null generation); TearDown fails a test
  // that left scripted results unused.
  void script(std::vector<Result> results) {
    queue_ = std::deque<Result>(results.begin(), results.end());
    EXPECT_CALL(engine, submit(_)).WillRepeatedly([this](Request r) {
      requests.push_back(r);
      Result res;
      if (queue_.empty()) {
        ADD_FAILURE() << "engine call #" << requests.size() << " was not scripted";
        res.finish = FinishReason::error;
        res.error = "unscripted call";
      } else {
        res = queue_.front();
        queue_.pop_front();
      }
      return std::unique_ptr<Generation>(std::make_unique<FakeGeneration>(res, on_wait, &cancels));
    });
  }

  void TearDown() override { EXPECT_TRUE(queue_.empty()) << queue_.size() << " scripted results were not used"; }

  LongFormOptions three_sections() {
    LongFormOptions o;
    o.outline = {"A", "B", "C"};
    return o;
  }

  ::testing::StrictMock<MockEngine> engine;
  RecordingJournal journal;
  std::vector<Request> requests;
  std::function<void()> on_wait;
  int cancels = 0;

 private:
  std::deque<Result> queue_;
};

// ---- parse_outline ---------------------------------------------------------------------------

TEST(ParseOutline, DashList) { EXPECT_THAT(parse_outline("- A\n- B", 2), ElementsAre("A", "B")); }

TEST(ParseOutline, NumberedWithDotOrParen) {
  EXPECT_THAT(parse_outline("1. A\n2) B", 2), ElementsAre("A", "B"));
  EXPECT_THAT(parse_outline("10. Ten\n* Star", 2), ElementsAre("Ten", "Star"));
}

TEST(ParseOutline, MarkdownHeadings) {
  EXPECT_THAT(parse_outline("## A\n### B", 2), ElementsAre("A", "B"));
}

TEST(ParseOutline, SkipsBlankLinesAndStripsSpaces) {
  EXPECT_THAT(parse_outline("\n   - A  \n\n   \n-   B\t\n\n", 2), ElementsAre("A", "B"));
  // A marker with nothing after it is an empty heading: skipped, not counted.
  EXPECT_THAT(parse_outline("- \n- A\n##\n- B", 2), ElementsAre("A", "B"));
}

TEST(ParseOutline, KeepsHeadingTextThatMerelyStartsWithANumber) {
  EXPECT_THAT(parse_outline("- 2024 in review", 1), ElementsAre("2024 in review"));
}

TEST(ParseOutline, MoreLinesThanCountAreCut) {
  EXPECT_THAT(parse_outline("- A\n- B\n- C\n- D", 2), ElementsAre("A", "B"));
}

TEST(ParseOutline, FewerLinesAreFilledWithPartK) {
  EXPECT_THAT(parse_outline("- A", 3), ElementsAre("A", "Part 2", "Part 3"));
  EXPECT_THAT(parse_outline("", 2), ElementsAre("Part 1", "Part 2"));
  EXPECT_THAT(parse_outline("\n\n  \n", 1), ElementsAre("Part 1"));
}

// ---- trim_to_sentence ------------------------------------------------------------------------

TEST(TrimToSentence, CutsAfterTheLastPeriodExclamationOrQuestionMark) {
  EXPECT_EQ(trim_to_sentence("One. Two! Three? Four is cut"), "One. Two! Three?");
  EXPECT_EQ(trim_to_sentence("One. Go now! and then the"), "One. Go now!");
  EXPECT_EQ(trim_to_sentence("Is it? Maybe it is not"), "Is it?");
  EXPECT_EQ(trim_to_sentence("It ends here. Then a half"), "It ends here.");
}

TEST(TrimToSentence, KeepsAClosingQuoteOrBracket) {
  EXPECT_EQ(trim_to_sentence("He said \"stop.\" Then the"), "He said \"stop.\"");
  EXPECT_EQ(trim_to_sentence("It was 'done!' and so"), "It was 'done!'");
  EXPECT_EQ(trim_to_sentence("Fine (see above.) More te"), "Fine (see above.)");
  EXPECT_EQ(trim_to_sentence("Fine [as noted.] More te"), "Fine [as noted.]");
}

TEST(TrimToSentence, CutsAtAParagraphBreak) {
  EXPECT_EQ(trim_to_sentence("First part has no end\n\nSecond part is cut"), "First part has no end");
  // The paragraph break comes after the last sentence end: it is the later cut.
  EXPECT_EQ(trim_to_sentence("One. Two has no end\n\nThree is cut"), "One. Two has no end");
}

TEST(TrimToSentence, ADecimalIsNotASentenceEnd) {
  EXPECT_EQ(trim_to_sentence("It weighs 3.5 kg and is"), "It weighs 3.5 kg and is");
  EXPECT_EQ(trim_to_sentence("It is big. It weighs 3.5 kg and is"), "It is big.");
}

TEST(TrimToSentence, UnchangedWithoutASentenceEnd) {
  EXPECT_EQ(trim_to_sentence("no sentence end here at all"), "no sentence end here at all");
  EXPECT_EQ(trim_to_sentence(""), "");
  EXPECT_EQ(trim_to_sentence("Complete."), "Complete.");
}

// ---- distinct_ngram_ratio --------------------------------------------------------------------

TEST(DistinctNgramRatio, DistinctTextIsOne) {
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio("the quick brown fox jumps over a lazy dog today", 4), 1.0);
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio(varied("w", 200), 4), 1.0);
}

TEST(DistinctNgramRatio, ShortTextIsOne) {
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio("", 4), 1.0);
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio("a a a", 4), 1.0);
}

TEST(DistinctNgramRatio, LoopingPhraseIsLow) {
  double r = distinct_ngram_ratio(kLoop, 4);
  EXPECT_LT(r, 0.1);
  EXPECT_GT(r, 0.0);
  // Six distinct 4-grams in a 240-word loop: 6 / 237.
  EXPECT_NEAR(r, 6.0 / 237.0, 1e-12);
}

TEST(DistinctNgramRatio, IgnoresCaseAndPunctuation) {
  // a b c d a b c d: grams abcd bcda cdab dabc abcd -> 4 distinct of 5.
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio("a b c d a b c d", 4), 0.8);
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio("A, b; c -- d. a B (c) D!", 4), 0.8);
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio("THE CAT SAT ON the cat, sat on!", 4),
                   distinct_ngram_ratio("the cat sat on the cat sat on", 4));
}

// ---- section_messages ------------------------------------------------------------------------

TEST(SectionMessages, CarriesBriefOutlineOwnHeadingAndPreviousTail) {
  LongFormOptions o;
  o.system_prompt = "You are a writer.";
  std::vector<std::string> outline = {"Origins of tea", "Tea in Japan", "Modern blends"};
  auto messages = section_messages("A history of tea", outline, 1, "...the leaves were dried.", o);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].role, "system");
  EXPECT_EQ(messages[0].content, "You are a writer.");
  EXPECT_EQ(messages[1].role, "user");
  const std::string& user = messages[1].content;
  EXPECT_THAT(user, HasSubstr("A history of tea"));
  for (const auto& h : outline) EXPECT_THAT(user, HasSubstr(h));
  EXPECT_THAT(user, HasSubstr("section 2 of 3"));
  EXPECT_THAT(user, HasSubstr("\"Tea in Japan\""));
  EXPECT_THAT(user, HasSubstr("...the leaves were dried."));
}

// The engine's prefix cache reuses the longest prompt prefix it has seen: every section's request
// starts with the same brief, outline and instructions, and only its own part comes after them.
TEST(SectionMessages, SectionsShareEverythingButTheirOwnPartAsAPrefix) {
  LongFormOptions o;
  o.system_prompt = "You are a writer.";
  std::vector<std::string> outline = {"Origins of tea", "Tea in Japan", "Modern blends"};
  auto first = section_messages("A history of tea", outline, 0, "", o);
  auto third = section_messages("A history of tea", outline, 2, "...blended in London.", o);
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(third.size(), 2u);
  EXPECT_EQ(first[0].content, third[0].content);
  const std::string& a = first[1].content;
  const std::string& b = third[1].content;
  size_t shared = 0;
  while (shared < a.size() && shared < b.size() && a[shared] == b[shared]) ++shared;
  // Everything before "Write section k" is shared: the brief, the whole outline, the instructions.
  const std::string own_part = "Write section ";
  ASSERT_NE(a.find(own_part), std::string::npos);
  EXPECT_EQ(shared, a.find(own_part) + own_part.size());
  EXPECT_THAT(a.substr(0, shared), HasSubstr("A history of tea"));
  EXPECT_THAT(a.substr(0, shared), HasSubstr("3. Modern blends"));
  EXPECT_THAT(a.substr(0, shared), HasSubstr("tokens. Write only the section's text, without its heading."));
  EXPECT_THAT(b.substr(shared), ::testing::StartsWith("3 of 3: \"Modern blends\"."));
  EXPECT_THAT(b, ::testing::EndsWith("...blended in London."));
}

TEST(SectionMessages, NoSystemMessageOrTailWhenEmpty) {
  LongFormOptions o;
  auto messages = section_messages("Brief text", {"One", "Two"}, 0, "", o);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].role, "user");
  EXPECT_THAT(messages[0].content, HasSubstr("section 1 of 2"));
  EXPECT_THAT(messages[0].content, HasSubstr("\"One\""));
  EXPECT_THAT(messages[0].content, Not(HasSubstr("previous section")));
}

TEST_F(SectionalTest, LaterSectionGetsOnlyTheTailOfTheEarlierOne) {
  LongFormOptions o = three_sections();
  o.tail_chars = 100;
  std::string long_text = "OPENINGMARKER begins here. " + varied("mid", 120) + " CLOSINGMARKER ends it.";
  ASSERT_GT(long_text.size(), 4u * static_cast<size_t>(o.tail_chars));
  script({done(long_text), done("Second."), done("Third.")});
  SectionalGenerator gen(engine, o);
  gen.generate("brief", journal);
  ASSERT_EQ(requests.size(), 3u);

  std::string first = content_of(requests[0]);
  EXPECT_THAT(first, Not(HasSubstr("previous section")));

  std::string second = content_of(requests[1]);
  EXPECT_THAT(second, HasSubstr(long_text.substr(long_text.size() - 60)));  // its tail
  EXPECT_THAT(second, HasSubstr("CLOSINGMARKER ends it."));
  EXPECT_THAT(second, Not(HasSubstr("OPENINGMARKER")));
  EXPECT_THAT(second, Not(HasSubstr(long_text.substr(long_text.size() / 2, 60))));  // its middle
  EXPECT_THAT(second, Not(HasSubstr(long_text)));
  // Bounded: brief + outline + instructions + at most ~tail_chars of the earlier text.
  EXPECT_LT(requests[1].messages.back().content.size(), 400u + static_cast<size_t>(o.tail_chars));

  std::string third = content_of(requests[2]);
  EXPECT_THAT(third, HasSubstr("Second."));
  EXPECT_THAT(third, Not(HasSubstr("CLOSINGMARKER")));
}

// ---- generate with a given outline -----------------------------------------------------------

TEST_F(SectionalTest, GivenOutlineMakesOneCallPerSectionWithTheOptions) {
  LongFormOptions o = three_sections();
  o.priority = scheduler::Priority::interactive;
  o.task_id = 77;
  o.max_tokens = 123;
  o.sampling.seed = 42;
  o.sampling.repeat_penalty = 1.1f;
  script({done("Alpha text."), done("Beta text."), done("Gamma text.")});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("the brief", journal);

  ASSERT_EQ(requests.size(), 3u);
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(requests[i].priority, scheduler::Priority::interactive);
    EXPECT_EQ(requests[i].task_id, 77);
    EXPECT_EQ(requests[i].max_tokens, 123);
    EXPECT_EQ(requests[i].reasoning_budget, 30) << "a thinking model thinks a quarter of a section at most";
    EXPECT_EQ(requests[i].sampling.seed, 42u + static_cast<uint32_t>(i) * 1000u);
    EXPECT_FLOAT_EQ(requests[i].sampling.repeat_penalty, 1.1f);  // first attempt: no extra penalty
    EXPECT_TRUE(requests[i].grammar.empty());
    EXPECT_THAT(content_of(requests[i]), HasSubstr("the brief"));
    EXPECT_THAT(content_of(requests[i]), HasSubstr("section " + std::to_string(i + 1) + " of 3"));
  }

  ASSERT_EQ(journal.saved_outlines.size(), 1u);
  EXPECT_THAT(journal.saved_outlines[0], ElementsAre("A", "B", "C"));
  ASSERT_EQ(journal.saved.size(), 3u);
  const char* titles[] = {"A", "B", "C"};
  const char* texts[] = {"Alpha text.", "Beta text.", "Gamma text."};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(journal.saved[i].section.idx, i);
    EXPECT_EQ(journal.saved[i].section.title, titles[i]);
    EXPECT_EQ(journal.saved[i].section.text, texts[i]);
    EXPECT_EQ(journal.saved[i].section.tokens, 50);
    EXPECT_EQ(journal.saved[i].attempts, 1);
  }
  EXPECT_THAT(journal.started, ElementsAre(std::pair{0, std::string("A")}, std::pair{1, std::string("B")},
                                           std::pair{2, std::string("C")}));
  EXPECT_EQ(journal.calls.size(), 3u);
  // Each call's record is what was sent: history and `agentd tasks --export-trace` read it.
  ASSERT_EQ(journal.requests.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const nlohmann::json& asked = journal.requests[i];
    EXPECT_EQ(asked["priority"], "interactive");
    EXPECT_EQ(asked["max_tokens"], 123);
    EXPECT_GT(asked["sent_at"].get<int64_t>(), 0);
    ASSERT_EQ(asked["messages"].size(), requests[i].messages.size());
    EXPECT_EQ(asked["messages"].back()["content"], requests[i].messages.back().content);
    EXPECT_FALSE(asked.contains("cut"));
  }
  EXPECT_EQ(journal.attempts.size(), 3u);
  // The outline is persisted before any section; each section is saved as soon as it is done.
  EXPECT_THAT(journal.events,
              ElementsAre("outline?", "save_outline", "finished?", "started 0", "call", "attempt 0/1", "save 0",
                          "started 1", "call", "attempt 1/1", "save 1", "started 2", "call", "attempt 2/1",
                          "save 2"));

  EXPECT_EQ(doc, "## A\n\nAlpha text.\n\n## B\n\nBeta text.\n\n## C\n\nGamma text.");
}

// An agent's reasoning budget bounds each request's thinking, up to half of the request's tokens
// (the outline's as well as each section's): the rest is left for the text.
TEST_F(SectionalTest, AReasoningBudgetIsKeptUpToHalfOfEachRequest) {
  for (auto [budget, expected] : {std::pair{10, 10}, std::pair{0, 0}, std::pair{500, 200}}) {
    SCOPED_TRACE(budget);
    requests.clear();
    LongFormOptions o = three_sections();
    o.outline.clear();
    o.sections = 2;
    o.max_tokens = 400;
    o.reasoning_budget = budget;
    script({done("- A\n- B"), done("Alpha text."), done("Beta text.")});
    journal = RecordingJournal{};
    SectionalGenerator(engine, o).generate("the brief", journal);
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].reasoning_budget, std::min(expected, requests[0].max_tokens / 2)) << "the outline";
    EXPECT_EQ(requests[1].reasoning_budget, expected);
    EXPECT_EQ(requests[2].reasoning_budget, expected);
  }
}

TEST_F(SectionalTest, SectionCutAtMaxTokensIsTrimmedToItsLastSentence) {
  script({done("Alpha text."), done("Beta is complete. And then a cut-off fra", FinishReason::length),
          done("Gamma text.")});
  SectionalGenerator gen(engine, three_sections());
  std::string doc = gen.generate("brief", journal);
  ASSERT_EQ(journal.saved.size(), 3u);
  EXPECT_EQ(journal.saved[1].section.text, "Beta is complete.");
  EXPECT_EQ(doc, "## A\n\nAlpha text.\n\n## B\n\nBeta is complete.\n\n## C\n\nGamma text.");
}

TEST_F(SectionalTest, SectionThatStoppedNormallyIsNotCutBack) {
  // Only a section cut at max_tokens is trimmed; a finished one keeps its last clause.
  script({done("Alpha. And a list without period"), done("B."), done("C.")});
  SectionalGenerator gen(engine, three_sections());
  std::string doc = gen.generate("brief", journal);
  EXPECT_EQ(doc, "## A\n\nAlpha. And a list without period\n\n## B\n\nB.\n\n## C\n\nC.");
}

// ---- outline by the model --------------------------------------------------------------------

TEST_F(SectionalTest, ModelWritesTheOutlineUnderAGrammar) {
  LongFormOptions o;
  o.sections = 4;
  o.system_prompt = "SYS";
  o.task_id = 5;
  script({done("- Alpha\n- Beta\n- Gamma\n- Delta\n"), done("A text."), done("B text."), done("C text."),
          done("D text.")});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("a brief on tea", journal);

  ASSERT_EQ(requests.size(), 5u);
  const Request& outline_req = requests[0];
  EXPECT_THAT(outline_req.grammar, HasSubstr("line{4}"));
  ASSERT_EQ(outline_req.messages.size(), 2u);
  EXPECT_EQ(outline_req.messages[0].role, "system");
  EXPECT_EQ(outline_req.messages[0].content, "SYS");
  EXPECT_EQ(outline_req.messages[1].role, "user");
  EXPECT_THAT(outline_req.messages[1].content, HasSubstr("a brief on tea"));
  EXPECT_EQ(outline_req.task_id, 5);
  EXPECT_EQ(outline_req.priority, scheduler::Priority::background);

  const char* headings[] = {"Alpha", "Beta", "Gamma", "Delta"};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(requests[i + 1].grammar.empty());
    EXPECT_THAT(content_of(requests[i + 1]), HasSubstr(std::string("\"") + headings[i] + "\""));
    EXPECT_THAT(content_of(requests[i + 1]), HasSubstr("section " + std::to_string(i + 1) + " of 4"));
  }
  ASSERT_EQ(journal.saved_outlines.size(), 1u);
  EXPECT_THAT(journal.saved_outlines[0], ElementsAre("Alpha", "Beta", "Gamma", "Delta"));
  EXPECT_EQ(journal.calls.size(), 5u);
  EXPECT_EQ(doc, "## Alpha\n\nA text.\n\n## Beta\n\nB text.\n\n## Gamma\n\nC text.\n\n## Delta\n\nD text.");
}

TEST_F(SectionalTest, ShortModelOutlineIsFilledWithPartK) {
  LongFormOptions o;
  o.sections = 3;
  script({done("- Alpha\n"), done("A."), done("B."), done("C.")});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("brief", journal);
  ASSERT_EQ(journal.saved_outlines.size(), 1u);
  EXPECT_THAT(journal.saved_outlines[0], ElementsAre("Alpha", "Part 2", "Part 3"));
  EXPECT_EQ(doc, "## Alpha\n\nA.\n\n## Part 2\n\nB.\n\n## Part 3\n\nC.");
}

// ---- repetition guard ------------------------------------------------------------------------

TEST_F(SectionalTest, DegenerateSectionIsRetriedWithNewSeedAndStrongerPenalty) {
  LongFormOptions o;
  o.outline = {"Only"};
  o.sampling.seed = 7;
  o.sampling.repeat_penalty = 1.1f;
  o.repeat_penalty_step = 0.15f;
  o.max_attempts = 3;
  std::string good = varied("good", 60);
  ASSERT_LT(distinct_ngram_ratio(kLoop, 4), o.min_distinct4);
  script({done(kLoop, FinishReason::stop, 240), done(good, FinishReason::stop, 61)});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("brief", journal);

  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[1].sampling.seed, requests[0].sampling.seed);
  EXPECT_FLOAT_EQ(requests[0].sampling.repeat_penalty, 1.1f);
  EXPECT_FLOAT_EQ(requests[1].sampling.repeat_penalty, requests[0].sampling.repeat_penalty + o.repeat_penalty_step);
  EXPECT_EQ(content_of(requests[1]), content_of(requests[0]));  // same context, new sampling

  ASSERT_EQ(journal.attempts.size(), 2u);
  const auto& a1 = journal.attempts[0];
  const auto& a2 = journal.attempts[1];
  EXPECT_EQ(a1.idx, 0);
  EXPECT_EQ(a1.attempt, 1);
  EXPECT_FALSE(a1.accepted);
  EXPECT_NEAR(a1.distinct4, distinct_ngram_ratio(kLoop, 4), 1e-9);
  EXPECT_EQ(a1.seed, requests[0].sampling.seed);
  EXPECT_FLOAT_EQ(a1.repeat_penalty, requests[0].sampling.repeat_penalty);
  EXPECT_EQ(a1.tokens, 240);
  EXPECT_EQ(a2.attempt, 2);
  EXPECT_TRUE(a2.accepted);
  EXPECT_DOUBLE_EQ(a2.distinct4, 1.0);
  EXPECT_NE(a1.distinct4, a2.distinct4);
  EXPECT_EQ(a2.seed, requests[1].sampling.seed);
  EXPECT_FLOAT_EQ(a2.repeat_penalty, requests[1].sampling.repeat_penalty);
  EXPECT_EQ(a2.tokens, 61);

  ASSERT_EQ(journal.saved.size(), 1u);
  EXPECT_EQ(journal.saved[0].section.text, good);
  EXPECT_EQ(journal.saved[0].section.tokens, 61);
  EXPECT_EQ(journal.saved[0].attempts, 2);
  EXPECT_EQ(journal.calls.size(), 2u);
  EXPECT_EQ(doc, "## Only\n\n" + good);
}

TEST_F(SectionalTest, ASectionCopyingAnEarlierOneIsRetried) {
  // Each section is varied on its own, but the second repeats the first word for word: the
  // guard measures new 4-grams against the document so far, so it catches that.
  LongFormOptions o;
  o.outline = {"One", "Two"};
  o.sampling.seed = 1;
  std::string first = varied("a", 60), fresh = varied("b", 60);
  ASSERT_DOUBLE_EQ(distinct_ngram_ratio(first, 4), 1.0);
  script({done(first), done(first), done(fresh)});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("brief", journal);
  ASSERT_EQ(requests.size(), 3u);
  ASSERT_EQ(journal.attempts.size(), 3u);
  EXPECT_TRUE(journal.attempts[0].accepted);
  EXPECT_FALSE(journal.attempts[1].accepted);
  EXPECT_DOUBLE_EQ(journal.attempts[1].distinct4, 0.0);
  EXPECT_TRUE(journal.attempts[2].accepted);
  EXPECT_EQ(doc, "## One\n\n" + first + "\n\n## Two\n\n" + fresh);
}

TEST(NovelNgramRatio, CountsOnlyFourGramsNotSeenBefore) {
  EXPECT_DOUBLE_EQ(novel_ngram_ratio("a b c d e", "", 4), 1.0);
  EXPECT_DOUBLE_EQ(novel_ngram_ratio("a b c d e", "x a b c d y", 4), 0.5);  // "a b c d" was seen
  EXPECT_DOUBLE_EQ(novel_ngram_ratio("a b c d a b c d", "", 4), distinct_ngram_ratio("a b c d a b c d", 4));
  EXPECT_DOUBLE_EQ(novel_ngram_ratio("a b", "a b c d", 4), 1.0);  // too short to have any
}

TEST_F(SectionalTest, RetryWithRandomSeedStillUsesANewSeed) {
  LongFormOptions o;
  o.outline = {"Only"};
  ASSERT_EQ(o.sampling.seed, 0xFFFFFFFFu);
  script({done(kLoop), done(varied("ok", 40))});
  SectionalGenerator gen(engine, o);
  gen.generate("brief", journal);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[1].sampling.seed, requests[0].sampling.seed);
  EXPECT_GT(requests[1].sampling.repeat_penalty, requests[0].sampling.repeat_penalty);
}

TEST_F(SectionalTest, RetriesAreBoundedAndTheLeastRepetitiveAttemptIsKept) {
  LongFormOptions o;
  o.outline = {"Loop", "Next"};
  o.max_attempts = 3;
  o.sampling.seed = 100;
  o.sampling.repeat_penalty = 1.0f;
  std::string worst = kLoop;
  std::string middle = varied("u", 30) + " " + repeated("the cat sat on the mat ", 10);
  std::string bad = varied("v", 5) + " " + repeated("the cat sat on the mat ", 20);
  double d_worst = distinct_ngram_ratio(worst, 4), d_middle = distinct_ngram_ratio(middle, 4),
         d_bad = distinct_ngram_ratio(bad, 4);
  ASSERT_LT(d_middle, o.min_distinct4);
  ASSERT_GT(d_middle, d_bad);
  ASSERT_GT(d_bad, d_worst);

  script({done(bad, FinishReason::stop, 1), done(middle, FinishReason::stop, 2), done(worst, FinishReason::stop, 3),
          done("Next text.")});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("brief", journal);

  ASSERT_EQ(requests.size(), 4u);  // 3 for the first section, then the next one
  EXPECT_EQ(requests[0].sampling.seed, 100u);
  EXPECT_EQ(requests[1].sampling.seed, 101u);
  EXPECT_EQ(requests[2].sampling.seed, 102u);
  EXPECT_EQ(requests[3].sampling.seed, 1100u);
  EXPECT_FLOAT_EQ(requests[1].sampling.repeat_penalty, 1.15f);
  EXPECT_FLOAT_EQ(requests[2].sampling.repeat_penalty, 1.30f);
  EXPECT_FLOAT_EQ(requests[3].sampling.repeat_penalty, 1.0f);  // the penalty resets per section

  ASSERT_EQ(journal.attempts.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(journal.attempts[i].idx, 0);
    EXPECT_EQ(journal.attempts[i].attempt, i + 1);
    EXPECT_FALSE(journal.attempts[i].accepted);
  }
  EXPECT_TRUE(journal.attempts[3].accepted);

  ASSERT_EQ(journal.saved.size(), 2u);
  EXPECT_EQ(journal.saved[0].section.text, middle);
  EXPECT_EQ(journal.saved[0].section.tokens, 2);
  EXPECT_EQ(journal.saved[0].attempts, 3);
  EXPECT_EQ(journal.saved[1].attempts, 1);
  EXPECT_EQ(doc, "## Loop\n\n" + middle + "\n\n## Next\n\nNext text.");
}

TEST_F(SectionalTest, SingleAttemptKeepsEvenADegenerateSection) {
  LongFormOptions o;
  o.outline = {"Only"};
  o.max_attempts = 1;
  script({done(kLoop)});
  SectionalGenerator gen(engine, o);
  gen.generate("brief", journal);
  ASSERT_EQ(journal.saved.size(), 1u);
  EXPECT_EQ(journal.saved[0].attempts, 1);
  ASSERT_EQ(journal.attempts.size(), 1u);
  EXPECT_FALSE(journal.attempts[0].accepted);
}

// ---- resume ----------------------------------------------------------------------------------

TEST_F(SectionalTest, ResumeContinuesAtTheFirstMissingSection) {
  LongFormOptions o;
  o.sections = 4;  // no outline given: a fresh run would ask the model for one
  o.tail_chars = 80;
  std::string t0 = "  Stored zero.\nWith a second line, kept as is.  ";
  std::string t1 = "STOREDSTART " + varied("one", 60) + " STOREDEND of section one.";
  ASSERT_GT(t1.size(), 3u * static_cast<size_t>(o.tail_chars));
  journal.stored_outline = {"A", "B", "C", "D"};
  journal.stored_finished = {SectionText{1, "B", t1, 70}, SectionText{0, "A", t0, 10}};  // any order
  script({done("Third."), done("Fourth.")});
  SectionalGenerator gen(engine, o);
  std::string doc = gen.generate("brief", journal);

  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) EXPECT_TRUE(r.grammar.empty());
  EXPECT_TRUE(journal.saved_outlines.empty());
  EXPECT_THAT(journal.started, ElementsAre(std::pair{2, std::string("C")}, std::pair{3, std::string("D")}));
  ASSERT_EQ(journal.saved.size(), 2u);
  EXPECT_EQ(journal.saved[0].section.idx, 2);
  EXPECT_EQ(journal.saved[1].section.idx, 3);

  std::string req2 = content_of(requests[0]);
  EXPECT_THAT(req2, HasSubstr("section 3 of 4"));
  EXPECT_THAT(req2, HasSubstr("\"C\""));
  EXPECT_THAT(req2, HasSubstr("STOREDEND of section one."));
  EXPECT_THAT(req2, HasSubstr(t1.substr(t1.size() - 50)));
  EXPECT_THAT(req2, Not(HasSubstr("STOREDSTART")));
  EXPECT_THAT(content_of(requests[1]), HasSubstr("Third."));

  EXPECT_EQ(doc, "## A\n\n" + t0 + "\n\n## B\n\n" + t1 + "\n\n## C\n\nThird.\n\n## D\n\nFourth.");
}

TEST_F(SectionalTest, ResumeWithEverySectionFinishedCallsNothing) {
  journal.stored_outline = {"A", "B"};
  journal.stored_finished = {SectionText{0, "A", "a.", 1}, SectionText{1, "B", "b.", 1}};
  script({});
  SectionalGenerator gen(engine, LongFormOptions{});
  EXPECT_EQ(gen.generate("brief", journal), "## A\n\na.\n\n## B\n\nb.");
  EXPECT_TRUE(journal.saved.empty());
  EXPECT_TRUE(journal.saved_outlines.empty());
  EXPECT_TRUE(journal.calls.empty());
}

// ---- cancellation and failures ---------------------------------------------------------------

TEST_F(SectionalTest, StopAfterASavedSectionThrowsCancelledBeforeTheNextCall) {
  std::stop_source stop;
  journal.on_save = [&](const SectionText& s) {
    if (s.idx == 1) stop.request_stop();
  };
  script({done("Zero."), done("One.")});  // section 2 must never reach the engine
  SectionalGenerator gen(engine, three_sections());
  try {
    gen.generate("brief", journal, stop.get_token());
    FAIL() << "generate() returned after cancellation";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cancelled");
  }
  EXPECT_EQ(requests.size(), 2u);
  ASSERT_EQ(journal.saved.size(), 2u);
  EXPECT_EQ(journal.saved[0].section.text, "Zero.");
  EXPECT_EQ(journal.saved[1].section.text, "One.");
  EXPECT_EQ(journal.calls.size(), 2u);
}

TEST_F(SectionalTest, StopBeforeStartMakesNoCall) {
  std::stop_source stop;
  stop.request_stop();
  script({});
  SectionalGenerator gen(engine, three_sections());
  EXPECT_THROW(
      {
        try {
          gen.generate("brief", journal, stop.get_token());
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "cancelled");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_TRUE(journal.saved.empty());
}

TEST_F(SectionalTest, StopDuringAGenerationCancelsItAndSavesNothingOfIt) {
  std::stop_source stop;
  int waits = 0;
  on_wait = [&] {
    if (++waits == 2) stop.request_stop();  // while section 1 is being generated
  };
  script({done("Zero."), done("One, cancelled mid-way.", FinishReason::cancelled)});
  SectionalGenerator gen(engine, three_sections());
  try {
    gen.generate("brief", journal, stop.get_token());
    FAIL() << "generate() returned after cancellation";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cancelled");
  }
  EXPECT_EQ(cancels, 1);  // the running generation was cancelled
  EXPECT_EQ(requests.size(), 2u);
  ASSERT_EQ(journal.saved.size(), 1u);
  EXPECT_EQ(journal.saved[0].section.idx, 0);
}

TEST_F(SectionalTest, EngineErrorThrowsWithItsMessage) {
  Result failed;
  failed.finish = FinishReason::error;
  failed.error = "KV cache exhausted";
  script({done("Zero."), failed});
  SectionalGenerator gen(engine, three_sections());
  try {
    gen.generate("brief", journal);
    FAIL() << "generate() returned after an engine error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model call failed"));
    EXPECT_THAT(e.what(), HasSubstr("KV cache exhausted"));
  }
  EXPECT_EQ(requests.size(), 2u);
  ASSERT_EQ(journal.saved.size(), 1u);  // the section done before the failure stays
  EXPECT_EQ(journal.saved[0].section.idx, 0);
}

TEST_F(SectionalTest, EngineErrorWhileWritingTheOutlineThrows) {
  Result failed;
  failed.finish = FinishReason::error;
  failed.error = "grammar rejected";
  script({failed});
  LongFormOptions o;
  o.sections = 3;
  SectionalGenerator gen(engine, o);
  try {
    gen.generate("brief", journal);
    FAIL() << "generate() returned after an engine error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model call failed"));
    EXPECT_THAT(e.what(), HasSubstr("grammar rejected"));
  }
  EXPECT_TRUE(journal.saved_outlines.empty());
}

TEST_F(SectionalTest, GenerationEndedByTheEngineThrows) {
  script({done("partial", FinishReason::deadline)});
  SectionalGenerator gen(engine, three_sections());
  EXPECT_THROW(gen.generate("brief", journal), std::runtime_error);
  EXPECT_TRUE(journal.saved.empty());
}

TEST_F(SectionalTest, ConstructorRejectsInvalidOptions) {
  LongFormOptions o = three_sections();
  o.max_attempts = 0;
  EXPECT_THROW({ SectionalGenerator gen(engine, o); }, std::invalid_argument);
  o.max_attempts = 1;
  o.max_tokens = 0;
  EXPECT_THROW({ SectionalGenerator gen(engine, o); }, std::invalid_argument);
  o.max_tokens = 10;
  o.sections = 0;
  EXPECT_THROW({ SectionalGenerator gen(engine, o); }, std::invalid_argument);
  o.sections = 1;
  EXPECT_NO_THROW({ SectionalGenerator gen(engine, o); });
}

}  // namespace
}  // namespace agentd::engine
