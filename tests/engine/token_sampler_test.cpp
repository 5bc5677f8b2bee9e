// TokenSampler against llama.cpp's own sampler chain: on a real vocabulary (llama-spm, 32k tokens,
// loaded vocab-only) with random logits, a grammar and each sampling mode, the token picked at
// every step must be the one the whole chain picks, while the grammar checks only the best
// candidates when they decide the pick.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/json_schema_grammar.hpp"
#include "engine/token_sampler.hpp"

namespace agentd::engine::test {
namespace {

const std::string kLlama = AGENTD_LLAMA_SOURCE_DIR;

const char* kSchema = R"({"type": "object", "properties": {
  "merchant": {"type": "string"}, "total": {"type": "number"}, "items": {"type": "array", "items": {"type": "string"}}},
  "required": ["merchant", "total", "items"]})";

struct VocabDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};

class TokenSamplerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    llama_backend_init();
    auto params = llama_model_default_params();
    params.vocab_only = true;
    model_.reset(llama_model_load_from_file((kLlama + "/models/ggml-vocab-llama-spm.gguf").c_str(), params));
    ASSERT_NE(model_, nullptr);
  }
  static void TearDownTestSuite() { model_.reset(); }

  const llama_vocab* vocab() const { return llama_model_get_vocab(model_.get()); }
  int n_vocab() const { return llama_vocab_n_tokens(vocab()); }
  SamplerPtr grammar(const std::string& gbnf) const {
    SamplerPtr g(llama_sampler_init_grammar(vocab(), gbnf.c_str(), "root"));
    EXPECT_NE(g, nullptr);
    return g;
  }

  // llama.cpp's chain as the engine built it before TokenSampler: grammar, penalty, then the pick.
  SamplerPtr reference_chain(const Sampling& s, const std::string& gbnf) const {
    SamplerPtr c(llama_sampler_chain_init(llama_sampler_chain_default_params()));
    if (!s.logit_bias.empty()) {
      std::vector<llama_logit_bias> biases;
      for (const auto& [token, bias] : s.logit_bias) biases.push_back({token, bias});
      llama_sampler_chain_add(c.get(), llama_sampler_init_logit_bias(n_vocab(), static_cast<int32_t>(biases.size()), biases.data()));
    }
    llama_sampler_chain_add(c.get(), grammar(gbnf).release());
    if (s.repeat_penalty != 1.0f) {
      llama_sampler_chain_add(c.get(), llama_sampler_init_penalties(n_vocab(), s.repeat_last_n, s.repeat_penalty, 0, 0));
    }
    if (s.temperature <= 0.0f) {
      llama_sampler_chain_add(c.get(), llama_sampler_init_greedy());
      return c;
    }
    if (s.top_k > 0) llama_sampler_chain_add(c.get(), llama_sampler_init_top_k(s.top_k));
    if (s.top_p < 1.0f) llama_sampler_chain_add(c.get(), llama_sampler_init_top_p(s.top_p, 1));
    if (s.min_p > 0.0f) llama_sampler_chain_add(c.get(), llama_sampler_init_min_p(s.min_p, 1));
    llama_sampler_chain_add(c.get(), llama_sampler_init_temp(s.temperature));
    llama_sampler_chain_add(c.get(), llama_sampler_init_dist(s.seed));
    return c;
  }

  struct Run {
    int steps = 0;
    size_t checks = 0;  // candidates the grammar checked, over every step
    std::string text;
  };

  // Both pick from the same random logits until the grammar ends (end of text) or 120 tokens.
  Run compare(const Sampling& s, const std::string& gbnf, uint32_t seed) const {
    SamplerPtr ref = reference_chain(s, gbnf);
    TokenSampler ours(s, n_vocab(), grammar(gbnf));
    std::mt19937 rng(seed);
    std::normal_distribution<float> logit(0.0f, 3.0f);
    std::vector<float> logits(static_cast<size_t>(n_vocab()));
    std::vector<llama_token_data> cur(logits.size());
    Run run;
    for (; run.steps < 120; ++run.steps) {
      for (float& l : logits) l = logit(rng);
      for (llama_token id = 0; id < n_vocab(); ++id) cur[static_cast<size_t>(id)] = {id, logits[static_cast<size_t>(id)], 0};
      llama_token_data_array arr{cur.data(), cur.size(), -1, false};
      llama_sampler_apply(ref.get(), &arr);
      const llama_token expected = arr.data[arr.selected].id;
      llama_sampler_accept(ref.get(), expected);
      const llama_token got = ours.sample(logits.data());
      EXPECT_EQ(got, expected) << "step " << run.steps << " after \"" << run.text << "\"";
      if (got != expected) break;
      run.checks += ours.last_grammar_checks();
      if (llama_vocab_is_eog(vocab(), got)) break;
      char piece[64];
      const int n = llama_token_to_piece(vocab(), got, piece, sizeof piece, 0, false);
      run.text.append(piece, static_cast<size_t>(std::max(n, 0)));
    }
    return run;
  }

  static std::unique_ptr<llama_model, VocabDeleter> model_;
};

