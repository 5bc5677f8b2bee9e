// `agentd db ...`: integrity, retention, and where the database is.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "runtime/cli.hpp"
#include "runtime/paths.hpp"
#include "runtime/time_spec.hpp"
#include "storage/retention.hpp"
#include "storage/schema.hpp"

namespace agentd::runtime {

std::filesystem::path CliGlobals::db_path() const { return db.empty() ? default_db_path() : std::filesystem::path(db); }

std::unique_ptr<storage::Database> CliGlobals::open_reader() const {
  auto db = storage::open_database(db_path(), storage::OpenMode::read_only);
  // This build's queries need its schema (a text filter reads schema 8's index), and a reader
  // does not change the file: say what upgrades it rather than fail inside a query.
  if (int v = db->user_version(); v > 0 && v < storage::latest_schema_version()) {
    throw CliError(db_path().string() + ": schema version " + std::to_string(v) + ", written by an older agentd; this one reads version " +
                   std::to_string(storage::latest_schema_version()) +
                   ". Start the daemon (agentd run) once, or run any command that writes, to upgrade the file.");
  }
  return db;
}

std::unique_ptr<storage::Database> CliGlobals::open_writer() const {
  auto path = db_path();
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  return storage::open_database(path, storage::OpenMode::read_write);
}

void add_db_commands(CLI::App& app, CliGlobals& g) {
  auto* db = app.add_subcommand("db", "Database maintenance");
  db->require_subcommand(1);

  auto* check = db->add_subcommand("check", "Check the database's integrity (exit 1 if damaged)");
  check->add_flag("--json", g.json, "Print a JSON object");
  check->callback([&g] {
    auto conn = storage::open_database(g.db_path(), storage::OpenMode::read_only);  // any version: it only checks
    std::string result = storage::integrity_check(*conn);
    int version = conn->user_version();
    if (g.json) {
      std::cout << nlohmann::json{{"path", conn->path().string()}, {"schema_version", version},
                                  {"ok", result == "ok"}, {"problems", result == "ok" ? "" : result}}
                       .dump(2)
                << '\n';
    } else {
      std::printf("%s: schema version %d: %s\n", conn->path().c_str(), version, result.c_str());
    }
    if (result != "ok") throw CliError("integrity check failed for " + conn->path().string());
  });

  auto* prune = db->add_subcommand("prune", "Delete ended tasks (and their timelines) older than a cut-off");
  auto older = std::make_shared<std::string>();
  prune->add_option("--older-than", *older, "Age, e.g. 30d or 12h")->required();
  prune->add_flag("--json", g.json, "Print a JSON object");
  prune->callback([&g, older] {
    auto age = parse_duration_ms(*older);
    if (!age) throw CliError("--older-than: '" + *older + "' is not a duration (e.g. 30d, 12h)", 2);
    auto conn = g.open_writer();
    auto result = storage::prune_history(*conn, storage::now_ms() - *age);
    if (g.json) {
      std::cout << nlohmann::json{{"tasks", result.tasks}, {"events", result.events}}.dump(2) << '\n';
    } else {
      std::printf("pruned %lld tasks and %lld events older than %s\n", static_cast<long long>(result.tasks),
                  static_cast<long long>(result.events), older->c_str());
    }
  });

  auto* path = db->add_subcommand("path", "Print the database path in use");
  path->callback([&g] { std::printf("%s\n", g.db_path().c_str()); });
}

}  // namespace agentd::runtime
