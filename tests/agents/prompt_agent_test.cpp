// PromptAgent end to end with a mock engine answering fixed text: the prompt filled from the task,
// memory, event data and files; the answer written to a file, memory, a note and an event; and
// the configuration errors it reports at load time. Also the plugin registry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/prompt/prompt_agent.hpp"
#include "agents/registry.hpp"
#include "agents/task_context.hpp"
#include "agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2024-03-05 14:07:09 UTC, a Tuesday.
constexpr int64_t kTuesdayAfternoonUtc = 1709647629000;

class PromptAgentTest : public test_support::AgentsTest {
 protected:
  static void SetUpTestSuite() {
    // {{date}} and friends are local time: pin the zone so the expected text is exact.
    setenv("TZ", "UTC", 1);
    tzset();
  }

  PromptAgentTest() {
    root = fs::canonical(dir.path());
    notes = root / "notes";
    out = root / "out";
    fs::create_directories(notes);
    fs::create_directories(out);
    config.read_folders = {notes};
    config.write_folders = {out};
    now = kTuesdayAfternoonUtc;
  }

  Run run(Agent& agent, const std::string& answer, const std::string& input = "",
          const std::string& trigger = "manual") {
    return run_answering(agent, answer, input, trigger);
  }

  std::string config_error() { return config_error_of<PromptAgent>(); }

  fs::path notes;
};

TEST_F(PromptAgentTest, TheAnswerIsTheOutputAndThePromptIsSent) {
  config.prompt = "Say hello.";
  config.system_prompt = "Be brief.";
  PromptAgent agent(config);
  Run r = run(agent, "Hello!");
  EXPECT_EQ(r.output, "Hello!");
  EXPECT_EQ(r.prompt, "Say hello.");
  EXPECT_THAT(r.emitted, IsEmpty());
  EXPECT_EQ(events_of(r.task.id, storage::event::llm_call).size(), 1u);
  EXPECT_TRUE(fs::is_empty(out));  // nothing written
}

// The engine's prefix cache reuses the longest prompt prefix it has seen: the plugin sends the
// system prompt and then the template as written, adding nothing before them, so tasks share
// everything up to the template's first placeholder.
TEST_F(PromptAgentTest, TasksShareTheSystemPromptAndTheTemplateUpToItsFirstPlaceholder) {
  config.system_prompt = "You translate into French.";
  config.prompt = "Translate the text below. Keep names as they are.\n\nText: {{input}}\nOn {{date}}, task {{task}}";
  PromptAgent agent(config);
  std::vector<engine::Request> sent(2);
  for (size_t i = 0; i < sent.size(); ++i) {
    answer_with("ok", &sent[i]);
    TaskContext ctx(config, make_task(i == 0 ? "Hello" : "Goodbye"), services(), std::stop_source().get_token());
    agent.run(ctx);
    now += 24 * 3600 * 1000;
  }
  ASSERT_EQ(sent[0].messages.size(), 2u);
  EXPECT_EQ(sent[0].messages[0].content, "You translate into French.");
  EXPECT_THAT(test_support::common_prefix(test_support::rendered(sent[0]), test_support::rendered(sent[1])),
              ::testing::EndsWith("You translate into French.<|end|>\n<|user|>\n"
                                  "Translate the text below. Keep names as they are.\n\nText: "));
}

TEST_F(PromptAgentTest, FillsInputMemoryAgentAndTaskPlaceholders) {
  memory.set("writer", "style", "formal");
  memory.set("writer", "counts", {{"a", 1}});
  memory.set("someone_else", "secret", "hidden");
  config.prompt = "[{{input}}] style={{memory:style}} counts={{ memory:counts }} unset=<{{memory:nope}}> "
                  "other=<{{memory:secret}}> by {{agent}} #{{task}}";
  PromptAgent agent(config);
  Run r = run(agent, "ok", "buy milk");
  EXPECT_EQ(r.prompt, "[buy milk] style=formal counts={\"a\":1} unset=<> other=<> by writer #" +
                          std::to_string(r.task.id));
}

