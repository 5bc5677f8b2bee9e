// cpu_bench: the CPU path and the KV cache type, in one run (bench/README.md, "CPU path").
//
//  1. llama.cpp's llama-bench (prompt pp512, decode tg128) on synthetic Q8_0 and Q4_0 models of
//     the default shape (162M), with the CPU variant agentd chooses on this host
//     (engine/cpu_backend) against the variant built with the flags agentd pinned before it had
//     variants (haswell: AVX2, FMA, F16C, BMI2, the same compiler flags). Each side runs a copy of
//     llama-bench in a directory holding that one variant, so ggml can load no other. With
//     --pinned-llama-bench, the baseline is instead the llama-bench of a build without variants
//     (-DAGENTD_CPU_VARIANTS=OFF: the pinned static build itself). Rounds alternate the two sides;
//     ratios are per-round medians.
//  2. The KV cache type on agentd's own engine: bytes per slot and single-stream decode speed
//     with q8_0 keys and values against f16 (flash attention on for both, as q8_0 needs it).
//
// Prints a table, then the ratio lines, last:
//   best_variant_vs_pinned_avx2 R              the smallest of the four below (goal >= 1.0)
//   best_variant_vs_pinned_avx2_q8_0_prompt R  pp512 t/s, chosen variant / pinned
//   best_variant_vs_pinned_avx2_q8_0_decode R  tg128 t/s
//   best_variant_vs_pinned_avx2_q4_0_prompt R
//   best_variant_vs_pinned_avx2_q4_0_decode R
//   kv_q8_0_slots_vs_f16 R                     KV bytes per slot f16 / q8_0, same context: how
//                                              many times the slots fit in the same memory
//   kv_q8_0_decode_vs_f16 R                    single-stream decode t/s, q8_0 KV / f16 KV
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/engine/cpu_noise.hpp"
#include "bench/engine/engine_runs.hpp"
#include "bench/engine/llama_tools.hpp"
#include "bench/engine/synth_model.hpp"
#include "bench/engine/work_dir.hpp"
#include "engine/cpu_backend.hpp"

namespace {

namespace fs = std::filesystem;
using namespace agentd::bench;
using agentd::engine::CpuVariant;

struct Options {
  std::string llama_bench;
  std::string vocab;
  std::string work_dir;
  int threads = 2;
  int rounds = 3;
  int reps = 3;             // llama-bench -r per round
  int prompt_tokens = 512;  // pp
  int gen_tokens = 128;     // tg
  std::string baseline = "haswell";
  std::string pinned_llama_bench;  // a build without variants; "" = the baseline variant
  bool keep = false;
};

void progress(const std::string& what) { std::fprintf(stderr, "%s ...\n", what.c_str()); }

// The CPU's model name and the flags that decide the variants, from /proc/cpuinfo.
std::string cpu_line() {
  std::ifstream in("/proc/cpuinfo");
  std::string model, flags;
  for (std::string line; std::getline(in, line) && (model.empty() || flags.empty());) {
    auto value = [&] { return line.substr(line.find(':') + 2); };
    if (model.empty() && line.starts_with("model name")) model = value();
    if (flags.empty() && line.starts_with("flags")) flags = value();
  }
  std::istringstream words(flags);
  std::set<std::string> have;
  for (std::string w; words >> w;) have.insert(w);
  std::string shown;
  for (const char* f : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vbmi", "avx512_vnni",
                        "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"}) {
    if (have.count(f)) shown += std::string(shown.empty() ? "" : " ") + f;
  }
  return model + " [" + shown + "]";
}

// A directory holding a copy of llama-bench and the one variant: ggml looks for CPU variants
// beside the program and in the working directory, and finds only this one.
ToolRun variant_tool(const WorkDir& work, const std::string& program, const CpuVariant& v) {
  const fs::path dir = work / ("variant-" + v.name);
  fs::create_directories(dir);
  const fs::path copy = dir / "llama-bench";
  fs::copy_file(program, copy, fs::copy_options::overwrite_existing);
  const fs::path link = dir / v.path.filename();
  std::error_code ec;
  fs::remove(link, ec);
  fs::create_symlink(v.path, link);
  ToolRun run;
  run.program = copy.string();
  run.cwd = dir.string();
  run.log_path = (work / "llama-bench.log").string();
  return run;
}

struct Pair {
  std::vector<double> base, best, ratio;  // per round
};

