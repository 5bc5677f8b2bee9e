// `agentd run` as a real process on the real test model, driven through the real CLI: tasks
// submitted while it is down or up, one daemon per database, SIGTERM drain, SIGKILL and restart.
// The test synchronises on the daemon's log lines ("serving:", "task N started"), never on sleeps.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/runtime/agentd_binary.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd {
namespace {

using nlohmann::json;

std::string test_model() {
  const char* p = std::getenv("AGENTD_TEST_MODEL");
  if (!p || !*p) throw std::runtime_error("AGENTD_TEST_MODEL is not set (run the tests through ctest)");
  return p;
}

class DaemonTest : public ::testing::Test {
 protected:
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
    auto daemon = std::make_unique<testing::ChildProcess>(argv, /*merge_stderr=*/true);
    EXPECT_TRUE(wait_for_line(*daemon, "serving:")) << "the daemon did not start";
    return daemon;
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
};

TEST_F(DaemonTest, RunsTasksQueuedBeforeAndAfterItStarted) {
  // Queued while no daemon runs: submit works through the database alone.
  auto early = agentd({"submit", "storyteller", "--input", "Once upon a time", "--priority", "background"});
  ASSERT_EQ(early.exit_code, 0) << early.err;
  int64_t early_id = std::stoll(early.out);

  auto daemon = start_daemon({"--max-tokens", "24"});
  json done = agentd_json({"submit", "chat", "--input", "Lily and Tom went to the park.", "--priority",
                           "interactive", "--wait", "--json", "--timeout", "2m"});
  EXPECT_EQ(done["status"], "finished");
  EXPECT_EQ(done["priority"], "interactive");
  EXPECT_FALSE(done["output"].get<std::string>().empty());

  json task = agentd_json({"task", std::to_string(done["id"].get<int64_t>()), "--json"});
  bool saw_call = false;
  for (const auto& e : task["events"]) {
    if (e["kind"] != "llm_call") continue;
    saw_call = true;
    EXPECT_EQ(e["data"]["route"], "local");
    EXPECT_GT(e["data"]["prompt_tokens"].get<int>(), 0);
    EXPECT_GT(e["data"]["completion_tokens"].get<int>(), 0);
    EXPECT_LE(e["data"]["completion_tokens"].get<int>(), 24);
  }
  EXPECT_TRUE(saw_call);

  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(early_id) + " finished:"));
  EXPECT_EQ(agentd_json({"task", std::to_string(early_id), "--json"})["status"], "finished");

  daemon->signal(SIGTERM);
  EXPECT_TRUE(wait_for_line(*daemon, "agentd stopped"));
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, OneDaemonPerDatabase) {
  auto daemon = start_daemon();
  auto second = testing::run_process({testing::agentd_binary(), "--db", db(), "run", "--model", test_model()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("already running"), std::string::npos) << second.err;
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, SigtermPastTheGraceRecordsInterruptedAndRestartResumes) {
  auto daemon = start_daemon({"--grace", "0s", "--max-tokens", "1900", "--ctx", "2048"});
  int64_t id = std::stoll(agentd({"submit", "storyteller", "--input", "Once upon a time"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " (storyteller) started"));
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  json t = agentd_json({"task", std::to_string(id), "--json"});
  EXPECT_EQ(t["status"], "interrupted");

  auto again = start_daemon({"--max-tokens", "8"});
  ASSERT_TRUE(wait_for_line(*again, "task " + std::to_string(id) + " finished:"));
  t = agentd_json({"task", std::to_string(id), "--json"});
  EXPECT_EQ(t["status"], "finished");
  EXPECT_EQ(t["attempt"], 2);
  EXPECT_EQ(event_kinds(id), (std::vector<std::string>{"queued", "started", "llm_call", "interrupted", "resumed",
                                                       "started", "llm_call", "finished"}));
  again->signal(SIGTERM);
  EXPECT_EQ(exit_code(again->wait()), 0);
}

TEST_F(DaemonTest, SigkillMidTaskThenRestartRequeuesIt) {
  auto daemon = start_daemon({"--max-tokens", "1900", "--ctx", "2048"});
  int64_t id = std::stoll(agentd({"submit", "storyteller", "--input", "Once upon a time"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " (storyteller) started"));
  daemon->kill();
  daemon->wait();
  EXPECT_EQ(agentd_json({"task", std::to_string(id), "--json"})["status"], "running");  // as the crash left it
  EXPECT_EQ(agentd_json({"db", "check", "--json"})["ok"], true);

  auto again = start_daemon({"--max-tokens", "8"});
  ASSERT_TRUE(wait_for_line(*again, "task " + std::to_string(id) + " finished:"));
  json t = agentd_json({"task", std::to_string(id), "--json"});
  EXPECT_EQ(t["status"], "finished");
  EXPECT_EQ(t["attempt"], 2);
  auto kinds = event_kinds(id);
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "started", "interrupted", "resumed", "started", "llm_call",
                                             "finished"}));
  again->signal(SIGTERM);
  EXPECT_EQ(exit_code(again->wait()), 0);
}

TEST_F(DaemonTest, AMissingModelIsAClearStartupError) {
  auto r = testing::run_process({testing::agentd_binary(), "--db", db(), "run", "--model",
                                 (dir_ / "nope.gguf").string(), "--log-file-level", "off"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace agentd
