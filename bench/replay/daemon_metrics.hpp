// agentd's resident memory by part, as its /metrics reports it (agentd_memory_bytes{part=...},
// agentd_resident_bytes; engine/memory_use.hpp): the model's weights, the KV cache, compute
// buffers and the prefix store, as llama.cpp and the cache account for them. What is left of the
// resident size beyond model and KV is what the daemon costs on top of the model it serves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentd::bench::replay {

struct DaemonMemory {
  uint64_t resident = 0, model = 0, kv = 0, compute = 0, prefix_cache = 0, other = 0;
  // resident - model - KV (compute buffers and the prefix store included), never below 0
  uint64_t beyond_model_kv() const { return resident > model + kv ? resident - model - kv : 0; }
};

// Parses the /metrics text; throws std::runtime_error naming the metric it lacks.
DaemonMemory parse_daemon_memory(std::string_view metrics);
// GET /metrics of the daemon on 127.0.0.1:port; throws std::runtime_error when it does not answer.
DaemonMemory read_daemon_memory(int port);

}  // namespace agentd::bench::replay
