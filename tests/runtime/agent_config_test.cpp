// agents.d files: a good file read with every section, and a corpus of broken files, each refused
// with the file, the JSON path and the reason; a bad file disables only its agent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "runtime/agent_config_file.hpp"
#include "scheduler/priority.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::runtime {
namespace {

namespace fs = std::filesystem;

class AgentConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(agents_dir());
    fs::create_directories(dir_ / "inbox");
    options_.dir = agents_dir();
    options_.roots = {dir_.path()};
  }

  fs::path agents_dir() const { return dir_ / "agents.d"; }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path path = agents_dir() / (name + ".json");
    std::ofstream(path) << text;
    return path;
  }

  // The error for an agent file with `text`, or "(accepted)".
  std::string error_for(const std::string& text, const std::string& name = "a") {
    try {
      read_agent_file(write(name, text), options_, registry_);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  }

  testing::TempDir dir_;
  AgentsOptions options_;
  agents::Registry registry_ = agents::builtin_plugins();
};

TEST_F(AgentConfigTest, AGoodFileSetsEverySection) {
  auto path = write("digest", R"({
    // comments are allowed
    "name": "morning-digest",
    "plugin": "prompt",
    "description": "Morning briefing",
    "priority": "tool",
    "triggers": [{"every": "15m", "missed": "skip"},
                 {"cron": "0 7 * * 1-5", "tz": "Europe/Paris", "missed": "run_each"},
                 {"watch": "../inbox", "glob": "*.md", "debounce": "2s"},
                 {"on": "drafter.done"}],
    "route": "auto",
    "complexity": "high",
    "generation": {"max_tokens": 400, "temperature": 0.2, "top_p": 0.9, "top_k": 20, "min_p": 0.1,
                   "repeat_penalty": 1.2, "seed": 7, "section_tokens": 350,
                   "reasoning_budget": 512},
    "system_prompt": "Be brief.",
    "prompt": "Summarise {{input_file}}",
    "folders": {"read": ["../inbox"], "write": ["../out"]},
    "limits": {"timeout": "2m", "max_concurrent": 2, "max_input_bytes": 4096},
    "settings": {"output_file": "digest-{{date}}.md"}
  })");
  LoadedAgent loaded = read_agent_file(path, options_, registry_);
  const agents::AgentConfig& c = loaded.config;
  ASSERT_TRUE(loaded.agent);
  EXPECT_EQ(c.name, "morning-digest");
  EXPECT_EQ(c.plugin, "prompt");
  EXPECT_EQ(c.priority, scheduler::Priority::tool);
  ASSERT_EQ(c.triggers.size(), 4u);
  EXPECT_EQ(c.triggers[0].text(), "every 15m");
  EXPECT_EQ(c.triggers[0].missed, scheduler::MissedRuns::skip);
  EXPECT_EQ(c.triggers[1].text(), "cron 0 7 * * 1-5 Europe/Paris");
  EXPECT_EQ(c.triggers[1].missed, scheduler::MissedRuns::run_each);
  EXPECT_EQ(c.triggers[2].text(), "watch " + fs::canonical(dir_ / "inbox").string() + " *.md");
  EXPECT_EQ(c.triggers[2].debounce, std::chrono::seconds(2));
  EXPECT_EQ(c.triggers[3].text(), "on drafter.done");
  EXPECT_EQ(c.route, "auto");
  EXPECT_EQ(c.complexity, 3);
  EXPECT_EQ(c.generation.max_tokens, 400);
  EXPECT_FLOAT_EQ(c.generation.temperature, 0.2f);
  EXPECT_EQ(c.generation.seed, 7u);
  EXPECT_EQ(c.generation.section_tokens, 350);
  EXPECT_EQ(c.generation.reasoning_budget, 512);
  EXPECT_EQ(c.system_prompt, "Be brief.");
  EXPECT_EQ(c.write_folders, std::vector<fs::path>{fs::weakly_canonical(dir_ / "out")});
  // Read and watched: listed once (an agent listing its read folders reads each once).
  EXPECT_EQ(c.read_folders, std::vector<fs::path>{fs::canonical(dir_ / "inbox")});
  EXPECT_EQ(c.limits.timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.limits.max_concurrent, 2);
  EXPECT_EQ(c.limits.max_input_bytes, 4096);
  EXPECT_EQ(c.settings["output_file"], "digest-{{date}}.md");
}

