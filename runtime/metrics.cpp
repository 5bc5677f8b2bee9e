#include "runtime/metrics.hpp"

#include <cstdio>

namespace agentd::runtime {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Records the result the first time the caller waits for it. A generation dropped without a
// wait() is not counted (every caller in the daemon waits, streaming ones after the last piece).
class MeteredGeneration : public engine::Generation {
 public:
  MeteredGeneration(std::unique_ptr<engine::Generation> inner, scheduler::Priority priority, Metrics& metrics)
      : inner_(std::move(inner)), priority_(priority), metrics_(metrics) {}
  std::optional<std::string> next_piece() override { return inner_->next_piece(); }
  std::optional<engine::MessageDelta> next_delta() override { return inner_->next_delta(); }
  void cancel() override { inner_->cancel(); }
  engine::Result wait() override {
    engine::Result r = inner_->wait();
    if (!recorded_) {
      recorded_ = true;
      metrics_.observe(priority_, r);
    }
    return r;
  }

 private:
  std::unique_ptr<engine::Generation> inner_;
  scheduler::Priority priority_;
  Metrics& metrics_;
  bool recorded_ = false;
};

}  // namespace

const std::vector<double>& Histogram::bounds() {
  static const std::vector<double> b = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000};
  return b;
}

void Histogram::observe(double ms) {
  const auto& b = bounds();
  size_t i = 0;
  while (i < b.size() && ms > b[i]) ++i;
  ++buckets_[i];
  sum_ += ms;
  ++count_;
}

double Histogram::quantile_bound(double q) const {
  if (count_ == 0) return 0;
  const auto& b = bounds();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    cumulative += buckets_[i];
    if (static_cast<double>(cumulative) >= q * static_cast<double>(count_)) return b[i];
  }
  return b.back();
}

