// replay_bench: a busy day of twelve agents and interactive chats, replayed over HTTP against
// agentd (batched, prefix cache on), agentd with the cache off, agentd serial (the sequential
// priority lock) and llama.cpp's llama-server, one after another in one run, with the same
// model, threads, context per sequence and parallel sequences. See bench/README.md ("Replay").
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cpu_noise.hpp"
#include "daemon_metrics.hpp"
#include "llama_tools.hpp"
#include "replay_client.hpp"
#include "replay_report.hpp"
#include "server_process.hpp"
#include "synth_model.hpp"
#include "workload.hpp"

namespace fs = std::filesystem;
using namespace agentd::bench;
using namespace agentd::bench::replay;

namespace {

struct Options {
  WorkloadOptions work;
  ServerSetup server;
  std::string agentd = AGENTD_REPLAY_AGENTD, llama_server = AGENTD_REPLAY_LLAMA_SERVER,
              batched_bench = AGENTD_REPLAY_LLAMA_BATCHED_BENCH;
  std::string chat_csv = AGENTD_REPLAY_CHAT_TRACE, trace, write_trace, out_dir = ".", type = "q8_0";
  std::vector<std::string> systems = {"agentd_batched", "agentd_no_cache", "agentd_serial", "llama_server"};
  int rounds = 1;  // every system once per round, each round starting one system later
  bool quick = false, keep = false, no_batched_bench = false;
  std::vector<int> scale;  // --agents 12,48,192: the scale run instead of the comparison
};

std::vector<ReplayRequest> load_day(const Options& o) {
  if (!o.trace.empty()) {
    std::ifstream in(o.trace);
    if (!in) throw std::runtime_error("replay: cannot read " + o.trace);
    return read_trace_jsonl(in, o.trace);
  }
  std::ifstream csv(o.chat_csv);
  if (!csv) throw std::runtime_error("replay: cannot read the chat trace " + o.chat_csv + " (--chat-trace)");
  return generate_day(o.work, read_azure_conv_csv(csv, o.chat_csv));
}

ServerKind kind_of(const std::string& name) {
  for (ServerKind k : {ServerKind::agentd_batched, ServerKind::agentd_no_cache, ServerKind::agentd_serial, ServerKind::llama_server}) {
    if (name == name_of(k)) return k;
  }
  throw std::runtime_error("replay: unknown system '" + name + "'");
}

// One system: start, one warm-up request (first-touch of weights), the day, peak RSS, stop.
SystemSummary run_system(const std::string& name, const Options& o, const std::vector<ReplayRequest>& day) {
  const ServerKind kind = kind_of(name);
  ServerProcess server(kind, kind == ServerKind::llama_server ? o.llama_server : o.agentd, o.server);
  Target t{name, "127.0.0.1", server.port(), kind != ServerKind::llama_server};
  ReplayRequest warm{0, "warmup", "interactive", {{{"role", "user"}, {"content", "Hello there."}}}, 4};
  run_day({warm}, t, 60);
  std::cerr << "replay: " << name << " ..." << std::endl;
  const bool daemon = kind != ServerKind::llama_server;
  const EngineTime before = daemon ? parse_engine_time(read_daemon_metrics(server.port())) : EngineTime{};
  const auto from = std::chrono::steady_clock::now();
  DayRun run = run_day(day, t, o.work.day_minutes * 60);
  const EngineTime after = daemon ? parse_engine_time(read_daemon_metrics(server.port())) : EngineTime{};
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
  const double rss = server.peak_rss_mib();
  server.stop();
  SystemSummary s = summarize(name, day, run, rss);
  if (daemon) {
    s.engine = after.since(before);
    s.engine_wall_s = wall_s;
  }
  return s;
}

constexpr double kMiB = 1024.0 * 1024.0;

// The daemon's CPU time of one replay by thread name ("agentd-http=8x1.20s"), compute ones marked.
// "unattributed" (counted as overhead) is the process's total beyond its live threads: threads
// that ended, and what the busy daemon spent between reading its threads and reading the total.
std::string cpu_by_thread(const CpuSplit& spent, pid_t pid) {
  std::map<std::string, std::pair<int, double>> by_name;  // name -> threads, seconds
  std::set<std::string> compute;
  for (const auto& t : spent.threads) {
    const std::string name = t.tid == pid ? t.comm + "(main)" : t.comm;
    by_name[name].first += 1;
    by_name[name].second += t.seconds;
    if (is_compute_thread(t.comm, t.tid == pid)) compute.insert(name);
  }
  std::string out;
  char buf[160];
  double live_noncompute = 0;
  for (const auto& [name, n_s] : by_name) {
    std::snprintf(buf, sizeof buf, " %s%s=%dx%.2fs", compute.count(name) ? "[compute]" : "", name.c_str(), n_s.first,
                  n_s.second);
    out += buf;
    if (!compute.count(name)) live_noncompute += n_s.second;
  }
  std::snprintf(buf, sizeof buf, " unattributed=%.2fs", std::max(0.0, spent.noncompute_s - live_noncompute));
  return out + buf;
}

// The scale run: the agents' work cloned (12 agents per copy), agentd batched only; at each size,
// chat p95 TTFT and the daemon's overhead: its resident memory beyond the model and the KV cache
// (from its /metrics, read at the end of the replay) and the CPU time of its threads other than
// the engine's compute ones during the replay (thread_cpu.hpp says which are which). The chats
// stay the same.
bool scale_run(const Options& base) {
  std::vector<std::pair<int, SystemSummary>> rows;
  for (int agents : base.scale) {
    Options o = base;
    o.work.agent_copies = std::max(1, agents / 12);
    const std::vector<ReplayRequest> day = load_day(o);
    ServerProcess server(ServerKind::agentd_batched, o.agentd, o.server);
    Target t{"agentd_batched", "127.0.0.1", server.port(), true};
    std::cerr << "replay: scale " << agents << " agents ..." << std::endl;
    const CpuSplit loaded = server.cpu_split();  // after the model loaded: loading is not overhead
    DayRun run = run_day(day, t, o.work.day_minutes * 60);
    const CpuSplit spent = cpu_between(loaded, server.cpu_split(), server.pid());
    const DaemonMemory mem = parse_daemon_memory(read_daemon_metrics(server.port()));
    const double rss = server.peak_rss_mib();
    const pid_t pid = server.pid();
    server.stop();
    SystemSummary s = summarize("agentd_batched", day, run, rss);
    std::printf("replay_scale agents=%d chat_ttft_p95_ms=%.0f chats=%zu unanswered=%zu tasks_per_hour=%.0f failed=%zu "
                "peak_rss_mib=%.0f\n",
                agents, s.chat_ttft_p95_ms, s.chats, s.chats_unanswered, s.tasks_per_hour, s.failed, rss);
    std::printf("replay_scale_overhead agents=%d rss_beyond_model_kv_mib=%.1f (compute_buffers_mib=%.1f "
                "prefix_store_mib=%.1f rest_mib=%.1f; resident_mib=%.1f model_mib=%.1f kv_mib=%.1f) "
                "daemon_noncompute_cpu_s=%.2f daemon_compute_cpu_s=%.2f noncompute_share=%.2f\n",
                agents, mem.beyond_model_kv() / kMiB, mem.compute / kMiB, mem.prefix_cache / kMiB, mem.other / kMiB,
                mem.resident / kMiB, mem.model / kMiB, mem.kv / kMiB, spent.noncompute_s, spent.compute_s,
                spent.total_s > 0 ? spent.noncompute_s / spent.total_s : 0.0);
    std::printf("replay_scale_threads agents=%d%s\n", agents, cpu_by_thread(spent, pid).c_str());
    std::fflush(stdout);
    rows.emplace_back(agents, s);
  }
  if (rows.size() > 1 && rows.front().second.chat_ttft_p95_ms > 0) {
    std::printf("replay_scale_chat_p95_%d_vs_%d %.3f\n", rows.back().first, rows.front().first,
                rows.back().second.chat_ttft_p95_ms / rows.front().second.chat_ttft_p95_ms);
  }
  return true;
}

void print_line(const std::string& name, const std::vector<double>& per_round, const char* format = "%.3f") {
  std::printf("%s\n", median_line(name, per_round, format).c_str());
}

// llama-batched-bench's rates at one sequence and at `slots`: a run decodes for about a second at
// one sequence, so one run can read half the usual rate on a hiccup (seen: 63 against 130 t/s).
struct YardstickRun {
  double pp1 = 0, tg1 = 0, tgn = 0;  // prefill at 1, decode at 1 and at slots, tokens/s
  double ratio() const { return tg1 > 0 ? tgn / tg1 : -1; }
};

// The run with the median decode ratio of kYardstickRuns, and every run's ratio as text.
std::pair<YardstickRun, std::string> median_yardstick(const ToolRun& tool, int slots) {
  constexpr int kYardstickRuns = 5;  // about 5 s each on the 162M model
  std::vector<YardstickRun> runs;
  for (int i = 0; i < kYardstickRuns; ++i) {
    const BatchedBenchResult bb = run_batched_bench(tool, 128, 128, {1, slots});
    runs.push_back({bb.find(1)->speed_pp, bb.find(1)->speed_tg, bb.find(slots)->speed_tg});
  }
  std::string listed;
  for (const auto& r : runs) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%s%.3f", listed.empty() ? "" : ", ", r.ratio());
    listed += ratio;
  }
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.ratio() < b.ratio(); });
  return {runs[runs.size() / 2], listed};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.work.source_root = AGENTD_REPLAY_SOURCE_ROOT;
  CLI::App app{"replay_bench: a busy day of twelve agents against agentd, agentd serial and llama-server"};
  app.add_option("--seed", o.work.seed, "workload seed (same seed, same day)");
  app.add_option("--day-minutes", o.work.day_minutes, "the 24-hour day compressed into this many minutes per system");
  app.add_option("--token-scale", o.work.token_scale, "chat sizes and agents' answer budgets x this");
  app.add_option("--agent-copies", o.work.agent_copies, "the twelve agents' work this many times");
  app.add_option("--agents", o.scale, "scale run: agentd_batched at these agent counts (multiples of 12), e.g. 12,48,192")
      ->delimiter(',');
  app.add_option("--max-prompt-chars", o.work.max_prompt_chars, "one request's text is cut to this many characters");
  app.add_flag("--answers-as-recorded", o.work.answers_as_recorded,
               "chat follow-ups resend fixed text of each answer's recorded size (the same prompts for every system), "
               "not the answer the system gave");
  app.add_option("--trace", o.trace, "replay a recorded day (JSON lines) instead of generating one");
  app.add_option("--write-trace", o.write_trace, "write the day replayed as JSON lines to this file");
  app.add_option("--chat-trace", o.chat_csv, "the Azure conversation trace (CSV)");
  app.add_option("--source-root", o.work.source_root, "the checkout (agents.d/ and the samples)");
  app.add_option("--model", o.server.model, "GGUF model (default: the synthetic 162M model, written to the work dir)");
  app.add_option("--type", o.type, "synthetic model type: q8_0, q4_0 or f16");
  app.add_option("--threads", o.server.threads, "compute threads of every server");
  app.add_option("--slots", o.server.slots, "parallel sequences of every server");
  app.add_option("--ctx", o.server.ctx, "context tokens per sequence");
  app.add_option("--systems", o.systems, "which systems, in order")->delimiter(',');
  app.add_option("--rounds", o.rounds,
                 "run every system this many times, each round starting one system later; ratios are the rounds' medians")
      ->check(CLI::Range(1, 20));
  app.add_option("--agentd-engine", o.server.agentd_engine,
                 "more keys of agentd.json's \"engine\" for the agentd systems, e.g. '{\"prefill_chunk\": 512}'")
      ->check([](const std::string& v) {
        auto j = nlohmann::json::parse(v, nullptr, false);
        return j.is_object() ? std::string() : std::string("--agentd-engine: not a JSON object: " + v);
      });
  app.add_option("--agentd", o.agentd, "the agentd executable");
  app.add_option("--llama-server", o.llama_server, "the llama-server executable");
  app.add_option("--llama-batched-bench", o.batched_bench, "the llama-batched-bench executable");
  app.add_flag("--no-batched-bench", o.no_batched_bench, "skip llama-batched-bench's N-vs-1 decode ratio");
  app.add_option("--out", o.out_dir, "where replay.csv and replay.svg go");
  auto* rate = app.add_option("--chat-rate", o.work.chat_rate, "share of the Azure trace's chat requests kept (~5.4/s in the trace)");
  app.add_flag("--quick", o.quick, "a 30-second day per system (about 3 minutes in all), chat rate 0.2 unless given");
  app.add_flag("--keep", o.keep, "keep the work dir (model, server logs)");
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    o.work.day_minutes = 0.5;
    if (rate->count() == 0) o.work.chat_rate = 0.2;  // the trace's first 30 s are quiet (59 requests)
  }
  try {
    char tmpl[] = "/tmp/agentd-replay-XXXXXX";
    o.server.work_dir = ::mkdtemp(tmpl);
    fs::create_directories(o.out_dir);  // now, not after a quarter of an hour of replay
    const std::vector<ReplayRequest> day = load_day(o);
    if (!o.write_trace.empty()) {
      std::ofstream out = open_output(o.write_trace);
      write_trace_jsonl(out, day);
      close_output(out, o.write_trace);
    }
    const double window_s = o.work.day_minutes * 60;
    std::printf("replay: seed %llu, a 24 h day in %.1f min per system; chats: %.3f of the Azure conversation trace's requests "
                "(its first %.0f s), sizes x %.2f; agents: x %d, answer budgets x %.2f\n",
                static_cast<unsigned long long>(o.work.seed), o.work.day_minutes, o.work.chat_rate, window_s,
                o.work.token_scale, o.work.agent_copies, o.work.token_scale);
    std::printf("%s\n", describe(offered_load(day), window_s).c_str());
    if (o.server.model.empty()) {
      SynthModelOptions synth;
      synth.out = (o.server.work_dir / ("synth-" + o.type + ".gguf")).string();
      synth.vocab = default_vocab_path();
      synth.type = o.type;
      write_synthetic_model(synth);
      o.server.model = synth.out;
    }
    std::printf("servers: %d threads, %d parallel sequences, %d context tokens each, model %s\n", o.server.threads,
                o.server.slots, o.server.ctx, o.server.model.c_str());
    std::fflush(stdout);
    if (!o.scale.empty()) return scale_run(o) ? 0 : 1;
    const CpuSnapshot before = cpu_snapshot();
    std::vector<std::vector<SystemSummary>> rounds;  // each in --systems order
    for (int k = 0; k < o.rounds; ++k) {
      std::vector<SystemSummary> round(o.systems.size());
      for (size_t j = 0; j < o.systems.size(); ++j) {
        const size_t at = (j + static_cast<size_t>(k)) % o.systems.size();  // round k starts k systems later
        round[at] = run_system(o.systems[at], o, day);
        round[at].round = k + 1;
      }
      if (o.rounds > 1) {
        std::printf("\nround %d of %d\n%s", k + 1, o.rounds, table(round).c_str());
        std::fflush(stdout);
      }
      rounds.push_back(std::move(round));
    }
    YardstickRun yardstick;  // llama-batched-bench: prefill at 1, decode at 1 and at slots
    std::string yardstick_runs;
    if (!o.no_batched_bench) {
      ToolRun tool{find_tool(o.batched_bench, "", "llama-batched-bench"), o.server.model,
                   (o.server.work_dir / "llama-tools.log").string(), o.server.threads};
      std::tie(yardstick, yardstick_runs) = median_yardstick(tool, o.server.slots);
    }
    const double pp1 = yardstick.pp1, tg1 = yardstick.tg1, tgn = yardstick.tgn;
    const double batched_ratio = yardstick.ratio();
    const CpuNoise noise = cpu_noise(before, cpu_snapshot());
    std::vector<SystemSummary> all;  // every round's, in order
    for (const auto& round : rounds) all.insert(all.end(), round.begin(), round.end());
    if (o.rounds == 1) std::printf("\n%s", table(all).c_str());
    const fs::path csv = fs::path(o.out_dir) / "replay.csv", svg = fs::path(o.out_dir) / "replay.svg",
                   requests = fs::path(o.out_dir) / "requests.csv";
    write_csv(csv, all);
    write_svg(svg, all, window_s);
    write_requests_csv(requests, day, all);
    std::printf("written: %s, %s, %s\n", csv.c_str(), svg.c_str(), requests.c_str());
    std::printf("cpu: other processes %.1f%%, steal %.1f%%%s\n", noise.others * 100, noise.steal * 100,
                noise.noisy() ? "  NOISY: figures of a loaded machine, rerun on a quiet one" : "");
    if (batched_ratio > 0) {
      std::printf("llama_batched_bench_decode_%d_vs_1 %.3f (the median of %s)\n", o.server.slots, batched_ratio,
                  yardstick_runs.c_str());
    }
    print_line("replay_chat_p95_ttft_vs_llama_server", ratios(rounds, "agentd_batched", "llama_server", &SystemSummary::chat_ttft_p95_ms));
    print_line("replay_tasks_per_hour_vs_llama_server", ratios(rounds, "agentd_batched", "llama_server", &SystemSummary::tasks_per_hour));
    print_line("replay_chat_p95_ttft_vs_serial", ratios(rounds, "agentd_batched", "agentd_serial", &SystemSummary::chat_ttft_p95_ms));
    print_line("replay_tasks_per_hour_vs_serial", ratios(rounds, "agentd_batched", "agentd_serial", &SystemSummary::tasks_per_hour));
    std::vector<double> gain_bound, alone_ms, alone_vs_serial, saved;
    for (const auto& round : rounds) {
      const SystemSummary *b = find_system(round, "agentd_batched"), *s = find_system(round, "agentd_serial");
      // The serial lock's own work on this day, timed at llama.cpp's rates: how much of it batching
      // could speed up at all (the yardstick above counts decode only; this day is mostly prefill).
      if (s && batched_ratio > 0) {
        const double decoded = s->decode_tokens_per_s * window_s;
        std::printf("replay_serial_work%s prefilled=%lld decoded=%.0f (llama-batched-bench pp %.0f t/s, tg %.1f t/s at 1, %.1f at %d)\n",
                    o.rounds > 1 ? (" round=" + std::to_string(s->round)).c_str() : "", s->prompt_tokens_prefilled,
                    decoded, pp1, tg1, tgn, o.server.slots);
        gain_bound.push_back(batching_gain_bound(static_cast<double>(s->prompt_tokens_prefilled), decoded, pp1, tg1, tgn));
      }
      // How low the chat goal against the serial lock can go on this day: agentd_batched's chats
      // each timed as its own uncached prompt alone at llama.cpp's one-sequence prefill rate.
      if (b && pp1 > 0) {
        alone_ms.push_back(chat_prefill_alone_p95_ms(day, *b, pp1));
        alone_vs_serial.push_back(s && s->chat_ttft_p95_ms > 0 ? alone_ms.back() / s->chat_ttft_p95_ms : -1);
      }
      if (b && b->prompt_tokens_sent > 0) {
        saved.push_back(1.0 - static_cast<double>(b->prompt_tokens_prefilled) / b->prompt_tokens_sent);
      }
    }
    if (!gain_bound.empty()) print_line("replay_batching_gain_bound_vs_serial", gain_bound);
    if (!alone_ms.empty()) {
      print_line("replay_chat_p95_prefill_alone_ms", alone_ms, "%.0f");
      print_line("replay_chat_p95_prefill_alone_vs_serial", alone_vs_serial);
    }
    print_line("replay_prefill_saved", saved);
    if (!o.keep) fs::remove_all(o.server.work_dir);
    else std::printf("kept: %s\n", o.server.work_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replay_bench: %s (work dir kept: %s)\n", e.what(), o.server.work_dir.c_str());
    return 1;
  }
}
