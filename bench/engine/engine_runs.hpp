// agentd's side of engine_bench: the measurements taken on a LlamaEngine.
//
// Every request is a raw prompt of an exact token count, sampled greedily (no sampling cost worth
// mentioning, and a fixed output). A random-weight model rarely samples end-of-generation; runs
// check it and report any generation that ended before its token budget.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/llama_engine.hpp"

namespace agentd::bench {

struct EngineRunConfig {
  std::string model;
  int threads = 2;
  int slots = 12;          // batched engine slots (= concurrent streams measured)
  int prompt_tokens = 128;
  int gen_tokens = 128;
  int single_reps = 3;     // generations per single-stream measurement (their mean: one is noisy)
  int ttft_probes = 3;     // interactive requests per TTFT measurement (idle, then loaded)
  std::string flash_attn = "auto";  // engine option and the tools' -fa
  std::string kv_type = "f16";      // engine option (cpu_bench compares q8_0 with f16)
};

std::unique_ptr<engine::LlamaEngine> open_engine(const EngineRunConfig& cfg,
                                                 engine::Policy policy);

// The median of `v` (the mean of the middle two for an even count), 0 when empty.
double median(std::vector<double> v);

// A raw prompt the engine tokenizes to exactly `tokens` tokens; `variant` makes it distinct.
std::string prompt_of_length(const engine::LlamaEngine& engine, int tokens, int variant);

// One generation at a time.
struct SingleStream {
  double tokens_per_s = 0;  // mean over single_reps of (completion - 1) / (last - first token)
  double ttft_ms = 0;       // mean
  int ended_early = 0;      // generations that stopped before gen_tokens
};
SingleStream measure_single_stream(engine::LlamaEngine& engine, const EngineRunConfig& cfg);

// `streams` requests submitted together, each prompt_tokens + gen_tokens.
struct Concurrent {
  // Decode throughput over all streams: batched policy, the steps during which every stream
  // decodes (after the last prompt is prefilled, before the first stream ends), like
  // llama-batched-bench's S_TG; serial policy, the sum of tokens over the sum of each
  // generation's decode time (one stream decodes at a time).
  double decode_tokens_per_s = 0;
  int window_steps = 0;        // decode steps that figure was measured over (batched)
  double end_to_end_tokens_per_s = 0;  // (prompt + generated) / (first submit -> last end)
  double mean_ttft_ms = 0;
  double max_ttft_ms = 0;
  int completion_tokens = 0;
  int ended_early = 0;
};
Concurrent measure_concurrent(engine::LlamaEngine& engine, engine::Policy policy,
                              const EngineRunConfig& cfg, int streams);

// Time to first token of an interactive request, on an idle engine and while `background`
// background generations decode (a free slot is left for it: no preemption involved).
struct Ttft {
  double idle_ms = 0;    // median of the probes
  double loaded_ms = 0;  // median of the probes
  int background = 0;
  int background_ended_early = 0;  // background generations that ended before being cancelled
};
Ttft measure_chat_ttft(engine::LlamaEngine& engine, const EngineRunConfig& cfg, int background);

// Runs one short generation so first-use costs (page faults, buffer allocation) are not measured.
void warm_up(engine::LlamaEngine& engine);

}  // namespace agentd::bench
