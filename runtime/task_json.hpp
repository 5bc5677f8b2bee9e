// JSON forms of stored records, shared by the CLI's --json output and (later) the HTTP API.
#pragma once

#include <nlohmann/json.hpp>

#include "storage/memory_store.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

nlohmann::json to_json(const storage::Task& task);
nlohmann::json to_json(const storage::TaskEvent& event);
nlohmann::json to_json(const storage::Section& section);
nlohmann::json to_json(const storage::Note& note);
nlohmann::json to_json(const storage::AgentStats& stats);

}  // namespace agentd::runtime
