// EvaluatorAgent end to end with a mock engine: a drafter.done event's draft checked against a fact
// file in its folders, one schema-constrained model call per claim, the score computed exactly,
// the reports written, the note and memory kept; and the errors it reports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/evaluator/evaluator_agent.hpp"
#include "agents/evaluator/verdict.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"
#include "tests/agents/plugins/scripted_answers.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::HasSubstr;

constexpr const char* kFacts =
    "# Facts\n"
    "- The tower stands in Paris.\n"
    "- The tower opened in 1889.\n"
    "- The tower is 330 metres tall.\n";

constexpr const char* kDraft =
    "# Tower guide\n\n"
    "## Basics\n\n"
    "The tower stands in Paris. The tower is made of wood.\n\n"
    "## Numbers\n\n"
    "Many people visit it each day. The tower opened to visitors in 1890.\n";

std::string verdict(const char* v, int fact) {
  return nlohmann::json{{"verdict", v}, {"fact", fact}, {"reason", "because"}}.dump();
}

class EvaluatorTest : public test_support::AgentsTest {
 protected:
  EvaluatorTest() {
    root = fs::canonical(dir.path());
    samples = root / "samples";
    drafts = root / "drafts";
    out = root / "evaluations";
    for (const auto& d : {samples, drafts, out}) fs::create_directories(d);
    write_file(samples / "facts.md", kFacts);
    write_file(drafts / "draft-7.md", kDraft);
    config.name = "evaluator";
    config.plugin = "evaluator";
    config.read_folders = {samples, drafts};
    config.write_folders = {out};
    config.settings = {{"facts", "facts.md"}};
  }

  std::string event_input(const fs::path& file) {
    return nlohmann::json{{"task", 7}, {"agent", "drafter"}, {"file", file.string()}, {"title", "Tower guide"},
                          {"event", "drafter.done"}, {"from_task", 7}}
        .dump();
  }

  std::string run(const std::string& input, storage::Task* task_out = nullptr) {
    EvaluatorAgent agent(config);
    storage::Task task = make_task(input, "on drafter.done");
    if (task_out) *task_out = task;
    TaskContext ctx(config, task, services(), std::stop_source().get_token());
    return agent.run(ctx);
  }

  std::string run_error(const std::string& input) {
    try {
      run(input);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected the task to fail";
    return "";
  }

  std::string config_error() { return config_error_of<EvaluatorAgent>(); }

  fs::path samples, drafts;
  test_support::ScriptedAnswers model;
};

TEST_F(EvaluatorTest, ChecksEachClaimUnderTheSchemaAndScoresInCode) {
  // Claims: Paris (supported), wood (contradicted), visitors (garbage answer), 1890 (the model says
  // supported, but no fact has 1890).
  model.expect_texts(engine, {verdict("supported", 0), verdict("contradicted", 2), "The cat sat on the mat",
                              verdict("supported", 1)});
  storage::Task task;
  std::string report = run(event_input(drafts / "draft-7.md"), &task);

  ASSERT_EQ(model.requests().size(), 4u);
  for (const auto& r : model.requests()) {
    EXPECT_EQ(r.json_schema, evaluation::verdict_schema(3));
    EXPECT_EQ(r.max_tokens, 128);
  }
  EXPECT_THAT(model.prompt(0), HasSubstr("[0] The tower stands in Paris.\n[1] The tower opened in 1889.\n"
                                         "[2] The tower is 330 metres tall.\n"));
  EXPECT_THAT(model.prompt(0), HasSubstr("Claim: \"The tower stands in Paris.\""));
  EXPECT_THAT(model.prompt(3), HasSubstr("Claim: \"The tower opened to visitors in 1890.\""));
  // The facts and the question are the same for every claim and come first; the claim comes last
  // (the engine's prefix cache reuses the longest prompt prefix it has seen).
  for (size_t i = 0; i < model.requests().size(); ++i) {
    EXPECT_THAT(model.prompt(i), ::testing::EndsWith("\""));
    EXPECT_THAT(test_support::common_prefix(model.prompt(0), model.prompt(i)),
                HasSubstr("[2] The tower is 330 metres tall.\n\nDoes one of the facts support the claim below, "
                          "contradict it, or is the claim absent from the facts? Answer with the verdict, the number "
                          "of the fact in brackets (-1 if none) and a short reason.\n\nClaim: \""));
  }

  nlohmann::json j = nlohmann::json::parse(read_file(out / "evaluation-draft-7.json"));
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 0.25);
  EXPECT_EQ(j["counts"], (nlohmann::json{{"claims", 4}, {"claims_found", 4}, {"supported", 1}, {"contradicted", 1},
                                         {"absent", 2}, {"number_flags", 1}, {"model_fallbacks", 1}}));
  EXPECT_EQ(j["claims"][2]["from_model"], false);
  EXPECT_EQ(j["claims"][3]["verdict"], "absent");
  EXPECT_EQ(j["claims"][3]["model_verdict"], "supported");
  EXPECT_EQ(j["claims"][3]["unknown_numbers"], (nlohmann::json{"1890"}));

