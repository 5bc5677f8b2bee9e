// engine_bench: agentd's LlamaEngine against llama.cpp's own tools, in one run, on one model, with
// one thread count. Prints a table, then four ratio lines (last, in this order):
//   single_stream_vs_llama_bench R       agentd single-stream decode t/s / llama-bench tg t/s
//   batched12_vs_serial R                agentd batched aggregate decode t/s / serial policy's
//   batched12_vs_llama_batched_bench R   agentd batched aggregate decode t/s / batched-bench S_TG
//   chat_ttft_loaded_vs_idle R           interactive TTFT with every slot held by background / idle
// (before them: chat_ttft_free_slot_vs_idle, with 11 background streams and a slot free, and
// llama_batched_bench_12_vs_1, llama.cpp's own batching gain: batched12_vs_serial's yardstick)
// See bench/README.md for what each figure measures and how.
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/engine/bench_report.hpp"
#include "bench/engine/cpu_noise.hpp"
#include "bench/engine/engine_runs.hpp"
#include "bench/engine/llama_tools.hpp"
#include "bench/engine/synth_model.hpp"
#include "bench/engine/work_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace agentd::bench;
using agentd::engine::Policy;

#ifndef AGENTD_LLAMA_BENCH
#define AGENTD_LLAMA_BENCH ""
#endif
#ifndef AGENTD_LLAMA_BATCHED_BENCH
#define AGENTD_LLAMA_BATCHED_BENCH ""
#endif

constexpr int kLlamaBenchReps = 2;  // llama-bench -r, per round

struct Options {
  std::string model;  // empty: write a synthetic one into the work dir
  SynthModelOptions synth;
  std::string llama_bench;
  std::string batched_bench;
  std::string work_dir;
  bool keep = false;
  int rounds = 3;
  EngineRunConfig run;
};

struct Tools {
  ToolRun llama_bench;
  ToolRun batched_bench;
};

void progress(const std::string& what) { std::fprintf(stderr, "%s ...\n", what.c_str()); }

// Writes the synthetic model; returns a line describing it.
std::string make_model(const Options& opt, const std::string& path) {
  SynthModelOptions synth = opt.synth;
  synth.out = path;
  progress("writing synthetic model " + path);
  const SynthModelSummary s = write_synthetic_model(synth);
  char line[256];
  std::snprintf(line, sizeof line,
                "synthetic llama %dx%d, %d heads (%d kv), ff %d, vocab %d, %s, %.1fM params, "
                "%.1f MiB",
                s.shape.dim, s.shape.layers, s.shape.heads, s.shape.kv_heads, s.shape.ff,
                s.shape.vocab, synth.type.c_str(), double(s.parameters) / 1e6,
                double(s.file_bytes) / (1 << 20));
  return line;
}

// An engine loaded and warmed up. Only one is alive at a time: with two llama contexts in one
// process, libgomp counts more threads than cores and throttles its barrier spinning, which
// slows the running one by a third or more on 2 cores.
std::unique_ptr<agentd::engine::LlamaEngine> ready_engine(const EngineRunConfig& cfg,
                                                          Policy policy) {
  auto engine = open_engine(cfg, policy);
  warm_up(*engine);
  return engine;
}

// One round: each agentd figure next to its baseline.
Round measure_round(const EngineRunConfig& cfg, const Tools& tools) {
  const int n = cfg.slots;
  Round r;
  {
    auto batched = ready_engine(cfg, Policy::batched);
    r.llama_bench = run_llama_bench(tools.llama_bench, cfg.gen_tokens, cfg.prompt_tokens,
                                    kLlamaBenchReps);
    r.single = measure_single_stream(*batched, cfg);
    r.batched_bench = run_batched_bench(tools.batched_bench, cfg.prompt_tokens, cfg.gen_tokens,
                                        {1, n});
    r.batched = measure_concurrent(*batched, Policy::batched, cfg, n);
    r.ttft = measure_chat_ttft(*batched, cfg, n);           // every slot held: preemption
    r.ttft_free = measure_chat_ttft(*batched, cfg, n - 1);  // a slot free
  }
  auto serial = ready_engine(cfg, Policy::serial);
  r.serial = measure_concurrent(*serial, Policy::serial, cfg, n);
  return r;
}

