// ExtractorAgent end to end with the mock engine: documents scanned and extracted under the schema,
// lines appended to the JSON-lines file, processed documents skipped on the next run (by content),
// the retry with a new seed, a document that stays invalid logged while the rest goes on, watch
// inputs, caps, confinement of the output, and settings errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/extractor/extractor_agent.hpp"
#include "agents/extractor/processed_documents.hpp"
#include "agents/extractor/receipt_schema.hpp"
#include "agents/extractor/extractor_schema.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test_support::read_file;
using test_support::write_file;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kBakery = R"({"merchant":"Le Fournil","date":"2024-03-14","total":7.6,"currency":"EUR","payment":"card",
  "items":[{"name":"Croissant","quantity":2,"price":1.2}]})";
const char* kCafe = R"({"merchant":"Brandl","date":"2024-04-05","total":15,"currency":"EUR","payment":"card","items":[]})";
const char* kNegativeTotal = R"({"merchant":"X","date":"2024-01-01","total":-3,"currency":"EUR","payment":"cash","items":[]})";

std::vector<json> jsonl(const fs::path& file) {
  std::vector<json> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

class ExtractorTest : public test_support::AgentsTest {
 protected:
  ExtractorTest() {
    inbox = agent_folders("extractor", "inbox");
    config.generation.seed = 42;
    config.generation.temperature = 0.2f;
  }

  // Runs a task; the model answers `answers` in order (one submit each); returns the output.
  std::string run(const std::vector<std::string>& answers, const std::string& input = "", const std::string& trigger = "manual",
                  std::vector<engine::Request>* requests = nullptr) {
    ExtractorAgent agent(config);
    task = make_task(input, trigger);
    captured.assign(answers.size(), {});
    {
      ::testing::InSequence order;
      for (size_t i = 0; i < answers.size(); ++i) answer_with(answers[i], &captured[i]);
    }
    TaskContext ctx(config, task, services(), std::stop_source().get_token());
    std::string output = agent.run(ctx);
    if (requests) *requests = captured;
    return output;
  }

  std::vector<json> logs(const std::string& message) {
    std::vector<json> found;
    for (auto& e : events_of(task.id, storage::event::log)) {
      if (e.data["message"] == message) found.push_back(e.data);
    }
    return found;
  }

  std::string config_error() { return config_error_of<ExtractorAgent>(); }

  fs::path inbox;
  storage::Task task;
  std::vector<engine::Request> captured;
};

TEST_F(ExtractorTest, ExtractsEachDocumentUnderTheSchemaAndAppendsJsonLines) {
  write_file(inbox / "a-bakery.txt", "LE FOURNIL\n2 x Croissant 1.20\nTOTAL EUR 7.60\n");
  write_file(inbox / "b-cafe.txt", "Kaffeehaus Brandl\nSumme EUR 15.00\n");
  write_file(inbox / "notes.md", "not a receipt");
  std::vector<engine::Request> requests;
  std::string output = run({kBakery, kCafe}, "", "every 10m", &requests);

  ASSERT_EQ(requests.size(), 2u);
  // Grammar-constrained by the schema (its bounds are all 0: the grammar keeps them, no minus
  // sign); the document and the instruction in the prompt.
  EXPECT_EQ(json::parse(requests[0].json_schema), json::parse(kReceiptSchema));
  EXPECT_EQ(json::parse(requests[0].json_schema)["properties"]["total"]["minimum"], 0);
  EXPECT_THAT(requests[0].messages.back().content, HasSubstr(kReceiptInstruction));
  EXPECT_THAT(requests[0].messages.back().content, HasSubstr("Document \"a-bakery.txt\":\nLE FOURNIL\n"));
  EXPECT_EQ(requests[0].sampling.seed, 42u);
  EXPECT_THAT(requests[1].messages.back().content, HasSubstr("Kaffeehaus Brandl"));

  auto lines = jsonl(out / "extracted.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["file"], "a-bakery.txt");
  EXPECT_EQ(lines[0]["task"], task.id);
  EXPECT_EQ(lines[0]["hash"], content_hash("LE FOURNIL\n2 x Croissant 1.20\nTOTAL EUR 7.60\n"));
  EXPECT_EQ(lines[0]["data"], json::parse(kBakery));
  EXPECT_EQ(lines[1]["file"], "b-cafe.txt");
  EXPECT_EQ(lines[1]["data"]["total"], 15);

  EXPECT_THAT(output, HasSubstr("2 extracted, 0 not; 0 already processed; 0 left for the next run.\n"));
  EXPECT_THAT(output, HasSubstr("Appended to " + (out / "extracted.jsonl").string()));
  EXPECT_THAT(output, HasSubstr("- a-bakery.txt: extracted: {\"currency\":\"EUR\""));
  EXPECT_EQ(memory.get("extractor", "processed")->size(), 2u);
  EXPECT_EQ(events_of(task.id, "wrote").size(), 2u);  // one append per document
}

TEST_F(ExtractorTest, ProcessedDocumentsAreSkippedByContentAcrossRuns) {
  write_file(inbox / "a.txt", "receipt one");
  run({kBakery});
  // Second run: nothing new, no model call (the mock is strict).
  std::string again = run({});
  EXPECT_THAT(again, HasSubstr("0 extracted, 0 not; 1 already processed"));
  // A renamed copy is the same document; an edited one is new.
  write_file(inbox / "copy.txt", "receipt one");
  write_file(inbox / "a.txt", "receipt one, corrected");
  std::string third = run({kCafe});
  EXPECT_THAT(third, HasSubstr("1 extracted, 0 not; 1 already processed"));
  EXPECT_THAT(third, HasSubstr("- a.txt: extracted"));
  EXPECT_EQ(jsonl(out / "extracted.jsonl").size(), 2u);
}

TEST_F(ExtractorTest, InvalidOutputIsRetriedOnceWithANewSeed) {
  write_file(inbox / "a.txt", "receipt");
  std::vector<engine::Request> requests;
  std::string output = run({kNegativeTotal, kBakery}, "", "manual", &requests);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].sampling.seed, 42u);
  EXPECT_EQ(requests[1].sampling.seed, 43u);
  EXPECT_FLOAT_EQ(requests[1].sampling.temperature, 0.5f);  // at least 0.5 so the retry can differ
  EXPECT_EQ(requests[1].json_schema, requests[0].json_schema);
  auto invalid = logs("invalid output");
  ASSERT_EQ(invalid.size(), 1u);
  EXPECT_EQ(invalid[0]["attempt"], 1);
  EXPECT_EQ(invalid[0]["error"], "/total: -3 is below the minimum 0");
  auto lines = jsonl(out / "extracted.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["data"], json::parse(kBakery));
  EXPECT_THAT(output, HasSubstr("1 extracted"));
}

TEST_F(ExtractorTest, ADocumentStillInvalidIsLoggedAndTheOthersGoOn) {
  write_file(inbox / "a.txt", "unreadable scan");
  write_file(inbox / "b.txt", "good receipt");
  std::string output = run({"{\"merchant\": \"cut of", kNegativeTotal, kCafe});
  auto failed = logs("extraction failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["file"], (inbox / "a.txt").string());
  EXPECT_EQ(failed[0]["error"], "/total: -3 is below the minimum 0");
  auto invalid = logs("invalid output");
  ASSERT_EQ(invalid.size(), 2u);
  EXPECT_EQ(invalid[0]["error"], "not JSON");
  EXPECT_THAT(output, HasSubstr("1 extracted, 1 not;"));
  EXPECT_THAT(output, HasSubstr("- a.txt: failed: /total: -3 is below the minimum 0\n"));
  auto lines = jsonl(out / "extracted.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["file"], "b.txt");
  // The failed one is remembered too: the next scan costs no model call.
  EXPECT_THAT(run({}), HasSubstr("2 already processed"));
  EXPECT_EQ(memory.get("extractor", "processed")->at(0)["status"], "failed");
}

TEST_F(ExtractorTest, BadAnswersForEveryDocumentStillFinishTheTask) {
  write_file(inbox / "a.txt", "receipt");
  std::string output = run({"[]", "null"});
  EXPECT_THAT(output, HasSubstr("0 extracted, 1 not;"));
  EXPECT_THAT(output, HasSubstr("- a.txt: failed: /: expected object, got null\n"));
  EXPECT_THAT(output, Not(HasSubstr("Appended")));
  EXPECT_FALSE(fs::exists(out / "extracted.jsonl"));
}

TEST_F(ExtractorTest, FailsWhenNoNewDocumentCanBeRead) {
  config.limits.max_input_bytes = 16;
  write_file(inbox / "a.txt", std::string(17, 'x'));
  ExtractorAgent agent(config);
  task = make_task();
  TaskContext ctx(config, task, services(), std::stop_source().get_token());
  // StrictMock engine: any model call fails the test.
  EXPECT_THAT([&] { agent.run(ctx); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("no document could be read: a.txt:")));
  EXPECT_EQ(logs("cannot read document").size(), 1u);
}

TEST_F(ExtractorTest, AFolderBothReadAndWatchedIsScannedOnce) {
  config.read_folders = {inbox, inbox};  // as the runtime makes it for a watch on a read folder
  write_file(inbox / "a.txt", "receipt");
  run({kCafe});
  EXPECT_EQ(events_of(task.id, "read").size(), 2u);  // one listing, one file
}

TEST_F(ExtractorTest, AWatchInputNamesOneDocument) {
  write_file(inbox / "a.txt", "first");
  write_file(inbox / "b.txt", "second");
  std::string output = run({kCafe}, (inbox / "b.txt").string(), "watch " + inbox.string() + " *.txt");
  EXPECT_THAT(output, HasSubstr("- b.txt: extracted"));
  EXPECT_THAT(output, Not(HasSubstr("a.txt")));
  // The same file again (a second watch event): already processed, no model call.
  EXPECT_THAT(run({}, (inbox / "b.txt").string(), "watch " + inbox.string() + " *.txt"), HasSubstr("1 already processed"));
  // A watch event for a file that went away is not a failure.
  EXPECT_THAT(run({}, (inbox / "gone.txt").string(), "watch " + inbox.string() + " *.txt"), HasSubstr("0 extracted, 0 not"));
  EXPECT_EQ(logs("document gone").size(), 1u);
}

TEST_F(ExtractorTest, CapsPerTaskAndPerDocument) {
  config.settings = {{"max_documents", 1}, {"max_document_bytes", 64}};
  write_file(inbox / "a.txt", std::string(100, 'x'));
  write_file(inbox / "b.txt", "small");
  write_file(inbox / "c.txt", "small too");
  std::string first = run({kCafe});  // a.txt is too large (no model call), b.txt is sent, c.txt waits
  EXPECT_THAT(first, HasSubstr("1 extracted, 1 not; 0 already processed; 1 left for the next run."));
  EXPECT_THAT(first, HasSubstr("- a.txt: too large: 100 bytes, more than max_document_bytes 64\n- b.txt: extracted"));
  EXPECT_EQ(logs("document too large").size(), 1u);
  std::string second = run({kBakery});
  EXPECT_THAT(second, HasSubstr("1 extracted, 0 not; 2 already processed; 0 left for the next run."));
  EXPECT_THAT(second, HasSubstr("- c.txt: extracted"));
}

// Issue #14: refused when the agent is loaded (agentd agents validate), not at its first run.
TEST_F(ExtractorTest, TheOutputFileStaysInsideTheWriteFolder) {
  for (const char* output : {"../escape.jsonl", "/etc/escape.jsonl"}) {
    config.settings = {{"output", output}};
    try {
      ExtractorAgent agent(config);
      ADD_FAILURE() << output << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("/settings/output: " + std::string(output) + ": refused")) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(root / "escape.jsonl"));
}

TEST_F(ExtractorTest, ACustomSchemaIsUsedAndValidated) {
  config.settings = {{"schema", {{"type", "object"},
                                 {"properties", {{"title", {{"type", "string"}, {"maxLength", 20}}},
                                                 {"pages", {{"type", "integer"}, {"minimum", 1}}}}},
                                 {"required", {"title", "pages"}}}},
                     {"glob", "*.md"}};
  write_file(inbox / "doc.md", "# Title");
  std::vector<engine::Request> requests;
  std::string output = run({R"({"title":"T","pages":0})", R"({"title":"T","pages":3})"}, "", "manual", &requests);
  EXPECT_THAT(requests[0].messages.back().content, HasSubstr("Extract the data of the document below as JSON with: pages, title."));
  // The schema goes to the engine as given: its grammar states "minimum": 1 as no minus sign, and
  // the code refuses the 0 (the first answer) and takes the retry.
  EXPECT_EQ(json::parse(requests[0].json_schema)["properties"]["pages"], json({{"type", "integer"}, {"minimum", 1}}));
  EXPECT_EQ(jsonl(out / "extracted.jsonl")[0]["data"], json({{"title", "T"}, {"pages", 3}}));
  EXPECT_THAT(output, HasSubstr("1 extracted"));
}

TEST_F(ExtractorTest, SettingsErrorsNameTheFileAndPath) {
  const std::string file = config.file.string();
  config.settings = {{"schema", {{"type", "object"}, {"properties", {{"x", {{"type", "string"}, {"pattern", "a+"}}}}}}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/schema/properties/x/pattern: unsupported keyword \"pattern\""));
  config.settings = {{"schema", {{"type", "string"}}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/schema: a string needs \"maxLength\""));
  config.settings = {{"shema", json::object()}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/shema: unknown key (did you mean 'schema'?)"));
  config.settings = {{"max_documents", 0}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/max_documents: 0 is outside 1..1000"));
  config.settings = {{"output", ""}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/output: an empty file name"));
  config.settings = json::object();
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /folders/write:"));
}

}  // namespace
}  // namespace agentd::agents
