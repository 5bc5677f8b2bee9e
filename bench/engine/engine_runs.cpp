#include "bench/engine/engine_runs.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>

namespace agentd::bench {
namespace {

using engine::Clock;
using engine::FinishReason;
using engine::LlamaEngine;
using engine::Request;
using engine::Result;
using scheduler::Priority;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Request greedy_request(std::string prompt, int max_tokens, Priority priority) {
  Request r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;  // greedy: fixed output, no sampling cost worth mentioning
  r.max_tokens = max_tokens;
  r.priority = priority;
  return r;
}

// Seconds between a generation's first and last token, and the tokens decoded in between.
double decode_seconds(const Result& r) {
  return r.decode_tokens_per_s > 0 ? r.completion_tokens / r.decode_tokens_per_s : 0;
}
int decoded_after_first(const Result& r) { return std::max(0, r.completion_tokens - 1); }

// Engine counters after each decode step, as seen by a thread polling LlamaEngine::stats().
struct StepSample {
  Clock::time_point at;
  int64_t steps = 0;
  int64_t tokens = 0;
  int64_t prompt_tokens = 0;
  int running = 0;
};

class StepTrace {
 public:
  explicit StepTrace(const LlamaEngine& engine) : engine_(engine) {
    record(engine_.stats());
    thread_ = std::jthread([this](std::stop_token stop) { poll(stop); });
  }
  std::vector<StepSample> stop() {
    thread_.request_stop();
    thread_.join();
    return samples_;
  }

 private:
  void poll(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const engine::EngineStats s = engine_.stats();
      if (s.decode_steps != samples_.back().steps) record(s);
    }
  }
  void record(const engine::EngineStats& s) {
    int running = 0;
    for (const auto& c : s.by_class) running += c.running;
    samples_.push_back(
        {Clock::now(), s.decode_steps, s.tokens_generated, s.prompt_tokens, running});
  }

  const LlamaEngine& engine_;
  std::vector<StepSample> samples_;  // the polling thread's until stop()
  std::jthread thread_;
};

// Tokens per second over the steps that started with `streams` sequences running, all past their
// prompts (no prompt tokens in the step); each step observed on its own (not merged by polling).
double full_batch_decode_rate(const std::vector<StepSample>& trace, int streams, int& steps) {
  double secs = 0;
  int64_t tokens = 0;
  steps = 0;
  for (size_t i = 1; i < trace.size(); ++i) {
    const StepSample& a = trace[i - 1];
    const StepSample& b = trace[i];
    if (a.running < streams || b.steps - a.steps != 1 || b.prompt_tokens != a.prompt_tokens) {
      continue;
    }
    secs += std::chrono::duration<double>(b.at - a.at).count();
    tokens += b.tokens - a.tokens;
    ++steps;
  }
  return secs > 0 ? static_cast<double>(tokens) / secs : 0;
}

}  // namespace

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::unique_ptr<LlamaEngine> open_engine(const EngineRunConfig& cfg, engine::Policy policy) {
  engine::LlamaEngineOptions o;
  o.model_path = cfg.model;
  o.threads = cfg.threads;
  o.policy = policy;
  o.slots = cfg.slots;
  // Room for a prompt and its output, and for the longer background generations of the TTFT run.
  o.n_ctx_per_seq = cfg.prompt_tokens + 4 * cfg.gen_tokens;
  o.aging = Clock::duration::zero();
  o.flash_attn = *engine::parse_flash_attn(cfg.flash_attn);
  o.kv_type = *engine::parse_kv_type(cfg.kv_type);
  // Off: these figures compare prefill and decode with llama.cpp's tools, which compute every
  // prompt; repeated prompts here would otherwise be served from the prefix cache (prefix_bench
  // measures that).
  o.prefix_cache = false;
  return std::make_unique<LlamaEngine>(std::move(o));
}

std::string prompt_of_length(const LlamaEngine& engine, int tokens, int variant) {
  static constexpr std::array kWords = {
      "the",    "quiet",  "river", "carried", "small",   "boats",  "past",  "old",
      "stone",  "houses", "while", "children", "watched", "from",  "the",   "bridge",
      "and",    "counted", "every", "sail",   "before",  "supper", "rain",  "came"};
  Request r;
  auto count = [&](const std::string& text) {
    r.prompt = text;
    return static_cast<int>(engine.tokenize_prompt(r).size());
  };
  std::string text = "Note " + std::to_string(variant) + ":";
  for (size_t i = static_cast<size_t>(variant);; ++i) {
    std::string next = text + " " + kWords[i % kWords.size()];
    if (count(next) > tokens) break;
    text = std::move(next);
  }
  while (count(text) < tokens) text += " a";  // one token each: fills to the exact length
  if (count(text) != tokens) {
    throw std::runtime_error("cannot build a prompt of exactly " + std::to_string(tokens) +
                             " tokens with this vocabulary");
  }
  return text;
}