TEST_F(PromptAgentTest, FillsEventFieldsFromAJsonInput) {
  config.prompt = "{{event.agent}} wrote {{event.stats.words}} words ({{event.stats}}); missing=<{{event.nope.x}}>";
  PromptAgent agent(config);
  Run r = run(agent, "ok", R"({"agent":"drafter","stats":{"words":42}})", "on drafter.done");
  EXPECT_EQ(r.prompt, "drafter wrote 42 words ({\"words\":42}); missing=<>");

  Run not_json = run(agent, "ok", "plain text", "manual");
  EXPECT_EQ(not_json.prompt, " wrote  words (); missing=<>");
}

TEST_F(PromptAgentTest, FillsDateAndTimeFromTheInjectedClock) {
  config.prompt = "{{date}}|{{time}}|{{datetime}}|{{weekday}}";
  PromptAgent agent(config);
  EXPECT_EQ(run(agent, "ok").prompt, "2024-03-05|14:07|2024-03-05 14:07|Tuesday");
  now += 24 * 3600 * 1000;
  EXPECT_EQ(run(agent, "ok").prompt, "2024-03-06|14:07|2024-03-06 14:07|Wednesday");
}

TEST_F(PromptAgentTest, ReadsFilesThroughTheAgentsFolders) {
  write_file(notes / "today.md", "- call Bob\n");
  write_file(notes / "inbox" / "new.md", "Dear agent");
  write_file(root / "secret.txt", "secret");

  config.prompt = "Todo: {{file:today.md}}";
  PromptAgent file_agent(config);
  Run read = run(file_agent, "ok");
  EXPECT_EQ(read.prompt, "Todo: - call Bob\n");
  auto reads = events_of(read.task.id, "read");  // in the timeline, like every agent's file access
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].data["path"], (notes / "today.md").string());
  EXPECT_EQ(reads[0].data["bytes"], 11);

  config.prompt = "Summarise: {{input_file}}";
  PromptAgent input_agent(config);
  // A watch trigger: the input names the file.
  EXPECT_EQ(run(input_agent, "ok", (notes / "inbox" / "new.md").string(), "watch").prompt, "Summarise: Dear agent");
  EXPECT_EQ(run(input_agent, "ok", "inbox/new.md").prompt, "Summarise: Dear agent");
  // An event trigger: the event's "file" field names it.
  EXPECT_EQ(run(input_agent, "ok", R"({"file":"today.md"})", "on drafter.done").prompt, "Summarise: - call Bob\n");

  // Outside the folders: the task fails naming the file, and the model is never called.
  config.prompt = "{{file:../secret.txt}}";
  PromptAgent escaping(config);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_CALL(engine, submit(_)).Times(0);
  EXPECT_THAT([&] { escaping.run(ctx); }, ::testing::ThrowsMessage<FileAccessError>(HasSubstr("../secret.txt")));
  TaskContext ctx2(config, make_task((root / "secret.txt").string()), services(), std::stop_source().get_token());
  EXPECT_THROW(input_agent.run(ctx2), FileAccessError);
  TaskContext ctx3(config, make_task(R"({"other":1})", "on a.b"), services(), std::stop_source().get_token());
  EXPECT_THAT([&] { input_agent.run(ctx3); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("\"file\"")));
}

TEST_F(PromptAgentTest, WritesTheOutputFileWithTheTaskInItsName) {
  config.prompt = "Write.";
  config.settings = {{"output_file", "reports/{{date}}-{{ task }}.md"}};
  PromptAgent agent(config);
  Run first = run(agent, "first answer");
  Run second = run(agent, "second answer");
  fs::path first_file = out / "reports" / ("2024-03-05-" + std::to_string(first.task.id) + ".md");
  fs::path second_file = out / "reports" / ("2024-03-05-" + std::to_string(second.task.id) + ".md");
  EXPECT_EQ(read_file(first_file), "first answer");
  EXPECT_EQ(read_file(second_file), "second answer");

  auto wrote = events_of(first.task.id, "wrote");
  ASSERT_EQ(wrote.size(), 1u);
  EXPECT_EQ(wrote[0].data["path"], first_file.string());
  EXPECT_EQ(wrote[0].data["bytes"], 12);
}

