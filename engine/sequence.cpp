#include "engine/sequence.hpp"

namespace agentd::engine {

SamplerPtr make_sampler_chain(const Sampling& s, int n_vocab, SamplerPtr grammar, SamplerPtr budget) {
  auto params = llama_sampler_chain_default_params();
  params.no_perf = true;
  SamplerPtr chain(llama_sampler_chain_init(params));
  // The chain owns what is added to it. A reasoning budget goes first: when it forces the end of
  // the thinking, every other token is already out.
  if (budget) llama_sampler_chain_add(chain.get(), budget.release());
  if (grammar) llama_sampler_chain_add(chain.get(), grammar.release());
  if (s.repeat_penalty != 1.0f && s.repeat_last_n != 0) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_penalties(n_vocab, s.repeat_last_n,
                                                                      s.repeat_penalty, 0.0f, 0.0f));
  }
  if (s.temperature <= 0.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (s.top_k > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(s.top_k));
  if (s.top_p < 1.0f) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(s.top_p, 1));
  if (s.min_p > 0.0f) llama_sampler_chain_add(chain.get(), llama_sampler_init_min_p(s.min_p, 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(s.temperature));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(s.seed));
  return chain;
}

}  // namespace agentd::engine
