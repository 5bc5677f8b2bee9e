// The `agentd` command line: each group of commands registers itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "runtime/daemon.hpp"
#include "storage/database.hpp"

namespace agentd::runtime {

// Options every command shares.
struct CliGlobals {
  std::string db;      // --db; empty = default_db_path()
  bool json = false;   // --json on listings
  std::filesystem::path db_path() const;
  // Readers never migrate or create the file, and refuse a file at an older schema version with
  // what upgrades it; writers open (creating) and migrate.
  std::unique_ptr<storage::Database> open_reader() const;
  std::unique_ptr<storage::Database> open_writer() const;
};

// A user-facing failure with a message and no stack of context: printed as "agentd: <message>".
class CliError : public std::runtime_error {
 public:
  explicit CliError(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// --config and --agents, for the commands that read agentd.json and agents.d.
struct ConfigArgs {
  std::string config;      // agentd.json; empty = <data dir>/agentd.json when it exists
  std::string agents_dir;  // overrides "agents": {"dir"}
};
void add_config_args(CLI::App* command, ConfigArgs& args);
// Built-in defaults < agentd.json < --agents; agents.dir and roots filled in. Throws ConfigError.
DaemonOptions load_daemon_options(const CliGlobals& globals, const ConfigArgs& args);

void add_history_commands(CLI::App& app, CliGlobals& globals);  // tasks, task
void add_memory_commands(CLI::App& app, CliGlobals& globals);   // memory get|set|list|note|search
void add_db_commands(CLI::App& app, CliGlobals& globals);       // db check|prune|path
void add_daemon_commands(CLI::App& app, CliGlobals& globals);   // run, submit, cancel
void add_agents_commands(CLI::App& app, CliGlobals& globals);   // agents list|validate|show|plugins
void add_status_command(CLI::App& app, CliGlobals& globals);    // status
void add_chat_command(CLI::App& app, CliGlobals& globals);      // chat

}  // namespace agentd::runtime
