// prefix_bench: what the prefix cache buys, in one run on one model and one thread count. Prints
// a table, then two ratio lines (last, in this order):
//   prefix_hit_ttft_vs_cold R      TTFT of a request whose first N tokens (1,024) are cached, with
//                                  M (32) new tokens after them / the same request on an engine
//                                  with the cache off
//   restart_hit_ttft_vs_cold R     the same, the first requests after the engine was closed and
//                                  reopened on its disk cache (a daemon restart: the files are in the
//                                  OS page cache)
//   cold_disk_restart_hit_ttft_vs_cold R   the same after the files were dropped from the page
//                                  cache, so the state is read from the disk (as after a reboot)
// Each ratio is the median over rounds of distinct prefixes. See bench/README.md.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/engine/cpu_noise.hpp"
#include "bench/engine/engine_runs.hpp"
#include "bench/engine/synth_model.hpp"

namespace {

namespace fs = std::filesystem;
using namespace agentd;
using engine::LlamaEngine;
using bench::median;

struct Options {
  std::string model;
  bench::SynthModelOptions synth;
  int threads = 2;
  int cached_tokens = 1024;
  int new_tokens = 32;
  int rounds = 3;
  int ram_mb = -1;  // the engine's prefix_cache_mb
  std::string work_dir;
};

struct Row {
  double cold_ms = 0, hit_ms = 0, restart_ms = 0, disk_ms = 0;
  int hit_cached = 0, restart_cached = 0, disk_cached = 0, prompt_tokens = 0;
};

engine::Request request(std::string prompt) {
  engine::Request r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = 4;  // TTFT is what is measured
  return r;
}

std::unique_ptr<LlamaEngine> open(const Options& opt, bool cache, const fs::path& dir) {
  engine::LlamaEngineOptions o;
  o.model_path = opt.model;
  o.threads = opt.threads;
  o.slots = 4;
  o.n_ctx_per_seq = opt.cached_tokens + 2 * opt.new_tokens + 64;
  o.aging = engine::Clock::duration::zero();
  o.prefix_cache = cache;
  o.prefix_cache_mb = opt.ram_mb;
  o.prefix_cache_dir = dir.string();
  auto e = std::make_unique<LlamaEngine>(std::move(o));
  bench::warm_up(*e);
  return e;
}

engine::Result run(LlamaEngine& e, const std::string& prompt) { return e.submit(request(prompt))->wait(); }

// The cache files out of the page cache, so a restart reads them from the disk.
void drop_from_page_cache(const fs::path& dir) {
  if (!fs::exists(dir)) return;
  for (const auto& f : fs::directory_iterator(dir)) {
    const int fd = ::open(f.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

struct Prompts {
  std::vector<std::string> prefix, first, second, third, fourth;  // per round: prefix + four suffixes
};

Prompts make_prompts(const LlamaEngine& e, const Options& opt) {
  Prompts p;
  for (int r = 0; r < opt.rounds; ++r) {
    const std::string prefix = bench::prompt_of_length(e, opt.cached_tokens, 100 + r);
    p.prefix.push_back(prefix);
    for (auto* list : {&p.first, &p.second, &p.third, &p.fourth}) {
      const int variant = 1000 + r * 10 + static_cast<int>(list - &p.first);
      list->push_back(prefix + " " + bench::prompt_of_length(e, opt.new_tokens - 1, variant));
    }
  }
  return p;
}

std::vector<Row> measure(const Options& opt, const fs::path& cache_dir) {
  std::vector<Row> rows(static_cast<size_t>(opt.rounds));
  Prompts p;
  {  // cold: the cache off, every prompt prefilled whole
    auto cold = open(opt, false, {});
    p = make_prompts(*cold, opt);
    for (int r = 0; r < opt.rounds; ++r) {
      const auto res = run(*cold, p.second[static_cast<size_t>(r)]);
      rows[static_cast<size_t>(r)].cold_ms = res.ttft_ms;
      rows[static_cast<size_t>(r)].prompt_tokens = res.prompt_tokens;
    }
  }
  {  // warm: the prefix seen once with another ending, then the measured request
    auto warm = open(opt, true, cache_dir);
    for (int r = 0; r < opt.rounds; ++r) {
      run(*warm, p.first[static_cast<size_t>(r)]);
      const auto res = run(*warm, p.second[static_cast<size_t>(r)]);
      rows[static_cast<size_t>(r)].hit_ms = res.ttft_ms;
      rows[static_cast<size_t>(r)].hit_cached = res.cached_tokens;
    }
  }  // closing writes the prefixes to disk
  {
    auto reopened = open(opt, true, cache_dir);
    for (int r = 0; r < opt.rounds; ++r) {
      const auto res = run(*reopened, p.third[static_cast<size_t>(r)]);
      rows[static_cast<size_t>(r)].restart_ms = res.ttft_ms;
      rows[static_cast<size_t>(r)].restart_cached = res.cached_tokens;
    }
  }
  drop_from_page_cache(cache_dir);
  auto reopened = open(opt, true, cache_dir);
  for (int r = 0; r < opt.rounds; ++r) {
    const auto res = run(*reopened, p.fourth[static_cast<size_t>(r)]);
    rows[static_cast<size_t>(r)].disk_ms = res.ttft_ms;
    rows[static_cast<size_t>(r)].disk_cached = res.cached_tokens;
  }
  return rows;
}

void report(const Options& opt, const std::vector<Row>& rows, const bench::CpuNoise& noise) {
  std::printf("prefix_bench: %s, %d threads, %d cached + %d new tokens, %d rounds\n", opt.model.c_str(), opt.threads,
              opt.cached_tokens, opt.new_tokens, opt.rounds);
  std::printf("%-6s %7s %8s %8s %7s %11s %7s %13s %7s\n", "round", "prompt", "cold ms", "hit ms", "cached",
              "restart ms", "cached", "cold disk ms", "cached");
  std::vector<double> hit, restart, disk;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::printf("%-6zu %7d %8.1f %8.1f %7d %11.1f %7d %13.1f %7d\n", i + 1, r.prompt_tokens, r.cold_ms, r.hit_ms,
                r.hit_cached, r.restart_ms, r.restart_cached, r.disk_ms, r.disk_cached);
    hit.push_back(r.hit_ms / r.cold_ms);
    restart.push_back(r.restart_ms / r.cold_ms);
    disk.push_back(r.disk_ms / r.cold_ms);
  }
  std::printf("cpu: other processes %.1f %%, steal %.1f %%%s\n", 100 * noise.others, 100 * noise.steal,
              noise.noisy() ? ": figures are NOISY, rerun on a quiet machine" : "");
  std::printf("prefix_hit_ttft_vs_cold %.3f\n", median(hit));
  std::printf("restart_hit_ttft_vs_cold %.3f\n", median(restart));
  std::printf("cold_disk_restart_hit_ttft_vs_cold %.3f\n", median(disk));
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  opt.synth.vocab = bench::default_vocab_path();
  CLI::App app{"what the prefix cache buys: TTFT with a cached prefix, and after a restart, vs cold"};
  app.add_option("--model", opt.model, "GGUF model (default: write a synthetic one)");
  app.add_option("--type", opt.synth.type, "synthetic model weight type")
      ->check(CLI::IsMember({"q8_0", "q4_0", "f16"}))
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "compute threads")->check(CLI::Range(1, 512))->capture_default_str();
  app.add_option("--cached-tokens", opt.cached_tokens, "tokens of the shared prefix")
      ->check(CLI::Range(64, 16384))
      ->capture_default_str();
  app.add_option("--new-tokens", opt.new_tokens, "tokens after it")->check(CLI::Range(2, 1024))->capture_default_str();
  app.add_option("--rounds", opt.rounds, "distinct prefixes; ratios are medians")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  app.add_option("--prefix-cache-mb", opt.ram_mb, "RAM for stored prefixes (-1 = the engine's default)")
      ->check(CLI::Range(-1, 1 << 20))
      ->capture_default_str();
  app.add_option("--work-dir", opt.work_dir, "for the model and the cache files (default: temp, removed)");
  CLI11_PARSE(app, argc, argv);
  fs::path work;
  bool owned = opt.work_dir.empty();
  try {
    if (owned) {
      std::string tmpl = (fs::temp_directory_path() / "agentd-prefix-bench-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("cannot create " + tmpl);
      work = tmpl;
    } else {
      work = opt.work_dir;
      fs::create_directories(work);
    }
    if (opt.model.empty()) {
      if (opt.synth.vocab.empty()) throw std::runtime_error("no vocabulary for the synthetic model: pass --model");
      opt.synth.out = (work / ("synth-" + opt.synth.type + ".gguf")).string();
      std::fprintf(stderr, "writing synthetic model %s ...\n", opt.synth.out.c_str());
      bench::write_synthetic_model(opt.synth);
      opt.model = opt.synth.out;
    }
    fs::remove_all(work / "prefix-cache");
    const bench::CpuSnapshot start = bench::cpu_snapshot();
    const auto rows = measure(opt, work / "prefix-cache");
    report(opt, rows, bench::cpu_noise(start, bench::cpu_snapshot()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prefix_bench: %s\n", e.what());
    if (owned && !work.empty()) fs::remove_all(work);
    return 1;
  }
  if (owned) fs::remove_all(work);
  return 0;
}