  std::string md = read_file(out / "evaluation-draft-7.md");
  EXPECT_EQ(md, report);
  EXPECT_THAT(md, HasSubstr("score 0.25: 1 of 4 claims supported, 1 contradicted, 2 absent"));
  EXPECT_THAT(md, HasSubstr("**contradicted**: The tower is made of wood."));
  EXPECT_THAT(md, HasSubstr("**absent**: Many people visit it each day."));
  EXPECT_THAT(md, HasSubstr("**absent**: The tower opened to visitors in 1890."));

  auto notes = memory.recent_notes("evaluator", 5);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].text, HasSubstr("draft-7.md: score 0.25: 1 of 4 claims supported"));
  auto recent = memory.get("evaluator", "recent").value();
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0]["draft"], (drafts / "draft-7.md").string());

  std::vector<std::string> read_paths, wrote_paths;
  for (const auto& e : events_of(task.id, "read")) read_paths.push_back(e.data["path"]);
  for (const auto& e : events_of(task.id, "wrote")) wrote_paths.push_back(e.data["path"]);
  EXPECT_THAT(read_paths, ::testing::ElementsAre((drafts / "draft-7.md").string(), (samples / "facts.md").string()));
  EXPECT_THAT(wrote_paths, ::testing::ElementsAre((out / "evaluation-draft-7.md").string(),
                                                  (out / "evaluation-draft-7.json").string()));
}

TEST_F(EvaluatorTest, AManualRunTakesTheInputAsThePathOfTheDraft) {
  model.expect_texts(engine, {verdict("supported", 0), verdict("supported", 2), verdict("supported", 0),
                              verdict("absent", -1)});
  std::string report = run((drafts / "draft-7.md").string());
  EXPECT_THAT(report, HasSubstr("score 0.75"));
}

TEST_F(EvaluatorTest, MaxClaimsBoundsTheModelCalls) {
  config.settings["max_claims"] = 2;
  model.expect_texts(engine, {verdict("supported", 0), verdict("supported", 0)});
  std::string report = run(event_input(drafts / "draft-7.md"));
  EXPECT_THAT(report, HasSubstr("claims checked: 2 (of 4; the rest were not checked)"));
  EXPECT_THAT(report, HasSubstr("score 1.00"));
}