Figures measure(const Options& opt, const Tools& tools) {
  Figures f;
  f.config = opt.run;
  const CpuSnapshot start = cpu_snapshot();
  for (int i = 0; i < opt.rounds; ++i) {
    progress("round " + std::to_string(i + 1) + "/" + std::to_string(opt.rounds) +
             ": llama-bench, agentd single stream, llama-batched-bench, agentd batched, chat "
             "TTFT, agentd serial");
    f.rounds.push_back(measure_round(opt.run, tools));
  }
  f.noise = cpu_noise(start, cpu_snapshot());
  return f;
}

void add_options(CLI::App& app, Options& opt) {
  app.add_option("--model", opt.model, "GGUF model to use (default: write a synthetic one)");
  app.add_option("--vocab", opt.synth.vocab, "tokenizer source for the synthetic model")
      ->capture_default_str();
  app.add_option("--type", opt.synth.type, "synthetic model weight type")
      ->check(CLI::IsMember({"q8_0", "q4_0", "f16"}))
      ->capture_default_str();
  app.add_option("--threads", opt.run.threads, "compute threads for every measurement")
      ->check(CLI::Range(1, 512))
      ->capture_default_str();
  app.add_option("--prompt-tokens", opt.run.prompt_tokens, "prompt length of every request")
      ->check(CLI::Range(16, 4096))
      ->capture_default_str();
  app.add_option("--tokens", opt.run.gen_tokens, "tokens generated per request")
      ->check(CLI::Range(8, 4096))
      ->capture_default_str();
  app.add_option("--streams", opt.run.slots, "concurrent streams (the ratio names say 12)")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  app.add_option("--rounds", opt.rounds, "measurement rounds; ratios are per-round medians")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  app.add_option("--flash-attn", opt.run.flash_attn, "flash attention, engine and tools alike")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  app.add_option("--llama-bench", opt.llama_bench, "llama-bench program")
      ->default_str(AGENTD_LLAMA_BENCH);
  app.add_option("--llama-batched-bench", opt.batched_bench, "llama-batched-bench program")
      ->default_str(AGENTD_LLAMA_BATCHED_BENCH);
  app.add_option("--work-dir", opt.work_dir, "for the model and the tools' log (default: temp)");
  app.add_flag("--keep", opt.keep, "keep the work dir (model and log)");
}

int run(Options& opt) {
  Tools tools;
  tools.llama_bench.program = find_tool(opt.llama_bench, AGENTD_LLAMA_BENCH, "llama-bench");
  tools.batched_bench.program =
      find_tool(opt.batched_bench, AGENTD_LLAMA_BATCHED_BENCH, "llama-batched-bench");
  if (opt.model.empty() && opt.synth.vocab.empty()) {
    throw std::runtime_error("no vocabulary for the synthetic model: pass --vocab or --model");
  }
  WorkDir work(opt.work_dir, "agentd-engine-bench");
  if (opt.keep) work.keep();
  try {
    std::string model_line = opt.model;
    if (opt.model.empty()) {
      opt.run.model = (work / ("synth-" + opt.synth.type + ".gguf")).string();
      model_line = make_model(opt, opt.run.model);
    } else {
      opt.run.model = opt.model;
    }
    for (ToolRun* t : {&tools.llama_bench, &tools.batched_bench}) {
      t->model = opt.run.model;
      t->threads = opt.run.threads;
      t->flash_attn = opt.run.flash_attn;
      t->log_path = (work / "llama-tools.log").string();
    }
    Figures figures = measure(opt, tools);
    figures.model = model_line;
    print_report(figures);
  } catch (...) {
    work.keep();  // the tools' log explains most failures
    throw;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  opt.synth.vocab = default_vocab_path();
  opt.run.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App app{"agentd's engine against llama-bench and llama-batched-bench, in one run"};
  add_options(app, opt);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_bench: %s\n", e.what());
    return 1;
  }
}
