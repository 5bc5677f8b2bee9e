// `agentd tasks` and `agentd task ID`: reading task history.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "runtime/cli.hpp"
#include "runtime/task_json.hpp"
#include "runtime/trace_export.hpp"
#include "runtime/time_spec.hpp"
#include "scheduler/priority.hpp"
#include "storage/schema.hpp"

namespace agentd::runtime {

namespace {

// One line of at most `width` characters: newlines folded, the rest cut with an ellipsis.
std::string one_line(std::string_view text, size_t width) {
  std::string out;
  for (char c : text) {
    if (out.size() >= width) break;
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  if (text.size() > width && width > 3) out.replace(width - 3, std::string::npos, "...");
  return out;
}

std::string task_duration(const storage::Task& t) {
  if (!t.started_at) return "-";
  int64_t end = t.finished_at.value_or(storage::now_ms());
  return format_duration(end - *t.started_at);
}

void print_task_table(const std::vector<storage::Task>& tasks) {
  std::printf("%-8s %-14s %-11s %-11s %-19s %-9s %s\n", "ID", "AGENT", "STATUS", "PRIORITY", "CREATED",
              "DURATION", "INPUT");
  for (const auto& t : tasks) {
    std::printf("%-8lld %-14s %-11s %-11s %-19s %-9s %s\n", static_cast<long long>(t.id),
                one_line(t.agent, 14).c_str(), std::string(storage::to_string(t.status)).c_str(),
                std::string(scheduler::to_string(t.priority)).c_str(), format_local_time(t.created_at).c_str(),
                task_duration(t).c_str(), one_line(t.input, 60).c_str());
  }
  if (tasks.empty()) std::printf("(no tasks)\n");
}

// An event's data for one timeline line: a model call's request (the whole prompt, kept for
// `--json` and --export-trace) is shown as its size.
nlohmann::json timeline_data(const nlohmann::json& data) {
  if (!data.is_object() || !data.contains("request") || !data["request"].is_object()) return data;
  nlohmann::json shown = data;
  const nlohmann::json& request = data["request"];
  size_t chars = request.contains("prompt") && request["prompt"].is_string() ? request["prompt"].get_ref<const std::string&>().size() : 0;
  size_t messages = 0;
  for (const auto& m : request.value("messages", nlohmann::json::array())) {
    ++messages;
    if (m.contains("content") && m["content"].is_string()) chars += m["content"].get_ref<const std::string&>().size();
  }
  shown["request"] = std::to_string(messages) + " message(s), " + std::to_string(chars) + " chars";
  return shown;
}

void print_task_detail(const storage::Task& t, const std::vector<storage::TaskEvent>& events,
                       const std::vector<storage::Section>& sections) {
  std::printf("task %lld  %s  agent=%s plugin=%s priority=%s trigger=%s attempt=%d%s\n",
              static_cast<long long>(t.id), std::string(storage::to_string(t.status)).c_str(), t.agent.c_str(),
              t.plugin.c_str(), std::string(scheduler::to_string(t.priority)).c_str(), t.trigger.c_str(), t.attempt,
              t.dry_run ? "  (dry run: nothing was written)" : "");
  std::printf("created %s", format_local_time(t.created_at).c_str());
  if (t.started_at) std::printf("  started %s", format_local_time(*t.started_at).c_str());
  if (t.finished_at) std::printf("  ended %s (%s)", format_local_time(*t.finished_at).c_str(), task_duration(t).c_str());
  if (t.parent_id) std::printf("  parent %lld", static_cast<long long>(*t.parent_id));
  std::printf("\n\ninput:\n%s\n\ntimeline:\n", t.input.c_str());
  for (const auto& e : events) {
    std::string data = e.data.is_object() && e.data.empty() ? "" : timeline_data(e.data).dump();
    std::printf("  %s  %-12s %s\n", format_local_time(e.at).c_str(), e.kind.c_str(), data.c_str());
  }
  if (!sections.empty()) {
    std::printf("\nsections:\n");
    for (const auto& s : sections) {
      std::printf("  %2d. [%-7s] %s (%d tokens)\n", s.idx + 1, std::string(storage::to_string(s.status)).c_str(),
                  s.title.c_str(), s.tokens);
    }
  }
  if (t.error) std::printf("\nerror:\n%s\n", t.error->c_str());
  if (t.output) std::printf("\noutput:\n%s\n", t.output->c_str());
}

// Writes the trace to `path` whole or not at all (a temporary file renamed into place).
void export_trace_file(CliGlobals& g, const std::string& path, int64_t since_ms, std::optional<int64_t> until_ms) {
  auto db = g.open_reader();
  storage::TaskStore store(*db);
  TraceExport done;
  if (path == "-") {
    done = export_trace(store, since_ms, until_ms, std::cout);
  } else {
    const std::string partial = path + ".partial";
    try {
      {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) throw CliError("--export-trace: cannot write " + partial + ": " + std::strerror(errno));
        done = export_trace(store, since_ms, until_ms, out);
        out.flush();
        if (!out) throw CliError("--export-trace: writing " + partial + " failed: " + std::strerror(errno));
      }
      std::error_code ec;
      std::filesystem::rename(partial, path, ec);
      if (ec) throw CliError("--export-trace: cannot move " + partial + " to " + path + ": " + ec.message());
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);  // no half-written day is left behind
      throw;
    }
  }
  std::fprintf(stderr, "wrote %lld model call(s) of %lld background task(s)", static_cast<long long>(done.written),
               static_cast<long long>(done.background_tasks));
  if (done.written > 0) {
    std::fprintf(stderr, ", sent %s to %s", format_local_time(done.first_sent_at).c_str(),
                 format_local_time(done.last_sent_at).c_str());
  }
  std::fprintf(stderr, ", to %s\n", path == "-" ? "stdout" : path.c_str());
  if (done.not_recorded > 0) {
    std::fprintf(stderr, "left out %lld call(s) recorded before agentd kept what calls asked\n",
                 static_cast<long long>(done.not_recorded));
  }
  if (done.raw_prompts > 0) {
    std::fprintf(stderr, "left out %lld call(s) with a raw prompt (a trace holds chat messages)\n",
                 static_cast<long long>(done.raw_prompts));
  }
}

}  // namespace