struct KvSide {
  double bytes_per_slot = 0;
  double decode_tokens_per_s = 0;
  int ended_early = 0;
};

KvSide measure_kv(const std::string& model, const Options& opt, const std::string& kv_type) {
  EngineRunConfig cfg;
  cfg.model = model;
  cfg.threads = opt.threads;
  cfg.slots = 4;
  cfg.prompt_tokens = opt.prompt_tokens;
  cfg.gen_tokens = opt.gen_tokens;
  cfg.single_reps = 3;
  cfg.flash_attn = "on";
  cfg.kv_type = kv_type;
  auto engine = open_engine(cfg, agentd::engine::Policy::batched);
  warm_up(*engine);
  KvSide side;
  // KV streams = slots + the paused-sequence spares (LlamaEngineOptions::paused_kv_streams).
  side.bytes_per_slot = static_cast<double>(engine->stats().memory.kv_bytes) /
                        (cfg.slots + agentd::engine::LlamaEngineOptions{}.paused_kv_streams);
  std::vector<double> speeds;
  for (int r = 0; r < opt.rounds; ++r) {
    SingleStream s = measure_single_stream(*engine, cfg);
    speeds.push_back(s.tokens_per_s);
    side.ended_early += s.ended_early;
  }
  side.decode_tokens_per_s = median(speeds);
  return side;
}

