// Metrics for GET /metrics (Prometheus text format): every engine call made through the
// MeteredEngine is counted by priority class (requests, tokens, time to first token and queue
// wait as histograms); the engine's live counters and the task counts are read when rendered
// (the counts from storage's task_counts, kept by triggers: a scrape never scans the tasks table).
// Metrics is safe from any thread (one mutex, never held while calling out).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/llama_engine.hpp"

namespace agentd::runtime {

class Histogram {
 public:
  // Upper bounds in milliseconds; +Inf is implied.
  static const std::vector<double>& bounds();
  void observe(double ms);
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  // The upper bound of the bucket holding the q-quantile (as Prometheus' histogram_quantile
  // would bound it); 0 with no observation, the largest bound for the +Inf bucket.
  double quantile_bound(double q) const;
  uint64_t count() const { return count_; }

 private:
  std::array<uint64_t, 16> buckets_{};  // one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  void observe(scheduler::Priority priority, const engine::Result& result);
  // The whole exposition: our counters, `engine` and `tasks_by_status` as gauges.
  std::string render(const engine::EngineStats& engine, int slots,
                     const std::map<std::string, int64_t>& tasks_by_status) const;
  // Per class (index(Priority)): calls, and TTFT p50 and p95 bounds in ms (the dashboard).
  struct TtftSummary {
    uint64_t calls = 0;
    double p50_ms = 0, p95_ms = 0;
  };
  std::array<TtftSummary, scheduler::kPriorityClasses> ttft_summary() const;

 private:
  struct PerClass {
    std::map<std::string, uint64_t> requests;  // by finish reason
    uint64_t prompt_tokens = 0, completion_tokens = 0;
    Histogram ttft, queue_wait;
  };
  mutable std::mutex mutex_;
  std::array<PerClass, scheduler::kPriorityClasses> classes_;  // GUARDED_BY(mutex_)
};

// The Engine the daemon lends out (agents and HTTP): the real one, with every finished call
// recorded in `metrics`.
class MeteredEngine : public engine::Engine {
 public:
  MeteredEngine(engine::Engine& inner, Metrics& metrics) : inner_(inner), metrics_(metrics) {}
  std::unique_ptr<engine::Generation> submit(engine::Request request) override;
  engine::EngineInfo info() const override { return inner_.info(); }

 private:
  engine::Engine& inner_;
  Metrics& metrics_;
};

}  // namespace agentd::runtime
