// `agentd run` as a real process on the real test model, driven through the real CLI, with
// `prompt` agents defined in files: tasks submitted while it is down or up, an interval trigger
// and an event chain, one daemon per database, SIGTERM drain, SIGHUP reload, SIGKILL and restart.
// The test synchronises on the daemon's log lines ("serving:", "task N started"), never on sleeps.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <sqlite3.h>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

using nlohmann::json;

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

TEST_F(DaemonTest, SigtermLetsARunningTaskFinishWithinTheGraceAndASecondOneCancels) {
  auto daemon = start_daemon({"--max-tokens", "1900", "--ctx", "2048"});
  int64_t finishing = std::stoll(agentd({"submit", "storyteller", "--input", "Once upon a time"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(finishing) + " (storyteller) started"));
  daemon->signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(*daemon, "draining:"));
  int64_t later = std::stoll(agentd({"submit", "chat", "--input", "Hi"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(finishing) + " finished:"));
  EXPECT_TRUE(wait_for_line(*daemon, "agentd stopped"));
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  EXPECT_EQ(agentd_json({"task", std::to_string(finishing), "--json"})["status"], "finished");
  EXPECT_EQ(agentd_json({"task", std::to_string(later), "--json"})["status"], "queued") << "no claims while draining";

  // Next start: the queued chat runs; a long story is cut short by a second SIGTERM.
  auto again = start_daemon({"--max-tokens", "1900", "--ctx", "2048"});
  ASSERT_TRUE(wait_for_line(*again, "task " + std::to_string(later) + " finished:"));
  int64_t cut = std::stoll(agentd({"submit", "storyteller", "--input", "Once upon a time"}).out);
  ASSERT_TRUE(wait_for_line(*again, "task " + std::to_string(cut) + " (storyteller) started"));
  again->signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(*again, "draining:"));
  again->signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(*again, "cancelling running tasks now"));
  EXPECT_EQ(exit_code(again->wait()), 0);
  EXPECT_EQ(agentd_json({"task", std::to_string(cut), "--json"})["status"], "interrupted");
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

