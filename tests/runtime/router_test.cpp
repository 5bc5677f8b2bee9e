// Router over real engines: the local one is an in-process LlamaEngine on the test model, the
// "cloud" is agentd's own OpenAI-compatible endpoint in a daemon process (real sockets), or a
// closed port for the fallback.
#include <regex>

#include "engine/llama_engine.hpp"
#include "engine/openai_engine.hpp"
#include "engine/router.hpp"
#include "tests/runtime/daemon_fixture.hpp"
#include "tests/support/free_port.hpp"

namespace agentd {
namespace {

using engine::RouteMode;

class RouterTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    engine::LlamaEngineOptions o;
    o.model_path = test_model();
    o.threads = 1;
    o.slots = 2;
    o.n_ctx_per_seq = 512;
    o.chat_template = "chatml";
    local_ = std::make_unique<engine::LlamaEngine>(o);
  }
  void TearDown() override {
    if (daemon_) {
      daemon_->signal(SIGTERM);
      EXPECT_EQ(exit_code(daemon_->wait()), 0);
    }
  }
  std::string start_cloud() {
    daemon_ = start_daemon();
    std::smatch m;
    if (!std::regex_search(startup_log_, m, std::regex("http: listening on (127\\.0\\.0\\.1:\\d+)"))) {
      throw std::runtime_error("no http line in:\n" + startup_log_);
    }
    return "http://" + std::string(m[1]) + "/v1";
  }
  engine::Router router(engine::Engine* cloud, int local_context = 512) {
    engine::RouterOptions o;
    o.local_context = local_context;
    o.cloud_prices = {.input_per_mtok = 2.5, .output_per_mtok = 10.0};
    return engine::Router(*local_, cloud, [this](const engine::Request& r) { return int(local_->tokenize_prompt(r).size()); }, o);
  }
  static engine::Request request(int max_tokens) {
    engine::Request r;
    r.messages = {{"user", "Once upon a time"}};
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;
    return r;
  }

  std::unique_ptr<engine::LlamaEngine> local_;
  std::unique_ptr<testing::ChildProcess> daemon_;
};

TEST_F(RouterTest, AutoEscalatesByComplexityAndByContextAndRecordsTheCost) {
  engine::OpenAIEngine cloud({.base_url = start_cloud(), .model = "stories260K"});
  auto r = router(&cloud, /*local_context=*/64);

  auto easy = r.submit_routed(request(8), RouteMode::automatic, 1);
  engine::Result easy_result = easy->wait();
  EXPECT_EQ(easy->route().route, "local");
  EXPECT_EQ(easy->route().cost_usd, 0);
  EXPECT_EQ(easy_result.completion_tokens, 8);

  auto hard = r.submit_routed(request(8), RouteMode::automatic, 3);
  engine::Result hard_result = hard->wait();
  EXPECT_EQ(hard->route().route, "cloud");
  EXPECT_EQ(hard->route().reason, "auto: complexity 3");
  ASSERT_GT(hard_result.prompt_tokens, 0);
  EXPECT_DOUBLE_EQ(hard->route().cost_usd, (hard_result.prompt_tokens * 2.5 + hard_result.completion_tokens * 10.0) / 1e6);
  EXPECT_EQ(hard_result.text, easy_result.text) << "same model, greedy: same text either way";

  auto big = r.submit_routed(request(60), RouteMode::automatic, 1);  // prompt + 60 > 64
  big->wait();
  EXPECT_EQ(big->route().route, "cloud");
  EXPECT_NE(big->route().reason.find("exceed the local context of 64"), std::string::npos) << big->route().reason;
}

TEST_F(RouterTest, AnUnreachableCloudFallsBackToLocal) {
  engine::OpenAIEngine down({.base_url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/v1",
                             .model = "m",
                             .max_retries = 1,
                             .backoff = std::chrono::milliseconds(5)});
  auto r = router(&down);
  auto g = r.submit_routed(request(8), RouteMode::cloud);
  std::string pieces;
  while (auto p = g->next_piece()) pieces += *p;
  engine::Result result = g->wait();
  EXPECT_EQ(result.finish, engine::FinishReason::length);
  EXPECT_EQ(result.text, pieces);
  EXPECT_EQ(g->route().route, "local");
  EXPECT_NE(g->route().reason.find("fallback to local: cloud failed: cannot reach"), std::string::npos) << g->route().reason;
  EXPECT_EQ(g->route().cost_usd, 0);
}

TEST_F(RouterTest, WithoutACloudEverythingRunsLocallyAndSaysWhy) {
  auto r = router(nullptr);
  auto g = r.submit_routed(request(4), RouteMode::cloud);
  EXPECT_EQ(g->wait().completion_tokens, 4);
  EXPECT_EQ(g->route().route, "local");
  EXPECT_EQ(g->route().reason, "cloud requested, none configured");
  EXPECT_EQ(engine::parse_route_mode("auto"), RouteMode::automatic);
  EXPECT_FALSE(engine::parse_route_mode("moon"));
}

}  // namespace
}  // namespace agentd
