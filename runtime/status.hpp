// The daemon's live status, for `agentd status` (and, later, the HTTP API): the daemon rewrites
// <data dir>/status.json every couple of seconds (write to a temporary file, then rename, so a
// reader never sees half a file). Everything else `agentd status` shows comes from the database.
#pragma once

#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/llama_engine.hpp"
#include "runtime/agent_catalog.hpp"
#include "runtime/triggers.hpp"
#include "scheduler/dispatcher.hpp"

namespace agentd::runtime {

std::filesystem::path status_file(const std::filesystem::path& db_path);

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
