// engine_bench's figures and their report: a table, then the four ratio lines, last.
//
// Measurements come in rounds; inside a round each agentd figure is taken right after (or before)
// the baseline it is compared with, so a slow drift of the machine cancels out in the ratio. Each
// ratio printed is the median of its per-round values; the table shows medians and ranges.
#pragma once

#include <string>
#include <vector>

#include "bench/engine/cpu_noise.hpp"
#include "bench/engine/engine_runs.hpp"
#include "bench/engine/llama_tools.hpp"

namespace agentd::bench {

struct Round {
  LlamaBenchResult llama_bench;
  SingleStream single;           // batched engine
  BatchedBenchResult batched_bench;  // 1 and `streams` sequences, per-sequence KV
  Concurrent batched;
  Concurrent serial;
  Ttft ttft;       // every slot held by a background stream: the chat preempts one
  Ttft ttft_free;  // one slot free (slots - 1 background streams): no preemption
};

struct Figures {
  std::string model;             // one line about the model
  EngineRunConfig config;
  std::vector<Round> rounds;
  CpuNoise noise;
};

struct Ratios {
  double single_stream_vs_llama_bench = 0;
  double batched_vs_serial = 0;
  double batched_vs_llama_batched_bench = 0;
  double chat_ttft_loaded_vs_idle = 0;      // every slot held
  double chat_ttft_free_slot_vs_idle = 0;   // one slot free (the figure's meaning before)
  double llama_batched_n_vs_1 = 0;          // llama-batched-bench's own S_TG at n ÷ at 1: the yardstick
};
Ratios ratios_of(const Round& round, int streams);

void print_report(const Figures& figures);

}  // namespace agentd::bench