int run(Options& opt) {
  const std::string program = find_tool(opt.llama_bench,
#ifdef AGENTD_LLAMA_BENCH
                                        AGENTD_LLAMA_BENCH,
#else
                                        "",
#endif
                                        "llama-bench");
  if (!agentd::engine::cpu_variants_built()) {
    throw std::runtime_error("this build has one CPU backend compiled in (AGENTD_CPU_VARIANTS=OFF): nothing to compare");
  }
  const std::vector<CpuVariant> variants = agentd::engine::built_cpu_variants();
  const bool amx = agentd::engine::amx_tile_state_granted();
  const CpuVariant best = agentd::engine::choose_cpu_variant(variants, "auto", amx);
  const CpuVariant base = agentd::engine::choose_cpu_variant(variants, opt.baseline, amx);

  WorkDir work(opt.work_dir, "agentd-cpu-bench");
  if (opt.keep) work.keep();
  try {
    std::printf("cpu: %s, %d threads; AMX tile state %s\n", cpu_line().c_str(), opt.threads,
                amx ? "granted" : "not granted (or no AMX)");
    std::printf("variants this host runs:");
    for (const auto& v : variants) if (v.score > 0) std::printf(" %s(%d)", v.name.c_str(), v.score);
    const bool pinned_build = !opt.pinned_llama_bench.empty();
    const std::string base_name = pinned_build ? "pinned" : base.name;
    std::printf("\nchosen: %s; baseline: %s\n\n", best.name.c_str(),
                pinned_build ? ("the pinned build's " + opt.pinned_llama_bench).c_str()
                             : (base.name + " (the pinned build's flags)").c_str());

    ToolRun base_run = variant_tool(work, program, base), best_run = variant_tool(work, program, best);
    if (pinned_build) {
      base_run.program = opt.pinned_llama_bench;
      base_run.cwd = work.path().string();  // no variant there: the build has its CPU backend linked in
    }
    struct Row {
      std::string type, test;
      Pair pair;
    };
    std::vector<Row> rows;
    const CpuSnapshot before = cpu_snapshot();
    for (const char* type : {"q8_0", "q4_0"}) {
      SynthModelOptions synth;
      synth.vocab = opt.vocab;
      synth.type = type;
      synth.out = (work / (std::string("synth-") + type + ".gguf")).string();
      progress("writing synthetic model " + synth.out);
      write_synthetic_model(synth);
      Row prompt{type, "prompt", {}}, decode{type, "decode", {}};
      for (ToolRun* r : {&base_run, &best_run}) {
        r->model = synth.out;
        r->threads = opt.threads;
      }
      for (int round = 0; round < opt.rounds; ++round) {
        progress(std::string(type) + " round " + std::to_string(round + 1));
        for (const bool is_best : {false, true}) {
          const ToolRun& r = is_best ? best_run : base_run;
          const double pp = run_llama_bench_prompt(r, opt.prompt_tokens, opt.reps).tokens_per_s;
          const double tg = run_llama_bench(r, opt.gen_tokens, 0, opt.reps).tokens_per_s;
          (is_best ? prompt.pair.best : prompt.pair.base).push_back(pp);
          (is_best ? decode.pair.best : decode.pair.base).push_back(tg);
        }
        for (Row* row : {&prompt, &decode}) row->pair.ratio.push_back(row->pair.best.back() / row->pair.base.back());
      }
      rows.push_back(prompt);
      rows.push_back(decode);
    }
    progress("KV cache f16");
    const KvSide f16 = measure_kv((work / "synth-q8_0.gguf").string(), opt, "f16");
    progress("KV cache q8_0");
    const KvSide q8 = measure_kv((work / "synth-q8_0.gguf").string(), opt, "q8_0");
    const CpuNoise noise = cpu_noise(before, cpu_snapshot());

    std::printf("llama-bench, t/s (median of %d rounds, -r %d each)   %10s %10s %8s  %s\n", opt.rounds, opt.reps,
                base_name.c_str(), best.name.c_str(), "ratio", "rounds' ratios");
    for (const Row& r : rows) {
      const auto [lo, hi] = std::minmax_element(r.pair.ratio.begin(), r.pair.ratio.end());
      std::printf("  %-5s %-7s %-40s %10.1f %10.1f %8.3f  %.3f-%.3f\n", r.type.c_str(), r.test.c_str(),
                  r.test == "prompt" ? ("pp" + std::to_string(opt.prompt_tokens)).c_str()
                                     : ("tg" + std::to_string(opt.gen_tokens)).c_str(),
                  median(r.pair.base), median(r.pair.best), median(r.pair.ratio), *lo, *hi);
    }
    std::printf("agentd engine, synthetic q8_0, %d-token prompt, flash attention on:\n", opt.prompt_tokens);
    std::printf("  KV f16:  %.2f MiB per slot, single-stream decode %.1f t/s\n", f16.bytes_per_slot / (1 << 20),
                f16.decode_tokens_per_s);
    std::printf("  KV q8_0: %.2f MiB per slot, single-stream decode %.1f t/s\n", q8.bytes_per_slot / (1 << 20),
                q8.decode_tokens_per_s);
    if (f16.ended_early + q8.ended_early) {
      std::printf("  (%d generations ended before their token budget)\n", f16.ended_early + q8.ended_early);
    }
    std::printf("cpu: other processes %.1f%%, steal %.1f%%%s\n\n", 100 * noise.others, 100 * noise.steal,
                noise.noisy() ? "  NOISY: figures not comparable" : "");
    double worst = 1e9;
    for (const Row& r : rows) worst = std::min(worst, median(r.pair.ratio));
    std::printf("best_variant_vs_pinned_avx2 %.3f\n", worst);
    for (const Row& r : rows) {
      std::printf("best_variant_vs_pinned_avx2_%s_%s %.3f\n", r.type.c_str(), r.test.c_str(), median(r.pair.ratio));
    }
    std::printf("kv_q8_0_slots_vs_f16 %.3f\n", f16.bytes_per_slot / q8.bytes_per_slot);
    std::printf("kv_q8_0_decode_vs_f16 %.3f\n", q8.decode_tokens_per_s / f16.decode_tokens_per_s);
  } catch (...) {
    work.keep();  // the model and llama-bench's log explain most failures
    throw;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  opt.vocab = default_vocab_path();
  opt.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App app{"The CPU variant agentd chooses against the pinned AVX2 build, and q8_0 KV against f16, in one run"};
  app.add_option("--llama-bench", opt.llama_bench, "llama-bench program (default: the one built beside agentd)");
  app.add_option("--vocab", opt.vocab, "tokenizer source for the synthetic models")->capture_default_str();
  app.add_option("--threads", opt.threads, "compute threads")->capture_default_str();
  app.add_option("--rounds", opt.rounds, "rounds, alternating the two variants")->capture_default_str();
  app.add_option("--reps", opt.reps, "llama-bench repetitions per round")->capture_default_str();
  app.add_option("--baseline", opt.baseline, "the variant with the pinned build's flags")->capture_default_str();
  app.add_option("--pinned-llama-bench", opt.pinned_llama_bench,
                 "llama-bench of a build with -DAGENTD_CPU_VARIANTS=OFF, as the baseline instead");
  app.add_option("--work-dir", opt.work_dir, "for the models and llama-bench's log (default: temp)");
  app.add_flag("--keep", opt.keep, "keep the work dir");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpu_bench: %s\n", e.what());
    return 1;
  }
}
