// `agentd status`: is the daemon up, its engine and slots, the queue per class, tokens/s, each
// agent's last and next run, and task counts by status. The daemon's live figures come from
// <data dir>/status.json (rewritten every 2 s); the rest from the database, so status works
// with the daemon down too.
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "agents/registry.hpp"
#include "runtime/agent_config_file.hpp"
#include "runtime/cli.hpp"
#include "runtime/lock_file.hpp"
#include "runtime/status.hpp"
#include "runtime/time_spec.hpp"
#include "storage/schedule_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

namespace {

using nlohmann::json;

std::string when(const json& a, const char* key) {
  return a.contains(key) ? format_local_time(a[key].get<int64_t>()) : "-";
}

void print_status(const json& s) {
  if (s.contains("daemon")) {
    const json& d = s["daemon"];
    const json& e = d["engine"];
    std::printf("daemon:  running, pid %ld, up %s%s\n", d["pid"].get<long>(),
                format_duration(storage::now_ms() - d["started_at"].get<int64_t>()).c_str(),
                d["stopping"].get<bool>() ? " (stopping)" : "");
    std::printf("engine:  %s %s, %s, %d slots x %d tokens, %.1f tokens/s now, %lld tokens so far\n",
                e["backend"].get<std::string>().c_str(), e["model"].get<std::string>().c_str(),
                e["policy"].get<std::string>().c_str(), e["slots"].get<int>(), e["context"].get<int>(),
                e["tokens_per_s"].get<double>(), static_cast<long long>(e["tokens_generated"].get<int64_t>()));
    if (e.contains("cpu_backend")) std::printf("  cpu backend: %s\n", e["cpu_backend"].get<std::string>().c_str());
    if (e.contains("time")) {  // since the engine started
      const json& t = e["time"];
      std::printf("  engine time: %.1f s in steps, %.1f s in steps cut for a chat, %.1f s copying KV states, "
                  "%.1f s waiting for work\n",
                  t["step_seconds"].get<double>(), t["cut_step_seconds"].get<double>(),
                  t["state_copy_seconds"].get<double>(), t["idle_seconds"].get<double>());
    }
    for (const char* cls : {"interactive", "tool", "background"}) {
      const json& c = e["classes"][cls];
      std::printf("  %-12s running %d, paused %d, waiting %d\n", cls, c["running"].get<int>(), c["paused"].get<int>(),
                  c["queued"].get<int>());
    }
    if (e.contains("prefix_cache")) {  // a status.json written before the cache existed has none
      const json& p = e["prefix_cache"];
      std::printf("  prefix cache: %lld of %lld prompt tokens reused (%.0f %%), %lld prefixes, %.1f MiB RAM, %.1f MiB disk\n",
                  static_cast<long long>(p["hit_tokens"].get<int64_t>()),
                  static_cast<long long>(p["hit_tokens"].get<int64_t>() + p["miss_tokens"].get<int64_t>()),
                  100.0 * p["hit_rate"].get<double>(), static_cast<long long>(p["entries"].get<int64_t>()),
                  static_cast<double>(p["ram_bytes"].get<int64_t>()) / (1 << 20),
                  static_cast<double>(p["disk_bytes"].get<int64_t>()) / (1 << 20));
    }
    if (e.contains("memory")) {
      const json& m = e["memory"];
      auto mib = [&](const char* key) { return static_cast<double>(m[key].get<int64_t>()) / (1 << 20); };
      std::printf("  memory: %.1f MiB resident: model %.1f, KV cache %.1f, compute %.1f, prefix cache %.1f, "
                  "the rest %.1f MiB%s\n",
                  mib("resident_bytes"), mib("model_bytes"), mib("kv_bytes"), mib("compute_bytes"),
                  mib("prefix_cache_bytes"), mib("other_bytes"),
                  m["locked_bytes"].get<int64_t>() > 0 ? (", " + std::to_string(m["locked_bytes"].get<int64_t>() >> 20) + " MiB locked").c_str() : "");
    }
    std::printf("tasks running: %d%s\n", d["tasks_running"].get<int>(),
                d["tasks_stuck"].get<int>() ? (", stuck: " + std::to_string(d["tasks_stuck"].get<int>())).c_str() : "");
  } else {
    std::printf("daemon:  not running\n");
  }
  const json& q = s["queue"];
  std::printf("queue:   interactive %lld, tool %lld, background %lld\n", static_cast<long long>(q["interactive"].get<int64_t>()),
              static_cast<long long>(q["tool"].get<int64_t>()), static_cast<long long>(q["background"].get<int64_t>()));
  std::string counts;
  for (const auto& [k, v] : s["tasks"].items()) counts += (counts.empty() ? "" : ", ") + k + " " + std::to_string(v.get<int64_t>());
  std::printf("tasks:   %s\n", counts.c_str());
  if (s.contains("model_calls") && !s["model_calls"]["by_agent"].empty()) {
    std::printf("\nmodel calls, last 30 days (route: calls, est. cost):\n");
    for (const auto& [agent, routes] : s["model_calls"]["by_agent"].items()) {
      std::string line;
      for (const auto& [route, r] : routes.items()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%s %lld, $%.4f", line.empty() ? "" : "; ", route.c_str(),
                      static_cast<long long>(r["calls"].get<int64_t>()), r["cost_usd"].get<double>());
        line += buf;
      }
      std::printf("  %-16s %s\n", agent.c_str(), line.c_str());
    }
    for (const auto& [day, routes] : s["model_calls"]["by_day"].items()) {
      double cost = 0;
      int64_t calls = 0;
      for (const auto& [route, r] : routes.items()) {
        cost += r["cost_usd"].get<double>();
        calls += r["calls"].get<int64_t>();
      }
      std::printf("  %-16s %lld calls, $%.4f\n", day.c_str(), static_cast<long long>(calls), cost);
    }
  }
  std::printf("\n%-16s %-9s %-8s %-8s %-20s %-20s\n", "AGENT", "STATE", "TASKS", "FAILED", "LAST RUN", "NEXT RUN");
  for (const auto& [name, a] : s["agents"].items()) {
    std::printf("%-16s %-9s %-8lld %-8lld %-20s %-20s\n", name.c_str(), a.value("state", "-").c_str(),
                static_cast<long long>(a.value("tasks", int64_t{0})), static_cast<long long>(a.value("failed", int64_t{0})),
                when(a, "last_run").c_str(), when(a, "next_run").c_str());
  }
}

