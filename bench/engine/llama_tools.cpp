#include "bench/engine/llama_tools.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

extern char** environ;

namespace agentd::bench {
namespace {

using json = nlohmann::json;

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

std::string join_ints(const std::vector<int>& v) {
  std::string out;
  for (int x : v) {
    if (!out.empty()) out += ',';
    out += std::to_string(x);
  }
  return out;
}

// Runs argv[0] (a path) with stdout captured and stderr appended to log_path; returns stdout.
// Throws when the program cannot start or exits with a failure.
std::string run_capture(const std::vector<std::string>& argv, const std::string& log_path,
                        const std::string& cwd = "") {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, out_pipe[1]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(out_pipe[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("`" + join(argv) + "` failed (exit status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                             "); see " + log_path);
  }
  return out;
}

std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// The JSON array starting at the first line that opens one (anything printed before is skipped);
// a discarded value if there is none.
json json_array_in(const std::string& out) {
  for (size_t at = 0; at < out.size(); at = out.find('\n', at) + 1) {
    if (out[at] == '[') {
      json parsed = json::parse(out.substr(at), nullptr, /*allow_exceptions=*/false);
      if (parsed.is_array()) return parsed;
    }
    if (out.find('\n', at) == std::string::npos) break;
  }
  return json(json::value_t::discarded);
}

}  // namespace

std::string find_tool(const std::string& given, const std::string& built, const std::string& name) {
  for (const std::string& candidate : {given, built}) {
    if (candidate.empty()) continue;
    if (access(candidate.c_str(), X_OK) != 0) {
      throw std::runtime_error(name + " not found or not executable at " + candidate +
                               (candidate == built ? " (build it: ninja " + name + ")" : ""));
    }
    return candidate;
  }
  if (std::string found = on_path(name); !found.empty()) return found;
  throw std::runtime_error(name + " not found on PATH; pass --" + name + " PATH");
}

namespace {

// One llama-bench test (-p n_prompt -n n_gen at depth): its mean tokens/s over the repetitions.
LlamaBenchResult llama_bench_test(const ToolRun& run, int n_prompt, int n_gen, int depth, int reps) {
  const std::vector<std::string> argv = {
      run.program, "-m", run.model, "-p", std::to_string(n_prompt), "-n", std::to_string(n_gen),
      "-d", std::to_string(depth), "-t", std::to_string(run.threads),
      "-r", std::to_string(reps), "-fa", run.flash_attn, "-o", "json"};
  LlamaBenchResult r;
  r.command = join(argv);
  const json tests = json_array_in(run_capture(argv, run.log_path, run.cwd));
  if (!tests.is_array()) {
    throw std::runtime_error("llama-bench printed no JSON array (`" + r.command + "`); see " +
                             run.log_path);
  }
  for (const json& t : tests) {
    if (t.value("n_gen", -1) != n_gen || t.value("n_prompt", -1) != n_prompt) continue;
    r.tokens_per_s = t.at("avg_ts").get<double>();
    r.stddev = t.value("stddev_ts", 0.0);
    r.reps = static_cast<int>(t.value("samples_ts", json::array()).size());
    return r;
  }
  throw std::runtime_error("llama-bench printed no " +
                           (n_gen ? "tg" + std::to_string(n_gen) : "pp" + std::to_string(n_prompt)) + " result");
}

}  // namespace

LlamaBenchResult run_llama_bench(const ToolRun& run, int n_gen, int depth, int reps) {
  return llama_bench_test(run, 0, n_gen, depth, reps);
}

LlamaBenchResult run_llama_bench_prompt(const ToolRun& run, int n_prompt, int reps) {
  return llama_bench_test(run, n_prompt, 0, 0, reps);
}

const BatchedBenchRow* BatchedBenchResult::find(int pl) const {
  auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.pl == pl; });
  return it == rows.end() ? nullptr : &*it;
}

BatchedBenchResult run_batched_bench(const ToolRun& run, int pp, int tg,
                                     const std::vector<int>& pls) {
  const int max_pl = *std::max_element(pls.begin(), pls.end());
  const int n_ctx = max_pl * (pp + tg);  // every sequence gets pp + tg cells
  std::vector<std::string> argv = {
      run.program, "-m", run.model, "-c", std::to_string(n_ctx), "-npp", std::to_string(pp),
      "-ntg", std::to_string(tg), "-npl", join_ints(pls), "-t", std::to_string(run.threads),
      "-tb", std::to_string(run.threads), "-fa", run.flash_attn, "--output-format", "jsonl"};
  BatchedBenchResult r;
  r.command = join(argv);
  std::istringstream lines(run_capture(argv, run.log_path, run.cwd));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;  // anything but the result lines
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded() || !row.contains("speed_tg")) continue;
    r.rows.push_back({row.value("pp", 0), row.value("tg", 0), row.value("pl", 0),
                      row.value("t_pp", 0.0), row.value("speed_pp", 0.0), row.value("t_tg", 0.0),
                      row.value("speed_tg", 0.0), row.value("speed", 0.0)});
  }
  for (int pl : pls) {
    if (!r.find(pl)) {
      throw std::runtime_error("llama-batched-bench printed no result for " + std::to_string(pl) +
                               " sequences; see " + run.log_path);
    }
  }
  return r;
}

}  // namespace agentd::bench
