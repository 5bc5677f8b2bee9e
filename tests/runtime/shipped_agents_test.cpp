// The default configuration end to end: the twelve shipped agents of agents.d/, wired to the
// sample inputs shipped under agents/*/samples, run by a daemon on the real test model (on a copy
// of both: see shipped_checkout.hpp).
// Every agent must finish at least one task, none may fail, and each leaves its output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "tests/runtime/shipped_checkout.hpp"

namespace agentd {
namespace {

namespace fs = std::filesystem;

TEST_F(ShippedAgentsTest, EveryShippedAgentRunsOnItsSamplesAndLeavesItsOutput) {
  ASSERT_EQ(shipped_.size(), 12u) << "agents.d/ ships the twelve agents";
  auto validate = agentd({"agents", "validate", (checkout_ / "agents.d").string()});
  ASSERT_EQ(validate.exit_code, 0) << validate.out << validate.err;

  auto daemon = start_daemon({"--agents", (checkout_ / "agents.d").string()});
  // The agents that only run when asked (the rest run on their own timers at start).
  for (auto [agent, input] : std::map<std::string, std::string>{
           {"chat", "Hello! What can you do for me today?"},
           {"coder", "A shell script that counts the lines of every .md file in a folder."}}) {
    auto r = agentd({"submit", agent, "--agents", (checkout_ / "agents.d").string(), "--input", input});
    ASSERT_EQ(r.exit_code, 0) << agent << ": " << r.err;
  }

  // From the daemon's log: which task is whose, and how each ended.
  static const std::regex started(R"(task (\d+) \(([a-z0-9_-]+)\) started)");
  static const std::regex finished(R"(task (\d+) finished:)");
  static const std::regex failed(R"(task (\d+) \(([a-z0-9_-]+)\) failed: (.*))");
  std::map<std::string, std::string> agent_of;
  std::set<std::string> done;  // finished (or failed) at least once
  std::string log;
  while (done != shipped_) {
    auto line = daemon->read_line();
    ASSERT_TRUE(line) << "the daemon exited; finished so far: " << ::testing::PrintToString(done) << "\n" << log;
    log += *line + "\n";
    std::smatch m;
    if (std::regex_search(*line, m, started)) agent_of[m[1]] = m[2];
    if (std::regex_search(*line, m, finished)) done.insert(agent_of[m[1]]);
    if (std::regex_search(*line, m, failed)) {  // reported, and not waited for any longer
      ADD_FAILURE() << "agent " << m[2] << " failed: " << m[3];
      done.insert(m[2]);
    }
  }

  for (const std::string& agent : shipped_) {
    SCOPED_TRACE(agent);
    json tasks = agentd_json({"tasks", "--agent", agent, "--status", "finished", "--json"});
    ASSERT_FALSE(tasks.empty());
    EXPECT_FALSE(tasks[0]["output"].get<std::string>().empty());
    int64_t id = tasks[0]["id"];
    EXPECT_THAT(event_kinds(id), ::testing::Contains("finished"));
    if (agent == "chat") continue;  // answers in its output; writes no file
    fs::path out = checkout_ / "var" / agent;
    ASSERT_TRUE(fs::is_directory(out));
    EXPECT_FALSE(fs::is_empty(out)) << "no file written in " << out;
  }
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

}  // namespace
}  // namespace agentd
