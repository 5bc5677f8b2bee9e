// TaskContext: the model call built from the agent's config, its timeline events in the real
// TaskStore, cancellation through the stop token, the agent's own memory, and buffered events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "agents/task_context.hpp"
#include "engine/stop_matcher.hpp"
#include "agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::FakeGeneration;
using test_support::GenerationProbe;
using test_support::text_result;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class TaskContextTest : public test_support::AgentsTest {
 protected:
  TaskContextTest() {
    config.priority = scheduler::Priority::interactive;
    config.system_prompt = "You are terse.";
    config.generation.max_tokens = 77;
    config.generation.temperature = 0.25f;
    config.generation.top_p = 0.5f;
    config.generation.top_k = 7;
    config.generation.min_p = 0.125f;
    config.generation.repeat_penalty = 1.5f;
    config.generation.seed = 1234;
  }

  std::stop_source stop;
};

TEST_F(TaskContextTest, ATaskSubmittedAtAnotherPriorityCallsTheEngineAtThatPriority) {
  storage::Task task = make_task("in");
  task.priority = scheduler::Priority::background;  // e.g. `agentd submit chat --priority background`
  TaskContext ctx(config, task, services(), stop.get_token());
  engine::Request request;
  answer_with("ok", &request);
  ctx.ask("hi");
  EXPECT_EQ(request.priority, scheduler::Priority::background);
  EXPECT_EQ(ctx.long_form_defaults().priority, scheduler::Priority::background);
}

TEST_F(TaskContextTest, GenerateBuildsTheRequestFromTheAgentConfig) {
  storage::Task task = make_task("in");
  TaskContext ctx(config, task, services(), stop.get_token());
  engine::Request request;
  answer_with("the answer", &request);

  GenerateOptions options;
  options.prompt = "Say hi";
  options.stop = {"\n\n"};
  options.json_schema = R"({"type":"object"})";
  engine::Result result = ctx.generate(options);

  EXPECT_EQ(result.text, "the answer");
  ASSERT_EQ(request.messages.size(), 2u);
  EXPECT_EQ(request.messages[0].role, "system");
  EXPECT_EQ(request.messages[0].content, "You are terse.");
  EXPECT_EQ(request.messages[1].role, "user");
  EXPECT_EQ(request.messages[1].content, "Say hi");
  EXPECT_EQ(request.prompt, "");
  EXPECT_EQ(request.priority, scheduler::Priority::interactive);
  EXPECT_FLOAT_EQ(request.sampling.temperature, 0.25f);
  EXPECT_FLOAT_EQ(request.sampling.top_p, 0.5f);
  EXPECT_EQ(request.sampling.top_k, 7);
  EXPECT_FLOAT_EQ(request.sampling.min_p, 0.125f);
  EXPECT_FLOAT_EQ(request.sampling.repeat_penalty, 1.5f);
  EXPECT_EQ(request.sampling.seed, 1234u);
  EXPECT_EQ(request.max_tokens, 77);
  EXPECT_EQ(request.task_id, task.id);
  EXPECT_THAT(request.stop, ElementsAre("\n\n"));
  EXPECT_EQ(request.json_schema, R"({"type":"object"})");
}

TEST_F(TaskContextTest, GenerateOptionsOverrideTheGenerationSettings) {
  config.system_prompt.clear();
  config.generation.seed.reset();
  TaskContext ctx(config, make_task(), services(), stop.get_token());

  engine::Request plain;
  answer_with("x", &plain);
  ctx.generate({.prompt = "p"});
  ASSERT_EQ(plain.messages.size(), 1u);  // no system prompt configured: none sent
  EXPECT_EQ(plain.messages[0].role, "user");
  EXPECT_EQ(plain.sampling.seed, engine::Sampling{}.seed);  // no seed configured: random

  engine::Request overridden;
  answer_with("x", &overridden);
  GenerateOptions options;
  options.prompt = "p";
  options.max_tokens = 5;
  options.temperature = 0.0f;
  options.seed = 99;
  options.repeat_penalty = 1.0f;
  ctx.generate(options);
  EXPECT_EQ(overridden.max_tokens, 5);
  EXPECT_FLOAT_EQ(overridden.sampling.temperature, 0.0f);
  EXPECT_EQ(overridden.sampling.seed, 99u);
  EXPECT_FLOAT_EQ(overridden.sampling.repeat_penalty, 1.0f);
  EXPECT_EQ(overridden.sampling.top_k, 7);  // not overridable: still the agent's

  engine::Request raw;
  answer_with("x", &raw);
  config.system_prompt = "ignored for raw prompts";
  ctx.generate({.prompt = "verbatim <s>", .raw = true});
  EXPECT_EQ(raw.prompt, "verbatim <s>");
  EXPECT_THAT(raw.messages, IsEmpty());
}