TEST_F(DaemonTest, AnIntervalAgentAndItsEventFollowerRunAsAPipeline) {
  // "ticker" fires when the daemon starts (an interval never run before), writes a file and
  // raises ticker.done; "echo" runs on that event and keeps the answer in its memory. A broken
  // agent file disables that agent only.
  write_agent("ticker", R"({"plugin": "prompt", "prompt": "Once upon a time", "triggers": [{"every": "1h"}],
                             "folders": {"write": ["../out"]}, "generation": {"max_tokens": 12, "temperature": 0},
                             "settings": {"output_file": "story-{{task}}.txt", "emit": "done"}})");
  write_agent("echo", R"({"plugin": "prompt", "prompt": "{{event.output}} The end.", "triggers": [{"on": "ticker.done"}],
                           "generation": {"max_tokens": 8}, "settings": {"memory_key": "last"}})");
  write_agent("broken", R"({"plugin": "prompt", "prompt": "x", "triggers": [{"evrey": "5m"}]})");

  auto daemon = start_daemon();
  EXPECT_NE(startup_log_.find("broken.json: /triggers/0/evrey: unknown key (did you mean 'every'?)"), std::string::npos)
      << "the daemon's log names the broken file, path and reason:\n" << startup_log_;
  ASSERT_TRUE(wait_for_line(*daemon, "(echo) started"));
  ASSERT_TRUE(wait_for_line(*daemon, "finished:"));

  json ticker = agentd_json({"tasks", "--agent", "ticker", "--json"});
  json echo = agentd_json({"tasks", "--agent", "echo", "--json"});
  ASSERT_EQ(ticker.size(), 1u);
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(ticker[0]["trigger"], "every 1h");
  EXPECT_EQ(ticker[0]["status"], "finished");
  EXPECT_EQ(echo[0]["status"], "finished");
  EXPECT_EQ(echo[0]["trigger"], "on ticker.done");
  EXPECT_EQ(echo[0]["parent_id"], ticker[0]["id"]);
  json event = json::parse(echo[0]["input"].get<std::string>());
  EXPECT_EQ(event["event"], "ticker.done");
  EXPECT_EQ(event["output"], ticker[0]["output"]);

  auto file = dir_ / "out" / ("story-" + std::to_string(ticker[0]["id"].get<int64_t>()) + ".txt");
  std::ifstream in(file);
  std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, ticker[0]["output"].get<std::string>()) << file;
  EXPECT_EQ(agentd({"memory", "get", "echo", "last"}).out, echo[0]["output"].dump(2) + "\n");

  json status = agentd_json({"status", "--json"});
  EXPECT_EQ(status["agents"]["broken"]["state"], "broken");
  EXPECT_EQ(status["agents"]["ticker"]["state"], "enabled");
  EXPECT_TRUE(status["agents"]["ticker"].contains("next_run"));

  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, AFileDroppedIntoAWatchedFolderRunsItsAgent) {
  std::filesystem::create_directories(dir_ / "inbox");
  write_agent("reader", R"({"plugin": "prompt", "prompt": "{{input_file}} The end.",
                             "triggers": [{"watch": "../inbox", "glob": "*.txt", "debounce": "100ms"}],
                             "generation": {"max_tokens": 8}})");
  auto daemon = start_daemon();
  std::ofstream(dir_ / "inbox" / "note.md") << "not matched by the glob";
  std::ofstream(dir_ / "inbox" / "story.txt") << "Tom had a red ball.";
  ASSERT_TRUE(wait_for_line(*daemon, "(reader) started"));
  ASSERT_TRUE(wait_for_line(*daemon, "finished:"));
  json tasks = agentd_json({"tasks", "--agent", "reader", "--json"});
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(std::filesystem::path(tasks[0]["input"].get<std::string>()).filename(), "story.txt");
  EXPECT_EQ(tasks[0]["status"], "finished");
  json calls = agentd_json({"task", std::to_string(tasks[0]["id"].get<int64_t>()), "--json"});
  bool saw_call = false;
  for (const auto& e : calls["events"]) saw_call |= e["kind"] == "llm_call";
  EXPECT_TRUE(saw_call);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, SighupReloadsAgentsWithoutDroppingRunningTasks) {
  auto daemon = start_daemon({"--max-tokens", "1900", "--ctx", "2048"});
  int64_t id = std::stoll(agentd({"submit", "storyteller", "--input", "Once upon a time"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " (storyteller) started"));

  write_agent("latecomer", R"({"plugin": "prompt", "prompt": "Hello", "triggers": [{"every": "1h"}],
                                "generation": {"max_tokens": 4}})");
  write_agent("chat", R"({"plugin": "prompt", "prompt": "{{nonsense}}"})");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_for_line(*daemon, "(latecomer) started"));
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " finished:"));
  EXPECT_EQ(agentd_json({"task", std::to_string(id), "--json"})["status"], "finished");

  json status = agentd_json({"status", "--json"});
  EXPECT_EQ(status["agents"]["chat"]["state"], "broken");
  EXPECT_NE(status["agents"]["chat"]["error"].get<std::string>().find("{{nonsense}}: unknown placeholder"),
            std::string::npos);
  EXPECT_EQ(status["agents"]["latecomer"]["state"], "enabled");
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, ATaskPastItsTimeoutFailsAndTheAgentKeepsWorking) {
  write_agent("slow", R"({"plugin": "prompt", "prompt": "Once upon a time", "limits": {"timeout": "1s"},
                           "generation": {"max_tokens": 1900, "temperature": 0}})");
  write_agent("quick", R"({"plugin": "prompt", "prompt": "Hi", "generation": {"max_tokens": 4}})");
  // Greedy, this prompt runs the whole 1,900 tokens (no end of story): about 10 s here on one
  // compute thread, so the 1 s timeout is what ends the task; other agents keep running.
  auto daemon = start_daemon({"--ctx", "2048"});
  int64_t slow = std::stoll(agentd({"submit", "slow"}).out);
  json quick = agentd_json({"submit", "quick", "--wait", "--json", "--timeout", "2m"});
  EXPECT_EQ(quick["status"], "finished");
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(slow) + " (slow) timed out"));
  json t = agentd_json({"task", std::to_string(slow), "--json"});
  EXPECT_EQ(t["status"], "failed");
  EXPECT_NE(t["error"].get<std::string>().find("timed out after 1.0s"), std::string::npos) << t["error"];
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, CancelFromTheCommandLineStopsARunningTask) {
  auto daemon = start_daemon({"--max-tokens", "1900", "--ctx", "2048"});
  int64_t id = std::stoll(agentd({"submit", "storyteller", "--input", "Once upon a time"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " (storyteller) started"));
  auto r = agentd({"cancel", std::to_string(id)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " cancelled"));
  json t = agentd_json({"task", std::to_string(id), "--json"});
  EXPECT_EQ(t["status"], "cancelled");
  EXPECT_LT(t["events"].size(), 6u);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, ALongDraftKilledInSectionThreeResumesWithoutRedoingSectionsOneAndTwo) {
  write_agent("drafter", R"({"plugin": "prompt", "prompt": "A story about a brave little cat.",
                              "generation": {"temperature": 0, "section_tokens": 400},
                              "settings": {"long_form": {"outline": ["The cat", "The storm", "The tree",
                                                                     "The rescue", "The party", "The end"]}}})");
  auto daemon = start_daemon({"--ctx", "2048"});
  int64_t id = std::stoll(agentd({"submit", "drafter"}).out);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(id) + " (drafter): section 3 started"));
  daemon->kill();
  daemon->wait();

  auto count = [](const json& task, const std::string& kind, int idx) {
    int n = 0;
    for (const auto& e : task["events"]) n += e["kind"] == kind && e["data"].value("idx", -1) == idx;
    return n;
  };
  json before = agentd_json({"task", std::to_string(id), "--json"});
  ASSERT_EQ(before["sections"].size(), 6u);
  for (int i : {0, 1}) {
    EXPECT_EQ(before["sections"][i]["status"], "done");
    EXPECT_EQ(count(before, "section", i), 1);
  }
  EXPECT_NE(before["sections"][2]["status"], "done");

  auto again = start_daemon({"--ctx", "2048"});
  ASSERT_TRUE(wait_for_line(*again, "task " + std::to_string(id) + " finished:"));
  json after = agentd_json({"task", std::to_string(id), "--json"});
  EXPECT_EQ(after["status"], "finished");
  EXPECT_EQ(after["attempt"], 2);
  for (int i : {0, 1}) {
    EXPECT_EQ(after["sections"][i]["text"], before["sections"][i]["text"]) << "section " << i + 1 << " byte-identical";
    EXPECT_EQ(count(after, "section", i), 1) << "section " << i + 1 << " not regenerated";
    EXPECT_EQ(count(after, "section_attempt", i), count(before, "section_attempt", i));
  }
  std::string output = after["output"];
  for (const auto& section : after["sections"]) {
    EXPECT_EQ(section["status"], "done");
    EXPECT_NE(output.find("## " + section["title"].get<std::string>() + "\n\n" + section["text"].get<std::string>()),
              std::string::npos);
  }
  again->signal(SIGTERM);
  EXPECT_EQ(exit_code(again->wait()), 0);
}

