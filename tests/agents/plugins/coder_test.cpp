// CoderAgent end to end with a mock engine: the file name proposed under a grammar, the content
// written with its fence stripped and without the executable bit, hostile names refused (falling
// back to coder-<task>.<ext>), symlinked folders leading out refused, no overwriting, settings errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/coder/coder_agent.hpp"
#include "agents/coder/file_proposal.hpp"
#include "agents/coder/output_path.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"
#include "tests/agents/plugins/scripted_answers.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::HasSubstr;

std::string proposal(const std::string& path, const std::string& language) {
  return nlohmann::json{{"path", path}, {"language", language}}.dump();
}

class CoderTest : public test_support::AgentsTest {
 protected:
  CoderTest() {
    root = fs::canonical(dir.path());
    out = root / "code";
    fs::create_directories(out);
    config.name = "coder";
    config.plugin = "coder";
    config.write_folders = {out};
  }

  struct Run {
    std::string output;
    storage::Task task;
  };
  Run run(const std::string& input) {
    CoderAgent agent(config);
    Run r;
    r.task = make_task(input);
    TaskContext ctx(config, r.task, services(), std::stop_source().get_token());
    r.output = agent.run(ctx);
    return r;
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

  std::string config_error() { return config_error_of<CoderAgent>(); }

  // Every regular file under `folder`, relative to it.
  std::vector<std::string> files_in(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(folder)) {
      if (e.is_regular_file()) names.push_back(fs::relative(e.path(), folder).string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  test_support::ScriptedAnswers model;
};

TEST_F(CoderTest, WritesTheProposedFileWithTheFenceStrippedAndNeverExecutable) {
  model.expect_texts(engine, {proposal("scripts/backup.sh", "bash"),
                              "Here you go:\n```bash\n#!/bin/sh\ntar czf backup.tgz ~/Documents\n```\nEnjoy!"});
  Run r = run("A script that backs up my documents.");

  ASSERT_EQ(model.requests().size(), 2u);
  EXPECT_EQ(model.requests()[0].grammar, coder::proposal_grammar(coder::default_extensions()));
  EXPECT_EQ(model.requests()[0].max_tokens, 64);
  EXPECT_THAT(model.prompt(0), HasSubstr("Task: A script that backs up my documents."));
  EXPECT_TRUE(model.requests()[1].grammar.empty());
  EXPECT_THAT(model.prompt(1), HasSubstr("Task: A script that backs up my documents."));
  EXPECT_THAT(model.prompt(1), ::testing::EndsWith("Task: A script that backs up my documents.\n\n"
                                                   "File: scripts/backup.sh (bash)"));

  const fs::path file = out / "scripts" / "backup.sh";
  EXPECT_EQ(read_file(file), "#!/bin/sh\ntar czf backup.tgz ~/Documents\n");
  auto perms = fs::status(file).permissions();
  EXPECT_EQ(perms & (fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec), fs::perms::none);
  EXPECT_THAT(r.output, HasSubstr("- file: " + file.string()));
  EXPECT_THAT(r.output, HasSubstr("- 2 lines, 41 bytes"));
  EXPECT_THAT(r.output, HasSubstr("not executed"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("refused")));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("cut off")));
  auto written = memory.get("coder", "written").value();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0]["file"], file.string());
  auto wrote = events_of(r.task.id, "wrote");
  ASSERT_EQ(wrote.size(), 1u);
  EXPECT_EQ(wrote[0].data["path"], file.string());
}