TEST_F(TaskContextTest, ConversationMessagesFollowTheSystemPrompt) {
  TaskContext ctx(config, make_task(), services(), stop.get_token());
  engine::Request request;
  answer_with("x", &request);
  ctx.generate({.prompt = "unused", .messages = {{"user", "q1"}, {"assistant", "a1"}, {"user", "q2"}}});
  ASSERT_EQ(request.messages.size(), 4u);
  EXPECT_EQ(request.messages[0].content, "You are terse.");
  EXPECT_EQ(request.messages[1].content, "q1");
  EXPECT_EQ(request.messages[2].role, "assistant");
  EXPECT_EQ(request.messages[3].content, "q2");
}

TEST_F(TaskContextTest, GenerateRecordsAnLlmCallEventWithTheResultsFigures) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  answer_with("ok");
  EXPECT_EQ(ctx.ask("hello"), "ok");

  auto calls = events_of(task.id, storage::event::llm_call);
  ASSERT_EQ(calls.size(), 1u);
  const auto& d = calls[0].data;
  EXPECT_EQ(d["route"], "local");
  EXPECT_DOUBLE_EQ(d["queue_wait_ms"].get<double>(), 3.5);
  EXPECT_DOUBLE_EQ(d["ttft_ms"].get<double>(), 7.25);
  EXPECT_EQ(d["prompt_tokens"], 12);
  EXPECT_EQ(d["completion_tokens"], 5);
  EXPECT_DOUBLE_EQ(d["decode_tokens_per_s"].get<double>(), 42.0);
  EXPECT_EQ(d["times_preempted"], 2);
  EXPECT_EQ(d["finish"], "stop");
}

TEST_F(TaskContextTest, ARefusedRequestBecomesARuntimeErrorAndALogEvent) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  EXPECT_CALL(engine, submit(_)).WillOnce([](engine::Request) -> std::unique_ptr<engine::Generation> {
    throw engine::RequestError("prompt is 5000 tokens, the context holds 4096");
  });

  try {
    ctx.ask("long");
    FAIL() << "expected std::runtime_error";
  } catch (const TaskCancelled&) {
    FAIL() << "a refusal is not a cancellation";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "model call refused: prompt is 5000 tokens, the context holds 4096");
  }
  auto logs = events_of(task.id, storage::event::log);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].data["message"], "model call refused");
  EXPECT_EQ(logs[0].data["error"], "prompt is 5000 tokens, the context holds 4096");
  EXPECT_THAT(events_of(task.id, storage::event::llm_call), IsEmpty());
}

TEST_F(TaskContextTest, AnEngineErrorBecomesARuntimeError) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  EXPECT_CALL(engine, submit(_)).WillOnce([](engine::Request) {
    engine::Result r = text_result("partial");
    r.finish = engine::FinishReason::error;
    r.error = "decode failed";
    return std::unique_ptr<engine::Generation>(
        std::make_unique<FakeGeneration>(r, std::make_shared<GenerationProbe>()));
  });
  try {
    ctx.ask("x");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("decode failed"));
  }
  auto calls = events_of(task.id, storage::event::llm_call);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["finish"], "error");
}

