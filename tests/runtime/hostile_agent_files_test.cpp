// Issue #14, hostile agent files and agentd.json: each finding reproduced with real files in a
// temporary folder, through the loader and through the real binary (`agentd agents validate`,
// `agentd agents --json`), where a crash shows as an exit by signal and a hang as `timeout`'s 124.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/agent_config_file.hpp"
#include "runtime/config.hpp"
#include "tests/runtime/agentd_binary.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Whether `text` is well-formed UTF-8 (nlohmann refuses to dump it otherwise).
bool dumps(const std::string& text) {
  try {
    json(text).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

class HostileAgentFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(agents_dir());
    options_.dir = agents_dir();
    options_.roots = {dir_.path()};
  }

  fs::path agents_dir() const { return dir_ / "agents.d"; }

  fs::path write(const std::string& file_name, const std::string& text) {
    fs::path path = agents_dir() / file_name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // The error of the one entry named by `file_name` after loading the whole folder.
  std::string error_of(const std::string& file_name) {
    for (const AgentEntry& e : load_agents_dir(options_, registry_)) {
      if (e.file.filename() == file_name) return e.loaded ? "(accepted)" : e.error;
    }
    return "(not listed)";
  }

  // `agentd agents ARGS` on agents_dir(), bounded by `timeout` so a hang fails instead of blocking.
  testing::ProcessResult agentd_agents(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/timeout", "30", testing::agentd_binary(), "--db", (dir_ / "agentd.db").string(),
                                     "agents", "--agents", agents_dir().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv, {"HOME=" + dir_.path().string(), "AGENTD_HOME=" + (dir_ / "data").string()});
  }

  static std::string good_agent() { return R"({"plugin": "prompt", "prompt": "{{input}}"})"; }

  testing::TempDir dir_;
  AgentsOptions options_;
  agents::Registry registry_ = agents::builtin_plugins();
};

