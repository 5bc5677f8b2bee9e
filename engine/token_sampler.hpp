// TokenSampler: picks a request's next token from its logits exactly as its llama.cpp sampler
// chain would ([reasoning budget] [grammar] [repeat penalty], then greedy, or top-k, top-p, min-p,
// temperature and a seeded draw), with the grammar tried on the best candidates first.
//
// The grammar is the costly link: llama.cpp checks every token of the vocabulary against it, on
// the inference thread while every other sequence of the batch waits (~5 ms a token on a 32k
// vocabulary here, growing with the vocabulary). Yet what the chain keeps after the grammar
// is decided by the best allowed tokens alone: greedy takes the best one, top-k the k best. So the
// grammar first sees the 64 best candidates by logit (then 8x more, and so on) until enough of
// them are allowed; the whole vocabulary is checked only when they are not (few tokens allowed,
// or top-k off). Candidates are ranked by logit, then token id, so the pick, ties included, is the
// one the whole chain makes; a draw sees the same candidates in the same order.
#pragma once

#include <vector>

#include "engine/engine.hpp"
#include "llama.h"

namespace agentd::engine {

struct SamplerDeleter {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

class TokenSampler {
 public:
  TokenSampler() = default;
  // Takes ownership of `grammar` and `budget` (either may be null).
  TokenSampler(const Sampling& sampling, int n_vocab, SamplerPtr grammar, SamplerPtr budget = nullptr);

  // Picks from the logits of output `idx` of the last decode, and moves every link past it.
  llama_token sample(llama_context* ctx, int idx);
  llama_token sample(const float* logits);

  // Candidates the grammar checked for the last pick (the vocabulary size when it checked all).
  size_t last_grammar_checks() const { return last_checks_; }

 private:
  SamplerPtr before_;   // reasoning budget, repeat penalty: whole vocabulary, cheap
  SamplerPtr grammar_;  // null without one
  SamplerPtr pick_;     // greedy, or top-k ... seeded draw
  size_t deciding_ = 0;  // allowed candidates that decide the pick: 1 greedy, k top-k, 0 = all
  int n_vocab_ = 0;
  size_t last_checks_ = 0;
  std::vector<llama_token_data> all_, best_;
};

}  // namespace agentd::engine
