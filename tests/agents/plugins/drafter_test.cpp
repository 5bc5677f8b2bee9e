// DrafterAgent with a mock engine (sections generated through generate_long into the real
// SectionStore, the file assembled in code, the drafter.done event, resume after a crash, settings
// errors) and its document helpers exactly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/drafter/draft_document.hpp"
#include "agents/drafter/drafter_agent.hpp"
#include "agents/task_context.hpp"
#include "storage/section_store.hpp"
#include "tests/agents/agents_test_support.hpp"
#include "tests/agents/plugins/scripted_answers.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// ---- document helpers --------------------------------------------------------------------------

TEST(DraftDocument, SplitsAGenerateLongDocumentIntoHeadingsAndTexts) {
  auto s = draft::split_sections("## Intro\n\nFirst line.\nSecond line.\n\n## Body\n\nMore text.");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].heading, "Intro");
  EXPECT_EQ(s[0].text, "First line.\nSecond line.");
  EXPECT_EQ(s[1].heading, "Body");
  EXPECT_EQ(s[1].text, "More text.");
}

TEST(DraftDocument, HeadingLikeLinesInsideAParagraphOrDeeperStayText) {
  auto s = draft::split_sections("## A\n\nsee\n## not a heading\nend\n\n### Sub\n\ntext\n\n## B\n\nb");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].text, "see\n## not a heading\nend\n\n### Sub\n\ntext");
  EXPECT_EQ(s[1].heading, "B");
}

TEST(DraftDocument, TextBeforeTheFirstHeadingAndEmptySections) {
  auto s = draft::split_sections("preamble\n\n## A\n\n## B\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].heading, "");
  EXPECT_EQ(s[0].text, "preamble");
  EXPECT_EQ(s[1].heading, "A");
  EXPECT_EQ(s[1].text, "");
  EXPECT_EQ(s[2].heading, "B");
  EXPECT_THAT(draft::split_sections(""), IsEmpty());
  EXPECT_THAT(draft::split_sections("\n  \n"), IsEmpty());
}

TEST(DraftDocument, AssemblesTitleThenSections) {
  EXPECT_EQ(draft::assemble_draft("T", {{"A", "a."}, {"B", "b."}}), "# T\n\n## A\n\na.\n\n## B\n\nb.\n");
  EXPECT_EQ(draft::assemble_draft("T", {{"", "lead"}, {"A", ""}}), "# T\n\nlead\n\n## A\n\n");
  // Round trip: what generate_long returns comes back section by section.
  std::string doc = "## One\n\nx y.\n\n## Two\n\nz.";
  EXPECT_EQ(draft::assemble_draft("T", draft::split_sections(doc)), "# T\n\n" + doc + "\n");
}

TEST(DraftDocument, TitleFromTheBriefsFirstSentence) {
  EXPECT_EQ(draft::title_from_brief("A guide to Paris. Keep it short."), "A guide to Paris");
  EXPECT_EQ(draft::title_from_brief("  Why cats purr!\nmore"), "Why cats purr!");
  EXPECT_EQ(draft::title_from_brief("Report: the year in review"), "Report");
  EXPECT_EQ(draft::title_from_brief("# Heading brief\nbody"), "Heading brief");
  EXPECT_EQ(draft::title_from_brief("version 1.5 notes"), "version 1.5 notes");
  EXPECT_EQ(draft::title_from_brief("   "), "Draft");
  std::string long_brief(200, 'x');
  EXPECT_EQ(draft::title_from_brief(long_brief), std::string(77, 'x') + "...");
}

TEST(DraftDocument, CountsWords) {
  EXPECT_EQ(draft::count_words(""), 0);
  EXPECT_EQ(draft::count_words("one"), 1);
  EXPECT_EQ(draft::count_words("  two  words\n\nthree"), 3);
}

// ---- the agent ---------------------------------------------------------------------------------

class DrafterTest : public test_support::AgentsTest {
 protected:
  DrafterTest() {
    out = fs::canonical(dir.path()) / "drafts";
    fs::create_directories(out);
    config.name = "drafter";
    config.plugin = "drafter";
    config.write_folders = {out};
    config.generation.section_tokens = 80;
  }

  struct Run {
    std::string output;
    storage::Task task;
    std::vector<TaskContext::Event> emitted;
  };
  Run run(const std::string& input, storage::Task task = {}) {
    DrafterAgent agent(config);
    Run r;
    r.task = task.id ? task : make_task(input);
    TaskContext ctx(config, r.task, services(), std::stop_source().get_token());
    r.output = agent.run(ctx);
    r.emitted = ctx.emitted();
    return r;
  }

  std::string config_error() { return config_error_of<DrafterAgent>(); }

  fs::path draft_of(const storage::Task& t) { return out / ("draft-" + std::to_string(t.id) + ".md"); }

  fs::path out;
  test_support::ScriptedAnswers model;
};

TEST_F(DrafterTest, WritesTheDraftFromTheGivenOutlineAndEmitsDone) {
  config.settings = {{"title", "Harbour guide"}, {"outline", {"History", "Today"}}};
  model.expect_texts(engine, {"The harbour opened long ago.", "Ferries leave every hour. Boats wait."});
  Run r = run("A guide to the harbour.");

  EXPECT_EQ(read_file(draft_of(r.task)),
            "# Harbour guide\n\n## History\n\nThe harbour opened long ago.\n\n## Today\n\n"
            "Ferries leave every hour. Boats wait.\n");
  ASSERT_EQ(model.requests().size(), 2u);  // no outline call: the headings were given
  EXPECT_THAT(model.prompt(0), HasSubstr("Brief: Title: Harbour guide\nA guide to the harbour."));
  EXPECT_THAT(model.prompt(0), HasSubstr("Write section 1 of 2: \"History\""));
  EXPECT_THAT(model.prompt(1), HasSubstr("Write section 2 of 2: \"Today\""));
  EXPECT_EQ(model.requests()[0].max_tokens, 80);  // generation.section_tokens

  ASSERT_EQ(r.emitted.size(), 1u);
  EXPECT_EQ(r.emitted[0].name, "drafter.done");
  EXPECT_EQ(r.emitted[0].data, (nlohmann::json{{"task", r.task.id},
                                               {"agent", "drafter"},
                                               {"file", draft_of(r.task).string()},
                                               {"title", "Harbour guide"}}));
  EXPECT_THAT(r.output, HasSubstr(draft_of(r.task).string()));
  EXPECT_THAT(r.output, HasSubstr("- words: 11"));
  EXPECT_THAT(r.output, HasSubstr("| 2 | Today | 6 |"));
  EXPECT_EQ(memory.get("drafter", "last_draft").value()["file"], draft_of(r.task).string());
  auto wrote = events_of(r.task.id, "wrote");
  ASSERT_EQ(wrote.size(), 1u);
  EXPECT_EQ(wrote[0].data["path"], draft_of(r.task).string());
}

TEST_F(DrafterTest, TheModelWritesTheOutlineUnderAGrammarWhenNoneIsGiven) {
  config.settings = {{"sections", 2}};
  model.expect_texts(engine, {"- Origins\n- Legacy\n", "It began.", "It lasts."});
  Run r = run("The story of the lighthouse. Two parts.");
  ASSERT_EQ(model.requests().size(), 3u);
  EXPECT_FALSE(model.requests()[0].grammar.empty());
  EXPECT_EQ(read_file(draft_of(r.task)),
            "# The story of the lighthouse\n\n## Origins\n\nIt began.\n\n## Legacy\n\nIt lasts.\n");
  auto sections = storage::SectionStore(*db).list(r.task.id);
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections[1].text, "It lasts.");
}

