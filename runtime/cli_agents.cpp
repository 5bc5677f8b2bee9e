// `agentd agents [list|validate|show|plugins]`: what is defined in agents.d and whether it loads.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "agents/registry.hpp"
#include "runtime/agent_config_file.hpp"
#include "runtime/agent_json.hpp"
#include "runtime/cli.hpp"
#include "runtime/time_spec.hpp"
#include "storage/schedule_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

namespace {

using nlohmann::json;

std::string state_of(const AgentEntry& e) {
  return !e.loaded ? "error" : e.loaded->config.enabled ? "enabled" : "disabled";
}

std::string triggers_text(const agents::AgentConfig& c) {
  std::string text;
  for (const auto& t : c.triggers) text += (text.empty() ? "" : "; ") + t.text();
  return text.empty() ? "manual" : text;
}

json entry_json(const AgentEntry& e) {
  json j = {{"name", e.name}, {"file", e.file.string()}, {"state", state_of(e)}};
  if (e.loaded) {
    j["plugin"] = e.loaded->config.plugin;
    j["priority"] = scheduler::to_string(e.loaded->config.priority);
    j["triggers"] = triggers_text(e.loaded->config);
    j["description"] = e.loaded->config.description;
  } else {
    j["error"] = e.error;
  }
  return j;
}

void print_list(const std::vector<AgentEntry>& entries) {
  std::printf("%-16s %-10s %-12s %-9s %s\n", "NAME", "PLUGIN", "PRIORITY", "STATE", "TRIGGERS");
  for (const AgentEntry& e : entries) {
    if (e.loaded) {
      const auto& c = e.loaded->config;
      std::printf("%-16s %-10s %-12s %-9s %s\n", e.name.c_str(), c.plugin.c_str(),
                  std::string(scheduler::to_string(c.priority)).c_str(), state_of(e).c_str(), triggers_text(c).c_str());
    } else {
      std::printf("%-16s %-10s %-12s %-9s %s\n", e.name.c_str(), "?", "?", "error", e.error.c_str());
    }
  }
  if (entries.empty()) std::printf("(no agent files)\n");
}

std::vector<AgentEntry> load(const CliGlobals& g, const ConfigArgs& args, const std::string& dir = "") {
  ConfigArgs a = args;
  if (!dir.empty()) a.agents_dir = dir;
  DaemonOptions o = load_daemon_options(g, a);
  try {
    return load_agents_dir(o.agents, agents::builtin_plugins());
  } catch (const ConfigError& e) {
    throw CliError(e.what(), 1);
  }
}

}  // namespace

void add_agents_commands(CLI::App& app, CliGlobals& g) {
  auto* agents_cmd = app.add_subcommand("agents", "Agents defined in agents.d: list, validate, show, plugins");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(agents_cmd, *args);
  agents_cmd->add_flag("--json", g.json, "Print JSON");

  auto* list = agents_cmd->add_subcommand("list", "Every agent file, its plugin, priority, state and triggers (default)");
  auto list_action = [&g, args] {
    auto entries = load(g, *args);
    if (g.json) {
      json out = json::array();
      for (const auto& e : entries) out.push_back(entry_json(e));
      std::cout << out.dump(2) << '\n';
    } else {
      print_list(entries);
    }
  };
  list->callback(list_action);

  auto* validate = agents_cmd->add_subcommand("validate", "Check every agent file; exit 1 if any has an error");
  auto dir = std::make_shared<std::string>();
  validate->add_option("dir", *dir, "Folder to check (default: the configured agents.d)");
  validate->callback([&g, args, dir] {
    auto entries = load(g, *args, *dir);
    int errors = 0;
    for (const auto& e : entries) {
      if (e.loaded) {
        std::printf("ok     %s (%s)%s\n", e.name.c_str(), e.file.string().c_str(), e.loaded->config.enabled ? "" : " [disabled]");
      } else {
        ++errors;
        std::printf("error  %s\n", e.error.c_str());
      }
    }
    std::printf("%zu agent file(s), %d with errors\n", entries.size(), errors);
    if (errors > 0) throw CliError(std::to_string(errors) + " agent file(s) have errors", 1);
  });

  auto* show = agents_cmd->add_subcommand("show", "One agent's full definition (defaults filled in) and its triggers' state");
  auto name = std::make_shared<std::string>();
  show->add_option("name", *name, "Agent name")->required();
  show->callback([&g, args, name] {
    auto entries = load(g, *args);
    auto it = std::find_if(entries.begin(), entries.end(), [&](const AgentEntry& e) { return e.name == *name; });
    if (it == entries.end()) throw CliError("no agent '" + *name + "'", 1);
    if (!it->loaded) throw CliError(it->error, 1);
    json out = config_json(it->loaded->config);
    if (std::filesystem::exists(g.db_path())) {
      auto db = g.open_reader();
      json schedule = json::array();
      for (const auto& s : storage::ScheduleStore(*db).list()) {
        if (s.agent != *name) continue;
        json j = {{"trigger", s.trigger}};
        if (s.last_fire_at) j["last_fire"] = format_local_time(*s.last_fire_at);
        if (s.next_fire_at) j["next_fire"] = format_local_time(*s.next_fire_at);
        schedule.push_back(j);
      }
      out["schedule"] = schedule;
    }
    std::cout << out.dump(2) << '\n';
  });

  auto* plugins = agents_cmd->add_subcommand("plugins", "The plugins an agent file may name");
  plugins->callback([] {
    auto registry = agents::builtin_plugins();
    for (const auto& p : registry.names()) std::printf("%-12s %s\n", p.c_str(), registry.description(p).c_str());
  });

  agents_cmd->callback([agents_cmd, list_action] {
    if (agents_cmd->get_subcommands().empty()) list_action();
  });
}

}  // namespace agentd::runtime