TEST_F(TaskContextTest, AGenerationCancelledByTheEngineAloneIsAnErrorNotTaskCancelled) {
  TaskContext ctx(config, make_task(), services(), stop.get_token());
  EXPECT_CALL(engine, submit(_)).WillOnce([](engine::Request) {
    engine::Result r = text_result("");
    r.finish = engine::FinishReason::deadline;
    return std::unique_ptr<engine::Generation>(
        std::make_unique<FakeGeneration>(r, std::make_shared<GenerationProbe>()));
  });
  try {
    ctx.ask("x");
    FAIL() << "expected std::runtime_error";
  } catch (const TaskCancelled&) {
    FAIL() << "the task was not cancelled";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("deadline"));
  }
}

TEST_F(TaskContextTest, StopRequestedWhileWaitingCancelsTheGenerationAndThrowsTaskCancelled) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  auto probe = std::make_shared<GenerationProbe>();
  auto waiting = probe->waiting.get_future();
  EXPECT_CALL(engine, submit(_)).WillOnce([probe](engine::Request) {
    return std::unique_ptr<engine::Generation>(
        std::make_unique<FakeGeneration>(text_result("never"), probe, /*block_until_cancel=*/true));
  });

  std::thread stopper([&] {
    waiting.wait();  // wait() has been entered: the stop callback is registered
    stop.request_stop();
  });
  EXPECT_THROW(ctx.ask("long job"), TaskCancelled);
  stopper.join();

  EXPECT_GE(probe->cancel_calls.load(), 1);
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_THROW(ctx.check_cancelled(), TaskCancelled);
  auto calls = events_of(task.id, storage::event::llm_call);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["finish"], "cancelled");
}

TEST_F(TaskContextTest, AlreadyCancelledTaskDoesNotCallTheModel) {
  TaskContext ctx(config, make_task(), services(), stop.get_token());
  EXPECT_FALSE(ctx.cancelled());
  EXPECT_NO_THROW(ctx.check_cancelled());
  stop.request_stop();
  EXPECT_CALL(engine, submit(_)).Times(0);
  EXPECT_THROW(ctx.ask("x"), TaskCancelled);
}

TEST_F(TaskContextTest, MemoryIsTheAgentsOwn) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  EXPECT_EQ(ctx.recall("last"), std::nullopt);
  ctx.remember("last", {{"count", 3}});
  ctx.remember("title", "Morning");
  int64_t note = ctx.note("the quick brown fox");
  EXPECT_EQ(ctx.recall("last"), (nlohmann::json{{"count", 3}}));
  EXPECT_EQ(ctx.recall("title"), "Morning");
  ASSERT_EQ(ctx.search_notes("fox").size(), 1u);
  EXPECT_EQ(ctx.search_notes("fox")[0].id, note);
  ASSERT_EQ(ctx.recent_notes().size(), 1u);
  EXPECT_EQ(ctx.recent_notes()[0].text, "the quick brown fox");
  // Stored under the agent's name, as the store sees it.
  EXPECT_EQ(memory.get("writer", "title"), "Morning");

  AgentConfig other = config;
  other.name = "reader";
  storage::Task other_task = make_task();
  TaskContext other_ctx(other, other_task, services(), stop.get_token());
  EXPECT_EQ(other_ctx.recall("last"), std::nullopt);
  EXPECT_EQ(other_ctx.recall("title"), std::nullopt);
  EXPECT_THAT(other_ctx.search_notes("fox"), IsEmpty());
  EXPECT_THAT(other_ctx.recent_notes(), IsEmpty());
  other_ctx.remember("title", "Evening");
  EXPECT_EQ(ctx.recall("title"), "Morning");

  auto writes = events_of(task.id, storage::event::memory_write);
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_EQ(writes[0].data["key"], "last");
  EXPECT_EQ(writes[1].data["key"], "title");
  EXPECT_EQ(writes[2].data["note"], note);
  EXPECT_EQ(writes[2].data["bytes"], 19);
  EXPECT_EQ(events_of(other_task.id, storage::event::memory_write).size(), 1u);
}

