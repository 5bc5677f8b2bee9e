// `agentd run` (the daemon), `agentd submit` (queue a task through the database) and
// `agentd cancel`.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "agents/registry.hpp"
#include "runtime/agent_config_file.hpp"
#include "runtime/cli.hpp"
#include "runtime/config.hpp"
#include "runtime/daemon.hpp"
#include "runtime/task_json.hpp"
#include "runtime/time_spec.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

namespace {

struct RunArgs {
  DaemonOptions options;
  ConfigArgs config;
  std::string policy, grace;
  bool no_http = false;
};

struct SubmitArgs {
  ConfigArgs config;
  std::string agent, input, priority, timeout;
  bool wait = false, force = false, dry_run = false;
};

// The agent's definition, or a CliError listing the agents there are. With --force, an agent
// missing from agents.d is accepted (its tasks wait until it is defined).
std::optional<agents::AgentConfig> find_agent(const DaemonOptions& o, const std::string& name, bool force) {
  std::vector<AgentEntry> entries;
  try {
    entries = load_agents_dir(o.agents, agents::builtin_plugins());
  } catch (const ConfigError& e) {
    if (force) return std::nullopt;
    throw CliError(std::string(e.what()) + " (give --agents DIR, or --force to queue anyway)", 2);
  }
  std::string known;
  for (const AgentEntry& e : entries) {
    if (e.name == name && e.loaded) return e.loaded->config;
    if (e.name == name && !force) throw CliError("agent '" + name + "' has an error and is disabled: " + e.error, 2);
    known += (known.empty() ? "" : ", ") + e.name;
  }
  if (force) return std::nullopt;
  throw CliError("no agent '" + name + "' in " + o.agents.dir.string() + " (agents: " + (known.empty() ? "none" : known) +
                     "); --force queues it anyway",
                 2);
}

// "--input @notes.txt" reads the file; anything else is the text itself.
std::string read_input(const std::string& input) {
  if (input.empty() || input[0] != '@') return input;
  std::ifstream file(input.substr(1), std::ios::binary);
  if (!file) throw CliError("--input: cannot read file '" + input.substr(1) + "'", 2);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Progress of a long-form task on stderr: a bar on a terminal, one plain line per finished
// section otherwise (logs, pipes).
class SectionProgress {
 public:
  SectionProgress() : terminal_(::isatty(STDERR_FILENO) == 1) {}

  void update(const std::vector<storage::Section>& sections) {
    if (sections.empty()) return;
    int done = 0;
    for (const auto& s : sections) done += s.status == storage::SectionStatus::done;
    if (terminal_) {
      if (done == shown_ && sections.size() == total_) return;
      const int width = 30;
      int filled = static_cast<int>(width * done / static_cast<int>(sections.size()));
      std::fprintf(stderr, "\r[%s%s] %d/%zu sections", std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(width - filled), '-').c_str(), done, sections.size());
      if (done == static_cast<int>(sections.size())) std::fprintf(stderr, "\n");
    } else {
      for (const auto& s : sections) {
        if (s.status == storage::SectionStatus::done && s.idx >= shown_) {
          std::fprintf(stderr, "section %d/%zu done: %s (%d tokens)\n", s.idx + 1, sections.size(), s.title.c_str(), s.tokens);
        }
      }
    }
    std::fflush(stderr);
    shown_ = done;
    total_ = sections.size();
  }

 private:
  bool terminal_;
  int shown_ = 0;
  size_t total_ = 0;
};

// Polls the task until it ends (the daemon may be another process); throws unless it finished.
void wait_for_task(const CliGlobals& g, int64_t id, std::optional<int64_t> timeout_ms) {
  auto db = g.open_reader();
  storage::TaskStore tasks(*db);
  storage::SectionStore sections(*db);
  SectionProgress progress;
  std::optional<std::chrono::steady_clock::time_point> give_up;  // none: wait as long as it takes
  if (timeout_ms) give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout_ms);
  for (;;) {
    auto t = tasks.get(id);
    if (!t) throw CliError("task " + std::to_string(id) + " disappeared from " + db->path().string());
    progress.update(sections.list(id));
    switch (t->status) {
      case storage::TaskStatus::queued:
      case storage::TaskStatus::running:
        break;
      case storage::TaskStatus::finished:
        if (g.json) std::cout << to_json(*t).dump(2) << '\n';
        else std::cout << t->output.value_or("") << '\n';
        return;
      default:
        if (g.json) std::cout << to_json(*t).dump(2) << '\n';
        throw CliError("task " + std::to_string(id) + " " + std::string(storage::to_string(t->status)) +
                       (t->error ? ": " + *t->error : ""));
    }
    if (give_up && std::chrono::steady_clock::now() > *give_up) {
      throw CliError("task " + std::to_string(id) + " still " + std::string(storage::to_string(t->status)) +
                     " after --timeout; it stays queued (see `agentd task " + std::to_string(id) + "`)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // another process does the work
  }
}

}  // namespace

void add_daemon_commands(CLI::App& app, CliGlobals& g) {
  auto* run = app.add_subcommand("run", "Run the daemon: agents, their triggers and queued tasks on the shared model, until SIGTERM");
  auto r = std::make_shared<RunArgs>();  // flag values; applied over agentd.json only when given
  auto& e = r->options.engine;
  add_config_args(run, r->config);
  run->add_option("--model,-m", e.model_path, "GGUF model file")->envname("AGENTD_MODEL");
  run->add_option("--policy", r->policy, "Engine policy: batched (continuous batching) or serial")
      ->check(CLI::IsMember({"batched", "serial"}));
  run->add_option("--slots", e.slots, "Sequences decoded together [4]")->check(CLI::Range(1, 64));
  run->add_option("--ctx", e.n_ctx_per_seq, "Context tokens per sequence [2048]")->check(CLI::Range(64, 1 << 20));
  run->add_option("--threads", e.threads, "llama.cpp compute threads, 0 = all cores [0]")->check(CLI::Range(0, 1024));
  run->add_option("--chat-template", e.chat_template, "Template for models that have none (llama.cpp name) [chatml]");
  run->add_option("--concurrency", r->options.concurrency, "Tasks running at once [4]")->check(CLI::Range(1, 1024));
  run->add_option("--max-tokens", r->options.agents.max_tokens, "Default tokens per model call of an agent [256]")
      ->check(CLI::PositiveNumber);
  run->add_option("--grace", r->grace, "On SIGTERM, how long running tasks may finish [30s]");
  run->add_option("--listen", r->options.http.listen, "HTTP address host:port, port 0 = any [127.0.0.1:8377]");
  run->add_flag("--no-http", r->no_http, "Do not start the HTTP server");
  run->add_option("--log-level", r->options.log.console_level, "Console log level [info]");
  run->add_option("--log-file-level", r->options.log.file_level, "Level of <data dir>/agentd.log [debug]");
  run->callback([&g, r, run] {
    DaemonOptions o = load_daemon_options(g, r->config);
    const auto& f = r->options;
    auto given = [run](const char* flag) { return run->count(flag) > 0; };
    if (!f.engine.model_path.empty()) o.engine.model_path = f.engine.model_path;  // --model or AGENTD_MODEL
    if (given("--policy")) o.engine.policy = *engine::parse_policy(r->policy);
    if (given("--slots")) o.engine.slots = f.engine.slots;
    if (given("--ctx")) o.engine.n_ctx_per_seq = f.engine.n_ctx_per_seq;
    if (given("--threads")) o.engine.threads = f.engine.threads;
    if (given("--chat-template")) o.engine.chat_template = f.engine.chat_template;
    if (given("--concurrency")) o.concurrency = f.concurrency;
    if (given("--max-tokens")) o.agents.max_tokens = f.agents.max_tokens;
    if (given("--listen")) o.http.listen = f.http.listen;
    if (r->no_http) o.http.enabled = false;
    if (given("--log-level")) o.log.console_level = f.log.console_level;
    if (given("--log-file-level")) o.log.file_level = f.log.file_level;
    if (given("--grace")) {
      auto grace = parse_duration_ms(r->grace);
      if (!grace) throw CliError("--grace: '" + r->grace + "' is not a duration (e.g. 30s)", 2);
      o.grace = std::chrono::milliseconds(*grace);
    }
    if (o.engine.model_path.empty()) {
      throw CliError("no model: give --model FILE, set AGENTD_MODEL, or \"model\" in agentd.json", 2);
    }
    if (int rc = run_daemon(o); rc != 0) throw CliError("the daemon stopped on an error (see above)", rc);
  });

  auto* submit = app.add_subcommand("submit", "Queue a task for an agent (works whether or not the daemon is up)");
  auto s = std::make_shared<SubmitArgs>();
  submit->add_option("agent", s->agent, "Agent name (as in agents.d)")->required();
  submit->add_option("--input,-i", s->input, "The task's input: text, or @FILE to read a file");
  submit->add_option("--priority", s->priority, "interactive, tool or background (default: the agent's)")
      ->check(CLI::IsMember({"interactive", "tool", "background"}));
  submit->add_flag("--force", s->force, "Queue even if agents.d has no such agent (it runs once defined)");
  submit->add_flag("--dry-run", s->dry_run,
                   "Run the model calls but write no file, memory, note or event: the task's timeline shows what it would write");
  add_config_args(submit, s->config);
  submit->add_flag("--wait,-w", s->wait, "Wait for the task to end and print its output");
  submit->add_option("--timeout", s->timeout, "With --wait: give up waiting after this long (e.g. 5m)");
  submit->add_flag("--json", g.json, "Print the task as JSON");
  submit->callback([&g, s] {
    auto agent = find_agent(load_daemon_options(g, s->config), s->agent, s->force);
    storage::NewTask task;
    task.agent = s->agent;
    task.plugin = agent ? agent->plugin : "";
    task.input = read_input(s->input);
    task.priority = agent ? agent->priority : scheduler::Priority::tool;
    if (!s->priority.empty()) task.priority = *scheduler::parse_priority(s->priority);
    task.trigger = "cli";
    task.dry_run = s->dry_run;
    std::optional<int64_t> timeout;
    if (!s->timeout.empty() && !(timeout = parse_duration_ms(s->timeout))) {
      throw CliError("--timeout: '" + s->timeout + "' is not a duration (e.g. 5m)", 2);
    }
    int64_t id = 0;
    {
      auto db = g.open_writer();
      id = storage::TaskStore(*db).enqueue(task);
    }
    if (!s->wait) {
      if (g.json) std::cout << nlohmann::json{{"id", id}}.dump() << '\n';
      else std::printf("%lld\n", static_cast<long long>(id));
      return;
    }
    std::fprintf(stderr, "task %lld queued; waiting\n", static_cast<long long>(id));
    wait_for_task(g, id, timeout);
  });

  auto* cancel = app.add_subcommand("cancel", "Cancel a queued or running task (a running one stops at its next step)");
  auto cancel_id = std::make_shared<int64_t>(0);
  cancel->add_option("id", *cancel_id, "Task id")->required();
  cancel->callback([&g, cancel_id] {
    auto db = g.open_writer();
    storage::TaskStore tasks(*db);
    auto t = tasks.get(*cancel_id);
    if (!t) throw CliError("no task with id " + std::to_string(*cancel_id) + " in " + db->path().string());
    if (!tasks.cancel(*cancel_id, "cancelled from the command line")) {
      throw CliError("task " + std::to_string(*cancel_id) + " is already " + std::string(storage::to_string(t->status)));
    }
    std::printf("task %lld cancelled\n", static_cast<long long>(*cancel_id));
  });
}

}  // namespace agentd::runtime