std::unique_ptr<llama_model, VocabDeleter> TokenSamplerTest::model_;

Sampling greedy() {
  Sampling s;
  s.temperature = 0.0f;
  return s;
}

Sampling drawn(uint32_t seed) {
  Sampling s;  // the defaults: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8
  s.seed = seed;
  return s;
}

TEST_F(TokenSamplerTest, GreedyPicksWhatTheWholeChainPicksCheckingOnlyTheBestCandidates) {
  const std::string gbnf = json_schema_to_gbnf(kSchema);
  for (uint32_t seed : {1u, 2u}) {
    const Run run = compare(greedy(), gbnf, seed);
    EXPECT_GT(run.steps, 10) << run.text;
    // Most steps are decided by the first 64 or 512 candidates, not the 32k of the vocabulary.
    EXPECT_LT(run.checks, static_cast<size_t>(run.steps) * static_cast<size_t>(n_vocab()) / 4) << run.text;
  }
}

TEST_F(TokenSamplerTest, ASeededDrawPicksWhatTheWholeChainPicks) {
  const std::string gbnf = json_schema_to_gbnf(kSchema);
  for (uint32_t seed : {11u, 12u}) {
    const Run run = compare(drawn(seed), gbnf, seed);
    EXPECT_GT(run.steps, 10) << run.text;
  }
}

TEST_F(TokenSamplerTest, ARepeatPenaltyAppliesBeforeTheGrammarAsInTheChain) {
  Sampling s = greedy();
  s.repeat_penalty = 1.5f;
  s.repeat_last_n = 64;
  compare(s, json_schema_to_gbnf(kSchema), 21);
  Sampling d = drawn(22);
  d.repeat_penalty = 1.3f;
  compare(d, json_schema_to_gbnf(kSchema), 22);
}

TEST_F(TokenSamplerTest, FewAllowedTokensOrNoTopKCheckTheWholeVocabularyAndStillAgree) {
  // Digits only: fewer than top-k 40 tokens are allowed, so the best candidates never decide.
  const Run digits = compare(drawn(31), R"(root ::= [0-9]+ "." [0-9] [0-9])", 31);
  EXPECT_GE(digits.checks, static_cast<size_t>(digits.steps) * static_cast<size_t>(n_vocab()));
  Sampling no_top_k = drawn(32);
  no_top_k.top_k = 0;
  const Run all = compare(no_top_k, json_schema_to_gbnf(kSchema), 32);
  EXPECT_GE(all.checks, static_cast<size_t>(all.steps) * static_cast<size_t>(n_vocab()));
}

TEST_F(TokenSamplerTest, WithoutAGrammarNothingIsChecked) {
  TokenSampler s(greedy(), n_vocab(), nullptr);
  std::vector<float> logits(static_cast<size_t>(n_vocab()), 0.0f);
  logits[1234] = 5.0f;
  EXPECT_EQ(s.sample(logits.data()), 1234);
  EXPECT_EQ(s.last_grammar_checks(), 0u);
}

TEST_F(TokenSamplerTest, ALogitBiasBansOrForcesATokenAndRanksCandidatesBeforeTheGrammar) {
  std::vector<float> logits(static_cast<size_t>(n_vocab()), 0.0f);
  logits[1234] = 5.0f;
  logits[99] = 4.0f;
  Sampling s = greedy();
  s.logit_bias = {{1234, -100.0f}};
  EXPECT_EQ(TokenSampler(s, n_vocab(), nullptr).sample(logits.data()), 99) << "-100 all but bans the best token";
  s.logit_bias = {{7, 100.0f}};
  EXPECT_EQ(TokenSampler(s, n_vocab(), nullptr).sample(logits.data()), 7) << "+100 all but forces a token";

  // Under a grammar, with a bias on every 7th token, the picks are the whole chain's, and not
  // those of the same logits unbiased.
  const std::string gbnf = json_schema_to_gbnf(kSchema);
  Sampling biased = greedy();
  for (llama_token id = 0; id < n_vocab(); id += 7) biased.logit_bias.emplace_back(id, 8.0f);
  const Run with = compare(biased, gbnf, 41);
  const Run without = compare(greedy(), gbnf, 41);
  EXPECT_GT(with.steps, 10) << with.text;
  EXPECT_NE(with.text, without.text);
}

}  // namespace
}  // namespace agentd::engine::test
