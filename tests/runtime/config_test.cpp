// agentd.json: a good file applied, and a corpus of broken files, each refused with the file, the
// JSON path and the reason.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "runtime/config.hpp"
#include "tests/runtime/agentd_binary.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::runtime {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    auto path = dir_ / ("agentd-" + std::to_string(++n_) + ".json");
    std::ofstream(path) << text;
    return path;
  }

  // The ConfigError message for `text`, or "(accepted)".
  std::string error_for(const std::string& text) {
    DaemonOptions o;
    try {
      apply_config_file(write(text), o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  }

  testing::TempDir dir_;
  int n_ = 0;
};

TEST_F(ConfigTest, AGoodFileSetsEverySection) {
  DaemonOptions o;
  apply_config_file(write(R"({
    // comments are allowed
    "model": "/models/m.gguf",
    "engine": {"policy": "serial", "slots": 2, "context": 4096, "threads": 1, "prefill_chunk": 64,
               "paused_kv_streams": 0, "flash_attn": "on", "kv_type": "q4_0", "mlock": true,
               "chat_template": "llama3", "prefix_cache": false, "prefix_cache_mb": 64, "prefix_cache_disk_mb": 0},
    "agents": {"dir": "agents", "roots": ["/srv/shared", "~/notes"], "max_tokens": 512, "timeout": "2m"},
    "daemon": {"concurrency": 8, "grace": "5s", "stuck_after": "1m30s", "max_attempts": 2},
    "http": {"max_queued": 8, "max_per_client": 12},
    "log": {"level": "warn", "file_level": "info", "max_file_mb": 2, "max_files": 3}
  })"),
                    o);
  EXPECT_EQ(o.engine.model_path, "/models/m.gguf");
  EXPECT_EQ(o.engine.policy, engine::Policy::serial);
  EXPECT_EQ(o.engine.slots, 2);
  EXPECT_EQ(o.engine.n_ctx_per_seq, 4096);
  EXPECT_EQ(o.engine.threads, 1);
  EXPECT_EQ(o.engine.prefill_chunk, 64);
  EXPECT_EQ(o.engine.paused_kv_streams, 0);
  EXPECT_EQ(o.engine.flash_attn, engine::FlashAttn::on);
  EXPECT_EQ(o.engine.kv_type, engine::KvType::q4_0);
  EXPECT_TRUE(o.engine.mlock);
  EXPECT_EQ(o.engine.chat_template, "llama3");
  EXPECT_FALSE(o.engine.prefix_cache);
  EXPECT_EQ(o.engine.prefix_cache_mb, 64);
  EXPECT_EQ(o.engine.prefix_cache_disk_mb, 0);
  EXPECT_EQ(o.concurrency, 8);
  EXPECT_EQ(o.http.max_queued, 8);
  EXPECT_EQ(o.http.max_per_client, 12);
  EXPECT_EQ(o.agents.dir, dir_.path() / "agents") << "relative to agentd.json's folder";
  ASSERT_EQ(o.agents.roots.size(), 2u);
  EXPECT_EQ(o.agents.roots[0], "/srv/shared");
  EXPECT_EQ(o.agents.roots[1], std::filesystem::path(std::getenv("HOME")) / "notes");
  EXPECT_EQ(o.agents.max_tokens, 512);
  EXPECT_EQ(o.agents.timeout, std::chrono::minutes(2));
  EXPECT_EQ(o.stuck_after, std::chrono::seconds(90));
  EXPECT_EQ(o.grace, std::chrono::seconds(5));
  EXPECT_EQ(o.max_attempts, 2);
  EXPECT_EQ(o.log.console_level, "warn");
  EXPECT_EQ(o.log.file_level, "info");
  EXPECT_EQ(o.log.max_file_bytes, 2u << 20);
  EXPECT_EQ(o.log.max_files, 3u);
}

TEST_F(ConfigTest, AnEmptyObjectKeepsTheDefaults) {
  DaemonOptions o, defaults;
  apply_config_file(write("{}"), o);
  EXPECT_EQ(o.engine.slots, defaults.engine.slots);
  EXPECT_EQ(o.concurrency, defaults.concurrency);
}