TEST_F(TaskContextTest, EmitBuffersQualifiedEventsAndRejectsBadNames) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  EXPECT_THAT(ctx.emitted(), IsEmpty());
  ctx.emit("done", {{"n", 1}});
  ctx.emit("draft.ready-2_x");
  ASSERT_EQ(ctx.emitted().size(), 2u);
  EXPECT_EQ(ctx.emitted()[0].name, "writer.done");
  EXPECT_EQ(ctx.emitted()[0].data, (nlohmann::json{{"n", 1}}));
  EXPECT_EQ(ctx.emitted()[1].name, "writer.draft.ready-2_x");
  EXPECT_EQ(ctx.emitted()[1].data, nlohmann::json::object());

  for (const char* bad : {"", "Done", "has space", ".hidden", "-dash", "a/b", "é"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(ctx.emit(bad), std::invalid_argument);
  }
  EXPECT_EQ(ctx.emitted().size(), 2u);
  // Buffered only: nothing is published as an `emitted` event by the context itself.
  EXPECT_THAT(events_of(task.id, storage::event::emitted), IsEmpty());
}

TEST_F(TaskContextTest, FileCallsAreConfinedAndRecordedInTheTimeline) {
  fs::path in = fs::canonical(dir.path()) / "in", out = fs::canonical(dir.path()) / "out";
  test_support::write_file(in / "a.txt", "hello");
  test_support::write_file(in / "b.md", "# b");
  fs::create_directories(out);
  config.read_folders = {in};
  config.write_folders = {out};
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());

  EXPECT_EQ(ctx.read_file("a.txt"), "hello");
  EXPECT_THAT(ctx.list_files(in, "*.txt"), ElementsAre(in / "a.txt"));
  EXPECT_EQ(ctx.write_file("r.txt", "result"), out / "r.txt");
  EXPECT_EQ(ctx.append_file("r.txt", "+more"), out / "r.txt");
  EXPECT_EQ(test_support::read_file(out / "r.txt"), "result+more");
  EXPECT_THROW(ctx.write_file(in / "x.txt", "no"), FileAccessError);
  EXPECT_THROW(ctx.read_file("../escape"), FileAccessError);

  auto reads = events_of(task.id, "read");
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].data, (nlohmann::json{{"path", (in / "a.txt").string()}, {"bytes", 5}}));
  EXPECT_EQ(reads[1].data, (nlohmann::json{{"path", in.string()}, {"glob", "*.txt"}, {"files", 1}}));
  auto writes = events_of(task.id, "wrote");
  ASSERT_EQ(writes.size(), 2u) << "refused calls record nothing";
  EXPECT_EQ(writes[0].data, (nlohmann::json{{"path", (out / "r.txt").string()}, {"bytes", 6}}));
  EXPECT_EQ(writes[1].data["append"], true);
}

