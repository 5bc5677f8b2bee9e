// The daemon as a real process for tests: a temp data directory with two prompt agents, the
// real CLI, and the daemon's log read line by line to synchronise (never sleeps).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/runtime/agentd_binary.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd {

using nlohmann::json;

inline std::string test_model() {
  const char* p = std::getenv("AGENTD_TEST_MODEL");
  if (!p || !*p) throw std::runtime_error("AGENTD_TEST_MODEL is not set (run the tests through ctest)");
  return p;
}

class DaemonTest : public ::testing::Test {
 protected:
  // Two plain prompt agents: the daemon finds them in <data dir>/agents.d.
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "agents.d");
    write_agent("storyteller", R"({"plugin": "prompt", "priority": "background", "prompt": "{{input}}",
                                  "generation": {"temperature": 0}})");
    write_agent("chat", R"({"plugin": "prompt", "priority": "interactive", "prompt": "{{input}}"})");
  }

  void write_agent(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / "agents.d" / (name + ".json")) << text;
  }

  std::string db() const { return (dir_ / "agentd.db").string(); }

  testing::ProcessResult agentd(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::agentd_binary(), "--db", db()});
    return testing::run_process(args);
  }

  json agentd_json(std::vector<std::string> args) {
    auto r = agentd(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  // Starts `agentd run`; returns once it logged that it serves.
  std::unique_ptr<testing::ChildProcess> start_daemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {testing::agentd_binary(), "--db", db(), "run", "--model", test_model(),
                                     "--threads", "1", "--log-file-level", "off"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    // Any free port unless the test says: tests run in parallel, and a user's daemon may hold 8377.
    if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    auto daemon = std::make_unique<testing::ChildProcess>(argv, /*merge_stderr=*/true);
    startup_log_.clear();
    while (auto line = daemon->read_line()) {
      startup_log_ += *line + "\n";
      if (line->find("serving:") != std::string::npos) return daemon;
    }
    // Thrown, so the test stops here instead of waiting on a daemon that is not there.
    throw std::runtime_error("the daemon did not start:\n" + startup_log_);
  }

  // Reads the daemon's log until a line contains `text`; false if it exited first.
  static bool wait_for_line(testing::ChildProcess& daemon, const std::string& text) {
    while (auto line = daemon.read_line()) {
      if (line->find(text) != std::string::npos) return true;
    }
    return false;
  }

  static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

  std::vector<std::string> event_kinds(int64_t id) {
    std::vector<std::string> kinds;
    json task = agentd_json({"task", std::to_string(id), "--json"});
    for (const auto& e : task["events"]) kinds.push_back(e["kind"]);
    return kinds;
  }

  testing::TempDir dir_;
  std::string startup_log_;  // what the last start_daemon() read up to "serving:"
};

}  // namespace agentd
