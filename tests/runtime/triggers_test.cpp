// TriggerRunner on a real database with agents read from real files: intervals, cron, missed runs
// after a restart under each policy, file watches (live and caught up), reloads. Time is passed
// in; nothing sleeps (file events are waited for with a bounded read that returns when they come).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/triggers.hpp"
#include "storage/schema.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::runtime {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

constexpr int64_t kMinute = 60'000, kHour = 60 * kMinute;
// 2026-11-21 06:00:00 UTC
constexpr int64_t kT0 = 1'795'240'800'000;

class TriggersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "agents.d");
    fs::create_directories(dir_ / "inbox");
    options_.dir = dir_ / "agents.d";
    options_.roots = {dir_.path()};
    db_ = storage::open_database(dir_ / "agentd.db");
  }

  void write_agent(const std::string& name, const std::string& triggers) {
    std::ofstream(dir_ / "agents.d" / (name + ".json"))
        << R"({"plugin": "prompt", "prompt": "{{input}}", "triggers": )" << triggers << "}";
  }

  AgentCatalog& catalog() {
    catalog_ = std::make_unique<AgentCatalog>(options_, agents::builtin_plugins());
    auto report = catalog_->load();
    EXPECT_EQ(report.broken, 0) << (report.errors.empty() ? "" : report.errors[0]);
    return *catalog_;
  }

  std::vector<storage::Task> tasks_of(const std::string& agent) {
    storage::TaskFilter f;
    f.agent = agent;
    f.limit = 1000;
    auto list = storage::TaskStore(*db_).list(f);
    std::reverse(list.begin(), list.end());  // oldest first
    return list;
  }

  testing::TempDir dir_;
  AgentsOptions options_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<AgentCatalog> catalog_;
};

TEST_F(TriggersTest, AnIntervalFiresAtOnceThenEveryPeriod) {
  write_agent("pulse", R"([{"every": "15m"}])");
  TriggerRunner runner(*db_);
  EXPECT_EQ(runner.sync(catalog(), kT0), 0);
  EXPECT_EQ(runner.next_due(), kT0);
  EXPECT_EQ(runner.tick(kT0), 1);
  EXPECT_EQ(runner.tick(kT0 + 1), 0);
  EXPECT_EQ(runner.next_due(), kT0 + 15 * kMinute);
  EXPECT_EQ(runner.tick(kT0 + 15 * kMinute - 1), 0);
  EXPECT_EQ(runner.tick(kT0 + 15 * kMinute), 1);
  // A machine asleep for an hour: one run, then the next period from now.
  EXPECT_EQ(runner.tick(kT0 + 75 * kMinute + 5), 1);
  EXPECT_EQ(runner.next_due(), kT0 + 90 * kMinute + 5);

  auto tasks = tasks_of("pulse");
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].trigger, "every 15m");
  EXPECT_EQ(tasks[0].input, "");
  EXPECT_EQ(tasks[0].plugin, "prompt");
  auto state = storage::ScheduleStore(*db_).get("pulse", "every 15m");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->last_fire_at, kT0 + 75 * kMinute + 5);
  EXPECT_EQ(state->next_fire_at, kT0 + 90 * kMinute + 5);
}

TEST_F(TriggersTest, ACronFiresAtItsNextTimeInItsZone) {
  write_agent("brief", R"([{"cron": "30 8 * * *", "tz": "Europe/Paris"}])");  // 07:30 UTC in winter
  TriggerRunner runner(*db_);
  runner.sync(catalog(), kT0);
  EXPECT_EQ(runner.next_due(), kT0 + 90 * kMinute);
  EXPECT_EQ(runner.tick(kT0 + 90 * kMinute - 1), 0);
  EXPECT_EQ(runner.tick(kT0 + 90 * kMinute), 1);
  EXPECT_EQ(runner.next_due(), kT0 + 24 * kHour + 90 * kMinute);
}