std::array<Metrics::TtftSummary, scheduler::kPriorityClasses> Metrics::ttft_summary() const {
  std::lock_guard lock(mutex_);
  std::array<TtftSummary, scheduler::kPriorityClasses> out;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = {classes_[i].ttft.count(), classes_[i].ttft.quantile_bound(0.5), classes_[i].ttft.quantile_bound(0.95)};
  }
  return out;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  const auto& b = bounds();
  for (size_t i = 0; i <= b.size(); ++i) {
    cumulative += buckets_[i];
    std::string le = i < b.size() ? number(b[i]) : "+Inf";
    out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum{" + labels + "} " + number(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

void Metrics::observe(scheduler::Priority priority, const engine::Result& r) {
  std::lock_guard lock(mutex_);
  PerClass& c = classes_[static_cast<size_t>(scheduler::index(priority))];
  ++c.requests[engine::to_string(r.finish)];
  c.prompt_tokens += static_cast<uint64_t>(r.prompt_tokens);
  c.completion_tokens += static_cast<uint64_t>(r.completion_tokens);
  if (r.completion_tokens > 0) c.ttft.observe(r.ttft_ms);
  c.queue_wait.observe(r.queue_wait_ms);
}

namespace {

void metric(std::string& out, const std::string& name, const char* type, const char* help, const std::string& value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + value + "\n";
}

void metric(std::string& out, const std::string& name, const char* type, const char* help, int64_t value) {
  metric(out, name, type, help, std::to_string(value));
}

void render_engine_counters(std::string& out, const engine::EngineStats& e) {
  metric(out, "agentd_engine_preemptions_total", "counter", "Sequences paused for a more urgent class.", e.preemptions);
  metric(out, "agentd_engine_steps_cut_total", "counter",
         "Decode steps aborted and run again so that an arriving chat started at once.", e.steps_cut);
  metric(out, "agentd_engine_step_seconds_total", "counter", "Time the engine spent in decode steps that decoded.",
         number(e.step_seconds));
  metric(out, "agentd_engine_cut_step_seconds_total", "counter",
         "Time the engine spent in decode steps that were cut for a chat (their tokens are decoded again).",
         number(e.cut_step_seconds));
  metric(out, "agentd_engine_idle_seconds_total", "counter", "Time the engine thread waited for work.",
         number(e.idle_seconds));
  metric(out, "agentd_engine_state_copy_seconds_total", "counter",
         "Time the engine spent copying KV states between steps: out to the prefix store or a paused sequence's "
         "buffer, and back in.",
         number(e.state_copy_seconds));
  metric(out, "agentd_engine_prefix_moves_total", "counter",
         "Reused prefixes copied to another KV stream so that the running sequences' ids stay consecutive (one ubatch "
         "per step).",
         e.prefix_moves);
}

void render_prefix_cache(std::string& out, const engine::EngineStats& e) {
  metric(out, "agentd_prefix_cache_hit_tokens_total", "counter",
         "Prompt tokens not prefilled: their KV came from the prefix cache.", e.prompt_tokens_cached);
  metric(out, "agentd_prefix_cache_miss_tokens_total", "counter", "Prompt tokens prefilled.", e.prompt_tokens);
  metric(out, "agentd_prefix_cache_evictions_total", "counter", "Prefixes dropped from RAM to stay under the cap.",
         e.prefix_cache.evictions);
  metric(out, "agentd_prefix_cache_entries", "gauge", "Prefixes stored (RAM or disk).", e.prefix_cache.entries);
  metric(out, "agentd_prefix_cache_ram_bytes", "gauge", "Bytes of prefix KV state held in RAM.", e.prefix_cache.ram_bytes);
  metric(out, "agentd_prefix_cache_disk_bytes", "gauge", "Bytes of prefix-cache files on disk.", e.prefix_cache.disk_bytes);
  metric(out, "agentd_state_spare_bytes", "gauge",
         "Bytes of freed KV state buffers kept mapped for the next state (given back when idle).", e.state_spare_bytes);
}

void render_memory(std::string& out, const engine::EngineStats& e) {
  auto m = engine::split_resident(e.memory, e.prefix_cache.ram_bytes + e.state_spare_bytes, engine::resident_bytes());
  out += "# HELP agentd_memory_bytes Resident memory by part: the model's weights, the KV cache, compute buffers, "
         "the prefix store with its spare buffers, and the rest of the process.\n# TYPE agentd_memory_bytes gauge\n";
  for (auto [part, bytes] : {std::pair{"model", m.model}, {"kv_cache", m.kv}, {"compute", m.compute},
                             {"prefix_cache", m.prefix_cache}, {"other", m.other}}) {
    out += "agentd_memory_bytes{part=\"" + std::string(part) + "\"} " + std::to_string(bytes) + "\n";
  }
  metric(out, "agentd_resident_bytes", "gauge", "Resident memory of the process (VmRSS).", static_cast<int64_t>(m.resident));
  metric(out, "agentd_memory_locked_bytes", "gauge", "Memory locked in RAM (VmLck; engine.mlock).",
         static_cast<int64_t>(m.locked));
  out += "# HELP agentd_cpu_backend_info The CPU backend variant computing (engine.cpu_variant), as a label.\n"
         "# TYPE agentd_cpu_backend_info gauge\nagentd_cpu_backend_info{variant=\"" + e.cpu_backend + "\"} 1\n";
}

}  // namespace

std::string Metrics::render(const engine::EngineStats& engine, int slots,
                            const std::map<std::string, int64_t>& tasks_by_status) const {
  std::string out;
  out += "# HELP agentd_queue_depth Requests waiting for a first engine slot, by priority class.\n";
  out += "# TYPE agentd_queue_depth gauge\n";
  for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
    const auto& c = engine.by_class[static_cast<size_t>(scheduler::index(p))];
    out += "agentd_queue_depth{class=\"" + std::string(scheduler::to_string(p)) + "\"} " + std::to_string(c.queued) + "\n";
  }
  out += "# HELP agentd_slots_busy Engine slots held by a running sequence, by priority class.\n";
  out += "# TYPE agentd_slots_busy gauge\n";
  for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
    const auto& c = engine.by_class[static_cast<size_t>(scheduler::index(p))];
    out += "agentd_slots_busy{class=\"" + std::string(scheduler::to_string(p)) + "\"} " + std::to_string(c.running) + "\n";
  }
  out += "# HELP agentd_slots Engine slots in all.\n# TYPE agentd_slots gauge\nagentd_slots " + std::to_string(slots) + "\n";
  out += "# HELP agentd_engine_decode_steps_total Decode steps the engine ran (llama_decode calls); priorities are measured in these.\n";
  out += "# TYPE agentd_engine_decode_steps_total counter\n";
  out += "agentd_engine_decode_steps_total " + std::to_string(engine.decode_steps) + "\n";
  out += "# HELP agentd_engine_tokens_generated_total Completion tokens sampled by the engine.\n";
  out += "# TYPE agentd_engine_tokens_generated_total counter\n";
  out += "agentd_engine_tokens_generated_total " + std::to_string(engine.tokens_generated) + "\n";
  out += "# HELP agentd_engine_prompt_tokens_total Prompt tokens prefilled by the engine.\n";
  out += "# TYPE agentd_engine_prompt_tokens_total counter\n";
  out += "agentd_engine_prompt_tokens_total " + std::to_string(engine.prompt_tokens) + "\n";
  render_prefix_cache(out, engine);
  render_memory(out, engine);
  render_engine_counters(out, engine);
  {
    std::lock_guard lock(mutex_);
    out += "# HELP agentd_requests_total Finished engine calls by class and finish reason.\n";
    out += "# TYPE agentd_requests_total counter\n";
    for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
      const PerClass& c = classes_[static_cast<size_t>(scheduler::index(p))];
      for (const auto& [finish, n] : c.requests) {
        out += "agentd_requests_total{class=\"" + std::string(scheduler::to_string(p)) + "\",finish=\"" + finish + "\"} " +
               std::to_string(n) + "\n";
      }
    }
    out += "# HELP agentd_completion_tokens_total Completion tokens of finished calls, by class.\n";
    out += "# TYPE agentd_completion_tokens_total counter\n";
    for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
      const PerClass& c = classes_[static_cast<size_t>(scheduler::index(p))];
      out += "agentd_completion_tokens_total{class=\"" + std::string(scheduler::to_string(p)) + "\"} " +
             std::to_string(c.completion_tokens) + "\n";
    }
    out += "# HELP agentd_ttft_ms Time from submit to the first token, milliseconds.\n# TYPE agentd_ttft_ms histogram\n";
    for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
      classes_[static_cast<size_t>(scheduler::index(p))].ttft.render(out, "agentd_ttft_ms",
                                                                     "class=\"" + std::string(scheduler::to_string(p)) + "\"");
    }
    out += "# HELP agentd_queue_wait_ms Time from submit to admission, milliseconds.\n# TYPE agentd_queue_wait_ms histogram\n";
    for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
      classes_[static_cast<size_t>(scheduler::index(p))].queue_wait.render(
          out, "agentd_queue_wait_ms", "class=\"" + std::string(scheduler::to_string(p)) + "\"");
    }
  }
  out += "# HELP agentd_tasks Tasks in the database by status.\n# TYPE agentd_tasks gauge\n";
  for (const auto& [status, n] : tasks_by_status) {
    out += "agentd_tasks{status=\"" + status + "\"} " + std::to_string(n) + "\n";
  }
  return out;
}

std::unique_ptr<engine::Generation> MeteredEngine::submit(engine::Request request) {
  scheduler::Priority priority = request.priority;
  return std::make_unique<MeteredGeneration>(inner_.submit(std::move(request)), priority, metrics_);
}

}  // namespace agentd::runtime
