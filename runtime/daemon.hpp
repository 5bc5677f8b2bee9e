// `agentd run`: the daemon. Start-up is a flat list of named, timed steps:
//   open the data directory and log → take the lock → open storage and migrate → recover
//   interrupted tasks → load the model → serve.
// Serving, at this stage of the project: every queued task is run as one chat request (its input
// as the user message) on the shared engine, each task in its own fiber on the agent thread, up to
// `concurrency` at a time, most urgent class first. The agent plugins, triggers and the
// Dispatcher with per-agent limits replace this loop with the runtime issue.
//
// SIGTERM / SIGINT: stop claiming tasks, let running ones finish within `grace`, then cancel the
// rest and record them as interrupted. On the next start, interrupted tasks are queued again
// (attempt + 1) until `max_attempts`, after which they are marked failed — a task that crashes the
// daemon every time cannot keep it in a crash loop.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "engine/llama_engine.hpp"
#include "runtime/logging.hpp"

namespace agentd::runtime {

struct DaemonOptions {
  std::filesystem::path db_path;        // its folder is the data directory (log, lock)
  engine::LlamaEngineOptions engine;
  LogOptions log;
  int concurrency = 4;                  // tasks running at once
  int max_tokens = 256;                 // per model call
  int max_attempts = 3;                 // runs of one task across interruptions
  std::chrono::milliseconds grace{30'000};
  std::chrono::milliseconds poll{200};  // how often the queue is looked at for new tasks
};

// Runs until SIGTERM/SIGINT. Returns the process exit code; start-up failures are logged with
// what and where and give 1.
int run_daemon(const DaemonOptions& options);

}  // namespace agentd::runtime