TEST_F(CoderTest, HostileProposalsAreRefusedAndTheFileGetsASafeName) {
  struct Case {
    std::string path, language, expected_file, why;
  };
  const std::vector<Case> cases = {
      {"../evil.sh", "bash", "coder-ID.sh", "'..' is not allowed"},
      {"/etc/passwd", "bash", "coder-ID.sh", "an absolute path"},
      {"a/../../b.py", "python", "coder-ID.py", "'..' is not allowed"},
      {".bashrc", "bash", "coder-ID.sh", "hidden name"},
      {"x.exe", "text", "coder-ID.txt", "the extension '.exe' is not allowed"},
      {"caf\xC3\xA9.sh", "bash", "coder-ID.sh", "byte 0xC3"},
      {"", "json", "coder-ID.json", "an empty path"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    test_support::ScriptedAnswers m;
    m.expect_texts(engine, {proposal(c.path, c.language), "content"});
    Run r = run("task");
    std::string name = c.expected_file;
    name.replace(name.find("ID"), 2, std::to_string(r.task.id));
    EXPECT_EQ(read_file(out / name), "content\n");
    EXPECT_THAT(r.output, HasSubstr("the proposed name was refused"));
    EXPECT_THAT(r.output, HasSubstr(c.why));
    auto logs = events_of(r.task.id, storage::event::log);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].data["message"], "proposed file name refused");
    EXPECT_THAT(logs[0].data["error"].get<std::string>(), HasSubstr(c.why));
    ASSERT_TRUE(::testing::Mock::VerifyAndClearExpectations(&engine));
  }
  EXPECT_FALSE(fs::exists(root / "evil.sh"));
  EXPECT_FALSE(fs::exists(root / "b.py"));
  EXPECT_FALSE(fs::exists(root / ".bashrc"));
  EXPECT_EQ(files_in(out).size(), 7u);  // all seven inside the output folder
}

TEST_F(CoderTest, AnAnswerThatIsNoProposalFallsBackToo) {
  model.expect_texts(engine, {"Once upon a time", "print('hi')"});
  Run r = run("Say hi.");
  const std::string name = "coder-" + std::to_string(r.task.id) + ".txt";
  EXPECT_EQ(read_file(out / name), "print('hi')\n");
  EXPECT_THAT(r.output, HasSubstr("Once upon a time: the answer is not {\"path\", \"language\"}"));
}

TEST_F(CoderTest, ASymlinkedFolderLeadingOutIsRefused) {
  fs::create_directories(root / "elsewhere");
  fs::create_directory_symlink(root / "elsewhere", out / "link");
  model.expect_texts(engine, {proposal("link/x.sh", "bash"), "echo out"});
  Run r = run("task");
  EXPECT_TRUE(fs::is_empty(root / "elsewhere"));
  EXPECT_EQ(read_file(out / ("coder-" + std::to_string(r.task.id) + ".sh")), "echo out\n");
  EXPECT_THAT(r.output, HasSubstr("outside the agent's write folders"));
}

TEST_F(CoderTest, NeverOverwritesAnExistingFileUnlessAskedTo) {
  write_file(out / "tool.py", "original\n");
  write_file(out / "tool-2.py", "second\n");
  model.expect_texts(engine, {proposal("tool.py", "python"), "new = 1"});
  Run r = run("task");
  EXPECT_EQ(read_file(out / "tool.py"), "original\n");
  EXPECT_EQ(read_file(out / "tool-2.py"), "second\n");
  EXPECT_EQ(read_file(out / "tool-3.py"), "new = 1\n");
  EXPECT_THAT(r.output, HasSubstr("tool.py exists (overwrite is off), so the file is tool-3.py"));
  ASSERT_TRUE(::testing::Mock::VerifyAndClearExpectations(&engine));

  config.settings = {{"overwrite", true}};
  test_support::ScriptedAnswers again;
  again.expect_texts(engine, {proposal("tool.py", "python"), "newer = 2"});
  run("task");
  EXPECT_EQ(read_file(out / "tool.py"), "newer = 2\n");
}

TEST_F(CoderTest, ALinkAtTheProposedNameIsRefusedEvenWithOverwrite) {
  write_file(root / "target.sh", "keep me\n");
  fs::create_symlink(root / "target.sh", out / "run.sh");
  config.settings = {{"overwrite", true}};
  model.expect_texts(engine, {proposal("run.sh", "bash"), "echo new"});
  Run r = run("task");
  EXPECT_EQ(read_file(root / "target.sh"), "keep me\n");
  EXPECT_EQ(read_file(out / ("coder-" + std::to_string(r.task.id) + ".sh")), "echo new\n");
  EXPECT_THAT(r.output, HasSubstr("symbolic link"));
}

