// An agent's definition, as read from agents.d/<name>.json (runtime/agent_config_file parses and
// validates it; plugins read their own "settings" object). Plain data: no behaviour here.
//
//   {
//     "name": "news",                       // default: the file name without .json
//     "plugin": "prompt",
//     "description": "Morning news digest",
//     "enabled": true,
//     "priority": "background",             // interactive | tool | background
//     "triggers": [ { "every": "15m", "missed": "run_once" },
//                   { "cron": "0 7 * * 1-5", "tz": "Europe/Paris", "missed": "run_once" },
//                   { "watch": "inbox", "glob": "*.md", "debounce": "2s" },
//                   { "on": "drafter.done" } ],
//     "route": "local",                     // local | cloud | auto (needs "cloud" in agentd.json)
//     "complexity": "low",                  // low | medium | high: auto sends high to the cloud
//     "generation": { "max_tokens": 256, "temperature": 0.7, "top_p": 0.95, "top_k": 40,
//                     "min_p": 0.05, "repeat_penalty": 1.1, "seed": 42, "section_tokens": 400 },
//     "system_prompt": "You are ...",
//     "prompt": "Summarise: {{input}}",
//     "folders": { "read": ["~/Notes"], "write": ["out/news"] },
//     "limits": { "timeout": "10m", "max_concurrent": 1, "max_input_bytes": 1048576 },
//     "settings": { ... }                   // the plugin's own, validated by the plugin
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/priority.hpp"
#include "scheduler/schedule.hpp"

namespace agentd::agents {

struct TriggerConfig {
  enum class Kind { interval, cron, watch, event };
  Kind kind = Kind::interval;
  int64_t every_ms = 0;                                       // interval
  std::string cron, time_zone;                                // cron
  scheduler::MissedRuns missed = scheduler::MissedRuns::run_once;  // interval, cron
  std::filesystem::path folder;                               // watch (absolute)
  std::string glob = "*";                                     // watch
  std::chrono::milliseconds debounce{1000};                   // watch
  std::string event;                                          // event: "<agent>.<name>"

  // Canonical text, the key of this trigger's state in storage:
  // "every 15m", "cron 0 7 * * 1-5 Europe/Paris", "watch /abs/inbox *.md", "on drafter.done".
  std::string text() const;
};

struct GenerationSettings {
  int max_tokens = 256;
  float temperature = 0.7f;
  float top_p = 0.95f;
  int top_k = 40;
  float min_p = 0.05f;
  float repeat_penalty = 1.1f;
  std::optional<uint32_t> seed;  // none = random
  int section_tokens = 400;      // long-form output: most tokens per section (at least 5/8 asked)
  int reasoning_budget = -1;     // a thinking model thinks at most this many tokens (-1: no bound)
};

struct AgentLimits {
  std::chrono::milliseconds timeout{10 * 60'000};  // a task running longer is cancelled
  int max_concurrent = 1;                          // tasks of this agent running at once
  int64_t max_input_bytes = 1 << 20;               // largest file an agent reads
};

struct AgentConfig {
  std::string name;
  std::string plugin;
  std::string description;
  bool enabled = true;
  scheduler::Priority priority = scheduler::Priority::background;
  std::vector<TriggerConfig> triggers;
  std::string route = "local";
  int complexity = 1;  // 1 low, 2 medium, 3 high
  GenerationSettings generation;
  std::string system_prompt;
  std::string prompt;
  std::vector<std::filesystem::path> read_folders;   // absolute, canonical
  std::vector<std::filesystem::path> write_folders;  // absolute, canonical; also readable
  AgentLimits limits;
  nlohmann::json settings = nlohmann::json::object();
  std::filesystem::path file;  // where it was defined
};

}  // namespace agentd::agents