TEST_F(EvaluatorTest, AMissingDraftIsAClearErrorAndTheModelIsNotCalled) {
  model.expect_texts(engine, {});
  std::string error = run_error(event_input(drafts / "draft-99.md"));
  EXPECT_THAT(error, HasSubstr("cannot read the draft: " + (drafts / "draft-99.md").string() + ": no such file"));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST_F(EvaluatorTest, ADraftOutsideItsFoldersIsRefused) {
  write_file(root / "secret.md", "The secret is out there somewhere.");
  model.expect_texts(engine, {});
  EXPECT_THAT(run_error(event_input(root / "secret.md")), HasSubstr("refused"));
  EXPECT_THAT(run_error(event_input(drafts / ".." / "secret.md")), HasSubstr("refused"));
}

TEST_F(EvaluatorTest, InputsThatNameNoDraftAreClearErrors) {
  model.expect_texts(engine, {});
  EXPECT_THAT(run_error(""), HasSubstr("no draft to evaluate"));
  EXPECT_THAT(run_error(R"({"task": 3, "agent": "drafter"})"), HasSubstr("no \"file\""));
  EXPECT_THAT(run_error(R"({"file": 12})"), HasSubstr("no \"file\""));
}

TEST_F(EvaluatorTest, AFactFileWithoutFactsOrADraftWithoutSentencesFails) {
  model.expect_texts(engine, {});
  write_file(samples / "facts.md", "# Only a heading\n\n<!-- and a comment -->\n");
  EXPECT_THAT(run_error(event_input(drafts / "draft-7.md")), HasSubstr("has no facts"));
  write_file(samples / "facts.md", kFacts);
  write_file(drafts / "draft-8.md", "# Title\n\n## Heading\n\nOk.\n");
  EXPECT_THAT(run_error(event_input(drafts / "draft-8.md")), HasSubstr("has no sentences to check"));
  config.settings["facts"] = "missing.md";
  EXPECT_THAT(run_error(event_input(drafts / "draft-7.md")), HasSubstr("cannot read the fact list: missing.md"));
}

TEST_F(EvaluatorTest, FactsLeftOutAreLoggedNamingTheFile) {
  write_file(samples / "facts.md", std::string(kFacts) + "- " + std::string(400, 'x') + "\n");
  model.expect_texts(engine, {verdict("supported", 0), verdict("supported", 0), verdict("supported", 0),
                              verdict("supported", 0)});
  storage::Task task;
  run(event_input(drafts / "draft-7.md"), &task);
  auto logs = events_of(task.id, storage::event::log);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].data["file"], "facts.md");
  EXPECT_EQ(logs[0].data["error"], "line 5: 400 bytes; a fact has at most 300");
}

TEST_F(EvaluatorTest, WhenEveryModelCallFailsTheTaskFails) {
  model.expect(engine, std::vector<engine::Result>(4, test_support::failed_result("engine down")));
  EXPECT_THAT(run_error(event_input(drafts / "draft-7.md")), HasSubstr("no claim could be checked"));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST_F(EvaluatorTest, OneFailedCallCountsAsAnAbsentFallback) {
  model.expect(engine, {test_support::text_result(verdict("supported", 0)), test_support::failed_result("hiccup"),
                        test_support::text_result(verdict("supported", 0)),
                        test_support::text_result(verdict("supported", 0))});
  std::string report = run(event_input(drafts / "draft-7.md"));
  EXPECT_THAT(report, HasSubstr("1 unusable model answers"));
  EXPECT_THAT(report, HasSubstr("no verdict: model call failed: hiccup"));
}

TEST_F(EvaluatorTest, RecentScoresAreBounded) {
  nlohmann::json old = nlohmann::json::array();
  for (int i = 0; i < EvaluatorAgent::kRecentScores; ++i) old.push_back({{"task", i}, {"draft", "old"}, {"score", 0}});
  memory.set("evaluator", "recent", old);
  model.expect_texts(engine, {verdict("supported", 0), verdict("supported", 0), verdict("supported", 0),
                              verdict("supported", 0)});
  run(event_input(drafts / "draft-7.md"));
  auto recent = memory.get("evaluator", "recent").value();
  ASSERT_EQ(recent.size(), static_cast<size_t>(EvaluatorAgent::kRecentScores));
  EXPECT_EQ(recent[0]["task"], 1);  // the oldest dropped
  EXPECT_EQ(recent.back()["draft"], (drafts / "draft-7.md").string());
}

TEST_F(EvaluatorTest, SettingsErrorsNameTheFileAndPath) {
  const std::string file = config.file.string();
  config.settings = nlohmann::json::object();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/facts: required"));
  config.settings = {{"facts", "facts.md"}, {"max_claims", 0}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/max_claims:"));
  config.settings = {{"facts", "facts.md"}, {"fact", "x"}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/fact: unknown key"));
  config.settings = {{"facts", "facts.md"}};
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /folders/write:"));
}

}  // namespace
}  // namespace agentd::agents
