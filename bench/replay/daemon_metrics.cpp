#include "daemon_metrics.hpp"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace agentd::bench::replay {

namespace {

// The value of the sample line that starts with `series` (name and labels, exactly as printed).
template <typename T>
T sample(std::string_view text, std::string_view series) {
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(series) || line.size() <= series.size() || line[series.size()] != ' ') continue;
    std::string_view value = line.substr(series.size() + 1);
    T v{};
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || ptr != value.data() + value.size()) {
      throw std::runtime_error("replay: /metrics: " + std::string(series) + " is not a count: " + std::string(value));
    }
    return v;
  }
  throw std::runtime_error("replay: /metrics has no " + std::string(series));
}

uint64_t part(std::string_view text, const char* name) {
  return sample<uint64_t>(text, std::string("agentd_memory_bytes{part=\"") + name + "\"}");
}

}  // namespace

EngineTime EngineTime::since(const EngineTime& before) const {
  return {step_s - before.step_s,   cut_step_s - before.cut_step_s, idle_s - before.idle_s,
          state_copy_s - before.state_copy_s, steps - before.steps, steps_cut - before.steps_cut};
}

std::string read_daemon_metrics(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);  // the replay may have left the daemon busy
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) {
    throw std::runtime_error("replay: GET /metrics on 127.0.0.1:" + std::to_string(port) + " failed" +
                             (r ? " with HTTP " + std::to_string(r->status) : ""));
  }
  return r->body;
}

DaemonMemory parse_daemon_memory(std::string_view metrics) {
  DaemonMemory m;
  m.resident = sample<uint64_t>(metrics, "agentd_resident_bytes");
  m.model = part(metrics, "model");
  m.kv = part(metrics, "kv_cache");
  m.compute = part(metrics, "compute");
  m.prefix_cache = part(metrics, "prefix_cache");
  m.other = part(metrics, "other");
  return m;
}

EngineTime parse_engine_time(std::string_view metrics) {
  EngineTime t;
  t.step_s = sample<double>(metrics, "agentd_engine_step_seconds_total");
  t.cut_step_s = sample<double>(metrics, "agentd_engine_cut_step_seconds_total");
  t.idle_s = sample<double>(metrics, "agentd_engine_idle_seconds_total");
  t.state_copy_s = sample<double>(metrics, "agentd_engine_state_copy_seconds_total");
  t.steps = sample<uint64_t>(metrics, "agentd_engine_decode_steps_total");
  t.steps_cut = sample<uint64_t>(metrics, "agentd_engine_steps_cut_total");
  return t;
}

}  // namespace agentd::bench::replay