TEST_F(CoderTest, ALinkAtANumberedNameCountsAsTaken) {
  write_file(out / "run.sh", "first\n");
  write_file(root / "target.sh", "keep me\n");
  fs::create_symlink(root / "target.sh", out / "run-2.sh");
  model.expect_texts(engine, {proposal("run.sh", "bash"), "echo new"});
  run("task");
  EXPECT_EQ(read_file(root / "target.sh"), "keep me\n");
  EXPECT_EQ(read_file(out / "run-3.sh"), "echo new\n");
}

TEST_F(CoderTest, AFileCutAtMaxTokensIsWrittenAndSaidToBeCutOff) {
  engine::Result cut = test_support::text_result("line one\nline tw");
  cut.finish = engine::FinishReason::length;
  model.expect(engine, {test_support::text_result(proposal("x.sh", "bash")), cut});
  Run r = run("task");
  EXPECT_EQ(read_file(out / "x.sh"), "line one\nline tw\n");
  EXPECT_THAT(r.output, HasSubstr("the file may be cut off"));
}

TEST_F(CoderTest, AnEmptyFileIsNotWritten) {
  model.expect_texts(engine, {proposal("x.sh", "bash"), "```sh\n```"});
  EXPECT_THAT(run_error("task"), HasSubstr("the model wrote nothing for x.sh"));
  EXPECT_TRUE(fs::is_empty(out));
}

// The engine's prefix cache reuses the longest prompt prefix it has seen: each call's instruction
// comes first, whole, and the task after it.
TEST_F(CoderTest, TasksOfOtherRunsShareEachCallsWholeInstruction) {
  model.expect_texts(engine, {proposal("a.sh", "bash"), "echo a", proposal("b.py", "python"), "print('b')"});
  run("A script that prints a.");
  run("A program that prints b.");
  ASSERT_EQ(model.requests().size(), 4u);
  EXPECT_THAT(test_support::common_prefix(model.prompt(0), model.prompt(2)),
              ::testing::StartsWith("Propose the one file to write for the task below: a short relative path with a "
                                    "file name and extension, and its language.\n\nTask: A "));
  EXPECT_THAT(test_support::common_prefix(model.prompt(1), model.prompt(3)),
              ::testing::StartsWith("Write the complete contents of the file named below for the task below. Reply "
                                    "with the file's contents only, without explanations.\n\nTask: A "));
}

TEST_F(CoderTest, AnEmptyInputUsesTheTaskFromTheSettings) {
  config.settings = {{"task", "A hello world in Python."}};
  model.expect_texts(engine, {proposal("hello.py", "python"), "print('hello')"});
  run("  ");
  EXPECT_THAT(model.prompt(0), HasSubstr("Task: A hello world in Python."));
  EXPECT_EQ(read_file(out / "hello.py"), "print('hello')\n");
}

TEST_F(CoderTest, NoTaskOrAnOversizedOneFailsWithoutCallingTheModel) {
  model.expect_texts(engine, {});
  EXPECT_THAT(run_error(""), HasSubstr("no task"));
  EXPECT_THAT(run_error(std::string(4001, 't')), HasSubstr("4001 bytes; at most 4000"));
}

TEST_F(CoderTest, ConfiguredExtensionsAreTheOnlyOnesAllowed) {
  config.settings = {{"extensions", {"json"}}};
  model.expect_texts(engine, {proposal("x.sh", "bash"), "{}"});
  Run r = run("task");
  EXPECT_EQ(model.requests()[0].grammar, coder::proposal_grammar({"json"}));
  EXPECT_EQ(read_file(out / ("coder-" + std::to_string(r.task.id) + ".json")), "{}\n");
}

TEST_F(CoderTest, SettingsErrorsNameTheFileAndPath) {
  const std::string file = config.file.string();
  config.settings = {{"extensions", {"sh", ".py"}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/extensions/1: '.py' is not an extension"));
  config.settings = {{"extensions", {"SH"}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/extensions/0:"));
  config.settings = {{"extensions", nlohmann::json::array()}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/extensions: an empty list"));
  config.settings = {{"overwrite", "yes"}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/overwrite:"));
  config.settings = {{"overwite", true}};
  EXPECT_THAT(config_error(), HasSubstr("did you mean 'overwrite'?"));
  config.settings = {{"task", std::string(4001, 'x')}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/task: 4001 bytes"));
  config.settings = nlohmann::json::object();
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /folders/write:"));
}

}  // namespace
}  // namespace agentd::agents
