// llama.cpp's own benchmark tools, run as child processes: the baselines engine_bench compares
// agentd's engine against. Their machine-readable stdout is parsed (llama-bench -o json,
// llama-batched-bench --output-format jsonl); their stderr goes to a log file, so a failure can be
// diagnosed without cluttering the report.
#pragma once

#include <string>
#include <vector>

namespace agentd::bench {

// The program to run: `given` if not empty, else `built` (the path CMake passed for the tool built
// alongside), else `name` looked up on PATH. Throws std::runtime_error naming what was tried.
std::string find_tool(const std::string& given, const std::string& built, const std::string& name);

struct ToolRun {
  std::string program;
  std::string model;
  std::string log_path;  // the child's stderr is appended here
  int threads = 2;
  std::string flash_attn = "auto";  // -fa: the same as the engine's
  // Run in this directory ("" = the caller's). ggml loads CPU variants from the program's
  // directory and the working directory, so a copy of the tool in a directory holding one
  // variant runs that variant (cpu_bench).
  std::string cwd;
};

// llama-bench text generation: n_gen tokens decoded one at a time after `depth` cached tokens.
struct LlamaBenchResult {
  double tokens_per_s = 0;  // avg_ts over the repetitions
  double stddev = 0;        // stddev_ts
  int reps = 0;
  std::string command;
};
LlamaBenchResult run_llama_bench(const ToolRun& run, int n_gen, int depth, int reps);
// llama-bench prompt processing: n_prompt tokens in one batch.
LlamaBenchResult run_llama_bench_prompt(const ToolRun& run, int n_prompt, int reps);

// llama-batched-bench: `pl` sequences, each prefilling pp tokens then decoding tg tokens together.
struct BatchedBenchRow {
  int pp = 0, tg = 0, pl = 0;
  double t_pp = 0, speed_pp = 0;  // prompt processing: seconds, tokens/s
  double t_tg = 0, speed_tg = 0;  // generation (all pl decoding): seconds, tokens/s over all
  double speed = 0;               // end to end tokens/s (prompt + generated)
};
struct BatchedBenchResult {
  std::vector<BatchedBenchRow> rows;  // one per pl, in the order asked
  std::string command;
  const BatchedBenchRow* find(int pl) const;
};
// Each sequence its own KV range (llama.cpp's default layout, as agentd's batched policy).
BatchedBenchResult run_batched_bench(const ToolRun& run, int pp, int tg,
                                     const std::vector<int>& pls);

}  // namespace agentd::bench
