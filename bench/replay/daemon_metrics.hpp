// What agentd's /metrics says, read by the replay at the end of a day:
// - its resident memory by part (agentd_memory_bytes{part=...}, agentd_resident_bytes;
//   engine/memory_use.hpp): the model's weights, the KV cache, compute buffers and the prefix
//   store, as llama.cpp and the cache account for them. What is left of the resident size beyond
//   model and KV is what the daemon costs on top of the model it serves;
// - where its engine thread's time went (agentd_engine_*_seconds_total, engine/llama_engine.hpp
//   EngineStats): in steps that decoded, in steps cut for a chat (done again later), waiting for
//   work, and the rest, the loop's own work between steps.
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

struct EngineTime {
  double step_s = 0, cut_step_s = 0, idle_s = 0, state_copy_s = 0;  // state copies are between steps
  uint64_t steps = 0, steps_cut = 0;
  // The counters' growth from `before` to this reading.
  EngineTime since(const EngineTime& before) const;
};

// GET /metrics of the daemon on 127.0.0.1:port; throws std::runtime_error when it does not answer.
std::string read_daemon_metrics(int port);
// Each parses the /metrics text; throws std::runtime_error naming the metric it lacks.
DaemonMemory parse_daemon_memory(std::string_view metrics);
EngineTime parse_engine_time(std::string_view metrics);

}  // namespace agentd::bench::replay
