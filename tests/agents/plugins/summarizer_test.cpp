// The summarizer: paragraphs and chunks computed exactly, documents found by a scan or named by
// a watch, long ones summarised chunk by chunk and then as a whole, summaries written beside
// them, content remembered across runs, refusals with their reasons, and its settings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stop_token>

#include "agents/common/content_hash.hpp"
#include "agents/config_reader.hpp"
#include "agents/summarizer/document.hpp"
#include "agents/summarizer/summarizer_agent.hpp"
#include "agents/task_context.hpp"
#include "plugin_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using test_support::answer_each;
using test_support::prompt_of;
using test_support::rendered;
using test_support::read_file;
using test_support::write_file;

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// --- documents --------------------------------------------------------------------------

TEST(DocumentTest, ParagraphsAreBlocksBetweenBlankLines) {
  EXPECT_THAT(split_paragraphs("  One\nstill one\n\n \t\nTwo\r\n\r\nThree  \n"),
              ElementsAre("One\nstill one", "Two", "Three"));
  EXPECT_TRUE(split_paragraphs("\n \n").empty());
  EXPECT_THAT(split_paragraphs("single"), ElementsAre("single"));
}

TEST(DocumentTest, PacksParagraphsIntoChunksThatFit) {
  std::string text = "aaaa\n\nbbbb\n\ncccc\n\ndddddddddddddddd";  // 4, 4, 4, 16
  EXPECT_THAT(chunk_paragraphs(text, 16), ElementsAre("aaaa\n\nbbbb\n\ncccc", "dddddddddddddddd"));
  EXPECT_THAT(chunk_paragraphs(text, 17), ElementsAre("aaaa\n\nbbbb\n\ncccc", "dddddddddddddddd"));
  EXPECT_THAT(chunk_paragraphs("aaaa\n\nbbbb\n\ncccccccccccc", 16), ElementsAre("aaaa\n\nbbbb", "cccccccccccc"));
  EXPECT_THAT(chunk_paragraphs(text, 100), ElementsAre("aaaa\n\nbbbb\n\ncccc\n\ndddddddddddddddd"));
  EXPECT_TRUE(chunk_paragraphs("", 100).empty());
  EXPECT_THROW(chunk_paragraphs(text, 15), std::invalid_argument);
}

TEST(DocumentTest, CutsALongParagraphAtSentencesThenSpacesThenAnywhere) {
  EXPECT_THAT(chunk_paragraphs("First sentence here. Second one is here. Third.", 25),
              ElementsAre("First sentence here.", "Second one is here.", "Third."));
  EXPECT_THAT(chunk_paragraphs("no sentence ends in this long line of words", 20),
              ElementsAre("no sentence ends in", "this long line of", "words"));
  EXPECT_THAT(chunk_paragraphs(std::string(40, 'x'), 16),
              ElementsAre(std::string(16, 'x'), std::string(16, 'x'), std::string(8, 'x')));
  // A run of two-byte characters is never cut inside one.
  std::string umlauts;
  for (int i = 0; i < 20; ++i) umlauts += "\u00fc";
  for (const std::string& chunk : chunk_paragraphs(umlauts, 17)) {
    EXPECT_EQ(chunk.size() % 2, 0u) << chunk;
    EXPECT_LE(chunk.size(), 17u);
  }
}

TEST(DocumentTest, ChunksKeepEveryWordInOrderAndFit) {
  std::string text = read_file(fs::path(AGENTD_SOURCE_DIR) / "agents/summarizer/samples/inbox/incident-2024-02-27.txt");
  ASSERT_FALSE(text.empty());
  for (size_t max : {200u, 700u, 2000u}) {
    std::vector<std::string> chunks = chunk_paragraphs(text, max);
    std::string joined;
    for (const std::string& c : chunks) {
      EXPECT_LE(c.size(), max);
      joined += c + "\n\n";
    }
    EXPECT_EQ(words(joined), words(text)) << max;
  }
  EXPECT_EQ(chunk_paragraphs(text, 2000).size(), 2u);
}

TEST(DocumentTest, CountsFactsAndMarkdownHeadings) {
  DocumentFacts f = document_facts("# Title\n\nSome words here.\n\n## Part two ##\n```\n# not a heading\n```\n"
                                   "#hashtag is text\n####### too deep\n");
  EXPECT_EQ(f.words, 21u);
  EXPECT_EQ(f.paragraphs, 3u);
  EXPECT_EQ(f.bytes, 100u);
  EXPECT_THAT(f.headings, ElementsAre("Title", "Part two"));
}

// --- the agent --------------------------------------------------------------------------

class SummarizerAgentTest : public test_support::AgentsTest {
 protected:
  SummarizerAgentTest() {
    inbox = agent_folders("summarizer", "inbox");
  }