TEST_F(DaemonTest, SubmitWaitShowsEachSectionAsItFinishes) {
  write_agent("drafter", R"({"plugin": "prompt", "prompt": "A story about a dog.",
                              "generation": {"section_tokens": 64},
                              "settings": {"long_form": {"outline": ["Morning", "Noon", "Night"]}}})");
  auto daemon = start_daemon();
  auto r = agentd({"submit", "drafter", "--wait", "--timeout", "2m"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // stderr is a pipe here, so progress comes as plain lines, one per section, in order.
  size_t first = r.err.find("section 1/3 done: Morning"), second = r.err.find("section 2/3 done: Noon"),
         third = r.err.find("section 3/3 done: Night");
  ASSERT_NE(first, std::string::npos) << r.err;
  ASSERT_NE(second, std::string::npos) << r.err;
  ASSERT_NE(third, std::string::npos) << r.err;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_NE(r.out.find("## Night"), std::string::npos) << r.out;
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(DaemonTest, AnAgentRoutedToTheCloudUsesAnotherServerAndItsCostIsRecorded) {
  // The "cloud" is a second agentd (its own data directory) on a free port.
  testing::TempDir cloud_dir;
  std::filesystem::create_directories(cloud_dir / "agents.d");
  testing::ChildProcess cloud({testing::agentd_binary(), "--db", (cloud_dir / "agentd.db").string(), "run", "--model",
                               test_model(), "--threads", "1", "--log-file-level", "off", "--listen", "127.0.0.1:0"},
                              /*merge_stderr=*/true);
  std::string port;
  while (auto line = cloud.read_line()) {
    auto at = line->find("http: listening on 127.0.0.1:");
    if (at != std::string::npos) port = line->substr(at + 29, line->find(' ', at + 29) - at - 29);
    if (line->find("serving:") != std::string::npos) break;
  }
  ASSERT_FALSE(port.empty());
  std::ofstream(dir_ / "agentd.json") << R"({"cloud": {"base_url": "http://127.0.0.1:)" << port
                                      << R"(/v1", "model": "stories260K", "input_price_per_mtok": 1000, "output_price_per_mtok": 2000}})";
  write_agent("thinker", R"({"plugin": "prompt", "prompt": "Once upon a time", "route": "auto", "complexity": "high",
                              "generation": {"max_tokens": 8, "temperature": 0}})");
  auto daemon = start_daemon();
  auto submitted = agentd({"submit", "thinker", "--wait", "--json"});  // no --timeout: waits as long as it takes
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err << submitted.out;
  json done = json::parse(submitted.out);
  EXPECT_EQ(done["status"], "finished");
  json task = agentd_json({"task", std::to_string(done["id"].get<int64_t>()), "--json"});
  json call;
  for (const auto& e : task["events"]) {
    if (e["kind"] == "llm_call") call = e["data"];
  }
  ASSERT_TRUE(call.is_object());
  EXPECT_EQ(call["route"], "cloud");
  EXPECT_EQ(call["route_reason"], "auto: complexity 3");
  double expected = (call["prompt_tokens"].get<int>() * 1000.0 + call["completion_tokens"].get<int>() * 2000.0) / 1e6;
  EXPECT_DOUBLE_EQ(call["cost_usd"].get<double>(), expected);
  EXPECT_GT(expected, 0);

  json status = agentd_json({"status", "--json"});
  EXPECT_EQ(status["model_calls"]["by_agent"]["thinker"]["cloud"]["calls"], 1);
  EXPECT_DOUBLE_EQ(status["model_calls"]["by_agent"]["thinker"]["cloud"]["cost_usd"].get<double>(), expected);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  cloud.signal(SIGTERM);
  EXPECT_EQ(exit_code(cloud.wait()), 0);
}

