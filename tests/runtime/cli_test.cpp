// The history CLI as a user runs it: the real agentd binary on a real database seeded through
// the storage API, every command checked, --json output parsed back.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "scheduler/priority.hpp"
#include "storage/memory_store.hpp"
#include "storage/schema.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"
#include "tests/runtime/agentd_binary.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd {
namespace {

using nlohmann::json;
using scheduler::Priority;
using storage::TaskStatus;
using testing::ProcessResult;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage::open_database(db_path());
    storage::TaskStore tasks(*db);
    // mail: one finished, one failed; drafter: one running with sections; chat: one queued.
    mail_done_ = tasks.enqueue({"mail", "mail", Priority::background, "every 15m", "triage inbox", {}});
    tasks.claim(mail_done_);
    tasks.add_event(mail_done_, storage::event::llm_call, {{"route", "local"}, {"completion_tokens", 42}});
    tasks.finish(mail_done_, "3 messages: 1 urgent");
    mail_failed_ = tasks.enqueue({"mail", "mail", Priority::background, "every 15m", "triage again", {}});
    tasks.claim(mail_failed_);
    tasks.fail(mail_failed_, "Maildir not found: /nowhere");
    draft_ = tasks.enqueue({"drafter", "drafter", Priority::tool, "manual", "write about otters", {}});
    tasks.claim(draft_);
    storage::SectionStore sections(*db);
    sections.plan(draft_, {"Habitat", "Diet"});
    sections.put({draft_, 0, "Habitat", "Otters live in rivers.", 6, storage::SectionStatus::done, 0});
    chat_ = tasks.enqueue({"chat", "chat", Priority::interactive, "cli", "hello there", {}});
    storage::MemoryStore memory(*db);
    memory.set("chat", "name", "Ada");
    memory.add_note("chat", "Ada likes green tea in the morning");
    memory.add_note("chat", "the garden needs water on Sundays");
    memory.add_note("mail", "green tea order shipped");  // another agent's: must not show
  }

  std::filesystem::path db_path() const { return dir_ / "agentd.db"; }

  ProcessResult agentd(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::agentd_binary(), "--db", db_path().string()});
    return testing::run_process(args);
  }

  json agentd_json(std::vector<std::string> args) {
    auto r = agentd(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  testing::TempDir dir_;
  int64_t mail_done_ = 0, mail_failed_ = 0, draft_ = 0, chat_ = 0;
};

TEST_F(CliTest, TasksListsNewestFirstAsJson) {
  json tasks = agentd_json({"tasks", "--json"});
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(tasks[0]["id"], chat_);
  EXPECT_EQ(tasks[0]["priority"], "interactive");
  EXPECT_EQ(tasks[0]["status"], "queued");
  EXPECT_EQ(tasks[3]["id"], mail_done_);
  EXPECT_EQ(tasks[3]["output"], "3 messages: 1 urgent");
}

// An older agentd's file: readers say what upgrades it (the text filter needs schema 8's index)
// and leave it as it is; any command that writes upgrades it, and then the reader reads.
TEST_F(CliTest, AReaderRefusesAnOlderSchemaSayingWhatUpgradesItAndAWriterUpgrades) {
  const auto old_file = dir_ / "old.db";
  {
    storage::Database db(old_file);
    storage::migrate(db, storage::latest_schema_version() - 1);
    db.exec("INSERT INTO tasks (agent, input, created_at) VALUES ('mail', 'Otters in the river', 1000)");
  }
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing::agentd_binary(), "--db", old_file.string()});
    return testing::run_process(args);
  };
  auto refused = run({"tasks", "--text", "otters"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find(old_file.string() + ": schema version " + std::to_string(storage::latest_schema_version() - 1)),
            std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("agentd run"), std::string::npos) << refused.err;
  EXPECT_EQ(run({"db", "check", "--json"}).exit_code, 0);  // checking reads any version
  EXPECT_EQ(storage::Database(old_file, storage::OpenMode::read_only).user_version(), storage::latest_schema_version() - 1);

  EXPECT_EQ(run({"submit", "nobody", "--force"}).exit_code, 0);  // a write migrates
  auto found = run({"tasks", "--text", "OTTERS", "--json"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  EXPECT_EQ(json::parse(found.out).size(), 1u);
}

TEST_F(CliTest, TasksFilters) {
  json mail = agentd_json({"tasks", "--agent", "mail", "--json"});
  ASSERT_EQ(mail.size(), 2u);
  json failed = agentd_json({"tasks", "--status", "failed", "--json"});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["error"], "Maildir not found: /nowhere");
  EXPECT_EQ(agentd_json({"tasks", "--text", "otters", "--json"}).size(), 1u);
  EXPECT_EQ(agentd_json({"tasks", "--since", "1h", "--json"}).size(), 4u);
  EXPECT_EQ(agentd_json({"tasks", "--until", "2000-01-01", "--json"}).size(), 0u);
  EXPECT_EQ(agentd_json({"tasks", "--limit", "2", "--json"}).size(), 2u);
}

TEST_F(CliTest, TasksTableShowsEveryTask) {
  auto r = agentd({"tasks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("write about otters"), std::string::npos);
  EXPECT_NE(r.out.find("interactive"), std::string::npos);
  EXPECT_NE(r.out.find("failed"), std::string::npos);
}

TEST_F(CliTest, TaskShowsTimelineSectionsAndOutput) {
  json t = agentd_json({"task", std::to_string(mail_done_), "--json"});
  EXPECT_EQ(t["status"], "finished");
  std::vector<std::string> kinds;
  for (const auto& e : t["events"]) kinds.push_back(e["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "started", "llm_call", "finished"}));
  EXPECT_EQ(t["events"][2]["data"]["completion_tokens"], 42);

  json d = agentd_json({"task", std::to_string(draft_), "--json"});
  ASSERT_EQ(d["sections"].size(), 2u);
  EXPECT_EQ(d["sections"][0]["status"], "done");
  EXPECT_EQ(d["sections"][1]["status"], "pending");

  auto text = agentd({"task", std::to_string(draft_)});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("Habitat"), std::string::npos);
  EXPECT_NE(text.out.find("timeline:"), std::string::npos);
}

// `agentd tasks --export-trace`: the recorded model calls of a window as a day to replay, in the
// order they were sent; an agent's calls are one chain with the gaps they had, /v1 calls stand
// alone under their label, background tasks are numbered, and what cannot be replayed is counted.
TEST_F(CliTest, ExportTraceWritesTheRecordedCallsAsADayToReplay) {
  auto db = storage::open_database(db_path());
  storage::TaskStore tasks(*db);
  const int64_t t0 = storage::now_ms() - 60'000;
  auto call = [&](const std::string& agent, Priority p, int64_t sent, int64_t ended, json request) {
    storage::EndedCall c;
    c.output = "ok";
    c.started_at = sent;
    c.finished_at = ended;
    c.llm_call = {{"completion_tokens", 5}};
    if (!request.is_null()) c.llm_call["request"] = std::move(request);
    return tasks.record_call({agent, agent, p, "test", "in", {}}, c);
  };
  auto asked = [](int64_t sent, const char* priority, const std::string& text) {
    return json{{"sent_at", sent}, {"priority", priority}, {"max_tokens", 32},
                {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
  };
  call("mail", Priority::background, t0, t0 + 1000, asked(t0, "background", "label this mail"));
  call("mail", Priority::background, t0 + 3000, t0 + 4000, asked(t0 + 3000, "background", "summarize it"));
  const int64_t chat = call("chat", Priority::interactive, t0 + 500, t0 + 900, asked(t0 + 500, "interactive", "hello"));
  json schema_call = asked(t0 + 2000, "tool", "extract the total");
  schema_call["schema"] = {{"type", "object"}, {"properties", {{"total", {{"type", "number"}}}}}};
  call("v1:extractor", Priority::tool, t0 + 2000, t0 + 2500, schema_call);
  call("v1", Priority::background, t0 + 2600, t0 + 2700, {{"sent_at", t0 + 2600}, {"priority", "background"},
                                                        {"max_tokens", 8}, {"prompt", "raw text"}});
  call("v1", Priority::background, t0 - 2 * 86'400'000LL, t0 - 2 * 86'400'000LL + 10, asked(0, "background", "old"));

  const auto file = dir_ / "day.jsonl";
  auto r = agentd({"tasks", "--export-trace", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote 4 model call(s) of 2 background task(s)"), std::string::npos) << r.err;
  // The fixture's mail call was recorded without its request; the raw prompt has no chat form.
  EXPECT_NE(r.err.find("left out 1 call(s) recorded before"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("left out 1 call(s) with a raw prompt"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".partial"));

  std::ifstream in(file);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["agent"], "mail");
  EXPECT_EQ(lines[0]["time"], 0.0);
  EXPECT_EQ(lines[0]["class"], "background");
  EXPECT_EQ(lines[0]["messages"][0]["content"], "label this mail");
  EXPECT_EQ(lines[0]["max_tokens"], 32);
  EXPECT_EQ(lines[1]["agent"], "chat");
  EXPECT_EQ(lines[1]["time"], 0.5);
  EXPECT_FALSE(lines[1].contains("task"));  // interactive: no background task
  EXPECT_EQ(lines[2]["agent"], "extractor");  // a /v1 call under its label
  EXPECT_EQ(lines[2]["class"], "tool");
  EXPECT_EQ(lines[2]["schema"]["properties"]["total"]["type"], "number");
  EXPECT_FALSE(lines[2].contains("chain"));
  EXPECT_EQ(lines[3]["agent"], "mail");
  EXPECT_EQ(lines[3]["time"], 3.0);
  EXPECT_EQ(lines[3]["chain"], lines[0]["chain"]);
  EXPECT_NE(lines[1]["chain"], lines[0]["chain"]);
  EXPECT_EQ(lines[3]["after"], 2.0);  // sent 2 s after the chain's previous call ended
  EXPECT_EQ(lines[0]["task"], 0);
  EXPECT_EQ(lines[3]["task"], 1);

  // The timeline shows a call's request as its size; --json keeps it whole.
  auto shown = agentd({"task", std::to_string(chat)});
  EXPECT_NE(shown.out.find("\"request\":\"1 message(s), 5 chars\""), std::string::npos) << shown.out;
  json whole = agentd_json({"task", std::to_string(chat), "--json"});
  ASSERT_EQ(whole["events"][1]["kind"], "llm_call");
  EXPECT_EQ(whole["events"][1]["data"]["request"]["messages"][0]["content"], "hello");

  auto mixed = agentd({"tasks", "--agent", "mail", "--export-trace", file.string()});
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_NE(mixed.err.find("--agent, --status and --text do not apply"), std::string::npos) << mixed.err;
}

TEST_F(CliTest, UnknownTaskIsAnErrorNamingTheId) {
  auto r = agentd({"task", "999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no task with id 999999"), std::string::npos) << r.err;
}

TEST_F(CliTest, MemoryGetSetListSearch) {
  EXPECT_EQ(agentd_json({"memory", "get", "chat", "name"}), "Ada");
  ASSERT_EQ(agentd({"memory", "set", "chat", "prefs", R"({"tea": "green"})"}).exit_code, 0);
  json all = agentd_json({"memory", "list", "chat", "--json"});
  EXPECT_EQ(all["prefs"]["tea"], "green");
  EXPECT_EQ(all["name"], "Ada");
  ASSERT_EQ(agentd({"memory", "set", "chat", "mood", "not json"}).exit_code, 0);
  EXPECT_EQ(agentd_json({"memory", "get", "chat", "mood"}), "not json");

  json hits = agentd_json({"memory", "search", "chat", "green tea", "--json"});
  ASSERT_EQ(hits.size(), 1u);  // the mail agent's note about tea is not the chat agent's
  EXPECT_EQ(hits[0]["text"], "Ada likes green tea in the morning");

  auto missing = agentd({"memory", "get", "chat", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no memory key 'nope'"), std::string::npos);
}

TEST_F(CliTest, DbCheckAndPrune) {
  json check = agentd_json({"db", "check", "--json"});
  EXPECT_EQ(check["ok"], true);
  EXPECT_EQ(check["schema_version"], storage::latest_schema_version());
  // Nothing is 30 days old yet; a zero cut-off prunes every ended task but not queued/running.
  EXPECT_EQ(agentd_json({"db", "prune", "--older-than", "30d", "--json"})["tasks"], 0);
  EXPECT_EQ(agentd_json({"db", "prune", "--older-than", "0s", "--json"})["tasks"], 2);
  json left = agentd_json({"tasks", "--json"});
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0]["id"], chat_);
  EXPECT_EQ(left[1]["id"], draft_);
}

TEST_F(CliTest, BadArgumentsExitNonZeroWithAReason) {
  auto status = agentd({"tasks", "--status", "bogus"});
  EXPECT_EQ(status.exit_code, 2);
  EXPECT_NE(status.err.find("unknown status 'bogus'"), std::string::npos);
  auto since = agentd({"tasks", "--since", "yesterday"});
  EXPECT_EQ(since.exit_code, 2);
  EXPECT_NE(since.err.find("--since"), std::string::npos);
  EXPECT_EQ(agentd({"db", "prune", "--older-than", "soon"}).exit_code, 2);
  EXPECT_EQ(agentd({"nonsense"}).exit_code, 2);
}

TEST_F(CliTest, MissingAndCorruptDatabasesAreNamed) {
  auto missing = testing::run_process({testing::agentd_binary(), "--db", (dir_ / "none.db").string(), "tasks"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("none.db"), std::string::npos) << missing.err;

  auto junk = dir_ / "junk.db";
  { std::ofstream(junk) << std::string(8192, 'x'); }
  auto corrupt = testing::run_process({testing::agentd_binary(), "--db", junk.string(), "tasks"});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_NE(corrupt.err.find("junk.db"), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find("not an agentd database"), std::string::npos) << corrupt.err;
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (auto cmd : std::vector<std::vector<std::string>>{{"--help"}, {"tasks", "--help"}, {"task", "--help"},
                                                        {"memory", "--help"}, {"memory", "search", "--help"},
                                                        {"db", "--help"}, {"db", "prune", "--help"}}) {
    auto r = agentd(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd.front();
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << cmd.front();
  }
}

}  // namespace
}  // namespace agentd
