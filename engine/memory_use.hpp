// What the engine's memory is made of, as llama.cpp allocated it (weights, KV cache, compute
// buffers), and the memory lock that keeps the weights in RAM (engine.mlock). The daemon's status
// and /metrics put these beside the process's resident size, so what agentd itself costs beyond
// the model is a subtraction a user can read.
#pragma once

#include <cstdint>
#include <string>

struct llama_context;

namespace agentd::engine {

struct EngineMemory {
  uint64_t model_bytes = 0;    // the weights' buffers
  uint64_t kv_bytes = 0;       // the KV cache, every stream
  uint64_t compute_bytes = 0;  // compute buffers (the graph's intermediate tensors)
  uint64_t locked_bytes = 0;   // process memory locked in RAM (VmLck) once the model was loaded
};

// Per llama.cpp's own accounting of its buffers (all buffer types summed).
EngineMemory engine_memory(const llama_context* ctx);

// The process's resident memory split into the engine's parts and the rest: agentd itself (its
// fibers, SQLite, HTTP, agents), as `agentd status` and /metrics report it. `other` is what is
// left of `resident` once the engine's buffers and the prefix store are taken off (never below 0).
struct MemorySplit {
  uint64_t model = 0, kv = 0, compute = 0, prefix_cache = 0, other = 0, resident = 0, locked = 0;
};
MemorySplit split_resident(const EngineMemory& engine, uint64_t prefix_cache_bytes, uint64_t resident);

// From /proc/self/status (Linux); 0 where the kernel does not say.
uint64_t resident_bytes();  // VmRSS
uint64_t locked_bytes();    // VmLck

// Before loading `model_bytes` of weights with mlock: raises the soft RLIMIT_MEMLOCK towards the
// hard one when the soft one is too small (an unprivileged process may). Returns "" or a warning.
std::string prepare_memory_lock(uint64_t model_bytes);
// After loading with mlock: "" when the weights are locked, else what to do about it.
std::string memory_lock_advice(uint64_t model_bytes, uint64_t locked, uint64_t limit_bytes);
uint64_t memory_lock_limit();  // the soft RLIMIT_MEMLOCK; UINT64_MAX = unlimited

}  // namespace agentd::engine
