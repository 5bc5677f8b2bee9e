// `agentd run`: the daemon. Start-up is a flat list of named, timed steps:
//   open the data directory and log → take the lock → open storage and migrate → recover
//   interrupted tasks → load the model → load agents → start triggers → start HTTP → serve.
//
// Serving: one agent thread runs every agent fiber under the priority scheduling algorithm
// (scheduler/fiber_priority). On it, the Dispatcher claims queued tasks of loaded agents (most
// urgent class first, per-agent limits, timeouts) and runs each through its agent
// (runtime/task_runner); a housekeeping fiber fires triggers (runtime/triggers), reloads agents.d
// on SIGHUP, notices tasks cancelled by another process, and writes status.json. New work also
// arrives through the database from other processes (`agentd submit`): the queue is looked at
// every `poll`.
//
// Recovery policy at start-up: tasks left running by a crash are marked interrupted; interrupted
// tasks are queued again (attempt + 1) until `max_attempts`, after which they are marked failed —
// a task that crashes the daemon every time cannot keep it in a crash loop. An agent sees its
// attempt number (TaskContext::attempt) and can resume from what it stored.
//
// SIGTERM / SIGINT: stop claiming tasks, let running ones finish within `grace`, then cancel the
// rest and record them as interrupted. SIGHUP: reload agents.d; running tasks keep the
// definition they started with; a broken file disables only its agent.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/llama_engine.hpp"
#include "engine/openai_engine.hpp"
#include "engine/router.hpp"
#include "runtime/agent_config_file.hpp"
#include "runtime/http_server.hpp"
#include "runtime/logging.hpp"

namespace agentd::runtime {

struct CloudOptions {
  engine::OpenAIEngineOptions engine;
  engine::Prices prices;
  int escalate_complexity = 3;  // auto sends agents of this complexity or more to the cloud
};

struct DaemonOptions {
  std::filesystem::path db_path;        // its folder is the data directory (log, lock, status)
  engine::LlamaEngineOptions engine;
  LogOptions log;
  AgentsOptions agents;                 // where agents.d is, which folders agents may name
  HttpOptions http;                     // the OpenAI-compatible endpoint and control API
  std::optional<CloudOptions> cloud;    // a bigger model elsewhere, for agents routed cloud/auto
  int concurrency = 4;                  // tasks running at once
  int max_attempts = 3;                 // runs of one task across interruptions
  std::chrono::milliseconds grace{30'000};
  std::chrono::milliseconds stuck_after{60'000};  // a task still running this long after it was
                                                  // cancelled is recorded stuck, its slot freed
  std::chrono::milliseconds poll{200};  // how often the queue and the triggers are looked at
};

// Runs until SIGTERM/SIGINT. Returns the process exit code; start-up failures are logged with
// what and where and give 1.
int run_daemon(const DaemonOptions& options);

}  // namespace agentd::runtime
