#include "daemon_memory.hpp"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace agentd::bench::replay {

namespace {

// The value of the sample line that starts with `series` (name and labels, exactly as printed).
uint64_t sample(std::string_view text, std::string_view series) {
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(series) || line.size() <= series.size() || line[series.size()] != ' ') continue;
    std::string_view value = line.substr(series.size() + 1);
    uint64_t v = 0;
    if (std::from_chars(value.data(), value.data() + value.size(), v).ec != std::errc{}) {
      throw std::runtime_error("replay: /metrics: " + std::string(series) + " is not a byte count: " + std::string(value));
    }
    return v;
  }
  throw std::runtime_error("replay: /metrics has no " + std::string(series));
}

uint64_t part(std::string_view text, const char* name) {
  return sample(text, std::string("agentd_memory_bytes{part=\"") + name + "\"}");
}

}  // namespace

DaemonMemory parse_daemon_memory(std::string_view metrics) {
  DaemonMemory m;
  m.resident = sample(metrics, "agentd_resident_bytes");
  m.model = part(metrics, "model");
  m.kv = part(metrics, "kv_cache");
  m.compute = part(metrics, "compute");
  m.prefix_cache = part(metrics, "prefix_cache");
  m.other = part(metrics, "other");
  return m;
}

DaemonMemory read_daemon_memory(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);  // the replay may have left the daemon busy
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) {
    throw std::runtime_error("replay: GET /metrics on 127.0.0.1:" + std::to_string(port) + " failed" +
                             (r ? " with HTTP " + std::to_string(r->status) : ""));
  }
  return parse_daemon_memory(r->body);
}

}  // namespace agentd::bench::replay
