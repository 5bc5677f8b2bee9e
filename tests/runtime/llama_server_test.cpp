// OpenAIEngine against a real third-party OpenAI-compatible server: llama.cpp's own llama-server,
// built from the same pinned source, serving the test model on 127.0.0.1.
#include <httplib.h>

#include "engine/openai_engine.hpp"
#include "tests/runtime/daemon_fixture.hpp"
#include "tests/support/free_port.hpp"

namespace agentd {
namespace {

class LlamaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::unused_loopback_port();
    server_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{AGENTD_LLAMA_SERVER_PATH, "-m", test_model(), "--host", "127.0.0.1", "--port",
                                 std::to_string(port_), "--chat-template", "chatml", "-t", "1", "-c", "1024", "-np", "1"},
        /*merge_stderr=*/true);
    // Ready when /health answers 200 (its log line is not flushed to a pipe): each look is a real
    // request, refused at once until the port is open; bounded, so a server that died fails here.
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1, 0);
    for (int i = 0; i < 20000; ++i) {
      auto res = client.Get("/health");
      if (res && res->status == 200) return;
    }
    FAIL() << "llama-server did not become healthy on port " << port_;
  }
  void TearDown() override {
    if (server_) {
      server_->signal(SIGTERM);
      server_->wait();
    }
  }
  engine::OpenAIEngine engine() {
    return engine::OpenAIEngine({.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1", .model = "stories260K"});
  }

  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> server_;
};

TEST_F(LlamaServerTest, StreamsAGreedyCompletion) {
  auto remote = engine();
  engine::Request r;
  r.messages = {{"user", "Once upon a time"}};
  r.max_tokens = 12;
  r.sampling.temperature = 0;
  auto g = remote.submit(r);
  std::string pieces;
  while (auto p = g->next_piece()) pieces += *p;
  engine::Result result = g->wait();
  EXPECT_EQ(result.finish, engine::FinishReason::length) << result.error;
  EXPECT_FALSE(pieces.empty());
  EXPECT_EQ(result.text, pieces);
  EXPECT_EQ(result.completion_tokens, 12);
  EXPECT_GT(result.prompt_tokens, 0) << "usage from the server's last chunk";
}

TEST_F(LlamaServerTest, JsonSchemaOutputParses) {
  auto remote = engine();
  engine::Request r;
  r.messages = {{"user", "A pet:"}};
  r.max_tokens = 64;
  r.sampling.seed = 3;
  r.json_schema = R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}, "required": ["name"]})";
  engine::Result result = remote.submit(r)->wait();
  ASSERT_EQ(result.finish, engine::FinishReason::stop) << result.error << "\n" << result.text;
  json pet = json::parse(result.text, nullptr, false);
  ASSERT_FALSE(pet.is_discarded()) << result.text;
  EXPECT_TRUE(pet["name"].is_string());
}

}  // namespace
}  // namespace agentd
