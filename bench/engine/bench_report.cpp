#include "bench/engine/bench_report.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "llama.h"

namespace agentd::bench {
namespace {

using Get = std::function<double(const Round&)>;

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

std::vector<double> values(const std::vector<Round>& rounds, const Get& get) {
  std::vector<double> v;
  for (const Round& r : rounds) v.push_back(get(r));
  std::sort(v.begin(), v.end());
  return v;
}

// "median  (min-max)  note"
void row(const Figures& f, const std::string& what, const Get& get, const std::string& note) {
  const std::vector<double> v = values(f.rounds, get);
  char range[48];
  std::snprintf(range, sizeof range, "%.1f-%.1f", v.front(), v.back());
  std::printf("  %-44s %9.1f  %-17s %s\n", what.c_str(), median(v), range, note.c_str());
}

void header(const char* section, const char* unit) {
  std::printf("\n  %-44s %9s  %-17s %s\n", section, unit, "range", "note");
}

int ended_early(const std::vector<Round>& rounds) {
  int n = 0;
  for (const Round& r : rounds) {
    n += r.single.ended_early + r.batched.ended_early + r.serial.ended_early +
         r.ttft.background_ended_early + r.ttft_free.background_ended_early;
  }
  return n;
}

void print_setup(const Figures& f) {
  const EngineRunConfig& c = f.config;
  std::printf("engine_bench: %s\n", f.model.c_str());
  std::printf("llama.cpp %s\n", llama_print_system_info());
  std::printf("threads %d, flash attention %s (engine and tools); every request: %d-token raw "
              "prompt, %d generated tokens, greedy; %d streams; %zu rounds\n",
              c.threads, c.flash_attn.c_str(), c.prompt_tokens, c.gen_tokens, c.slots,
              f.rounds.size());
  if (f.noise.others >= 0) {
    std::printf("other processes used %.0f%% of the CPU, the hypervisor stole %.0f%%%s\n",
                100 * f.noise.others, 100 * f.noise.steal,
                f.noise.noisy() ? ": figures are NOISY, rerun on a quiet machine" : "");
  }
  if (const int n = ended_early(f.rounds); n > 0) {
    std::printf("WARNING: %d generations ended before their token budget (end of generation)\n", n);
  }
}

void print_throughput(const Figures& f) {
  const int n = f.config.slots;
  const std::string ns = std::to_string(n);
  header("decode throughput", "tokens/s");
  row(f, "llama-bench tg" + std::to_string(f.config.gen_tokens),
      [](const Round& r) { return r.llama_bench.tokens_per_s; },
      "-d " + std::to_string(f.config.prompt_tokens));
  row(f, "agentd single stream (batched engine)",
      [](const Round& r) { return r.single.tokens_per_s; }, "");
  row(f, "agentd single stream (serial engine)",
      [](const Round& r) { return r.serial.decode_tokens_per_s; }, "from the serial run below");
  row(f, "llama-batched-bench S_TG, 1 sequence",
      [](const Round& r) { return r.batched_bench.find(1)->speed_tg; }, "");
  row(f, "llama-batched-bench S_TG, " + ns + " sequences",
      [n](const Round& r) { return r.batched_bench.find(n)->speed_tg; }, "per-sequence KV");
  row(f, "agentd batched, " + ns + " streams",
      [](const Round& r) { return r.batched.decode_tokens_per_s; }, "steps with all decoding");
  row(f, "agentd serial, " + ns + " streams",
      [](const Round& r) { return r.serial.decode_tokens_per_s; }, "one at a time");

  header("end to end: (prompt + generated) / time", "tokens/s");
  row(f, "llama-batched-bench S, " + ns + " sequences",
      [n](const Round& r) { return r.batched_bench.find(n)->speed; }, "prefill all, then decode");
  row(f, "agentd batched, " + ns + " streams",
      [](const Round& r) { return r.batched.end_to_end_tokens_per_s; }, "");
  row(f, "agentd serial, " + ns + " streams",
      [](const Round& r) { return r.serial.end_to_end_tokens_per_s; }, "");
}

void print_latency(const Figures& f) {
  const std::string ns = std::to_string(f.config.slots);
  header("time to first token", "ms");
  row(f, "agentd batched, " + ns + " streams submitted together",
      [](const Round& r) { return r.batched.mean_ttft_ms; }, "mean over streams");
  row(f, "agentd serial, " + ns + " streams submitted together",
      [](const Round& r) { return r.serial.mean_ttft_ms; }, "mean over streams");
  row(f, "interactive request, idle engine",
      [](const Round& r) { return r.ttft.idle_ms; }, "median of probes");
  row(f, "interactive, " + std::to_string(f.config.slots - 1) + " background streams decoding (a slot free)",
      [](const Round& r) { return r.ttft_free.loaded_ms; }, "median of probes");
  row(f, "interactive, " + std::to_string(f.config.slots) + " background streams (every slot held)",
      [](const Round& r) { return r.ttft.loaded_ms; }, "median of probes; preempts one");
}

}  // namespace

Ratios ratios_of(const Round& r, int streams) {
  Ratios x;
  x.single_stream_vs_llama_bench = ratio(r.single.tokens_per_s, r.llama_bench.tokens_per_s);
  x.batched_vs_serial = ratio(r.batched.decode_tokens_per_s, r.serial.decode_tokens_per_s);
  x.batched_vs_llama_batched_bench =
      ratio(r.batched.decode_tokens_per_s, r.batched_bench.find(streams)->speed_tg);
  x.chat_ttft_loaded_vs_idle = ratio(r.ttft.loaded_ms, r.ttft.idle_ms);
  x.chat_ttft_free_slot_vs_idle = ratio(r.ttft_free.loaded_ms, r.ttft_free.idle_ms);
  x.llama_batched_n_vs_1 = ratio(r.batched_bench.find(streams)->speed_tg, r.batched_bench.find(1)->speed_tg);
  return x;
}

void print_report(const Figures& f) {
  print_setup(f);
  print_throughput(f);
  print_latency(f);

  const int n = f.config.slots;
  std::printf("\n  per round:");
  for (const Round& r : f.rounds) {
    const Ratios x = ratios_of(r, n);
    std::printf("  [%.3f %.3f %.3f %.3f]", x.single_stream_vs_llama_bench, x.batched_vs_serial,
                x.batched_vs_llama_batched_bench, x.chat_ttft_loaded_vs_idle);
  }
  std::printf("\n\n");
  auto med = [&](double Ratios::*field) {
    return median(values(f.rounds, [&](const Round& r) { return ratios_of(r, n).*field; }));
  };
  // Two figures first, then the four ratios last in their fixed order: the yardstick of
  // batched12_vs_serial (what llama.cpp itself gets from batching here) and the chat TTFT with a
  // slot free (this line's meaning before every slot was held).
  std::printf("chat_ttft_free_slot_vs_idle %.3f\n", med(&Ratios::chat_ttft_free_slot_vs_idle));
  std::printf("llama_batched_bench_%d_vs_1 %.3f\n", n, med(&Ratios::llama_batched_n_vs_1));
  std::printf("single_stream_vs_llama_bench %.3f\n", med(&Ratios::single_stream_vs_llama_bench));
  std::printf("batched12_vs_serial %.3f\n", med(&Ratios::batched_vs_serial));
  std::printf("batched12_vs_llama_batched_bench %.3f\n",
              med(&Ratios::batched_vs_llama_batched_bench));
  std::printf("chat_ttft_loaded_vs_idle %.3f\n", med(&Ratios::chat_ttft_loaded_vs_idle));
}

}  // namespace agentd::bench
