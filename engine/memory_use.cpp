#include "engine/memory_use.hpp"

#include <sys/resource.h>

#include <fstream>
#include <limits>
#include <string_view>

#if __has_include("llama-ext.h")  // llama.cpp's staging API, in the pinned source (src/)
#include "llama-ext.h"
#define AGENTD_HAVE_LLAMA_BREAKDOWN 1
#endif

namespace agentd::engine {
namespace {

// A "Name:   1234 kB" line of /proc/self/status, in bytes.
uint64_t status_kib(std::string_view name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, name.size(), name) == 0 && line.size() > name.size() && line[name.size()] == ':') {
      return std::stoull(line.substr(name.size() + 1)) * 1024;
    }
  }
  return 0;
}

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

EngineMemory engine_memory(const llama_context* ctx) {
  EngineMemory m;
#ifdef AGENTD_HAVE_LLAMA_BREAKDOWN
  for (const auto& [type, use] : llama_get_memory_breakdown(ctx)) {
    m.model_bytes += use.model;
    m.kv_bytes += use.context;
    m.compute_bytes += use.compute;
  }
#else
  (void)ctx;  // an installed llama.cpp without the staging header: the figures stay 0 (unknown)
#endif
  m.locked_bytes = locked_bytes();
  return m;
}

MemorySplit split_resident(const EngineMemory& engine, uint64_t prefix_cache_bytes, uint64_t resident) {
  MemorySplit s{engine.model_bytes, engine.kv_bytes, engine.compute_bytes, prefix_cache_bytes, 0, resident,
                engine.locked_bytes};
  const uint64_t known = s.model + s.kv + s.compute + s.prefix_cache;
  s.other = resident > known ? resident - known : 0;
  return s;
}

uint64_t resident_bytes() { return status_kib("VmRSS"); }
uint64_t locked_bytes() { return status_kib("VmLck"); }

uint64_t memory_lock_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_MEMLOCK, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return std::numeric_limits<uint64_t>::max();
  return r.rlim_cur;
}

std::string prepare_memory_lock(uint64_t model_bytes) {
  rlimit r{};
  if (getrlimit(RLIMIT_MEMLOCK, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= model_bytes) return "";
  rlimit raised = r;
  raised.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max >= model_bytes ? model_bytes : r.rlim_max;
  if (raised.rlim_cur > r.rlim_cur && setrlimit(RLIMIT_MEMLOCK, &raised) != 0) {
    return "engine.mlock: could not raise the memory-lock limit from " + mib(r.rlim_cur) + " to " + mib(raised.rlim_cur);
  }
  return "";
}

std::string memory_lock_advice(uint64_t model_bytes, uint64_t locked, uint64_t limit_bytes) {
  if (locked >= model_bytes - model_bytes / 10) return "";  // VmLck counts pages; buffers round differently
  std::string limit = limit_bytes == std::numeric_limits<uint64_t>::max() ? "unlimited" : mib(limit_bytes);
  return "engine.mlock: only " + mib(locked) + " of the model's " + mib(model_bytes) +
         " could be locked in RAM (memory-lock limit: " + limit + "), so the OS may page the weights out " +
         "under memory pressure; going on unlocked. To lock them, raise the limit for agentd: " +
         "`ulimit -l unlimited` in the shell that starts it, LimitMEMLOCK=infinity in its systemd unit, or a " +
         "'memlock' line in /etc/security/limits.conf";
}

}  // namespace agentd::engine