void warm_up(LlamaEngine& engine) {
  engine.submit(greedy_request(prompt_of_length(engine, 32, 99), 8, Priority::tool))->wait();
}

SingleStream measure_single_stream(LlamaEngine& engine, const EngineRunConfig& cfg) {
  SingleStream out;
  const std::string prompt = prompt_of_length(engine, cfg.prompt_tokens, 0);
  std::vector<double> rates, ttfts;
  for (int i = 0; i < cfg.single_reps; ++i) {
    const Result r = engine.submit(greedy_request(prompt, cfg.gen_tokens, Priority::tool))->wait();
    if (r.completion_tokens < cfg.gen_tokens) ++out.ended_early;
    const double secs = decode_seconds(r);
    rates.push_back(secs > 0 ? decoded_after_first(r) / secs : 0);
    ttfts.push_back(r.ttft_ms);
  }
  out.tokens_per_s = std::accumulate(rates.begin(), rates.end(), 0.0) / cfg.single_reps;
  out.ttft_ms = std::accumulate(ttfts.begin(), ttfts.end(), 0.0) / cfg.single_reps;
  return out;
}

Concurrent measure_concurrent(LlamaEngine& engine, engine::Policy policy,
                              const EngineRunConfig& cfg, int streams) {
  std::vector<std::string> prompts;
  for (int i = 0; i < streams; ++i) {
    prompts.push_back(prompt_of_length(engine, cfg.prompt_tokens, i));
  }

  StepTrace trace(engine);
  const Clock::time_point start = Clock::now();
  std::vector<std::unique_ptr<engine::Generation>> gens;
  for (const auto& p : prompts) {
    gens.push_back(engine.submit(greedy_request(p, cfg.gen_tokens, Priority::tool)));
  }
  std::vector<Result> results;
  for (auto& g : gens) results.push_back(g->wait());
  const double wall = seconds_since(start);
  const std::vector<StepSample> steps = trace.stop();

  Concurrent out;
  double decode_secs = 0;
  int decoded = 0;
  int processed = 0;
  for (const Result& r : results) {
    if (r.finish != FinishReason::length || r.completion_tokens < cfg.gen_tokens) ++out.ended_early;
    out.completion_tokens += r.completion_tokens;
    processed += r.prompt_tokens + r.completion_tokens;
    out.mean_ttft_ms += r.ttft_ms / streams;
    out.max_ttft_ms = std::max(out.max_ttft_ms, r.ttft_ms);
    decode_secs += decode_seconds(r);
    decoded += decoded_after_first(r);
  }
  out.end_to_end_tokens_per_s = processed / wall;
  out.decode_tokens_per_s = policy == engine::Policy::serial
                                ? (decode_secs > 0 ? decoded / decode_secs : 0)
                                : full_batch_decode_rate(steps, streams, out.window_steps);
  return out;
}

Ttft measure_chat_ttft(LlamaEngine& engine, const EngineRunConfig& cfg, int background) {
  Ttft out;
  out.background = background;
  const std::string chat = prompt_of_length(engine, cfg.prompt_tokens, 100);
  auto probe = [&] {
    return engine.submit(greedy_request(chat, 4, Priority::interactive))->wait().ttft_ms;
  };
  std::vector<double> idle, loaded;
  for (int i = 0; i < cfg.ttft_probes; ++i) idle.push_back(probe());

  // Background generations long enough to outlast the probes; cancelled afterwards.
  std::vector<std::unique_ptr<engine::Generation>> bg;
  for (int i = 0; i < background; ++i) {
    bg.push_back(engine.submit(greedy_request(prompt_of_length(engine, cfg.prompt_tokens, 200 + i),
                                              3 * cfg.gen_tokens, Priority::background)));
  }
  for (auto& g : bg) g->next_piece();  // every background stream has prefilled and decodes
  for (int i = 0; i < cfg.ttft_probes; ++i) {
    loaded.push_back(probe());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // probe at another step phase
  }
  for (auto& g : bg) g->cancel();
  for (auto& g : bg) {
    if (g->wait().finish != FinishReason::cancelled) ++out.background_ended_early;
  }

  out.idle_ms = median(idle);
  out.loaded_ms = median(loaded);
  return out;
}

}  // namespace agentd::bench