void add_history_commands(CLI::App& app, CliGlobals& g) {
  auto* tasks = app.add_subcommand("tasks", "List tasks, newest first");
  struct TasksArgs {
    std::string agent, status, since, until, text, export_trace;
    int limit = 20;
  };
  auto args = std::make_shared<TasksArgs>();
  tasks->add_option("--agent", args->agent, "Only this agent's tasks");
  tasks->add_option("--status", args->status, "queued, running, finished, failed, cancelled or interrupted");
  tasks->add_option("--since", args->since, "Created at or after: a duration back from now (2h, 30d) or a date "
                                            "(2026-11-01, 2026-11-01T08:30)");
  tasks->add_option("--until", args->until, "Created before (same forms as --since)");
  tasks->add_option("--text", args->text, "Input, output or error contains this text (ASCII case ignored)");
  tasks->add_option("--limit,-n", args->limit, "At most this many tasks")->check(CLI::PositiveNumber)->capture_default_str();
  tasks->add_flag("--json", g.json, "Print a JSON array");
  tasks->add_option("--export-trace", args->export_trace,
                    "Write the model calls of --since/--until (default: the last 24h) as a day to replay, "
                    "JSON lines (bench/replay: replay_bench --trace FILE); - for stdout");
  tasks->callback([&g, args] {
    storage::TaskFilter f;
    int64_t now = storage::now_ms();
    if (!args->agent.empty()) f.agent = args->agent;
    if (!args->status.empty()) {
      f.status = storage::parse_task_status(args->status);
      if (!f.status) throw CliError("--status: unknown status '" + args->status +
                                    "' (queued, running, finished, failed, cancelled, interrupted)", 2);
    }
    auto time_arg = [now](const std::string& value, const char* flag) -> std::optional<int64_t> {
      if (value.empty()) return std::nullopt;
      auto t = parse_time_spec(value, now);
      if (!t) throw CliError(std::string(flag) + ": '" + value + "' is neither a duration (2h, 30d) nor a date "
                             "(2026-11-01, 2026-11-01T08:30)", 2);
      return t;
    };
    f.since_ms = time_arg(args->since, "--since");
    f.until_ms = time_arg(args->until, "--until");
    if (!args->export_trace.empty()) {
      if (!args->agent.empty() || !args->status.empty() || !args->text.empty()) {
        throw CliError("--export-trace: a replayed day is every model call of a time window; "
                       "--agent, --status and --text do not apply (use --since and --until)", 2);
      }
      return export_trace_file(g, args->export_trace, f.since_ms.value_or(now - 24 * 3600 * 1000LL), f.until_ms);
    }
    if (!args->text.empty()) f.text = args->text;
    f.limit = args->limit;
    auto db = g.open_reader();
    auto rows = storage::TaskStore(*db).list(f);
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& t : rows) out.push_back(to_json(t));
      std::cout << out.dump(2) << '\n';
    } else {
      print_task_table(rows);
    }
  });

  auto* task = app.add_subcommand("task", "Show one task: its timeline, sections and output");
  auto id = std::make_shared<int64_t>(0);
  task->add_option("id", *id, "Task id")->required();
  task->add_flag("--json", g.json, "Print a JSON object");
  task->callback([&g, id] {
    auto db = g.open_reader();
    storage::TaskStore store(*db);
    auto t = store.get(*id);
    if (!t) throw CliError("no task with id " + std::to_string(*id) + " in " + db->path().string());
    auto events = store.events(*id);
    auto sections = storage::SectionStore(*db).list(*id);
    if (g.json) {
      nlohmann::json out = to_json(*t);
      out["events"] = nlohmann::json::array();
      for (const auto& e : events) out["events"].push_back(to_json(e));
      out["sections"] = nlohmann::json::array();
      for (const auto& s : sections) out["sections"].push_back(to_json(s));
      std::cout << out.dump(2) << '\n';
    } else {
      print_task_detail(*t, events, sections);
    }
  });
}

}  // namespace agentd::runtime