  struct Run {
    std::string output;
    int64_t task = 0;
  };
  Run run(const std::string& input = "", const std::string& trigger = "manual") {
    SummarizerAgent agent(config);
    TaskContext ctx(config, make_task(input, trigger), services(), std::stop_source().get_token());
    Run r;
    r.task = ctx.task_id();
    r.output = agent.run(ctx);
    return r;
  }
  std::string run_error(const std::string& input = "") {
    try {
      run(input);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  }
  std::string config_error() { return config_error_of<SummarizerAgent>(); }
  std::vector<std::string> logged_errors(int64_t task) {
    std::vector<std::string> out;
    for (const auto& e : events_of(task, storage::event::log)) {
      if (e.data.contains("error")) out.push_back(e.data["file"].get<std::string>() + ": " + e.data["error"].get<std::string>());
    }
    return out;
  }

  fs::path inbox;
};

std::string echo_summary(const engine::Request& r) {
  std::string p = prompt_of(r);
  if (p.starts_with("These are summaries")) return "Whole summary.";
  if (p.starts_with("Summarise this part")) return "Summary of part " + p.substr(p.find("\n\nPart ") + 7, 1) + ".";
  return " Short summary. \n";
}

TEST_F(SummarizerAgentTest, SummarisesEachNewDocumentBesideItInTheOutputFolder) {
  write_file(inbox / "notes.md", "# Plan\n\nShip on Friday.\n");
  write_file(inbox / "todo.txt", "Buy milk.\n");
  write_file(inbox / "photo.jpg", "not a document");
  std::vector<engine::Request> requests;
  answer_each(engine, 2, echo_summary, &requests);
  Run r = run();

  EXPECT_EQ(read_file(out / "notes.md.summary.md"),
            "# Summary of notes.md\n\nShort summary.\n\n## Facts\n\n"
            "- Source: notes.md (24 bytes, 5 words, 2 paragraphs)\n- Headings: Plan\n"
            "- Summarised in 1 chunk(s) with 1 model call(s); content hash " +
                content_hash("# Plan\n\nShip on Friday.\n") + "\n");
  EXPECT_TRUE(fs::exists(out / "todo.txt.summary.md"));
  EXPECT_FALSE(fs::exists(out / "photo.jpg.summary.md"));
  EXPECT_THAT(prompt_of(requests[0]), HasSubstr("Document \"notes.md\":\n# Plan"));
  EXPECT_THAT(prompt_of(requests[0]), HasSubstr("# Plan\n\nShip on Friday."));
  EXPECT_EQ(requests[0].max_tokens, 160);
  EXPECT_THAT(r.output, HasSubstr("# Summarizer: 2 document(s) summarised"));
  EXPECT_THAT(r.output, HasSubstr("- notes.md (5 words, 1 chunk(s)) -> notes.md.summary.md\n  Short summary."));
  EXPECT_THAT(r.output, HasSubstr("- todo.txt (2 words, 1 chunk(s)) -> todo.txt.summary.md\n  Short summary.\n"));
  EXPECT_EQ(events_of(r.task, "wrote").size(), 2u);
}

TEST_F(SummarizerAgentTest, ALongDocumentIsSummarisedByChunksThenAsAWhole) {
  std::string text;
  for (int i = 1; i <= 6; ++i) text += "Paragraph " + std::to_string(i) + " " + std::string(150, 'w') + ".\n\n";
  write_file(inbox / "long.txt", text);
  config.settings = {{"chunk_chars", 400}};
  std::vector<engine::Request> requests;
  answer_each(engine, 4, echo_summary, &requests);  // 3 chunks of 2 paragraphs, then the whole
  run();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_THAT(prompt_of(requests[0]), HasSubstr("Part 1 of 3:\nParagraph 1 "));
  EXPECT_THAT(prompt_of(requests[0]), HasSubstr("Paragraph 2 "));
  EXPECT_THAT(prompt_of(requests[0]), Not(HasSubstr("Paragraph 3 ")));
  EXPECT_THAT(prompt_of(requests[2]), HasSubstr("Part 3 of 3:\nParagraph 5 "));
  std::string final_prompt = prompt_of(requests[3]);
  EXPECT_TRUE(final_prompt.starts_with("These are summaries of consecutive parts of a document."));
  EXPECT_THAT(final_prompt, HasSubstr("Document \"long.txt\"\n\nPart 1 of 3: "));
  EXPECT_THAT(final_prompt, HasSubstr("\n\nPart 1 of 3: Summary of part 1.\n\nPart 2 of 3: Summary of part 2.\n\n"
                                      "Part 3 of 3: Summary of part 3.\n\nSummary:"));
  EXPECT_THAT(final_prompt, Not(HasSubstr("wwww")));
  std::string summary = read_file(out / "long.txt.summary.md");
  EXPECT_THAT(summary, HasSubstr("Whole summary."));
  EXPECT_THAT(summary, HasSubstr("- Summarised in 3 chunk(s) with 4 model call(s)"));
}

// The engine reuses the cached prefix of a prompt: the instruction comes first, the same for every
// document, and the document's name and text after it.
TEST_F(SummarizerAgentTest, EveryPromptStartsWithItsWholeInstruction) {
  write_file(inbox / "a.md", "Alpha ships on Friday.\n");
  write_file(inbox / "b.txt", "Beta ships on Monday.\n");
  std::string text;
  for (int i = 1; i <= 4; ++i) text += "Paragraph " + std::to_string(i) + " " + std::string(150, 'w') + ".\n\n";
  write_file(inbox / "c.txt", text);
  config.settings = {{"chunk_chars", 400}};
  std::vector<engine::Request> requests;
  answer_each(engine, 5, echo_summary, &requests);  // a, b, c's two parts, c as a whole
  run();
  ASSERT_EQ(requests.size(), 5u);
  const std::string whole = "Summarise the document below in one short paragraph. Keep names, numbers and dates exact.\n\n";
  EXPECT_THAT(test_support::common_prefix(rendered(requests[0]), rendered(requests[1])), HasSubstr(whole + "Document \""));
  const std::string part = "Summarise this part of a document in two or three sentences. Keep names, numbers and dates exact.";
  EXPECT_THAT(test_support::common_prefix(rendered(requests[2]), rendered(requests[3])),
              HasSubstr(part + "\n\nDocument \"c.txt\"\n\nPart "));
  EXPECT_TRUE(prompt_of(requests[4]).starts_with("These are summaries of consecutive parts of a document. Write one "
                                                 "short paragraph summarising the whole document. Keep names, numbers "
                                                 "and dates exact.\n\nDocument \"c.txt\""));
}

TEST_F(SummarizerAgentTest, RemembersWhatItSummarisedAndRedoesChangedContent) {
  write_file(inbox / "a.md", "Alpha.\n");
  answer_each(engine, 1, echo_summary);
  run();
  ::testing::Mock::VerifyAndClearExpectations(&engine);

  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  Run again = run();
  EXPECT_THAT(again.output, HasSubstr("# Summarizer: 0 document(s) summarised"));
  EXPECT_THAT(again.output, HasSubstr("- a.md: already summarised (same content)"));
  ::testing::Mock::VerifyAndClearExpectations(&engine);

  write_file(inbox / "a.md", "Alpha, revised.\n");
  answer_each(engine, 1, echo_summary);
  EXPECT_THAT(run().output, HasSubstr("# Summarizer: 1 document(s) summarised"));
}

TEST_F(SummarizerAgentTest, AWatchTaskSummarisesTheFileItNames) {
  write_file(inbox / "old.md", "Old.\n");
  write_file(inbox / "new.md", "New.\n");
  std::vector<engine::Request> requests;
  answer_each(engine, 1, echo_summary, &requests);
  Run r = run((inbox / "new.md").string(), "watch " + inbox.string() + " *.md");
  EXPECT_THAT(prompt_of(requests[0]), HasSubstr("\"new.md\""));
  EXPECT_TRUE(fs::exists(out / "new.md.summary.md"));
  EXPECT_FALSE(fs::exists(out / "old.md.summary.md"));
  EXPECT_THAT(r.output, HasSubstr("1 document(s) summarised"));
}

TEST_F(SummarizerAgentTest, RefusesOversizedEmptyAndOutsideFilesWithTheReason) {
  config.settings = {{"max_document_bytes", 100}};
  write_file(inbox / "big.txt", std::string(101, 'b'));
  write_file(inbox / "empty.md", " \n\n");
  write_file(inbox / "fine.txt", "Fine.\n");
  write_file(root / "secret.txt", "secret");
  answer_each(engine, 1, echo_summary);
  Run r = run();
  EXPECT_THAT(r.output, HasSubstr("- big.txt: refused: 101 bytes is more than max_document_bytes (100)"));
  EXPECT_THAT(r.output, HasSubstr("- empty.md: refused: the document is empty"));
  EXPECT_THAT(logged_errors(r.task),
              ElementsAre((inbox / "big.txt").string() + ": 101 bytes is more than max_document_bytes (100)",
                          (inbox / "empty.md").string() + ": the document is empty"));
  EXPECT_TRUE(fs::exists(out / "fine.txt.summary.md"));
  ::testing::Mock::VerifyAndClearExpectations(&engine);

  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  Run again = run();  // reported once: the next scan neither fails nor logs it again
  EXPECT_THAT(again.output, HasSubstr("- big.txt: refused before (same content)"));
  EXPECT_THAT(logged_errors(again.task), ::testing::IsEmpty());
  write_file(inbox / "big.txt", std::string(102, 'b'));  // new content: refused anew, and alone it fails the task
  EXPECT_THAT(run_error((inbox / "big.txt").string()), HasSubstr("no document could be summarised: big.txt: 102 bytes"));
  ::testing::Mock::VerifyAndClearExpectations(&engine);
  config.settings = {{"max_document_bytes", 200}};  // a higher limit: the same content gets its chance
  answer_each(engine, 1, echo_summary);
  EXPECT_THAT(run().output, HasSubstr("- big.txt (1 words, 1 chunk(s)) -> big.txt.summary.md"));
  ::testing::Mock::VerifyAndClearExpectations(&engine);
  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  EXPECT_THAT(run_error((root / "secret.txt").string()), HasSubstr("outside"));
  EXPECT_THAT(run_error((inbox / "fine.pdf").string()), HasSubstr("not a .txt or .md document"));
  EXPECT_FALSE(fs::exists(out / "secret.txt.summary.md"));
}

TEST_F(SummarizerAgentTest, DocumentsWithTheSameStemOrNameKeepASummaryEach) {
  fs::path other = root / "other";
  fs::create_directories(inbox / "sub");
  fs::create_directories(other);
  config.read_folders.push_back(other);
  write_file(inbox / "notes.md", "Markdown notes.\n");
  write_file(inbox / "notes.txt", "Text notes.\n");
  write_file(inbox / "sub" / "notes.md", "Notes in a subfolder.\n");
  write_file(other / "notes.md", "Notes elsewhere.\n");
  answer_each(engine, 4, [](const engine::Request& r) {
    std::string p = prompt_of(r);  // the summary is the document's text, so each file shows whose it is
    size_t start = p.find("\":\n") + 3;  // after 'Document "NAME":' 
    return p.substr(start, p.find('\n', start) - start);
  });
  run();
  run((inbox / "sub" / "notes.md").string());
  run((other / "notes.md").string());
  EXPECT_THAT(read_file(out / "notes.md.summary.md"), HasSubstr("\n\nMarkdown notes.\n\n"));
  EXPECT_THAT(read_file(out / "notes.txt.summary.md"), HasSubstr("\n\nText notes.\n\n"));
  EXPECT_THAT(read_file(out / "sub" / "notes.md.summary.md"), HasSubstr("\n\nNotes in a subfolder.\n\n"));
  EXPECT_THAT(read_file(out / "other" / "notes.md.summary.md"), HasSubstr("\n\nNotes elsewhere.\n\n"));
}

TEST_F(SummarizerAgentTest, AMultiLineSummaryStaysInsideItsReportItem) {
  write_file(inbox / "a.md", "Alpha.\n");
  answer_each(engine, 1, [](const engine::Request&) { return "Line one.\nLine two."; });
  EXPECT_THAT(run().output, HasSubstr("-> a.md.summary.md\n  Line one.\n  Line two.\n"));
  EXPECT_TRUE(read_file(out / "a.md.summary.md").starts_with("# Summary of a.md\n\nLine one.\nLine two.\n\n## Facts\n"));
}

TEST_F(SummarizerAgentTest, SummarisesAtMostTheBudgetPerRun) {
  config.settings = {{"max_documents_per_run", 2}};
  for (const char* name : {"a.txt", "b.txt", "c.txt"}) write_file(inbox / name, std::string(name) + " text\n");
  answer_each(engine, 3, echo_summary);
  EXPECT_THAT(run().output, HasSubstr("Left for the next run: 1 document(s)."));
  Run second = run();
  EXPECT_THAT(second.output, HasSubstr("# Summarizer: 1 document(s) summarised"));
  EXPECT_THAT(second.output, HasSubstr("- c.txt ("));
}

TEST_F(SummarizerAgentTest, WritesIntoItsOutputFolderOnly) {
  config.settings = {{"output_folder", "summaries"}};
  write_file(inbox / "a.md", "Alpha.\n");
  answer_each(engine, 1, echo_summary);
  run();
  EXPECT_TRUE(fs::exists(out / "summaries" / "a.md.summary.md"));

  config.settings = {{"output_folder", "../elsewhere"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/output_folder: '..' is not allowed"));
  config.settings = {{"output_folder", "/tmp/x"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/output_folder: expected a folder inside the write folder"));
}

TEST_F(SummarizerAgentTest, RejectsBadSettingsNamingThePath) {
  config.settings = {{"chunk_char", 100}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/chunk_char: unknown key (did you mean 'chunk_chars'?)"));
  config.settings = {{"chunk_chars", 10}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/chunk_chars"));
  config.settings = nlohmann::json::object();
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr("needs a write folder"));
  config.write_folders = {out};
  config.read_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr("no inbox"));
}

}  // namespace
}  // namespace agentd::agents