// Each agent's state as agents.d says now (the daemon, when up, reports what it loaded instead).
void add_defined_agents(const CliGlobals& g, const ConfigArgs& args, json& s) {
  try {
    DaemonOptions o = load_daemon_options(g, args);
    for (const AgentEntry& e : load_agents_dir(o.agents, agents::builtin_plugins())) {
      json& entry = s["agents"][e.name];
      entry["state"] = !e.loaded ? "broken" : e.loaded->config.enabled ? "enabled" : "disabled";
      if (!e.error.empty()) entry["error"] = e.error;
    }
  } catch (const std::exception&) {
    // no agents.d (or no agentd.json): the database's view is all there is
  }
}

}  // namespace

void add_status_command(CLI::App& app, CliGlobals& g) {
  auto* status = app.add_subcommand("status", "The daemon, its engine and slots, the queue, and each agent's last and next run");
  status->add_flag("--json", g.json, "Print JSON");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(status, *args);
  status->callback([&g, args] {
    std::filesystem::path db_path = g.db_path();
    json s;
    if (std::filesystem::exists(db_path)) {
      auto db = g.open_reader();
      s = database_status(*db);
    } else {
      s = {{"queue", {{"interactive", 0}, {"tool", 0}, {"background", 0}}}, {"tasks", json::object()}, {"agents", json::object()}};
    }
    s["database"] = db_path.string();
    add_defined_agents(g, *args, s);
    if (LockFile::holder(db_path.string() + ".lock")) {
      // The daemon is up: ask it (GET /api/status, its live view), else read its status.json.
      std::optional<json> live;
      if (auto file = read_status_file(status_file(db_path)); file && file->contains("http")) {
        httplib::Client client("http://" + (*file)["http"].get<std::string>());
        client.set_connection_timeout(2, 0);
        client.set_read_timeout(5, 0);
        DaemonOptions o = load_daemon_options(g, *args);
        const char* token = o.http.token_env.empty() ? nullptr : std::getenv(o.http.token_env.c_str());
        if (token) client.set_bearer_token_auth(token);
        if (auto res = client.Get("/api/status"); res && res->status == 200) {
          json api = json::parse(res->body, nullptr, false);
          if (api.is_object() && api.contains("daemon")) {
            live = api["daemon"];
            s["source"] = "api";
          }
        }
        if (!live) live = *file;
      } else {
        live = read_status_file(status_file(db_path));
      }
      if (live) {
        s["daemon"] = *live;
        for (const auto& a : (*live)["agents"]) {
          json& entry = s["agents"][a["name"].get<std::string>()];
          entry["state"] = a["state"];
          if (a.contains("error")) entry["error"] = a["error"];
          entry["running"] = a["running"];
        }
      }
    }
    if (g.json) {
      std::cout << s.dump(2) << '\n';
    } else {
      print_status(s);
    }
  });
}

}  // namespace agentd::runtime
