// The digest: grouping the day's activity by agent (exactly, on hand-made tasks and notes), and
// DigestAgent end to end on tasks and notes put in the real TaskStore and MemoryStore, with a mock
// engine answering each section's summary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/digest/activity_digest.hpp"
#include "agents/digest/digest_agent.hpp"
#include "agents/registry.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Monday 10 March 2025, 18:00 UTC.
constexpr int64_t kEvening = 1741629600000;

FinishedTask task(int64_t id, const std::string& agent, const std::string& output, int64_t finished,
                 const std::string& plugin = "") {
  FinishedTask t;
  t.id = id;
  t.agent = agent;
  t.plugin = plugin.empty() ? agent : plugin;
  t.trigger = "every 1h";
  t.output = output;
  t.finished_at = finished;
  return t;
}

Note note(const std::string& agent, const std::string& text, int64_t at) {
  Note n;
  n.agent = agent;
  n.text = text;
  n.at = at;
  return n;
}

TEST(ActivityDigestTest, GroupsByAgentSkipsItselfAndCapsEachSection) {
  TimeZone utc("UTC");
  int64_t h = 3600'000;
  // As the stores return them: tasks newest first, notes oldest first.
  std::vector<FinishedTask> tasks = {
      task(9, "news", "## 3 new items\n\nRelease 2.0", kEvening - 1 * h),
      task(8, "digest", "# Digest of yesterday", kEvening - 2 * h),
      task(7, "evening-digest", "another digest", kEvening - 2 * h, "digest"),
      task(6, "calendar", "# Agenda\n\nBusy day", kEvening - 3 * h),
      task(5, "news", "no new items", kEvening - 4 * h),
      task(4, "news", "", kEvening - 5 * h),
  };
  std::vector<Note> notes = {note("news", "old note", kEvening - 6 * h), note("digest", "mine", kEvening - 5 * h),
                                      note("market", "AAPL +3%", kEvening - 4 * h), note("news", "new note", kEvening - 2 * h)};
  DigestLimits limits;
  limits.max_tasks = 2;
  limits.max_notes = 1;
  DigestMaterial m = group_activity(tasks, notes, "digest", limits, utc);

  EXPECT_EQ(m.tasks, 4u);
  EXPECT_EQ(m.notes, 3u);
  ASSERT_EQ(m.sections.size(), 3u);
  EXPECT_EQ(m.sections[0].agent, "calendar");
  EXPECT_EQ(m.sections[1].agent, "market");
  EXPECT_EQ(m.sections[2].agent, "news");
  EXPECT_THAT(m.sections[0].items, ElementsAre("Task 6 · Mon 15:00 · every 1h: # Agenda Busy day"));
  EXPECT_THAT(m.sections[1].items, ElementsAre("Note · Mon 14:00: AAPL +3%"));
  const AgentSection& news = m.sections[2];
  EXPECT_EQ(news.tasks, 3u);
  EXPECT_EQ(news.notes, 2u);
  EXPECT_THAT(news.items, ElementsAre("Task 9 · Mon 17:00 · every 1h: ## 3 new items Release 2.0",
                                      "Task 5 · Mon 14:00 · every 1h: no new items", "Note · Mon 16:00: new note"));
  EXPECT_EQ(news.hidden, 2u);
  EXPECT_EQ(section_items_markdown(news),
            "- Task 9 · Mon 17:00 · every 1h: ## 3 new items Release 2.0\n"
            "- Task 5 · Mon 14:00 · every 1h: no new items\n- Note · Mon 16:00: new note\n- (2 more not shown)\n");
}