TEST_F(AgentConfigTest, DefaultsComeFromTheFileNameAndTheDaemonSettings) {
  options_.max_tokens = 99;
  options_.timeout = std::chrono::seconds(42);
  auto c = read_agent_file(write("notes", R"({"plugin": "prompt", "prompt": "{{input}}"})"), options_, registry_).config;
  EXPECT_EQ(c.name, "notes");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.priority, scheduler::Priority::background);
  EXPECT_TRUE(c.triggers.empty());
  EXPECT_EQ(c.generation.max_tokens, 99);
  EXPECT_EQ(c.limits.timeout, std::chrono::seconds(42));
  EXPECT_EQ(c.limits.max_concurrent, 1);
}

TEST_F(AgentConfigTest, BrokenFilesNameFilePathAndReason) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"", "the file is empty"},
      {"{\"plugin\": \"prompt\",}", "parse error at line 1"},
      {"[]", "/: expected an object, got array"},
      {R"({"prompt": "x"})", "/plugin: missing"},
      {R"({"plugin": "promt", "prompt": "x"})", "/plugin: unknown plugin 'promt' (did you mean 'prompt'?); known: "},
      {R"({"plugin": 3})", "/plugin: expected a string, got number"},
      {R"({"plugin": "prompt", "prompt": "x", "priorty": "tool"})", "/priorty: unknown key (did you mean 'priority'?)"},
      {R"({"plugin": "prompt", "prompt": "x", "priority": "urgent"})", "/priority: 'urgent' is not one of interactive, tool, background"},
      {R"({"plugin": "prompt", "prompt": "x", "enabled": "yes"})", "/enabled: expected true or false, got string"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": {"every": "5m"}})", "/triggers: expected a list of objects, got object"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"evrey": "5m"}]})", "/triggers/0/evrey: unknown key (did you mean 'every'?)"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{}]})", "/triggers/0: a trigger needs exactly one of"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"every": "5m", "on": "a.done"}]})", "/triggers/0: a trigger needs exactly one of"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"every": "soon"}]})", "/triggers/0/every: 'soon' is not a duration"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"every": "100ms"}]})", "/triggers/0/every: must be at least 1s"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"cron": "0 25 * * *"}]})", "/triggers/0/cron: "},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"cron": "0 7 * *"}]})", "/triggers/0/cron: "},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"cron": "0 7 * * *", "tz": "Mars/Olympus"}]})", "/triggers/0/tz: "},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"every": "5m", "missed": "sometimes"}]})", "/triggers/0/missed: 'sometimes' is not one of skip"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"on": "a.done", "missed": "skip"}]})", "/triggers/0/missed: only applies"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"every": "5m", "glob": "*.md"}]})", "/triggers/0/glob: only applies to a \"watch\" trigger"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"on": "Drafter Done"}]})", "/triggers/0/on: 'Drafter Done' is not an event name"},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"watch": "../nowhere"}]})", "/triggers/0/watch: "},
      {R"({"plugin": "prompt", "prompt": "x", "triggers": [{"watch": "/etc"}]})", "/triggers/0/watch: /etc is outside the allowed roots"},
      {R"({"plugin": "prompt", "prompt": "x", "folders": {"read": ["/etc"]}})", "/folders/read/0: /etc is outside the allowed roots"},
      {R"({"plugin": "prompt", "prompt": "x", "folders": {"write": ["../../../../../../tmp"]}})", "/folders/write/0: /tmp is outside the allowed roots"},
      {R"({"plugin": "prompt", "prompt": "x", "folders": {"read": [1]}})", "/folders/read/0: expected a string, got number"},
      {R"({"plugin": "prompt", "prompt": "x", "folders": {"exec": []}})", "/folders/exec: unknown key"},
      {R"({"plugin": "prompt", "prompt": "x", "route": "moon"})", "/route: 'moon' is not one of local, cloud, auto"},
      {R"({"plugin": "prompt", "prompt": "x", "complexity": "extreme"})", "/complexity: 'extreme' is not one of low, medium, high"},
      {R"({"plugin": "prompt", "prompt": "x", "generation": {"temperature": 9}})", "/generation/temperature: 9 is outside 0..5"},
      {R"({"plugin": "prompt", "prompt": "x", "generation": {"max_tokens": 1.5}})", "/generation/max_tokens: expected an integer, got number"},
      {R"({"plugin": "prompt", "prompt": "x", "limits": {"timeout": "0s"}})", "/limits/timeout: must be at least 1s"},
      {R"({"plugin": "prompt", "prompt": "x", "limits": {"max_concurrent": 0}})", "/limits/max_concurrent: 0 is outside 1..64"},
      {R"({"plugin": "prompt", "prompt": "x", "settings": []})", "/settings: expected an object, got array"},
      {R"({"plugin": "prompt", "prompt": "x", "name": "Bad Name"})", "/name: 'Bad Name' is not an agent name"},
      {R"({"plugin": "prompt", "prompt": "Hi {{nme}}"})", "/prompt: {{nme}}: unknown placeholder"},
      {R"({"plugin": "prompt"})", "/prompt: the prompt plugin needs a prompt"},
      {R"({"plugin": "prompt", "prompt": "x", "settings": {"output_fle": "a.md"}})", "/settings/output_fle: unknown key (did you mean 'output_file'?)"},
      {R"({"plugin": "prompt", "prompt": "x", "settings": {"output_file": "a.md"}})", "/settings/output_file: needs a write folder"},
  };
  for (const auto& c : cases) {
    std::string message = error_for(c.text);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "input: " << c.text << "\nmessage: " << message;
    EXPECT_NE(message.find("a.json: "), std::string::npos) << "the message names the file: " << message;
  }
}

