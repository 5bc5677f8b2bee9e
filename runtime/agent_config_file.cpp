#include "runtime/agent_config_file.hpp"

#include "agents/event_name.hpp"
#include "agents/file_access.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <date/tz.h>

#include "scheduler/bounded_json.hpp"

namespace agentd::runtime {

namespace fs = std::filesystem;
using agents::AgentConfig;
using agents::ConfigReader;
using agents::TriggerConfig;

namespace {

const std::vector<std::string> kTopKeys = {"name",   "plugin", "description",   "enabled", "priority",
                                           "triggers", "route", "complexity", "generation", "system_prompt", "prompt",
                                           "folders", "limits", "settings"};

fs::path home_folder() {
  const char* home = std::getenv("HOME");
  return home && *home ? fs::path(home) : fs::path("/");
}

using agents::path_inside;
fs::path real_or_given(const fs::path& p) { return agents::real_path_or_given(p); }

// "~/x", "/abs/x" or "x" (relative to the agent file's folder), resolved, inside a root.
fs::path resolve_folder(const ConfigReader& r, const std::string& where, const std::string& text,
                        const AgentsOptions& options, const fs::path& base) {
  if (text.empty()) r.fail(where, "empty folder name");
  fs::path p = text == "~" ? home_folder() : text.starts_with("~/") ? home_folder() / text.substr(2) : fs::path(text);
  if (p.is_relative()) p = base / p;
  std::optional<fs::path> resolved = agents::real_path(p);
  if (!resolved) {
    r.fail(where, p.lexically_normal().string() + ": its real path cannot be resolved (a dangling link, a link loop, or a " +
                      "folder that cannot be searched), so it cannot be checked against the allowed roots");
  }
  const fs::path& real = *resolved;
  if (std::none_of(options.roots.begin(), options.roots.end(),
                   [&](const fs::path& root) { return path_inside(real, real_or_given(root)); })) {
    std::string roots;
    for (const auto& root : options.roots) roots += (roots.empty() ? "" : ", ") + root.string();
    r.fail(where, real.string() + " is outside the allowed roots (" + roots +
                      "); add a root to \"agents\": {\"roots\": [...]} in agentd.json");
  }
  return real;
}

std::string local_zone_name() {
  try {
    return std::string(date::current_zone()->name());
  } catch (const std::exception&) {
    return "UTC";
  }
}

TriggerConfig read_trigger(const ConfigReader& t, const AgentsOptions& options, const fs::path& base) {
  TriggerConfig trigger;
  int kinds = t.has("every") + t.has("cron") + t.has("watch") + t.has("on");
  if (kinds != 1) {
    t.fail(t.path(), "a trigger needs exactly one of \"every\", \"cron\", \"watch\", \"on\"");
  }
  auto only_for = [&](const char* key, const char* kind) {
    if (t.has(key)) t.fail(t.at(key), std::string("only applies to a \"") + kind + "\" trigger");
  };
  std::string missed = "run_once";
  t.one_of("missed", missed, {"skip", "run_once", "run_each"});
  trigger.missed = *scheduler::parse_missed_runs(missed);
  if (t.has("every")) {
    trigger.kind = TriggerConfig::Kind::interval;
    std::chrono::milliseconds every{0};
    t.duration("every", every);
    if (every < std::chrono::seconds(1)) t.fail(t.at("every"), "must be at least 1s");
    trigger.every_ms = every.count();
    for (const char* k : {"tz"}) only_for(k, "cron");
  } else if (t.has("cron")) {
    trigger.kind = TriggerConfig::Kind::cron;
    t.string("cron", trigger.cron);
    trigger.time_zone = local_zone_name();
    t.string("tz", trigger.time_zone);
    std::optional<scheduler::CronSchedule> check;
    try {
      check.emplace(trigger.cron, trigger.time_zone);
    } catch (const scheduler::ScheduleError& e) {
      t.fail(t.at(t.has("tz") && std::string(e.what()).find("zone") != std::string::npos ? "tz" : "cron"), e.what());
    }
    // Each field can be valid and the whole match no day ("0 0 30 2 *"): such a trigger would be
    // accepted and silently never run. next_after() looks 8 years ahead, so 29 February passes.
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    if (!check->next_after(now_ms.count())) {
      t.fail(t.at("cron"), "'" + trigger.cron + "' never fires (no matching day in the next 8 years, e.g. 30 February)");
    }
  }
  if (!t.has("every") && !t.has("cron") && t.has("missed")) t.fail(t.at("missed"), "only applies to \"every\" and \"cron\" triggers");
  if (t.has("watch")) {
    trigger.kind = TriggerConfig::Kind::watch;
    std::string folder;
    t.string("watch", folder);
    trigger.folder = resolve_folder(t, t.at("watch"), folder, options, base);
    std::error_code ec;
    if (!fs::is_directory(trigger.folder, ec)) t.fail(t.at("watch"), trigger.folder.string() + " is not an existing folder");
    t.string("glob", trigger.glob);
    if (trigger.glob.empty() || trigger.glob.find('/') != std::string::npos || trigger.glob.size() > 255) {
      t.fail(t.at("glob"), "a file-name pattern such as *.md (at most 255 characters)");
    }
    t.duration("debounce", trigger.debounce);
  } else {
    only_for("glob", "watch");
    only_for("debounce", "watch");
  }
  if (t.has("on")) {
    trigger.kind = TriggerConfig::Kind::event;
    t.string("on", trigger.event);
    if (auto problem = agents::trigger_event_problem(trigger.event)) t.fail(t.at("on"), *problem);
  }
  return trigger;
}

void read_generation(const ConfigReader& g, agents::GenerationSettings& s) {
  g.integer("max_tokens", s.max_tokens, 1, 1 << 20);
  g.number("temperature", s.temperature, 0.0f, 5.0f);
  g.number("top_p", s.top_p, 0.0f, 1.0f);
  g.integer("top_k", s.top_k, 0, 1 << 20);
  g.number("min_p", s.min_p, 0.0f, 1.0f);
  g.number("repeat_penalty", s.repeat_penalty, 0.5f, 5.0f);
  if (g.has("seed")) {
    int seed = 0;
    g.integer("seed", seed, 0, INT32_MAX);
    s.seed = static_cast<uint32_t>(seed);
  }
  g.integer("section_tokens", s.section_tokens, 32, 4096);
  g.integer("reasoning_budget", s.reasoning_budget, -1, 1 << 20);
}

}  // namespace

AgentsOptions with_defaults(AgentsOptions options, const fs::path& data_dir) {
  if (options.dir.empty()) options.dir = data_dir / "agents.d";
  options.dir = real_or_given(fs::absolute(options.dir));
  if (options.roots.empty()) options.roots = {home_folder(), real_or_given(fs::absolute(data_dir)), options.dir.parent_path()};
  return options;
}

LoadedAgent read_agent_file(const fs::path& file, const AgentsOptions& options, const agents::Registry& registry) {
  nlohmann::json root = agents::read_json_file(file);
  ConfigReader r(file.string(), root, "", kTopKeys);
  const fs::path base = real_or_given(fs::absolute(file).parent_path());
  AgentConfig c;
  c.file = file;
  c.name = file.stem().string();
  r.string("name", c.name);
  if (!agents::valid_agent_name(c.name)) {
    std::string shown = c.name.size() > 64 ? c.name.substr(0, 64) + "..." : c.name;
    r.fail(r.has("name") ? "/name" : "/", "'" + shown + "' is not an agent name (lower-case letters, digits, _ and -; "
                                          "starts with a letter)" + (r.has("name") ? "" : "; set \"name\""));
  }
  if (!r.has("plugin")) r.fail("/plugin", "missing (which plugin runs this agent, e.g. \"prompt\")");
  r.string("plugin", c.plugin);
  r.string("description", c.description);
  r.boolean("enabled", c.enabled);
  std::string priority = "background";
  r.one_of("priority", priority, {"interactive", "tool", "background"});
  c.priority = *scheduler::parse_priority(priority);
  for (const ConfigReader& t : r.objects("triggers", {"every", "cron", "tz", "missed", "watch", "glob", "debounce", "on"})) {
    c.triggers.push_back(read_trigger(t, options, base));
  }
  r.one_of("route", c.route, {"local", "cloud", "auto"});
  std::string complexity = "low";
  r.one_of("complexity", complexity, {"low", "medium", "high"});
  c.complexity = complexity == "high" ? 3 : complexity == "medium" ? 2 : 1;
  c.generation.max_tokens = options.max_tokens;
  if (auto g = r.object("generation", {"max_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed",
                                       "section_tokens", "reasoning_budget"})) {
    read_generation(*g, c.generation);
  }
  r.string("system_prompt", c.system_prompt);
  r.string("prompt", c.prompt);
  if (auto f = r.object("folders", {"read", "write"})) {
    for (const char* kind : {"read", "write"}) {
      std::vector<std::string> list;
      f->strings(kind, list);
      for (size_t i = 0; i < list.size(); ++i) {
        fs::path folder = resolve_folder(*f, f->at(kind) + "/" + std::to_string(i), list[i], options, base);
        (kind == std::string("read") ? c.read_folders : c.write_folders).push_back(folder);
      }
    }
  }
  for (const TriggerConfig& t : c.triggers) {
    // It reads what it watches; a folder already listed is not listed twice.
    if (t.kind == TriggerConfig::Kind::watch && std::find(c.read_folders.begin(), c.read_folders.end(), t.folder) == c.read_folders.end()) {
      c.read_folders.push_back(t.folder);
    }
  }
  c.limits.timeout = options.timeout;
  if (auto l = r.object("limits", {"timeout", "max_concurrent", "max_input_bytes"})) {
    l->duration("timeout", c.limits.timeout);
    if (c.limits.timeout < std::chrono::seconds(1)) l->fail(l->at("timeout"), "must be at least 1s");
    l->integer("max_concurrent", c.limits.max_concurrent, 1, 64);
    int mb_bytes = static_cast<int>(std::min<int64_t>(c.limits.max_input_bytes, INT32_MAX));
    l->integer("max_input_bytes", mb_bytes, 1, INT32_MAX);
    c.limits.max_input_bytes = mb_bytes;
  }
  if (const nlohmann::json* settings = r.raw("settings")) {
    if (!settings->is_object()) r.fail("/settings", std::string("expected an object, got ") + settings->type_name());
    c.settings = *settings;
  }
  LoadedAgent loaded;
  loaded.agent = registry.create(c);  // validates the plugin's settings
  loaded.config = std::move(c);
  return loaded;
}

std::vector<AgentEntry> load_agents_dir(const AgentsOptions& options, const agents::Registry& registry) {
  std::error_code ec;
  if (!fs::is_directory(options.dir, ec)) throw ConfigError(options.dir.string() + ": not a folder of agent files");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(options.dir, ec)) {
    if (entry.path().extension() == ".json" && !entry.path().filename().string().starts_with(".")) {
      files.push_back(entry.path());
    }
  }
  if (ec) throw ConfigError(options.dir.string() + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<AgentEntry> entries;
  std::map<std::string, fs::path> seen;
  for (const fs::path& file : files) {
    AgentEntry e;
    e.file = file;
    // Names and errors are printed, logged and written as JSON (agentd agents --json, status.json),
    // which throws on bytes that are not UTF-8: they are escaped here, once, for every reader.
    e.name = scheduler::escape_invalid_utf8(file.stem().string());
    try {
      if (scheduler::first_invalid_utf8(file.string())) {
        e.file = scheduler::escape_invalid_utf8(file.string());  // never read: shown only
        throw ConfigError(e.file.string() + ": the file name is not UTF-8");
      }
      e.loaded = read_agent_file(file, options, registry);
      e.name = e.loaded->config.name;
      if (auto it = seen.find(e.name); it != seen.end()) {
        e.loaded.reset();
        e.error = file.string() + ": /name: agent '" + e.name + "' is already defined in " + it->second.string();
      } else {
        seen[e.name] = file;
      }
    } catch (const std::exception& ex) {  // ConfigError, or a plugin's own validation
      e.error = scheduler::escape_invalid_utf8(ex.what());
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace agentd::runtime
