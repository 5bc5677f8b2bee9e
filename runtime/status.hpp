// The daemon's live status, for `agentd status` (and, later, the HTTP API): the daemon rewrites
// <data dir>/status.json every couple of seconds (write to a temporary file, then rename, so a
// reader never sees half a file). Everything else `agentd status` shows comes from the database.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/llama_engine.hpp"
#include "runtime/agent_catalog.hpp"
#include "runtime/triggers.hpp"
#include "scheduler/dispatcher.hpp"
#include "storage/database.hpp"

namespace agentd::runtime {

std::filesystem::path status_file(const std::filesystem::path& db_path);

// The latest status snapshot, shared between the agent thread (writes) and HTTP threads (read).
class StatusBoard {
 public:
  void set(nlohmann::json status) {
    std::lock_guard lock(mutex_);
    status_ = std::move(status);
  }
  nlohmann::json get() const {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  nlohmann::json status_ = nlohmann::json::object();  // GUARDED_BY(mutex_)
};

// What the database says: queue per class, task counts by status, each agent's task counts,
// last and next run. Used by `agentd status` and GET /api/status.
// Also "decode_last_hour" (decode_last_hour below).
nlohmann::json database_status(storage::Database& db);

// The model's decode speed over the last hour from the recorded llm_call events: completion
// tokens over decode seconds, in all and per 5-minute bucket, oldest first:
//   {"since": MS, "window_ms": 3600000, "bucket_ms": 300000, "tokens": N, "tokens_per_s": X or null,
//    "buckets": [{"start": MS, "tokens": N, "tokens_per_s": X}, ...]}  (buckets with calls only)
// One index range over the hour's calls (schema v6), cheap enough for every live tick.
nlohmann::json decode_last_hour(storage::Database& db, int64_t now_ms);

// Tokens per second between two samples of the engine's counters.
class ThroughputMeter {
 public:
  double update(int64_t tokens, int64_t now_ms);

 private:
  int64_t last_tokens_ = 0, last_ms_ = 0;
  double rate_ = 0;
};

nlohmann::json status_json(int64_t started_at, const engine::LlamaEngine& engine, double tokens_per_s,
                           const scheduler::DispatcherSnapshot& dispatcher, const AgentCatalog& catalog,
                           const TriggerRunner& triggers, bool stopping);

void write_status_file(const std::filesystem::path& path, const nlohmann::json& status);
// nullopt if missing or unreadable.
std::optional<nlohmann::json> read_status_file(const std::filesystem::path& path);

}  // namespace agentd::runtime