TEST_F(AgentConfigTest, AFileNameThatIsNoAgentNameNeedsAName) {
  std::string message = error_for(R"({"plugin": "prompt", "prompt": "x"})", "My Agent");
  EXPECT_NE(message.find("'My Agent' is not an agent name"), std::string::npos) << message;
  EXPECT_NE(message.find("set \"name\""), std::string::npos) << message;
}

TEST_F(AgentConfigTest, ABadFileDisablesOnlyItsAgent) {
  write("good", R"({"plugin": "prompt", "prompt": "{{input}}"})");
  write("bad", R"({"plugin": "prompt", "prompt": "{{input}}", "priority": 1})");
  write("off", R"({"plugin": "prompt", "prompt": "{{input}}", "enabled": false})");
  write("twin", R"({"name": "good", "plugin": "prompt", "prompt": "{{input}}"})");
  std::ofstream(agents_dir() / "notes.txt") << "not an agent";
  std::ofstream(agents_dir() / ".hidden.json") << "{";

  auto entries = load_agents_dir(options_, registry_);
  ASSERT_EQ(entries.size(), 4u);  // sorted by file name: bad, good, off, twin
  EXPECT_EQ(entries[0].name, "bad");
  EXPECT_FALSE(entries[0].loaded);
  EXPECT_NE(entries[0].error.find("bad.json: /priority: expected a string, got number"), std::string::npos);
  EXPECT_TRUE(entries[1].usable());
  EXPECT_EQ(entries[2].name, "off");
  EXPECT_TRUE(entries[2].loaded);
  EXPECT_FALSE(entries[2].usable());
  EXPECT_FALSE(entries[3].loaded);
  EXPECT_NE(entries[3].error.find("twin.json: /name: agent 'good' is already defined in"), std::string::npos)
      << entries[3].error;
}

TEST_F(AgentConfigTest, AMissingFolderIsAnError) {
  options_.dir = dir_ / "nope";
  EXPECT_THROW(load_agents_dir(options_, registry_), ConfigError);
}

TEST_F(AgentConfigTest, DefaultRootsAreHomeDataDirAndTheFolderAboveAgentsD) {
  AgentsOptions o = with_defaults({}, dir_ / "data");
  EXPECT_EQ(o.dir, fs::weakly_canonical(dir_ / "data" / "agents.d"));
  ASSERT_EQ(o.roots.size(), 3u);
  EXPECT_EQ(o.roots[0], fs::path(std::getenv("HOME")));
  EXPECT_EQ(o.roots[1], fs::weakly_canonical(dir_ / "data"));
  EXPECT_EQ(o.roots[2], fs::weakly_canonical(dir_ / "data"));
}

}  // namespace
}  // namespace agentd::runtime