// A database with a zeroed page: the daemon refuses to start (exit 1: restarting cannot help)
// before it writes anything, naming the file, the damage and the way out.
TEST_F(DaemonTest, ADamagedDatabaseIsAClearStartupErrorAndIsNotWrittenTo) {
  for (int i = 0; i < 300; ++i) agentd({"submit", "storyteller", "--input", "story " + std::to_string(i) + std::string(300, 'x')});
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  const auto size = std::filesystem::file_size(db());
  {
    std::fstream f(db(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
    const std::string zeros(4096, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  const auto before = std::filesystem::last_write_time(db());
  auto r = testing::run_process({testing::agentd_binary(), "--db", db(), "run", "--model", test_model(), "--log-file-level", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(db() + " is damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(".recover"), std::string::npos) << r.err;
  EXPECT_EQ(std::filesystem::last_write_time(db()), before) << "the daemon wrote into a damaged file";
  EXPECT_FALSE(std::filesystem::exists(db() + "-wal") && std::filesystem::file_size(db() + "-wal") > 0);
}

TEST_F(DaemonTest, AMissingModelIsAClearStartupError) {
  auto r = testing::run_process({testing::agentd_binary(), "--db", db(), "run", "--model",
                                 (dir_ / "nope.gguf").string(), "--log-file-level", "off"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace agentd

namespace agentd {
namespace {

// Another program holds the database's write lock past the daemon's busy timeout (10 s): the
// trigger that falls due meanwhile cannot be written (SQLITE_BUSY). The daemon logs it, keeps
// serving, and fires it once the lock is gone.
TEST_F(DaemonTest, ADatabaseLockedByAnotherProgramDelaysTheDaemonButNeverEndsIt) {
  write_agent("ticker", R"({"plugin": "prompt", "prompt": "Once upon a time", "triggers": [{"every": "1s"}],
                            "generation": {"temperature": 0, "max_tokens": 4}})");
  auto daemon = start_daemon();
  ASSERT_TRUE(wait_for_line(*daemon, "finished"));  // the ticker ran at start
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  // Closed on every path: a failed ASSERT below must not leak the connection (LeakSanitizer).
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> other(raw, sqlite3_close);
  ASSERT_EQ(sqlite3_exec(other.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_TRUE(wait_for_line(*daemon, "firing triggers failed"));  // its next run could not be queued
  ASSERT_EQ(sqlite3_exec(other.get(), "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  other.reset();
  ASSERT_TRUE(wait_for_line(*daemon, "finished")) << "the daemon went on once the lock was gone";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  json tasks = agentd_json({"tasks", "--agent", "ticker", "--json"});
  EXPECT_GE(tasks.size(), 2u);
}

}  // namespace
}  // namespace agentd