TEST_F(DrafterTest, AnEmptyInputUsesTheBriefFromTheSettings) {
  config.settings = {{"brief", "Cats and their naps."}, {"outline", {"Naps"}}};
  model.expect_texts(engine, {"They nap."});
  Run r = run("   ");
  EXPECT_THAT(model.prompt(0), HasSubstr("Brief: Title: Cats and their naps\nCats and their naps."));
  EXPECT_EQ(read_file(draft_of(r.task)), "# Cats and their naps\n\n## Naps\n\nThey nap.\n");
}

TEST_F(DrafterTest, NoBriefAtAllFailsWithoutCallingTheModel) {
  config.settings = {{"outline", {"A"}}};
  model.expect_texts(engine, {});
  EXPECT_THAT([&] { run(""); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("no brief")));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST_F(DrafterTest, AnOversizedBriefFailsNamingItsSize) {
  config.settings = {{"outline", {"A"}}};
  model.expect_texts(engine, {});
  std::string brief(DrafterAgent::kMaxBriefBytes + 1, 'b');
  EXPECT_THAT([&] { run(brief); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("4001 bytes; at most 4000")));
}

TEST_F(DrafterTest, ARerunAfterACrashDoesNotAskTheModelForStoredSections) {
  config.settings = {{"sections", 3}};
  // First run: the outline and section 1 are stored, then the model fails on section 2.
  model.expect(engine, {test_support::text_result("- Alpha\n- Beta\n- Gamma\n"), test_support::text_result("First."),
                        test_support::failed_result("engine went away")});
  storage::Task task = make_task("Three parts.");
  EXPECT_THROW(run("", task), std::runtime_error);
  EXPECT_FALSE(fs::exists(draft_of(task)));
  ASSERT_TRUE(::testing::Mock::VerifyAndClearExpectations(&engine));

  // The same task again: only sections 2 and 3 are asked for; no outline call, no section 1.
  test_support::ScriptedAnswers second;
  second.expect_texts(engine, {"Second.", "Third."});
  Run r = run("", task);
  ASSERT_EQ(second.requests().size(), 2u);
  EXPECT_THAT(second.prompt(0), HasSubstr("Write section 2 of 3: \"Beta\""));
  EXPECT_THAT(second.prompt(1), HasSubstr("Write section 3 of 3: \"Gamma\""));
  EXPECT_EQ(read_file(draft_of(task)),
            "# Three parts\n\n## Alpha\n\nFirst.\n\n## Beta\n\nSecond.\n\n## Gamma\n\nThird.\n");
  EXPECT_EQ(r.emitted.size(), 1u);
}

TEST_F(DrafterTest, SettingsErrorsNameTheFileAndPath) {
  const std::string file = config.file.string();
  config.settings = {{"sectoins", 3}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/sectoins: unknown key (did you mean 'sections'?)"));
  config.settings = {{"sections", 0}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/sections:"));
  config.settings = {{"sections", 13}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/sections:"));
  config.settings = {{"sections", 3}, {"outline", {"A", "B"}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/sections: 3 sections but the outline has 2 headings"));
  config.settings = {{"outline", nlohmann::json::array()}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/outline:"));
  config.settings = {{"outline", {"A", " "}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/outline/1:"));
  config.settings = {{"title", "two\nlines"}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/title: must be one line"));
  config.settings = {{"brief", std::string(4001, 'x')}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/brief: 4001 bytes"));
  config.settings = nlohmann::json::object();
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /folders/write:"));
}

}  // namespace
}  // namespace agentd::agents
