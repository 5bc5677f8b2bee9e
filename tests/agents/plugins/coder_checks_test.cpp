// The coder's deterministic parts, exactly: the path checks against hostile names, numbered names,
// code fence stripping, the proposal's grammar and parsing, the fallback name; and the shared text
// helpers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/coder/code_fence.hpp"
#include "agents/coder/file_proposal.hpp"
#include "agents/coder/output_path.hpp"
#include "agents/common/plain_text.hpp"

namespace agentd::agents::coder {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kExtensions = {"sh", "py", "json", "md", "txt"};

// ---- path checks -------------------------------------------------------------------------------

TEST(PathRefusal, AcceptsPlainRelativeNamesWithAnAllowedExtension) {
  for (const char* ok : {"backup.sh", "scripts/backup.sh", "a/b/c/d.py", "x-1_2.json", "CAPS.SH", "v1.2.md",
                         "a..b.txt"}) {
    EXPECT_EQ(path_refusal(ok, kExtensions), "") << ok;
  }
}

TEST(PathRefusal, RefusesHostileNamesSayingWhy) {
  struct Case {
    std::string path, why;
  };
  const std::vector<Case> cases = {
      {"", "an empty path"},
      {"../x.sh", "'..' is not allowed"},
      {"..", "'..' is not allowed"},
      {"a/../../b.sh", "'..' is not allowed"},
      {"a/./b.sh", "'.' is not allowed"},
      {"/etc/passwd", "an absolute path"},
      {"/tmp/x.sh", "an absolute path"},
      {".bashrc", "'.bashrc' is a hidden name"},
      {"a/.git/config.sh", "'.git' is a hidden name"},
      {"...sh", "'...sh' is a hidden name"},
      {"x.exe", "the extension '.exe' is not allowed (allowed: .sh, .py, .json, .md, .txt)"},
      {"x.sh.exe", "the extension '.exe' is not allowed"},
      {"Makefile", "'Makefile' has no extension"},
      {"x.", "'x.' has no extension"},
      {"a//b.sh", "an empty path component"},
      {"a/", "an empty path component"},
      {"-rf.sh", "'-rf.sh' starts with '-'"},
      {"a b.sh", "byte 0x20 is not allowed"},
      {"a\\b.sh", "'\\' is not allowed"},
      {"C:/x.sh", "':' is not allowed"},
      {"~/x.sh", "'~' is not allowed"},
      {"%2e%2e/x.sh", "'%' is not allowed"},
      {"x\n.sh", "byte 0x0A is not allowed"},
      {std::string("x\0.sh", 5), "byte 0x00 is not allowed"},
      {"caf\xC3\xA9.sh", "byte 0xC3 is not allowed"},                  // é
      {"\xE2\x80\xAEhs.txt", "byte 0xE2 is not allowed"},              // right-to-left override
      {"\xEF\xBC\x8E\xEF\xBC\x8E/x.sh", "byte 0xEF is not allowed"},  // fullwidth dots
      {"a/b/c/d/e.sh", "5 components; at most 4"},
      {std::string(118, 'a') + ".sh", "121 bytes; a path has at most 120"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(path_refusal(c.path, kExtensions), HasSubstr(c.why)) << "path: " << c.path;
  }
  EXPECT_EQ(path_refusal(std::string(117, 'a') + ".sh", {"sh"}), "");  // 120 bytes
}

TEST(Numbered, InsertsTheNumberBeforeTheExtension) {
  EXPECT_EQ(numbered("a.sh", 1), "a.sh");
  EXPECT_EQ(numbered("a.sh", 2), "a-2.sh");
  EXPECT_EQ(numbered("dir/a.b.sh", 3), "dir/a.b-3.sh");
  EXPECT_EQ(numbered("dir.d/noext", 2), "dir.d/noext-2");
}

TEST(ValidExtension, LowerCaseLettersAndDigitsUpToTen) {
  EXPECT_TRUE(valid_extension("sh"));
  EXPECT_TRUE(valid_extension("mp4"));
  EXPECT_FALSE(valid_extension(""));
  EXPECT_FALSE(valid_extension(".sh"));
  EXPECT_FALSE(valid_extension("SH"));
  EXPECT_FALSE(valid_extension("tar.gz"));
  EXPECT_FALSE(valid_extension("abcdefghijk"));
  for (const auto& e : default_extensions()) EXPECT_TRUE(valid_extension(e)) << e;
}

// ---- code fences -------------------------------------------------------------------------------

TEST(StripCodeFence, TakesTheBlockThatOpensTheAnswer) {
  EXPECT_EQ(strip_code_fence("```bash\necho hi\n```\n"), "echo hi\n");
  EXPECT_EQ(strip_code_fence("\n\n~~~python\nprint(1)\n\n  x = 2\n~~~\nThat is all."), "print(1)\n\n  x = 2\n");
  EXPECT_EQ(strip_code_fence("````\n```\ninner\n```\n````"), "```\ninner\n```\n");
  EXPECT_EQ(strip_code_fence("```sh\nnever closed\nline two"), "never closed\nline two\n");
  EXPECT_EQ(strip_code_fence("```\r\nwindows\r\n```\r\n"), "windows\n");
}

TEST(StripCodeFence, TakesTheFirstBlockAfterProseUnlessMarkdown) {
  std::string answer = "Here is the script:\n```sh\nls -l\n```\nRun it with care.\n```\nother\n```\n";
  EXPECT_EQ(strip_code_fence(answer), "ls -l\n");
  EXPECT_EQ(strip_code_fence(answer, /*keep_inner_fences=*/true), answer);
}

TEST(StripCodeFence, AnswerWithoutFencesIsKeptWithoutSurroundingBlankLines) {
  EXPECT_EQ(strip_code_fence("\n\n  indented first\nsecond\n\n\n"), "  indented first\nsecond\n");
  EXPECT_EQ(strip_code_fence("no newline"), "no newline\n");
  EXPECT_EQ(strip_code_fence(""), "");
  EXPECT_EQ(strip_code_fence("```\n```"), "");
  EXPECT_EQ(strip_code_fence("`` not a fence"), "`` not a fence\n");
}

// ---- the proposal ------------------------------------------------------------------------------

TEST(ProposalGrammar, AllowsOnlySafeNamesWithTheGivenExtensionsAndKnownLanguages) {
  std::string g = proposal_grammar({"sh", "py"});
  EXPECT_THAT(g, HasSubstr("root ::= \"{\\\"path\\\": \\\"\" path \"\\\", \\\"language\\\": \\\"\" language \"\\\"}\"\n"));
  EXPECT_THAT(g, HasSubstr("path ::= (word \"/\"){0,2} word \".\" ext\n"));
  EXPECT_THAT(g, HasSubstr("word ::= [a-zA-Z0-9_] [a-zA-Z0-9_-]{0,31}\n"));
  EXPECT_THAT(g, HasSubstr("ext ::= \"sh\" | \"py\"\n"));
  EXPECT_THAT(g, HasSubstr("language ::= \"bash\" | \"python\" |"));
}

TEST(ParseProposal, ReadsPathAndLanguage) {
  auto p = parse_proposal(R"({"path": "tools/x.py", "language": "python"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->path, "tools/x.py");
  EXPECT_EQ(p->language, "python");
  EXPECT_EQ(parse_proposal(R"({"path": "x.sh", "language": "cobol"})")->language, "text");
  EXPECT_EQ(parse_proposal(R"({"path": "x.sh"})")->language, "text");
  EXPECT_EQ(parse_proposal(R"({"path": "../../etc/passwd", "language": "bash"})")->path, "../../etc/passwd");
  for (const char* garbage : {"", "x.sh", "{\"path\": 3}", "[\"x.sh\"]", "{\"language\": \"bash\"}", "{\"path\": \"x"}) {
    EXPECT_FALSE(parse_proposal(garbage)) << garbage;
  }
}

TEST(FallbackName, UsesTheLanguagesExtensionWhenAllowed) {
  EXPECT_EQ(fallback_name(12, "python", kExtensions), "coder-12.py");
  EXPECT_EQ(fallback_name(12, "yaml", kExtensions), "coder-12.txt");
  EXPECT_EQ(fallback_name(12, "yaml", {"json", "sh"}), "coder-12.json");
  EXPECT_EQ(fallback_name(12, "text", kExtensions), "coder-12.txt");
  EXPECT_EQ(path_refusal(fallback_name(12, "bash", kExtensions), kExtensions), "");
}

// ---- shared text helpers -----------------------------------------------------------------------

TEST(PlainText, LinesDropNewlinesAndCarriageReturns) {
  EXPECT_EQ(text::lines("a\r\nb\n\nc"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(text::lines("one\n"), (std::vector<std::string>{"one"}));
  EXPECT_TRUE(text::lines("").empty());
}

TEST(PlainText, TrimTruncateOneLineLower) {
  EXPECT_EQ(text::trim("  a b \n\t"), "a b");
  EXPECT_EQ(text::trim(""), "");
  EXPECT_EQ(text::truncate_utf8("abc", 5), "abc");
  EXPECT_EQ(text::truncate_utf8("ab\xC3\xA9", 3), "ab");  // é is not split
  EXPECT_EQ(text::truncate_utf8("ab\xC3\xA9", 4), "ab\xC3\xA9");
  EXPECT_EQ(text::one_line(" a\n\n b\tc ", 50), "a b c");
  EXPECT_EQ(text::one_line("abcdefghij", 8), "abcde...");
  EXPECT_EQ(text::ascii_lower("AbC.\xC3\x89"), "abc.\xC3\x89");
}

}  // namespace
}  // namespace agentd::agents::coder