TEST(ActivityDigestTest, CapsItemLengthSectionSizeAndSectionCount) {
  TimeZone utc("UTC");
  std::vector<FinishedTask> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(task(10 - i, "writer", std::string(500, 'a' + i), kEvening));
  tasks.push_back(task(1, "alpha", "", kEvening));
  tasks.push_back(task(2, "beta", "b", kEvening));
  DigestLimits limits;
  limits.max_item_chars = 100;
  limits.max_section_chars = 250;
  limits.max_sections = 2;
  DigestMaterial m = group_activity(tasks, {}, "digest", limits, utc);
  ASSERT_EQ(m.sections.size(), 2u);
  EXPECT_EQ(m.agents_left_out, 1u);
  EXPECT_EQ(m.tasks, 6u);
  EXPECT_THAT(m.sections[0].items, ElementsAre("Task 1 · Mon 18:00 · every 1h: (no output)"));

  DigestMaterial w = group_activity(tasks, {}, "digest", {5, 5, 100, 300, 30}, utc);
  const AgentSection& writer = w.sections[2];
  ASSERT_EQ(writer.items.size(), 2u);  // items of 137 bytes: two fit in 300, a third would not
  EXPECT_EQ(writer.items[0], "Task 10 · Mon 18:00 · every 1h: " + std::string(100, 'a') + "...");
  EXPECT_EQ(writer.hidden, 2u);
}

TEST(ActivityDigestTest, NothingToReportGivesNoSections) {
  DigestMaterial m = group_activity({task(1, "digest", "x", kEvening)}, {note("digest", "y", kEvening)}, "digest", {},
                                    TimeZone("UTC"));
  EXPECT_THAT(m.sections, IsEmpty());
  EXPECT_EQ(m.tasks + m.notes, 0u);
}

class DigestAgentTest : public test_support::AgentsTest {
 protected:
  DigestAgentTest() {
    root = fs::canonical(dir.path());
    out = root / "out";
    fs::create_directories(out);
    config.name = "digest";
    config.plugin = "digest";
    config.write_folders = {out};
    config.settings = {{"time_zone", "UTC"}};
    // The stores stamp rows with the wall clock: the digest's "now" is a little after it.
    now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count() + 60'000;
  }

  // A finished task of `agent` in the real store.
  int64_t finished_task(const std::string& agent, const std::string& output) {
    storage::NewTask n;
    n.agent = agent;
    n.plugin = agent;
    n.trigger = "every 1h";
    int64_t id = tasks.enqueue(n);
    EXPECT_TRUE(tasks.claim(id));
    EXPECT_TRUE(tasks.finish(id, output));
    return id;
  }

  std::string run_digest(int model_calls, std::vector<std::string>* prompts) {
    DigestAgent agent(config);
    int n = 0;
    auto answer = [&n, prompts](engine::Request r) {
      prompts->push_back(r.messages.back().content);
      return std::unique_ptr<engine::Generation>(std::make_unique<test_support::FakeGeneration>(
          test_support::text_result(++n == 1 ? "  Calendar had a busy day.\n" : ""),
          std::make_shared<test_support::GenerationProbe>()));
    };
    // Over-saturation fails the test; the default action keeps it from crashing the suite.
    ON_CALL(engine, submit(_)).WillByDefault(answer);
    EXPECT_CALL(engine, submit(_)).Times(model_calls).WillRepeatedly(answer);
    TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
    std::string output = agent.run(ctx);
    ::testing::Mock::VerifyAndClearExpectations(&engine);
    return output;
  }

};