TEST_F(TaskContextTest, ADryRunCallsTheModelButWritesOnlyWhatItWouldHaveWrittenToItsTimeline) {
  fs::path out = fs::canonical(dir.path()) / "out";
  fs::create_directories(out);
  config.write_folders = {out};
  storage::NewTask n{.agent = config.name, .plugin = config.plugin, .input = "in", .dry_run = true};
  int64_t id = tasks.enqueue(n);
  ASSERT_TRUE(tasks.claim(id));
  storage::Task task = *tasks.get(id);
  ASSERT_TRUE(task.dry_run) << "recorded as a dry run";
  TaskContext ctx(config, task, services(), stop.get_token());
  answer_with("the answer");
  EXPECT_EQ(ctx.ask("hi"), "the answer") << "the model call runs";

  ctx.remember("title", "Morning");
  EXPECT_EQ(ctx.note("the quick brown fox"), 0);
  ctx.emit("done", {{"n", 1}});
  EXPECT_EQ(ctx.write_file("r.txt", "result"), out / "r.txt");
  EXPECT_EQ(ctx.append_file("r.txt", "+more"), out / "r.txt");
  EXPECT_THROW(ctx.write_file(fs::canonical(dir.path()) / "x.txt", "no"), FileAccessError) << "refused as a real run would be";

  EXPECT_EQ(memory.get("writer", "title"), std::nullopt);
  EXPECT_THAT(memory.recent_notes("writer"), IsEmpty());
  EXPECT_THAT(ctx.emitted(), IsEmpty()) << "nothing to publish";
  EXPECT_FALSE(fs::exists(out / "r.txt"));
  EXPECT_THAT(events_of(id, storage::event::memory_write), IsEmpty());
  EXPECT_THAT(events_of(id, "wrote"), IsEmpty());
  auto would = events_of(id, "would_write");
  ASSERT_EQ(would.size(), 5u);
  EXPECT_EQ(would[0].data, (nlohmann::json{{"what", "memory"}, {"key", "title"}, {"value", "Morning"}}));
  EXPECT_EQ(would[1].data["text"], "the quick brown fox");
  EXPECT_EQ(would[2].data["event"], "writer.done");
  EXPECT_EQ(would[3].data, (nlohmann::json{{"what", "file"}, {"path", (out / "r.txt").string()}, {"bytes", 6}, {"text", "result"}}));
  EXPECT_EQ(would[4].data["append"], true);
  EXPECT_EQ(events_of(id, storage::event::llm_call).size(), 1u);
}

TEST_F(TaskContextTest, ActivitySinceSeesEveryAgentsFinishedTasksAndNotes) {
  auto finished = [&](const std::string& agent, const std::string& output, int64_t at) {
    config.name = agent;
    int64_t id = make_task().id;
    EXPECT_TRUE(tasks.finish(id, output));
    db->prepare("UPDATE tasks SET finished_at = ? WHERE id = ?").bind_all(at, id).run();
    return id;
  };
  int64_t day = 24 * 3600 * 1000LL;
  finished("mail", "yesterday's mail", now - 2 * day);
  int64_t mail = finished("mail", "3 new messages", now - 3600 * 1000);
  int64_t news = finished("news", "2 new items", now - 60 * 1000);
  config.name = "news";
  int64_t failed = make_task().id;
  EXPECT_TRUE(tasks.fail(failed, "boom"));
  memory.add_note("news", "feed digest");
  memory.add_note("calendar", "agenda");

  config.name = "digest";
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  auto a = ctx.activity_since(now - day);
  ASSERT_EQ(a.tasks.size(), 2u) << "finished in the window only; failed tasks are not results";
  EXPECT_EQ(a.tasks[0].id, news);
  EXPECT_EQ(a.tasks[1].id, mail);
  EXPECT_EQ(a.tasks[1].output, "3 new messages");
  ASSERT_EQ(a.notes.size(), 2u);
  EXPECT_EQ(a.notes[0].agent, "news");
  EXPECT_EQ(a.notes[1].text, "agenda");
  EXPECT_EQ(ctx.activity_since(now - day, 1).tasks.size(), 1u);
}

TEST_F(TaskContextTest, LogRecordsALogEvent) {
  storage::Task task = make_task("the input", "every 15m");
  TaskContext ctx(config, task, services(), stop.get_token());
  ctx.log("fetched 3 items", {{"items", 3}});
  ctx.log("plain");
  auto logs = events_of(task.id, storage::event::log);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0].data, (nlohmann::json{{"items", 3}, {"message", "fetched 3 items"}}));
  EXPECT_EQ(logs[1].data, (nlohmann::json{{"message", "plain"}}));

  EXPECT_EQ(ctx.task_id(), task.id);
  EXPECT_EQ(ctx.agent(), "writer");
  EXPECT_EQ(ctx.input(), "the input");
  EXPECT_EQ(ctx.trigger(), "every 15m");
  EXPECT_EQ(ctx.attempt(), 1);
  EXPECT_EQ(ctx.now_ms(), now);
}

// Blocks the pool thread until the job's token asks it to stop (owns everything it uses).
std::string until_stopped(std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait(lock, stop, [] { return false; });
  return "never used";
}