TEST_F(PromptAgentTest, ReplacesOrAppendsToTheOutputFile) {
  config.prompt = "Write.";
  config.settings = {{"output_file", "digest.md"}};
  PromptAgent replace(config);
  run(replace, "one");
  run(replace, "two");
  EXPECT_EQ(read_file(out / "digest.md"), "two");

  config.settings = {{"output_file", "journal.md"}, {"append", true}};
  PromptAgent append(config);
  run(append, "one");
  run(append, "two");
  EXPECT_EQ(read_file(out / "journal.md"), "one\ntwo\n");
}

TEST_F(PromptAgentTest, KeepsTheAnswerInMemoryAndNotes) {
  config.prompt = "Summarise.";
  config.settings = {{"memory_key", "last_summary"}, {"note", true}};
  PromptAgent agent(config);
  Run r = run(agent, "kangaroos are marsupials");
  EXPECT_EQ(memory.get("writer", "last_summary"), "kangaroos are marsupials");
  auto found = memory.search_notes("writer", "kangaroos");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].text, "kangaroos are marsupials");
  EXPECT_EQ(events_of(r.task.id, storage::event::memory_write).size(), 2u);

  // The next task sees it through {{memory:...}}.
  config.prompt = "Previously: {{memory:last_summary}}";
  config.settings = nlohmann::json::object();
  PromptAgent reader(config);
  EXPECT_EQ(run(reader, "x").prompt, "Previously: kangaroos are marsupials");
}

TEST_F(PromptAgentTest, EmitPublishesTaskAgentOutputAndFile) {
  config.prompt = "Go.";
  config.settings = {{"emit", "done"}, {"output_file", "{{task}}.txt"}};
  PromptAgent agent(config);
  Run r = run(agent, "the result");
  ASSERT_EQ(r.emitted.size(), 1u);
  EXPECT_EQ(r.emitted[0].name, "writer.done");
  const fs::path file = out / (std::to_string(r.task.id) + ".txt");
  EXPECT_EQ(r.emitted[0].data, (nlohmann::json{{"task", r.task.id},
                                               {"agent", "writer"},
                                               {"output", "the result"},
                                               {"file", file.string()}}));
  EXPECT_EQ(read_file(file), "the result");

  config.settings = {{"emit", "done"}};
  PromptAgent no_file(config);
  Run plain = run(no_file, "x");
  ASSERT_EQ(plain.emitted.size(), 1u);
  EXPECT_FALSE(plain.emitted[0].data.contains("file"));
}

TEST_F(PromptAgentTest, PassesJsonSchemaAndStopToTheModel) {
  config.prompt = "Classify.";
  config.settings = {{"json_schema", {{"type", "object"}}}, {"stop", {"\n\n", "END"}}};
  PromptAgent agent(config);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  engine::Request request;
  answer_with("{}", &request);
  agent.run(ctx);
  EXPECT_EQ(nlohmann::json::parse(request.json_schema), (nlohmann::json{{"type", "object"}}));
  EXPECT_THAT(request.stop, ElementsAre("\n\n", "END"));
}

