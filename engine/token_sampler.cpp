#include "engine/token_sampler.hpp"

#include <algorithm>
#include <cmath>

namespace agentd::engine {

namespace {

SamplerPtr new_chain() {
  auto params = llama_sampler_chain_default_params();
  params.no_perf = true;
  return SamplerPtr(llama_sampler_chain_init(params));
}

// Best first: higher logit, then lower token id (the order the whole vocabulary is in).
bool better(const llama_token_data& a, const llama_token_data& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

size_t allowed(const llama_token_data_array& a) {
  return static_cast<size_t>(std::count_if(a.data, a.data + a.size, [](const llama_token_data& t) {
    return t.logit != -INFINITY;
  }));
}

constexpr size_t kFirstCandidates = 64;
constexpr size_t kGrowth = 8;

}  // namespace

TokenSampler::TokenSampler(const Sampling& s, int n_vocab, SamplerPtr grammar, SamplerPtr budget)
    : grammar_(std::move(grammar)), n_vocab_(n_vocab) {
  // A logit bias, a reasoning budget and the repeat penalty change logits (a moved token, a forced
  // one, lowered repeats) whatever the grammar allows, so they go over the whole vocabulary before it.
  const bool penalty = s.repeat_penalty != 1.0f && s.repeat_last_n != 0;
  if (budget || penalty || !s.logit_bias.empty()) {
    before_ = new_chain();
    if (!s.logit_bias.empty()) {
      std::vector<llama_logit_bias> biases;
      for (const auto& [token, bias] : s.logit_bias) biases.push_back({token, bias});
      llama_sampler_chain_add(before_.get(),
                              llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(biases.size()), biases.data()));
    }
    if (budget) llama_sampler_chain_add(before_.get(), budget.release());
    if (penalty) {
      llama_sampler_chain_add(before_.get(),
                              llama_sampler_init_penalties(n_vocab, s.repeat_last_n, s.repeat_penalty, 0.0f, 0.0f));
    }
  }
  pick_ = new_chain();
  if (s.temperature <= 0.0f) {
    llama_sampler_chain_add(pick_.get(), llama_sampler_init_greedy());
    deciding_ = 1;
    return;
  }
  if (s.top_k > 0) llama_sampler_chain_add(pick_.get(), llama_sampler_init_top_k(s.top_k));
  if (s.top_p < 1.0f) llama_sampler_chain_add(pick_.get(), llama_sampler_init_top_p(s.top_p, 1));
  if (s.min_p > 0.0f) llama_sampler_chain_add(pick_.get(), llama_sampler_init_min_p(s.min_p, 1));
  llama_sampler_chain_add(pick_.get(), llama_sampler_init_temp(s.temperature));
  llama_sampler_chain_add(pick_.get(), llama_sampler_init_dist(s.seed));
  deciding_ = s.top_k > 0 ? static_cast<size_t>(s.top_k) : 0;
}

llama_token TokenSampler::sample(llama_context* ctx, int idx) { return sample(llama_get_logits_ith(ctx, idx)); }

llama_token TokenSampler::sample(const float* logits) {
  all_.resize(static_cast<size_t>(n_vocab_));
  for (llama_token id = 0; id < n_vocab_; ++id) all_[static_cast<size_t>(id)] = {id, logits[id], 0.0f};
  llama_token_data_array whole{all_.data(), all_.size(), -1, false};
  if (before_) llama_sampler_apply(before_.get(), &whole);

  llama_token_data_array* from = &whole;
  llama_token_data_array best{};
  last_checks_ = 0;
  if (grammar_) {
    for (size_t n = kFirstCandidates; deciding_ > 0 && n < all_.size(); n *= kGrowth) {
      best_.resize(n);
      std::partial_sort_copy(all_.begin(), all_.end(), best_.begin(), best_.end(), better);
      best = {best_.data(), best_.size(), -1, false};
      llama_sampler_apply(grammar_.get(), &best);
      last_checks_ += n;
      if (allowed(best) >= deciding_) {
        from = &best;
        break;
      }
    }
    if (from == &whole) {
      llama_sampler_apply(grammar_.get(), &whole);
      last_checks_ += whole.size;
    }
  }
  llama_sampler_apply(pick_.get(), from);
  const llama_token token = from->data[from->selected].id;
  if (before_) llama_sampler_accept(before_.get(), token);
  if (grammar_) llama_sampler_accept(grammar_.get(), token);
  llama_sampler_accept(pick_.get(), token);
  return token;
}

}  // namespace agentd::engine