TEST_F(TaskContextTest, CallBlockingRunsOffTheCallersThreadAndRecordsTheCall) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  const std::thread::id caller = std::this_thread::get_id();
  std::string answer = ctx.call_blocking("look up", std::chrono::hours(1), [caller](std::stop_token) {
    return std::string(std::this_thread::get_id() == caller ? "same thread" : "pool thread");
  });
  EXPECT_EQ(answer, "pool thread");
  auto calls = events_of(task.id, "blocking_call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["what"], "look up");
  EXPECT_EQ(calls[0].data["outcome"], "done");
}

TEST_F(TaskContextTest, CallBlockingEndsWithTheTasksCancellationAndStopsTheCall) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  // The task is cancelled while its call runs (as the dispatcher would, from elsewhere).
  auto job = [task_stop = stop](std::stop_token own) mutable {
    task_stop.request_stop();
    return until_stopped(own);  // returns only because call_blocking stopped it
  };
  EXPECT_THROW(ctx.call_blocking("wait", std::chrono::hours(1), job), TaskCancelled);
  auto calls = events_of(task.id, "blocking_call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["outcome"], "cancelled");
}

TEST_F(TaskContextTest, CallBlockingIsBoundedByItsLimit) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  EXPECT_THAT([&] { ctx.call_blocking("fetch x", std::chrono::milliseconds(0), until_stopped); },
              ::testing::ThrowsMessage<BlockingTimeout>(HasSubstr("fetch x: gave up after 0 ms")));
  auto calls = events_of(task.id, "blocking_call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["outcome"], "timeout");
  EXPECT_FALSE(ctx.cancelled());
}

TEST_F(TaskContextTest, CallBlockingPassesOnWhatTheCallThrew) {
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), stop.get_token());
  auto job = [](std::stop_token) -> std::string { throw std::runtime_error("connection refused"); };
  EXPECT_THAT([&] { ctx.call_blocking("fetch y", std::chrono::hours(1), job); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("connection refused")));
  auto calls = events_of(task.id, "blocking_call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["outcome"], "error");
  EXPECT_EQ(calls[0].data["error"], "connection refused");
}

}  // namespace
}  // namespace agentd::agents

