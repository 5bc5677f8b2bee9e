// The `agentd` command line: each group of commands registers itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "storage/database.hpp"

namespace agentd::runtime {

// Options every command shares.
struct CliGlobals {
  std::string db;      // --db; empty = default_db_path()
  bool json = false;   // --json on listings
  std::filesystem::path db_path() const;
  // Readers never migrate or create the file; writers open (creating) and migrate.
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

void add_history_commands(CLI::App& app, CliGlobals& globals);  // tasks, task
void add_memory_commands(CLI::App& app, CliGlobals& globals);   // memory get|set|list|note|search
void add_db_commands(CLI::App& app, CliGlobals& globals);       // db check|prune|path
void add_daemon_commands(CLI::App& app, CliGlobals& globals);   // run, submit

}  // namespace agentd::runtime