// A background agent from a file alone that calls a tool: the model's call runs against the agent's
// own notes, its result goes back as a tool message, and the final answer is the output.
TEST_F(PromptAgentTest, ListedToolsAreOfferedRunAndAnsweredBeforeTheOutput) {
  config.prompt = "Which plants did I note?";
  config.settings = {{"tools", {"search_notes"}}, {"output_file", "plants.md"}};
  memory.add_note(config.name, "the fern by the window needs water on Sundays");
  memory.add_note("someone-else", "the fern belongs to another agent");
  PromptAgent agent(config);
  engine::Result call = test_support::text_result("");
  call.tool_calls = {{"c1", "search_notes", R"({"query": "fern"})"}};
  std::vector<engine::Request> requests;
  EXPECT_CALL(engine, submit(_))
      .Times(2)
      .WillRepeatedly([&](engine::Request r) {
        requests.push_back(r);
        engine::Result next = requests.size() == 1 ? call : test_support::text_result("Your fern, on Sundays.");
        return std::unique_ptr<engine::Generation>(
            std::make_unique<test_support::FakeGeneration>(next, std::make_shared<test_support::GenerationProbe>()));
      });
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), std::stop_source().get_token());
  EXPECT_EQ(agent.run(ctx), "Your fern, on Sundays.");
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(requests[0].tools.size(), 1u);
  EXPECT_EQ(requests[0].tools[0].name, "search_notes");
  const engine::ChatMessage& answer = requests[1].messages.back();
  EXPECT_EQ(answer.role, "tool");
  EXPECT_EQ(answer.tool_call_id, "c1");
  EXPECT_THAT(answer.content, HasSubstr("needs water on Sundays"));
  EXPECT_THAT(answer.content, ::testing::Not(HasSubstr("another agent")));  // its own notes only
  EXPECT_EQ(logs_with(task.id, "tool_call").size(), 1u);
  EXPECT_EQ(read_file(out / "plants.md"), "Your fern, on Sundays.");
}