namespace agentd::agents {
namespace {

using test_support::FakeGeneration;
using test_support::GenerationProbe;

// The engine answers each request in turn from `script`; the requests are kept for the test.
class ToolLoopTest : public test_support::AgentsTest {
 protected:
  void script(std::vector<engine::Result> answers) {
    EXPECT_CALL(engine, submit(::testing::_))
        .Times(static_cast<int>(answers.size()))
        .WillRepeatedly([this, answers](engine::Request r) {
          requests.push_back(r);
          engine::Result next = answers.at(requests.size() - 1);
          return std::make_unique<FakeGeneration>(next, std::make_shared<GenerationProbe>());
        });
  }
  static engine::Result calls(std::vector<engine::ToolCall> c, std::string reasoning = "") {
    engine::Result r = test_support::text_result("");
    r.tool_calls = std::move(c);
    r.reasoning = std::move(reasoning);
    return r;
  }
  std::vector<AgentTool> tools() {
    AgentTool add{"add", "Adds a and b", {{"type", "object"}}, [this](const nlohmann::json& a) {
                    ++add_runs;
                    return nlohmann::json{{"sum", a.at("a").get<int>() + a.at("b").get<int>()}};
                  }};
    AgentTool boom{"boom", "Always fails", {{"type", "object"}}, [](const nlohmann::json&) -> nlohmann::json {
                     throw std::runtime_error("the disk is on fire");
                   }};
    return {add, boom};
  }
  std::vector<engine::Request> requests;
  int add_runs = 0;
  std::stop_source stop;
};

TEST_F(ToolLoopTest, CallsRunResultsGoBackAndAThrowingToolBecomesAnErrorMessage) {
  script({calls({{"c1", "add", R"({"a": 2, "b": 3})"}, {"c2", "boom", "{}"}}, "I should add."),
          test_support::text_result("The sum is 5.")});
  storage::Task task = make_task("in");
  TaskContext ctx(config, task, services(), stop.get_token());
  GenerateOptions o;
  o.prompt = "What is 2 + 3?";
  engine::Result r = ctx.generate_with_tools(o, tools());
  EXPECT_EQ(r.text, "The sum is 5.");
  EXPECT_EQ(add_runs, 1);
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(requests[0].tools.size(), 2u);
  EXPECT_EQ(requests[0].tools[0].name, "add");
  // The second request holds the call and both answers, the failure as an error text.
  const auto& m = requests[1].messages;
  ASSERT_GE(m.size(), 3u);
  const auto& asked = m[m.size() - 3];
  ASSERT_EQ(asked.tool_calls.size(), 2u);
  EXPECT_EQ(m[m.size() - 2].role, "tool");
  EXPECT_EQ(m[m.size() - 2].tool_call_id, "c1");
  EXPECT_EQ(nlohmann::json::parse(m[m.size() - 2].content)["sum"], 5);
  EXPECT_EQ(m.back().tool_call_id, "c2");
  EXPECT_NE(m.back().content.find("the disk is on fire"), std::string::npos) << m.back().content;
  // The timeline: both calls, and the reasoning (which never reaches the answer).
  EXPECT_EQ(logs_with(task.id, "tool_call").size(), 2u);
  auto reasoning = logs_with(task.id, "reasoning");
  ASSERT_EQ(reasoning.size(), 1u);
  EXPECT_EQ(reasoning[0]["text"], "I should add.");
}

TEST_F(ToolLoopTest, TheRoundLimitHoldsAndTheLastCallOffersNoTools) {
  const engine::ToolCall again{"c", "add", R"({"a": 1, "b": 1})"};
  script({calls({again}), calls({again}), test_support::text_result("done")});
  storage::Task task = make_task("in");
  TaskContext ctx(config, task, services(), stop.get_token());
  GenerateOptions o;
  o.prompt = "Loop forever";
  engine::Result r = ctx.generate_with_tools(o, tools(), {.max_rounds = 2});
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(add_runs, 2);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].tool_choice, engine::ToolChoice::automatic);
  EXPECT_EQ(requests[2].tool_choice, engine::ToolChoice::none) << "after max_rounds the model must answer";
}

TEST_F(ToolLoopTest, AnUnknownToolOrBadArgumentsAreAnsweredNotThrown) {
  script({calls({{"x", "no_such", "{}"}, {"y", "add", "not json"}}), test_support::text_result("ok")});
  storage::Task task = make_task("in");
  TaskContext ctx(config, task, services(), stop.get_token());
  GenerateOptions o;
  o.prompt = "Try";
  EXPECT_EQ(ctx.generate_with_tools(o, tools()).text, "ok");
  const auto& m = requests[1].messages;
  EXPECT_NE(m[m.size() - 2].content.find("no tool named 'no_such'"), std::string::npos) << m[m.size() - 2].content;
  EXPECT_NE(m.back().content.find("error"), std::string::npos) << m.back().content;
}

}  // namespace
}  // namespace agentd::agents

