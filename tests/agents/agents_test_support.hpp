// Shared helpers of the agents tests: a GoogleMock Engine (the only mock; the real model is covered
// by tests/engine), a fake Generation whose wait() can block until cancel() releases it, and a
// fixture with a real SQLite file and real folders in a TempDir.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"
#include "engine/engine.hpp"
#include "storage/memory_store.hpp"
#include "storage/schema.hpp"
#include "storage/task_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::agents::test_support {

namespace fs = std::filesystem;

class MockEngine : public engine::Engine {
 public:
  MOCK_METHOD(std::unique_ptr<engine::Generation>, submit, (engine::Request request), (override));
  MOCK_METHOD(engine::EngineInfo, info, (), (const, override));
};

// What a FakeGeneration reports back to the test; outlives the generation (TaskContext destroys it).
struct GenerationProbe {
  std::atomic<int> cancel_calls{0};
  std::promise<void> waiting;  // set when wait() is entered
  std::promise<void> released;  // set by the first cancel()
  std::once_flag release_once;
};

// Returns `result` from wait(). With `block_until_cancel`, wait() blocks until cancel() is called
// and then ends with FinishReason::cancelled. The bounded wait only keeps a broken cancel path from
// hanging the suite: the test then sees a normal result and fails.
class FakeGeneration : public engine::Generation {
 public:
  FakeGeneration(engine::Result result, std::shared_ptr<GenerationProbe> probe, bool block_until_cancel = false)
      : result_(std::move(result)), probe_(std::move(probe)), block_(block_until_cancel) {}

  std::optional<std::string> next_piece() override { return std::nullopt; }
  void cancel() override {
    ++probe_->cancel_calls;
    std::call_once(probe_->release_once, [&] { probe_->released.set_value(); });
  }
  engine::Result wait() override {
    if (!block_) return result_;
    auto released = probe_->released.get_future();
    probe_->waiting.set_value();
    if (released.wait_for(std::chrono::seconds(20)) != std::future_status::ready) return result_;
    engine::Result r = result_;
    r.finish = engine::FinishReason::cancelled;
    return r;
  }

 private:
  engine::Result result_;
  std::shared_ptr<GenerationProbe> probe_;
  bool block_;
};

inline engine::Result text_result(std::string text) {
  engine::Result r;
  r.text = std::move(text);
  r.finish = engine::FinishReason::stop;
  r.prompt_tokens = 12;
  r.completion_tokens = 5;
  r.queue_wait_ms = 3.5;
  r.ttft_ms = 7.25;
  r.decode_tokens_per_s = 42.0;
  r.times_preempted = 2;
  return r;
}

// A request laid out as a chat template would lay it out: each message's role marker, then its
// text, in order (a raw prompt as is). The engine's prefix cache reuses the KV cache of the
// longest token prefix it has seen, so where two renderings first differ is where reuse stops.
inline std::string rendered(const engine::Request& r) {
  if (r.messages.empty()) return r.prompt;
  std::string out;
  for (const auto& m : r.messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  return out;
}

// The longest common prefix of two texts.
inline std::string common_prefix(const std::string& a, const std::string& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return a.substr(0, n);
}

inline void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Fixture: a real database and folders in a fresh TempDir, a mock engine, and tasks to run.
class AgentsTest : public ::testing::Test {
 protected:
  AgentsTest() {
    config.name = "writer";
    config.plugin = "prompt";
    config.file = dir.path() / "agents.d" / "writer.json";
  }

  // Enqueues and claims a task of config.name; returns it as the runtime would hand it over.
  storage::Task make_task(const std::string& input = "", const std::string& trigger = "manual") {
    storage::NewTask n;
    n.agent = config.name;
    n.plugin = config.plugin;
    n.priority = config.priority;
    n.trigger = trigger;
    n.input = input;
    int64_t id = tasks.enqueue(n);
    EXPECT_TRUE(tasks.claim(id));
    return *tasks.get(id);
  }

  TaskServices services() {
    return TaskServices{engine, tasks, memory, [this] { return now; }, nullptr, &blocking};
  }

  std::vector<storage::TaskEvent> events_of(int64_t task_id, std::string_view kind) {
    std::vector<storage::TaskEvent> out;
    for (auto& e : tasks.events(task_id)) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  // Makes config an agent `name` (of the plugin of that name) that reads `in_folder` and writes
  // "out", both real folders under `root` (the temp dir, real path); returns the read folder.
  fs::path agent_folders(const std::string& name, const std::string& in_folder) {
    root = fs::canonical(dir.path());
    out = root / "out";
    fs::path in = root / in_folder;
    fs::create_directories(in);
    fs::create_directories(out);
    config.name = config.plugin = name;
    config.read_folders = {in};
    config.write_folders = {out};
    return in;
  }

  // One task of `agent` on `input`, the model answering `answer` once.
  struct Run {
    std::string output;
    std::string prompt;  // the last message the model was sent
    storage::Task task;
    std::vector<TaskContext::Event> emitted;
  };
  Run run_answering(Agent& agent, const std::string& answer, const std::string& input = "",
                    const std::string& trigger = "manual") {
    Run r;
    r.task = make_task(input, trigger);
    engine::Request request;
    answer_with(answer, &request);
    TaskContext ctx(config, r.task, services(), std::stop_source().get_token());
    r.output = agent.run(ctx);
    r.prompt = request.messages.empty() ? "" : request.messages.back().content;
    r.emitted = ctx.emitted();
    return r;
  }

  // The data of the task's log events whose message is `message`.
  std::vector<nlohmann::json> logs_with(int64_t task_id, const std::string& message) {
    std::vector<nlohmann::json> found;
    for (auto& e : events_of(task_id, storage::event::log)) {
      if (e.data["message"] == message) found.push_back(e.data);
    }
    return found;
  }

  // The task's log events, one JSON object per line (for "the log names the file and reason").
  std::string logs_of(int64_t task_id) {
    std::string all;
    for (const auto& e : events_of(task_id, storage::event::log)) all += e.data.dump() + "\n";
    return all;
  }

  // The ConfigError an `AgentT` built from `config` throws, or a test failure and "".
  template <class AgentT>
  std::string config_error_of() {
    try {
      AgentT agent(config);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected ConfigError";
    return "";
  }

  // The next submit() captures the request and returns a generation answering `text`.
  void answer_with(const std::string& text, engine::Request* captured = nullptr) {
    EXPECT_CALL(engine, submit(::testing::_)).WillOnce([text, captured](engine::Request r) {
      if (captured) *captured = r;
      return std::unique_ptr<engine::Generation>(
          std::make_unique<FakeGeneration>(text_result(text), std::make_shared<GenerationProbe>()));
    });
  }

  testing::TempDir dir;
  std::unique_ptr<storage::Database> db = storage::open_database(dir.path() / "agentd.db");
  storage::TaskStore tasks{*db};
  storage::MemoryStore memory{*db};
  scheduler::BlockingPool blocking{2};  // call_blocking(): what the runtime lends
  ::testing::StrictMock<MockEngine> engine;
  int64_t now = 1'700'000'000'000;
  AgentConfig config;
  fs::path root, out;  // set by agent_folders()
};

}  // namespace agentd::agents::test_support