TEST_F(PromptAgentTest, AnUnknownToolOrToolsWithASchemaIsAConfigError) {
  config.prompt = "x";
  config.settings = {{"tools", {"search_notes", "rm_rf"}}};
  std::string message = config_error();
  EXPECT_THAT(message, HasSubstr("/settings/tools/1: no tool named 'rm_rf'; known: search_notes, recent_activity"));
  config.settings = {{"tools", {"search_notes"}}, {"json_schema", {{"type", "object"}}}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/tools: tools and json_schema cannot be combined"));
}

TEST_F(PromptAgentTest, UnknownSettingsKeyNamesFileAndPathWithTheNearestKey) {
  config.prompt = "x";
  config.settings = {{"output_fle", "a.md"}};
  std::string message = config_error();
  EXPECT_THAT(message, HasSubstr(config.file.string()));
  EXPECT_THAT(message, HasSubstr("/settings/output_fle"));
  EXPECT_THAT(message, HasSubstr("did you mean 'output_file'?"));
}

TEST_F(PromptAgentTest, OutputFileWithoutAWriteFolderIsAConfigError) {
  config.prompt = "x";
  config.write_folders.clear();
  config.settings = {{"output_file", "a.md"}};
  std::string message = config_error();
  EXPECT_THAT(message, HasSubstr(config.file.string() + ": /settings/output_file:"));
  EXPECT_THAT(message, HasSubstr("write folder"));
}

TEST_F(PromptAgentTest, OutputFileMayNotReadFilesOrInput) {
  config.prompt = "x";
  config.settings = {{"output_file", "{{input}}.md"}};
  std::string message = config_error();
  EXPECT_THAT(message, HasSubstr(config.file.string() + ": /settings/output_file:"));
  EXPECT_THAT(message, HasSubstr("{{input}} is not allowed here"));
}

TEST_F(PromptAgentTest, BadEmitNameIsAConfigError) {
  config.prompt = "x";
  for (const char* bad : {"Done", "two words", ".x"}) {
    SCOPED_TRACE(bad);
    config.settings = {{"emit", bad}};
    std::string message = config_error();
    EXPECT_THAT(message, HasSubstr(config.file.string() + ": /settings/emit:"));
    EXPECT_THAT(message, HasSubstr(std::string("'") + bad + "'"));
  }
}

TEST_F(PromptAgentTest, JsonSchemaMustBeAnObject) {
  config.prompt = "x";
  config.settings = {{"json_schema", "{\"type\":\"object\"}"}};
  std::string message = config_error();
  EXPECT_THAT(message, HasSubstr(config.file.string() + ": /settings/json_schema:"));
  EXPECT_THAT(message, HasSubstr("object"));
}

TEST_F(PromptAgentTest, WrongSettingTypesAreConfigErrors) {
  config.prompt = "x";
  config.settings = {{"append", "yes"}};
  EXPECT_THAT(config_error(), HasSubstr(config.file.string() + ": /settings/append:"));
  config.settings = {{"stop", {1, 2}}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/stop/0"));
  config.settings = nlohmann::json::array();
  EXPECT_THAT(config_error(), HasSubstr(config.file.string() + ": /settings: expected an object"));
}

TEST_F(PromptAgentTest, BadPlaceholderInThePromptIsAConfigError) {
  config.prompt = "Hello {{nmae}}";
  std::string message = config_error();
  EXPECT_THAT(message, HasSubstr(config.file.string() + ": /prompt:"));
  EXPECT_THAT(message, HasSubstr("{{nmae}}"));

  config.prompt = "Hello {{input";
  EXPECT_THAT(config_error(), HasSubstr(config.file.string() + ": /prompt:"));

  config.prompt = "";
  EXPECT_THAT(config_error(), HasSubstr(config.file.string() + ": /prompt:"));
}

// Registry ---------------------------------------------------------------------------------------

class FixedAgent : public Agent {
 public:
  explicit FixedAgent(std::string text) : text_(std::move(text)) {}
  std::string run(TaskContext&) override { return text_; }

 private:
  std::string text_;
};

TEST_F(PromptAgentTest, RegistryRefusesAnUnknownPluginListingTheKnownOnes) {
  Registry registry;  // not builtin_plugins(): the list would change with every shipped plugin
  registry.add("prompt", "test plugin", [](const AgentConfig&) { return std::make_unique<FixedAgent>("p"); });
  registry.add("summarise", "test plugin", [](const AgentConfig&) { return std::make_unique<FixedAgent>("s"); });
  config.plugin = "promtp";
  try {
    registry.create(config);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string message = e.what();
    EXPECT_THAT(message, HasSubstr(config.file.string() + ": /plugin: unknown plugin 'promtp'"));
    EXPECT_THAT(message, HasSubstr("did you mean 'prompt'?"));
    EXPECT_THAT(message, ::testing::ContainsRegex("known: (.*, )?prompt, (.*, )?summarise"));
  }

  config.plugin = "completely_different";
  try {
    registry.create(config);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("did you mean")));
    EXPECT_THAT(e.what(), ::testing::ContainsRegex("known: (.*, )?prompt, (.*, )?summarise"));
  }
}

TEST_F(PromptAgentTest, RegistryCreatesRegisteredPlugins) {
  Registry registry = builtin_plugins();
  EXPECT_TRUE(registry.has("prompt"));
  EXPECT_FALSE(registry.has("summarise"));
  registry.add("summarise", "first", [](const AgentConfig&) { return std::make_unique<FixedAgent>("one"); });
  registry.add("summarise", "second", [](const AgentConfig&) { return std::make_unique<FixedAgent>("two"); });
  auto names = registry.names();  // the shipped plugins too, in name order
  EXPECT_THAT(names, ::testing::IsSupersetOf({"prompt", "summarise"}));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(registry.description("summarise"), "second");

  config.plugin = "summarise";
  auto replaced = registry.create(config);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_EQ(replaced->run(ctx), "two");

  config.plugin = "prompt";
  config.prompt = "Hi {{agent}}";
  auto prompt = registry.create(config);
  ASSERT_NE(dynamic_cast<PromptAgent*>(prompt.get()), nullptr);
  EXPECT_EQ(run(*prompt, "hello").prompt, "Hi writer");

  // The plugin's own validation surfaces through create().
  config.settings = {{"emitt", "x"}};
  EXPECT_THROW(registry.create(config), ConfigError);
}

}  // namespace
}  // namespace agentd::agents
