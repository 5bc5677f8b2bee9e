// A thinking model's reasoning budget (Request::reasoning_budget): llama.cpp's reasoning-budget
// sampler ends the thinking after N tokens by forcing the template's end marker, and the model
// answers after it. The model is synthetic (random weights, bench/engine/synth_model) with a real
// vocabulary and template (Qwen3.5's: "<think>" is one special token, and the generation prompt
// opens the thinking): random weights never close a thinking block by themselves, so without a
// budget every token is thinking, and with one the answer can only come from the budget.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "bench/engine/synth_model.hpp"
#include "engine/sectional.hpp"
#include "tests/engine/test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::engine {
namespace {

class ReasoningBudgetTest : public test::ModelTest {
 protected:
  void SetUp() override {
    const std::filesystem::path vocab = bench::default_vocab_path();
    ASSERT_FALSE(vocab.empty()) << "needs the llama.cpp source tree's vocabularies and templates";
    bench::SynthModelOptions synth;
    synth.out = (dir_.path() / "thinker.gguf").string();
    synth.vocab = (vocab.parent_path() / "ggml-vocab-qwen35.gguf").string();
    synth.shape = {.dim = 64, .layers = 2, .heads = 2, .kv_heads = 2, .ff = 128, .ctx = 512};
    bench::write_synthetic_model(synth);
    options_ = test::options(Policy::batched);
    options_.model_path = synth.out;
    options_.chat_template = (vocab.parent_path() / "templates" / "Qwen3.5-4B.jinja").string();
  }

  static Request ask(int budget) {
    Request r;
    r.messages = {{"user", "Which city is the capital of Italy?"}};
    r.max_tokens = 40;
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 7;
    r.reasoning_budget = budget;
    return r;
  }

  testing::TempDir dir_;
  LlamaEngineOptions options_;
};

TEST_F(ReasoningBudgetTest, ABudgetEndsTheThinkingAndTheAnswerFollows) {
  LlamaEngine engine(options_);
  Result unbounded = engine.submit(ask(-1))->wait();
  ASSERT_EQ(unbounded.finish, FinishReason::length) << unbounded.error;
  EXPECT_FALSE(unbounded.reasoning.empty());
  EXPECT_TRUE(unbounded.text.empty()) << "random weights closed the thinking themselves: " << unbounded.text;

  Result bounded = engine.submit(ask(8))->wait();
  ASSERT_EQ(bounded.finish, FinishReason::length) << bounded.error;
  EXPECT_EQ(bounded.completion_tokens, 40);
  EXPECT_FALSE(bounded.text.empty()) << "the budget ended the thinking, so the rest is the answer";
  EXPECT_LT(bounded.reasoning.size(), unbounded.reasoning.size());
  EXPECT_THAT(bounded.text, ::testing::Not(::testing::HasSubstr("</think>")));

  Result none = engine.submit(ask(0))->wait();
  EXPECT_FALSE(none.text.empty());
  EXPECT_LT(none.reasoning.size(), bounded.reasoning.size());
}

// Without engine.chat_template, a model whose GGUF carries a template is formatted with it. Qwen3.5's
// vocabulary file carries a plain chatml template (a default system turn, no thinking), so the
// same request gets another prompt than with Qwen3.5's own thinking template, and its output is
// all answer: nothing is split out as thinking.
TEST_F(ReasoningBudgetTest, TheModelsOwnTemplateFromItsGgufFormatsTheChat) {
  Result thinking = LlamaEngine(options_).submit(ask(-1))->wait();
  ASSERT_EQ(thinking.finish, FinishReason::length) << thinking.error;

  options_.chat_template.clear();
  LlamaEngine own(options_);
  EXPECT_EQ(own.chat_template_name(), "the model's own (GGUF tokenizer.chat_template)");
  Result plain = own.submit(ask(-1))->wait();
  ASSERT_EQ(plain.finish, FinishReason::length) << plain.error;
  EXPECT_NE(plain.prompt_tokens, thinking.prompt_tokens);
  EXPECT_TRUE(plain.reasoning.empty()) << plain.reasoning;
  EXPECT_FALSE(plain.text.empty());
  EXPECT_FALSE(thinking.reasoning.empty());
}

// Long-form output from a thinking model: each section thinks within the sectional generator's
// bound and still writes text. Random weights never close a thinking block themselves, so an
// unbounded section would be all thinking, and the document empty.
class ThinkingCalls : public SectionJournal {
 public:
  std::vector<std::string> outline() override { return {}; }
  void save_outline(const std::vector<std::string>&) override {}
  std::vector<SectionText> finished() override { return {}; }
  void section_started(int, const std::string&) override {}
  void save(const SectionText& section, int) override { saved.push_back(section); }
  void attempt(const SectionAttempt&) override {}
  void call(const nlohmann::json&, const Result& result) override { results.push_back(result); }
  std::vector<SectionText> saved;
  std::vector<Result> results;
};

TEST_F(ReasoningBudgetTest, EachLongFormSectionThinksWithinABoundAndWritesText) {
  LlamaEngine engine(options_);
  ASSERT_TRUE(engine.submit(ask(-1))->wait().text.empty()) << "this model would think a whole section away";
  LongFormOptions o;
  o.outline = {"Rome", "Paris"};
  o.max_tokens = 40;
  o.min_distinct4 = 0;  // random text: no retries
  o.sampling.temperature = 0.8f;
  o.sampling.seed = 11;
  ThinkingCalls journal;
  SectionalGenerator(engine, o).generate("Two capitals", journal);
  ASSERT_EQ(journal.saved.size(), 2u);
  ASSERT_EQ(journal.results.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(journal.results[i].reasoning.empty()) << "the model thought";
    EXPECT_FALSE(journal.saved[i].text.empty()) << "and the section still has text";
    EXPECT_EQ(journal.results[i].completion_tokens, 40);
  }
}

}  // namespace
}  // namespace agentd::engine
