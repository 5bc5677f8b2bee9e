// `agentd memory ...`: an agent's key/value memory and its searchable notes.
#include <cstdio>
#include <iostream>

#include "runtime/cli.hpp"
#include "runtime/task_json.hpp"
#include "runtime/time_spec.hpp"

namespace agentd::runtime {

namespace {

struct MemoryArgs {
  std::string agent, key, value, query;
  int limit = 10;
};

}  // namespace

void add_memory_commands(CLI::App& app, CliGlobals& g) {
  auto* memory = app.add_subcommand("memory", "Read and write an agent's memory and notes");
  memory->require_subcommand(1);
  auto a = std::make_shared<MemoryArgs>();

  auto* get = memory->add_subcommand("get", "Print the JSON value stored under KEY");
  get->add_option("agent", a->agent, "Agent name")->required();
  get->add_option("key", a->key, "Key")->required();
  get->callback([&g, a] {
    auto db = g.open_reader();
    auto value = storage::MemoryStore(*db).get(a->agent, a->key);
    if (!value) throw CliError("agent '" + a->agent + "' has no memory key '" + a->key + "'");
    std::cout << value->dump(g.json ? 2 : -1) << '\n';
  });
  get->add_flag("--json", g.json, "Pretty-print the value");

  auto* set = memory->add_subcommand("set", "Store VALUE under KEY (VALUE is JSON; anything else is kept as a string)");
  set->add_option("agent", a->agent, "Agent name")->required();
  set->add_option("key", a->key, "Key")->required();
  set->add_option("value", a->value, "Value")->required();
  set->callback([&g, a] {
    auto value = nlohmann::json::parse(a->value, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = a->value;
    auto db = g.open_writer();
    storage::MemoryStore(*db).set(a->agent, a->key, value);
  });

  auto* list = memory->add_subcommand("list", "List an agent's keys and values");
  list->add_option("agent", a->agent, "Agent name")->required();
  list->add_flag("--json", g.json, "Print a JSON object");
  list->callback([&g, a] {
    auto db = g.open_reader();
    auto entries = storage::MemoryStore(*db).list(a->agent);
    if (g.json) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& e : entries) out[e.key] = e.value;
      std::cout << out.dump(2) << '\n';
      return;
    }
    for (const auto& e : entries) {
      std::printf("%-24s %s  %s\n", e.key.c_str(), format_local_time(e.updated_at).c_str(), e.value.dump().c_str());
    }
    if (entries.empty()) std::printf("(agent '%s' has no memory keys)\n", a->agent.c_str());
  });

  auto* note = memory->add_subcommand("note", "Add a free-text note to an agent's notes");
  note->add_option("agent", a->agent, "Agent name")->required();
  note->add_option("text", a->value, "Note text")->required();
  note->callback([&g, a] {
    auto db = g.open_writer();
    std::printf("%lld\n", static_cast<long long>(storage::MemoryStore(*db).add_note(a->agent, a->value)));
  });

  auto* search = memory->add_subcommand("search", "Full-text search of an agent's notes, best match first");
  search->add_option("agent", a->agent, "Agent name")->required();
  search->add_option("query", a->query, "Words to look for")->required();
  search->add_option("--limit,-n", a->limit, "At most this many notes")->check(CLI::PositiveNumber);
  search->add_flag("--json", g.json, "Print a JSON array");
  search->callback([&g, a] {
    auto db = g.open_reader();
    auto notes = storage::MemoryStore(*db).search_notes(a->agent, a->query, a->limit);
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& n : notes) out.push_back(to_json(n));
      std::cout << out.dump(2) << '\n';
      return;
    }
    for (const auto& n : notes) {
      std::printf("%-6lld %s  %s\n", static_cast<long long>(n.id), format_local_time(n.at).c_str(), n.text.c_str());
    }
    if (notes.empty()) std::printf("(no matching notes)\n");
  });
}

}  // namespace agentd::runtime