// Finding 1: nlohmann copies and prints recursively, so a document nested hundreds of thousands
// of levels deep overflowed the stack (validate, start-up, SIGHUP reload).
TEST_F(HostileAgentFilesTest, DeepNestingIsRefusedBeforeTheParserNamingTheFile) {
  const size_t depth = 200000;
  write("deep.json", std::string(depth, '[') + std::string(depth, ']'));
  write("schema.json", R"({"plugin": "prompt", "prompt": "x", "settings": {"json_schema": )" + std::string(depth, '[') +
                           std::string(depth, ']') + "}}");
  write("good.json", good_agent());

  for (const char* name : {"deep.json", "schema.json"}) {
    std::string error = error_of(name);
    EXPECT_NE(error.find(name), std::string::npos) << error;
    EXPECT_NE(error.find("nested deeper than 64 levels at line 1"), std::string::npos) << error;
  }
  auto r = agentd_agents({"validate", agents_dir().string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("ok     good"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 agent file(s), 2 with errors"), std::string::npos) << r.out;
}

TEST_F(HostileAgentFilesTest, ADeeplyNestedAgentdJsonIsRefusedNamingTheFile) {
  fs::path config = dir_ / "agentd.json";
  std::ofstream(config) << R"({"agents": {"roots": )" << std::string(100000, '[') << std::string(100000, ']') << "}}";
  DaemonOptions o;
  try {
    apply_config_file(config, o);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("agentd.json: nested deeper than 64 levels"), std::string::npos) << e.what();
  }
}

// Finding 2: a FIFO named *.json blocked the reader in open() forever; a device would be read
// without end. Only regular files are read; anything else is that agent's error.
TEST_F(HostileAgentFilesTest, OnlyRegularFilesAreReadAndNothingBlocks) {
  ASSERT_EQ(::mkfifo((agents_dir() / "fifo.json").c_str(), 0644), 0);
  fs::create_symlink("/dev/zero", agents_dir() / "zero.json");
  fs::create_directories(agents_dir() / "folder.json");
  write("good.json", good_agent());

  auto r = agentd_agents({"validate", agents_dir().string()});
  EXPECT_EQ(r.exit_code, 1) << "124 is a hang: " << r.err;
  EXPECT_NE(r.out.find("fifo.json: not a regular file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("zero.json: not a regular file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("folder.json: not a regular file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok     good"), std::string::npos) << r.out;
}

// Finding 3: a file name or content that is not UTF-8 made `agentd agents --json` (and the
// daemon's status) throw while printing, stopping everything; it now disables that agent only.
TEST_F(HostileAgentFilesTest, NonUtf8NamesAndContentDisableOnlyTheirAgent) {
  write("caf\xff.json", good_agent());
  write("string.json", "{\"plugin\": \"prompt\", \"prompt\": \"caf\xe9 {{input}}\"}");
  write("comment.json", "// caf\xe9\n" + good_agent());
  write("good.json", good_agent());

  auto entries = load_agents_dir(options_, registry_);
  ASSERT_EQ(entries.size(), 4u);
  for (const AgentEntry& e : entries) {
    SCOPED_TRACE(e.file.string());
    EXPECT_TRUE(dumps(e.name)) << "printable name";
    EXPECT_TRUE(dumps(e.error)) << "printable error";
    if (e.file.filename() == "good.json") {
      EXPECT_TRUE(e.usable());
    } else {
      EXPECT_FALSE(e.loaded);
      EXPECT_NE(e.error.find("UTF-8"), std::string::npos) << e.error;
    }
  }
  // The entry shows the name escaped (it is never read again).
  EXPECT_NE(error_of("caf\\xFF.json").find("caf\\xFF.json: the file name is not UTF-8"), std::string::npos);

  auto r = agentd_agents({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json listed = json::parse(r.out);
  EXPECT_EQ(listed.size(), 4u);
}

// Finding 4: std::regex recurses once per character, so the event name check itself overflowed
// the stack on a long name (agentd agents, start-up).
TEST_F(HostileAgentFilesTest, AVeryLongEventNameIsRefusedNotACrash) {
  write("long.json", R"({"plugin": "prompt", "prompt": "x", "triggers": [{"on": "a.)" + std::string(300000, 'b') +
                         R"("}]})");
  write("longname.json", R"({"name": "a)" + std::string(300000, 'b') + R"(", "plugin": "prompt", "prompt": "x"})");
  write("emit.json", R"({"plugin": "prompt", "prompt": "x", "settings": {"emit": "a)" + std::string(300000, 'b') + R"("}})");
  EXPECT_NE(error_of("long.json").find("/triggers/0/on: an event name is at most 128 characters"), std::string::npos)
      << error_of("long.json").substr(0, 300);
  EXPECT_NE(error_of("longname.json").find("/name: "), std::string::npos);
  EXPECT_NE(error_of("emit.json").find("/settings/emit: an event name is at most 128 characters"), std::string::npos)
      << error_of("emit.json").substr(0, 300);
  auto r = agentd_agents({});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Finding 5: numbers past their range, overflowing durations, a double that does not exist, and
// bytes after the object.
TEST_F(HostileAgentFilesTest, NumbersAreRangeCheckedAndTrailingBytesRefused) {
  struct Case {
    std::string text, expected;
  };
  const std::string x = R"("plugin": "prompt", "prompt": "x")";
  std::string many_stops = "\"s0\"";
  for (int i = 1; i < 200; ++i) many_stops += ", \"s" + std::to_string(i) + "\"";
  const Case cases[] = {
      {"{" + x + R"(, "triggers": [{"every": "9223372036854775s"}]})", "/triggers/0/every: at most 3650d"},
      {"{" + x + R"(, "triggers": [{"every": "106751991167d"}]})", "/triggers/0/every: at most 3650d"},
      {"{" + x + R"(, "limits": {"timeout": "9223372036854775807ms"}})", "/limits/timeout: at most 3650d"},
      {"{" + x + R"(, "generation": {"max_tokens": 18446744073709551615}})", "/generation/max_tokens: 18446744073709551615 is outside"},
      {"{" + x + R"(, "generation": {"temperature": 1e999}})", "number overflow"},
      {"{" + x + R"(, "generation": {"temperature": -1e400}})", "number overflow"},
      {"{" + x + std::string("}\0", 2) + R"({"plugin": 3})", "a NUL byte at line 1"},
      {"{" + x + std::string("}\0", 2), "a NUL byte at line 1"},
      {"{" + x + "} trailing", "parse error at line 1"},
      {"{" + x + R"(, "settings": {"stop": [)" + many_stops + "]}}", "/settings/stop: at most 64 stop strings, got 200"},
      {"{" + x + R"(, "settings": {"stop": [")" + std::string(300, 's') + R"("]}})", "/settings/stop/0: at most 256 bytes"},
      {"{" + x + R"(, "settings": {"json_schema": {"type": "strnig"}}})", "/settings/json_schema/type: unknown type \"strnig\""},
      {"{" + x + R"(, "settings": {"json_schema": {"type": "object", "properties": {"a": {"$ref": "#"}}}}})",
       "/settings/json_schema/properties/a/$ref: unsupported keyword \"$ref\""},
  };
  int n = 0;
  for (const Case& c : cases) {
    std::string name = "n" + std::to_string(++n) + ".json";
    write(name, c.text);
    std::string error = error_of(name);
    EXPECT_NE(error.find(name + ": "), std::string::npos) << "names the file: " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << "input: " << c.text << "\nerror: " << error;
  }
}

// Finding 6: a cron expression that matches no day (30 February) validated and never ran.
TEST_F(HostileAgentFilesTest, AScheduleThatCanNeverFireIsRefused) {
  for (const char* cron : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 feb *"}) {
    write("never.json", R"({"plugin": "prompt", "prompt": "x", "triggers": [{"cron": ")" + std::string(cron) + R"("}]})");
    std::string error = error_of("never.json");
    EXPECT_NE(error.find("/triggers/0/cron: '" + std::string(cron) + "' never fires"), std::string::npos) << error;
  }
  write("never.json", R"({"plugin": "prompt", "prompt": "x", "triggers": [{"cron": "0 0 29 2 *"}]})");
  EXPECT_EQ(error_of("never.json"), "(accepted)") << "29 February comes every four years";
}

// Finding 7: output paths with ".." or outside the roots passed validation and failed only when
// the agent ran; a folder that is a dangling link validated as inside the roots.
TEST_F(HostileAgentFilesTest, PathsOutsideTheRootsAreRefusedAtValidation) {
  fs::create_directories(dir_ / "out");
  fs::create_directories(dir_ / "elsewhere");
  options_.roots = {dir_ / "agents.d", dir_ / "out"};
  const std::string w = R"("plugin": "prompt", "prompt": "x", "folders": {"write": ["../out"]})";
  write("dots.json", "{" + w + R"(, "settings": {"output_file": "../elsewhere/x.md"}})");
  write("abs.json", "{" + w + R"(, "settings": {"output_file": "/etc/x.md"}})");
  write("deep.json", "{" + w + R"(, "settings": {"output_file": "a/../../x.md"}})");
  write("ok.json", "{" + w + R"(, "settings": {"output_file": "reports/{{date}}.md"}})");
  fs::create_directory_symlink(dir_ / "elsewhere" / "new", dir_ / "out" / "dangling");
  write("dangling.json", R"({"plugin": "prompt", "prompt": "x", "folders": {"write": ["../out/dangling"]}})");

  EXPECT_NE(error_of("dots.json").find("/settings/output_file: "), std::string::npos) << error_of("dots.json");
  EXPECT_NE(error_of("abs.json").find("/settings/output_file: "), std::string::npos) << error_of("abs.json");
  EXPECT_NE(error_of("deep.json").find("/settings/output_file: "), std::string::npos) << error_of("deep.json");
  EXPECT_EQ(error_of("ok.json"), "(accepted)");
  EXPECT_NE(error_of("dangling.json").find("/folders/write/0: "), std::string::npos) << error_of("dangling.json");
  EXPECT_NE(error_of("dangling.json").find("cannot be resolved"), std::string::npos) << error_of("dangling.json");
}

// The same for the files other plugins' settings name: the evaluator's facts, the risk agent's
// portfolio, the mail agent's mailboxes were checked only when the agent ran.
TEST_F(HostileAgentFilesTest, FilesNamedInPluginSettingsAreRefusedAtValidationWhenOutsideTheFolders) {
  fs::create_directories(dir_ / "in");
  fs::create_directories(dir_ / "out");
  options_.roots = {dir_ / "agents.d", dir_ / "in", dir_ / "out"};
  const std::string f = R"("folders": {"read": ["../in"], "write": ["../out"]})";
  for (auto [name, plugin, settings, where] : std::vector<std::array<std::string, 4>>{
           {"facts", "evaluator", R"({"facts": "/etc/passwd"})", "/settings/facts: "},
           {"facts-up", "evaluator", R"({"facts": "../agents.d/facts.md"})", "/settings/facts: "},
           {"portfolio", "risk", R"({"portfolio": "/etc/portfolio.csv"})", "/settings/portfolio: "},
           {"mbox", "mail", R"({"maildirs": ["Maildir"], "mboxes": ["archive.mbox", "/var/mail/root"]})", "/settings/mboxes/1: "},
           {"maildir", "mail", R"({"maildirs": ["/root/Maildir"]})", "/settings/maildirs/0: "}}) {
    write(name + ".json", R"({"plugin": ")" + plugin + R"(", )" + f + R"(, "settings": )" + settings + "}");
    EXPECT_NE(error_of(name + ".json").find(where), std::string::npos) << name << ": " << error_of(name + ".json");
  }
  for (auto [name, plugin, settings] : std::vector<std::array<std::string, 3>>{
           {"facts-ok", "evaluator", R"({"facts": "facts.md"})"},  // need not exist yet
           {"portfolio-ok", "risk", R"({"portfolio": "portfolio.csv"})"},
           {"mail-ok", "mail", R"({"maildirs": ["Maildir"], "mboxes": ["archive.mbox"]})"}}) {
    write(name + ".json", R"({"plugin": ")" + plugin + R"(", )" + f + R"(, "settings": )" + settings + "}");
    EXPECT_EQ(error_of(name + ".json"), "(accepted)") << name;
  }
}

}  // namespace
}  // namespace agentd::runtime
