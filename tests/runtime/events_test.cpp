// Events between agents on a real database: subscribers get a task each, with the emitting task
// as parent and the event's data as input; long chains are cut and the cut is recorded.
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/events.hpp"
#include "scheduler/priority.hpp"
#include "storage/schema.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "agents.d");
    write_agent("drafter", "[]");
    write_agent("evaluator", R"([{"on": "drafter.done"}])");
    write_agent("archivist", R"([{"on": "drafter.done"}, {"on": "evaluator.done"}])");
    write_agent("bystander", R"([{"on": "drafter.failed"}])");
    AgentsOptions options;
    options.dir = dir_ / "agents.d";
    options.roots = {dir_.path()};
    catalog_ = std::make_unique<AgentCatalog>(options, agents::builtin_plugins());
    ASSERT_EQ(catalog_->load().usable, 4);
    db_ = storage::open_database(dir_ / "agentd.db");
  }

  void write_agent(const std::string& name, const std::string& triggers) {
    std::ofstream(dir_ / "agents.d" / (name + ".json"))
        << R"({"plugin": "prompt", "priority": "tool", "prompt": "{{input}}", "triggers": )" << triggers << "}";
  }

  storage::Task running_task(const std::string& agent, std::optional<int64_t> parent = {}) {
    storage::TaskStore tasks(*db_);
    int64_t id = tasks.enqueue({.agent = agent, .parent_id = parent});
    tasks.claim(id);
    return *tasks.get(id);
  }

  testing::TempDir dir_;
  std::unique_ptr<AgentCatalog> catalog_;
  std::unique_ptr<storage::Database> db_;
};

TEST_F(EventsTest, EverySubscriberGetsATaskWithTheEventAsInput) {
  storage::TaskStore tasks(*db_);
  auto from = running_task("drafter");
  int queued = publish_events(tasks, *catalog_, from, {{"drafter.done", {{"file", "/out/a.md"}, {"words", 812}}}});
  EXPECT_EQ(queued, 2);

  std::vector<std::string> agents;
  for (const auto& t : tasks.with_status(storage::TaskStatus::queued)) {
    agents.push_back(t.agent);
    EXPECT_EQ(t.parent_id, from.id);
    EXPECT_EQ(t.trigger, "on drafter.done");
    EXPECT_EQ(t.priority, scheduler::Priority::tool) << "the subscriber's own priority";
    json input = json::parse(t.input);
    EXPECT_EQ(input["file"], "/out/a.md");
    EXPECT_EQ(input["words"], 812);
    EXPECT_EQ(input["event"], "drafter.done");
    EXPECT_EQ(input["from_task"], from.id);
  }
  std::sort(agents.begin(), agents.end());
  EXPECT_EQ(agents, (std::vector<std::string>{"archivist", "evaluator"}));

  auto events = tasks.events(from.id);
  ASSERT_EQ(events.back().kind, "emitted");
  EXPECT_EQ(events.back().data["event"], "drafter.done");
  EXPECT_EQ(events.back().data["subscribers"].size(), 2u);
}

TEST_F(EventsTest, AnEventNobodyListensToIsRecordedOnly) {
  storage::TaskStore tasks(*db_);
  auto from = running_task("drafter");
  EXPECT_EQ(publish_events(tasks, *catalog_, from, {{"drafter.started", json::object()}}), 0);
  EXPECT_TRUE(tasks.with_status(storage::TaskStatus::queued).empty());
  EXPECT_EQ(tasks.events(from.id).back().data["event"], "drafter.started");
}

TEST_F(EventsTest, ChainsAreCutAtTheDepthLimit) {
  storage::TaskStore tasks(*db_);
  std::optional<int64_t> parent;
  storage::Task task;
  for (int depth = 0; depth <= kMaxEventDepth; ++depth) {
    task = running_task(depth % 2 ? "evaluator" : "drafter", parent);
    parent = task.id;
  }
  // `task` has kMaxEventDepth ancestors: its events go nowhere, and that is on its timeline.
  EXPECT_EQ(publish_events(tasks, *catalog_, task, {{"drafter.done", json::object()}}), 0);
  auto last = tasks.events(task.id).back();
  EXPECT_EQ(last.kind, "emitted");
  EXPECT_NE(last.data["dropped"].get<std::string>().find("limit 8"), std::string::npos) << last.data.dump();

  // One level up, the same event is still delivered.
  auto parent_task = *tasks.get(*task.parent_id);
  EXPECT_EQ(publish_events(tasks, *catalog_, parent_task, {{"drafter.done", json::object()}}), 2);
}

}  // namespace
}  // namespace agentd::runtime