TEST_F(ConfigTest, BrokenFilesNameFilePathAndReason) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"", "the file is empty"},
      {"// only a comment\n", "parse error at line 2"},
      {"{\"engine\": {\"slots\": 4,}}", "parse error"},
      {"[1, 2]", "/: expected an object, got array"},
      {R"({"engine": {"slot": 4}})", "/engine/slot: unknown key (did you mean 'slots'?)"},
      {R"({"modle": "x.gguf"})", "/modle: unknown key (did you mean 'model'?)"},
      {R"({"colour": "blue"})", "/colour: unknown key"},
      {R"({"engine": {"slots": "four"}})", "/engine/slots: expected an integer, got string"},
      {R"({"engine": {"slots": 0}})", "/engine/slots: 0 is outside 1..64"},
      {R"({"engine": {"policy": "fast"}})", "/engine/policy: 'fast' is not one of batched, serial"},
      {R"({"engine": {"flash_attn": "yes"}})", "/engine/flash_attn: 'yes' is not one of auto, on, off"},
      {R"({"engine": {"kv_type": "q5_1"}})", "/engine/kv_type: 'q5_1' is not one of f16, q8_0, q4_0"},
      {R"({"engine": {"kv_type": "q8_0", "flash_attn": "off"}})", "/engine/kv_type: 'q8_0' needs flash attention"},
      {R"({"engine": {"mlock": 1}})", "/engine/mlock: expected true or false"},
      {R"({"engine": {"paused_kv_streams": -1}})", "/engine/paused_kv_streams: -1 is outside 0..64"},
      {R"({"engine": {"prefix_cache": "yes"}})", "/engine/prefix_cache: expected true or false, got string"},
      {R"({"engine": {"prefix_cache_mb": -2}})", "/engine/prefix_cache_mb: -2 is outside -1..1048576"},
      {R"({"engine": {"prefix_cache_disk_mb": -1}})", "/engine/prefix_cache_disk_mb: -1 is outside 0..16777216"},
      {R"({"engine": []})", "/engine: expected an object, got array"},
      {R"({"daemon": {"grace": "soon"}})", "/daemon/grace: 'soon' is not a duration"},
      {R"({"log": {"level": "loud"}})", "/log/level: 'loud' is not one of trace"},
      {R"({"model": 42})", "/model: expected a string, got number"},
      {R"({"agents": {"roots": "/srv", "max_tokens": -1}})", "/agents/max_tokens: -1 is outside"},
      {R"({"agents": {"roots": ["/srv", 3]}})", "/agents/roots/1: expected a string, got number"},
      {R"({"daemon": {"max_tokens": 5}})", "/daemon/max_tokens: unknown key"},
      {R"({"http": {"max_per_client": 0}})", "/http/max_per_client: 0 is outside 1..100000"},
      {R"({"http": {"max_per_client": "many"}})", "/http/max_per_client: expected an integer, got string"},
      {R"({"http": {"max_per_clients": 4}})", "/http/max_per_clients: unknown key (did you mean 'max_per_client'?)"},
  };
  for (const auto& c : cases) {
    std::string message = error_for(c.text);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "input: " << c.text << "\nmessage: " << message;
    EXPECT_NE(message.find(".json: "), std::string::npos) << "the message names the file: " << message;
  }
}

TEST_F(ConfigTest, AMissingFileIsNamed) {
  DaemonOptions o;
  try {
    apply_config_file(dir_ / "nope.json", o);
    FAIL() << "accepted a missing file";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json: cannot read"), std::string::npos);
  }
}

TEST_F(ConfigTest, NearestKeyOnlySuggestsTypos) {
  EXPECT_EQ(nearest_key("slot", {"slots", "context"}), "slots");
  EXPECT_EQ(nearest_key("contxt", {"slots", "context"}), "context");
  EXPECT_EQ(nearest_key("banana", {"slots", "context"}), "");
}

TEST_F(ConfigTest, TheDaemonRefusesABadFileBeforeDoingAnything) {
  auto bad = write(R"({"engine": {"slots": 99}})");
  auto r = testing::run_process({testing::agentd_binary(), "--db", (dir_ / "agentd.db").string(), "run", "--config",
                                 bad.string(), "--model", "unused.gguf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/engine/slots: 99 is outside 1..64"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "agentd.db")) << "nothing was created";
}

}  // namespace
}  // namespace agentd::runtime