TEST_F(DigestAgentTest, OneSummaryPerAgentFromThatAgentsMaterialOnly) {
  int64_t agenda = finished_task("calendar", "# Agenda\n\n2 conflicts today");
  int64_t news = finished_task("news", "## 3 new items\n\nRelease 2.0");
  int64_t old_news = finished_task("news", "a story from two days ago");
  db->cached("UPDATE tasks SET finished_at = ? WHERE id = ?").bind_all(static_cast<int64_t>(now - 48 * 3600'000), old_news).run();
  finished_task("digest", "# Digest of yesterday");
  memory.add_note("news", "News: Release 2.0 (Blog)");
  memory.add_note("digest", "my own note");

  std::vector<std::string> prompts;
  std::string output = run_digest(2, &prompts);

  ASSERT_EQ(prompts.size(), 2u);
  EXPECT_THAT(prompts[0], HasSubstr("agent 'calendar' did today (1 finished task and 0 notes)"));
  EXPECT_THAT(prompts[0], HasSubstr(": # Agenda 2 conflicts today\n"));
  EXPECT_THAT(prompts[0], Not(HasSubstr("Release 2.0")));
  EXPECT_THAT(prompts[1], HasSubstr("agent 'news' did today (1 finished task and 1 note)"));
  EXPECT_THAT(prompts[1], HasSubstr("- Task " + std::to_string(news) + " · "));
  EXPECT_THAT(prompts[1], HasSubstr(": News: Release 2.0 (Blog)\n"));
  EXPECT_THAT(prompts[1], Not(HasSubstr("two days ago")));
  EXPECT_THAT(prompts[1], Not(HasSubstr("Digest of yesterday")));
  // The instruction comes first, whole, the same for every agent; the agent's material after it
  // (the engine's prefix cache reuses the longest prompt prefix it has seen).
  EXPECT_THAT(test_support::common_prefix(prompts[0], prompts[1]),
              ::testing::StartsWith("In one or two sentences, tell the user what the agent below did today and what "
                                    "matters. Use only the text below.\n\nHere is what the agent '"));

  TimeZone utc("UTC");
  std::string date = utc.format(now, "%Y-%m-%d");
  EXPECT_EQ(output.substr(0, output.find('\n')), "# Digest " + date);
  EXPECT_THAT(output, HasSubstr("): 2 finished tasks and 1 note from 2 agents.\n"));
  EXPECT_THAT(output, HasSubstr("\n## calendar\n\nCalendar had a busy day.\n\n- Task " + std::to_string(agenda)));
  // An empty answer falls back to the counts.
  EXPECT_THAT(output, HasSubstr("\n## news\n\n1 finished task and 1 note.\n\n- Task " + std::to_string(news)));
  EXPECT_THAT(output, Not(HasSubstr("my own note")));
  EXPECT_EQ(read_file(out / ("digest-" + date + ".md")), output);
}

TEST_F(DigestAgentTest, ADayWithoutActivityNeedsNoModelCall) {
  finished_task("digest", "# Digest of yesterday");
  std::vector<std::string> prompts;
  std::string output = run_digest(0, &prompts);
  EXPECT_THAT(output, HasSubstr("no activity from other agents.\n"));
  EXPECT_EQ(read_file(out / ("digest-" + TimeZone("UTC").format(now, "%Y-%m-%d") + ".md")), output);
}

TEST_F(DigestAgentTest, TheLookbackSettingBoundsThePeriod) {
  finished_task("news", "fresh");
  config.settings["lookback"] = "1m";
  now += 10 * 60'000;  // ten minutes later: the task is outside a one-minute lookback
  std::vector<std::string> prompts;
  EXPECT_THAT(run_digest(0, &prompts), HasSubstr("no activity from other agents."));
}

TEST_F(DigestAgentTest, RefusesBadSettings) {
  auto error = [&] {
    try {
      DigestAgent agent(config);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  config.settings = {{"lookbak", "24h"}};
  EXPECT_THAT(error(), HasSubstr("/settings/lookbak: unknown key (did you mean 'lookback'?)"));
  config.settings = {{"lookback", "90d"}};
  EXPECT_THAT(error(), HasSubstr("/settings/lookback"));
  config.settings = {{"max_chars_per_agent", 10}};
  EXPECT_THAT(error(), HasSubstr("/settings/max_chars_per_agent: 10 is outside 200..50000"));
  config.settings = nlohmann::json::object();
  config.write_folders.clear();
  EXPECT_THAT(error(), HasSubstr("/folders/write"));
}

TEST_F(DigestAgentTest, IsABuiltinPluginThatOutlivesTheConfigItWasMadeFrom) {
  std::unique_ptr<Agent> agent;
  {
    AgentConfig copy = config;
    agent = builtin_plugins().create(copy);
  }
  EXPECT_NE(dynamic_cast<DigestAgent*>(agent.get()), nullptr);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT(agent->run(ctx), HasSubstr("no activity from other agents"));
}

}  // namespace
}  // namespace agentd::agents