namespace agentd::agents {
namespace {

// A generation that hands out its text in pieces, as the engine does while decoding.
class PiecesGeneration : public engine::Generation {
 public:
  explicit PiecesGeneration(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  std::optional<std::string> next_piece() override {
    if (next_ >= pieces_.size()) return std::nullopt;
    return pieces_[next_++];
  }
  void cancel() override {}
  engine::Result wait() override {
    std::string text;
    for (const auto& p : pieces_) text += p;
    return test_support::text_result(text);
  }

 private:
  std::vector<std::string> pieces_;
  size_t next_ = 0;
};

class LiveOutputTest : public test_support::AgentsTest {
 protected:
  void answer_in_pieces(std::vector<std::string> pieces) {
    EXPECT_CALL(engine, submit(::testing::_)).WillOnce([pieces](engine::Request) {
      return std::unique_ptr<engine::Generation>(std::make_unique<PiecesGeneration>(pieces));
    });
  }
  TaskServices live_services() {
    TaskServices s = services();
    s.live = &live;
    return s;
  }
  LiveOutput live;
  std::stop_source stop;
};

// An interactive task's calls write their text to the live output as it comes, each call afresh.
TEST_F(LiveOutputTest, AnInteractiveTasksCallsWriteTheirTextAsItComes) {
  storage::Task task = make_task("in");
  task.priority = scheduler::Priority::interactive;
  TaskContext ctx(config, task, live_services(), stop.get_token());
  answer_in_pieces({"Once ", "upon ", "a time"});
  EXPECT_EQ(ctx.ask("tell me"), "Once upon a time");
  auto s = live.wait_change(task.id, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->call, 1);
  EXPECT_EQ(s->text, "Once upon a time");
  EXPECT_FALSE(live.wait_change(task.id, s->version, std::chrono::milliseconds(0))) << "nothing new";

  answer_in_pieces({"The end."});
  ctx.ask("and then?");
  s = live.wait_change(task.id, s->version, std::chrono::milliseconds(0));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->call, 2);
  EXPECT_EQ(s->text, "The end.");
}

// A background task's calls are not read piece by piece: nothing is written.
TEST_F(LiveOutputTest, ABackgroundTaskWritesNothing) {
  storage::Task task = make_task("in");
  task.priority = scheduler::Priority::background;
  TaskContext ctx(config, task, live_services(), stop.get_token());
  answer_in_pieces({"quiet"});
  EXPECT_EQ(ctx.ask("x"), "quiet");
  EXPECT_FALSE(live.wait_change(task.id, 0, std::chrono::milliseconds(0)));
}

// Bounded: the oldest task is dropped past kTasks, and a task's text stops growing at kMaxBytes.
TEST(LiveOutput, KeepsTheLastTasksAndABoundedText) {
  LiveOutput live;
  for (int64_t id = 1; id <= static_cast<int64_t>(LiveOutput::kTasks) + 1; ++id) live.begin_call(id);
  EXPECT_FALSE(live.wait_change(1, 0, std::chrono::milliseconds(0))) << "the oldest was dropped";
  EXPECT_TRUE(live.wait_change(2, 0, std::chrono::milliseconds(0)));
  live.append(1, "dropped: not kept again");
  EXPECT_FALSE(live.wait_change(1, 0, std::chrono::milliseconds(0)));
  std::string big(LiveOutput::kMaxBytes - 1, 'x');
  live.append(2, big);
  live.append(2, "yy");  // would pass the bound
  EXPECT_EQ(live.wait_change(2, 0, std::chrono::milliseconds(0))->text, big);
}

// A waiter on another thread wakes with the new text (no sleeping: the append happens after the
// waiter is known to be waiting or before it looks; either way it must see the text).
TEST(LiveOutput, AWaiterOnAnotherThreadSeesTheAppend) {
  LiveOutput live;
  live.begin_call(7);
  uint64_t seen = live.wait_change(7, 0, std::chrono::milliseconds(0))->version;
  std::thread writer([&] { live.append(7, "hello"); });
  auto s = live.wait_change(7, seen, std::chrono::seconds(20));  // a hang guard, not a measure
  writer.join();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->text, "hello");
}

TEST(LiveOutput, TheStreamStopsBeforeACutCharacter) {
  EXPECT_EQ(engine::incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(engine::incomplete_utf8_tail("a\xC3\xA9"), 0u);        // é whole
  EXPECT_EQ(engine::incomplete_utf8_tail("a\xC3"), 1u);            // é cut after its lead byte
  EXPECT_EQ(engine::incomplete_utf8_tail("a\xE2\x82"), 2u);        // € cut after two of three bytes
  EXPECT_EQ(engine::incomplete_utf8_tail("a\xF0\x9F\x98\x80"), 0u);  // an emoji whole
  EXPECT_EQ(engine::incomplete_utf8_tail(""), 0u);
}

}  // namespace
}  // namespace agentd::agents