TEST_F(TriggersTest, RunsMissedWhileDownFollowEachPolicy) {
  write_agent("skipper", R"([{"every": "1h", "missed": "skip"}])");
  write_agent("once", R"([{"every": "1h", "missed": "run_once"}])");
  write_agent("each", R"([{"every": "1h", "missed": "run_each"}])");
  {
    TriggerRunner first(*db_);
    first.sync(catalog(), kT0);
    EXPECT_EQ(first.tick(kT0), 3);
  }
  // Down for 5 hours and a bit: 5 runs fell due.
  TriggerRunner second(*db_);
  EXPECT_EQ(second.sync(catalog(), kT0 + 5 * kHour + kMinute), 1 + 5);
  EXPECT_EQ(tasks_of("skipper").size(), 1u);
  EXPECT_EQ(tasks_of("once").size(), 2u);
  EXPECT_EQ(tasks_of("each").size(), 6u);
  EXPECT_EQ(second.next_due(), kT0 + 6 * kHour + kMinute);
  EXPECT_EQ(second.tick(kT0 + 5 * kHour + kMinute), 0) << "caught up runs are not fired again";
}

TEST_F(TriggersTest, ARestartWithNothingMissedKeepsThePeriod) {
  write_agent("pulse", R"([{"every": "1h"}])");
  {
    TriggerRunner first(*db_);
    first.sync(catalog(), kT0);
    first.tick(kT0);
  }
  TriggerRunner second(*db_);
  EXPECT_EQ(second.sync(catalog(), kT0 + 10 * kMinute), 0);
  EXPECT_EQ(second.next_due(), kT0 + kHour);
}

TEST_F(TriggersTest, AWatchQueuesDroppedFilesAndCatchesUpAfterARestart) {
  write_agent("reader", R"([{"watch": "../inbox", "glob": "*.md", "debounce": "1s"}])");
  const int64_t now = storage::now_ms();
  std::ofstream(dir_ / "inbox" / "old.md") << "there before the first start";
  {
    TriggerRunner first(*db_);
    first.sync(catalog(), now);
    std::ofstream(dir_ / "inbox" / "new.md") << "dropped while running";
    std::ofstream(dir_ / "inbox" / "skip.txt") << "not *.md";
    EXPECT_EQ(first.tick(now, std::chrono::seconds(5)), 0) << "not quiet for 1s yet";
    EXPECT_EQ(first.next_due(), now + 1000);
    EXPECT_EQ(first.tick(now + 1000), 1);
  }
  ASSERT_EQ(tasks_of("reader").size(), 1u);
  EXPECT_EQ(tasks_of("reader")[0].input, fs::canonical(dir_ / "inbox" / "new.md").string());

  // While the daemon is down a file arrives (written after the last fire); old files are not redone.
  std::ofstream(dir_ / "inbox" / "later.md") << "arrived while down";
  for (const char* name : {"old.md", "new.md"}) {
    fs::last_write_time(dir_ / "inbox" / name, fs::file_time_type::clock::now() - std::chrono::hours(1));
  }
  fs::last_write_time(dir_ / "inbox" / "later.md", fs::file_time_type::clock::now() + std::chrono::hours(1));
  TriggerRunner second(*db_);
  EXPECT_EQ(second.sync(catalog(), now + 2000), 1);
  auto tasks = tasks_of("reader");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(fs::path(tasks[1].input).filename(), "later.md");
  EXPECT_EQ(tasks[1].trigger, "watch " + fs::canonical(dir_ / "inbox").string() + " *.md");
}

TEST_F(TriggersTest, AReloadKeepsKnownTriggersAndForgetsRemovedOnes) {
  write_agent("pulse", R"([{"every": "1h"}])");
  write_agent("gone", R"([{"every": "5m"}])");
  TriggerRunner runner(*db_);
  runner.sync(catalog(), kT0);
  EXPECT_EQ(runner.tick(kT0), 2);

  fs::remove(dir_ / "agents.d" / "gone.json");
  write_agent("fresh", R"([{"every": "2h"}])");
  EXPECT_EQ(runner.sync(catalog(), kT0 + 10 * kMinute), 0);
  std::vector<std::string> agents;
  for (const auto& s : runner.states()) agents.push_back(s.agent + " " + s.trigger);
  EXPECT_THAT(agents, ElementsAre("fresh every 2h", "pulse every 1h"));
  EXPECT_EQ(runner.tick(kT0 + 10 * kMinute), 1) << "only the new interval fires; pulse keeps its period";
  EXPECT_FALSE(storage::ScheduleStore(*db_).get("gone", "every 5m"));
  EXPECT_EQ(tasks_of("fresh").size(), 1u);
}

}  // namespace
}  // namespace agentd::runtime
