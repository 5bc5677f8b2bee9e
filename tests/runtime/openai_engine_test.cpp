// OpenAIEngine against a real OpenAI-compatible server over real sockets: agentd's own endpoint
// (a daemon process on the real model), a closed port, and an error status.
#include <httplib.h>

#include <regex>

#include "engine/openai_engine.hpp"
#include "tests/runtime/daemon_fixture.hpp"
#include "tests/support/free_port.hpp"

namespace agentd {
namespace {

class OpenAIEngineTest : public DaemonTest {
 protected:
  std::string start_server(std::vector<std::string> extra = {}) {
    daemon_ = start_daemon(std::move(extra));
    std::smatch m;
    if (!std::regex_search(startup_log_, m, std::regex("http: listening on 127\\.0\\.0\\.1:(\\d+)"))) {
      throw std::runtime_error("no http line in:\n" + startup_log_);
    }
    port_ = std::stoi(m[1]);
    return "http://127.0.0.1:" + std::string(m[1]) + "/v1";
  }
  void TearDown() override {
    if (daemon_) {
      daemon_->signal(SIGTERM);
      EXPECT_EQ(exit_code(daemon_->wait()), 0);
    }
  }
  static engine::Request greedy(const std::string& text, int max_tokens) {
    engine::Request r;
    r.messages = {{"user", text}};
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;
    return r;
  }

  std::unique_ptr<testing::ChildProcess> daemon_;
  int port_ = 0;
};

TEST_F(OpenAIEngineTest, StreamsAGenerationFromAgentdsOwnEndpoint) {
  engine::OpenAIEngine remote({.base_url = start_server(), .model = "stories260K"});
  auto g = remote.submit(greedy("Once upon a time", 12));
  std::string pieces;
  while (auto p = g->next_piece()) pieces += *p;
  engine::Result r = g->wait();
  EXPECT_EQ(r.finish, engine::FinishReason::length);
  EXPECT_EQ(r.text, pieces);
  EXPECT_EQ(r.completion_tokens, 12);
  EXPECT_GT(r.prompt_tokens, 0);

  // The same request answered without streaming gives the same greedy text.
  httplib::Client c("127.0.0.1", port_);
  json body = {{"model", "stories260K"}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
               {"max_tokens", 12}, {"temperature", 0}};
  auto res = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_EQ(json::parse(res->body)["choices"][0]["message"]["content"], r.text);
  EXPECT_EQ(remote.info().backend, "openai");
}

// A model call with tools routed to a remote server: the tools and the choice go on the wire,
// the call comes back streamed, is passed on as tool-call deltas as it arrives (index, id and
// name first, then arguments), and is put together in the Result, as the local engine
// gives it (an agent's tool loop runs the same either way). The remote is agentd on
// stories260K, whose grammar makes the output a valid call when a call is required.
TEST_F(OpenAIEngineTest, ToolsGoToTheRemoteAndItsCallComesBackInTheResult) {
  engine::OpenAIEngine remote({.base_url = start_server(), .model = "stories260K"});
  engine::Request r = greedy("What is the weather in Paris?", 400);  // a 512-token vocabulary: JSON takes many
  r.tools = {{"get_weather", "The weather in a city",
              R"({"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}}, "required": ["city"]})"},
             {"get_time", "The time in a city", R"({"type": "object", "properties": {}})"}};
  r.tool_choice = engine::ToolChoice::named;
  r.tool_name = "get_weather";
  auto generation = remote.submit(r);
  std::vector<engine::MessageDelta> deltas;
  while (auto d = generation->next_delta()) deltas.push_back(std::move(*d));
  engine::Result result = generation->wait();
  ASSERT_NE(result.finish, engine::FinishReason::error) << result.error;
  ASSERT_EQ(result.tool_calls.size(), 1u) << result.text;
  std::vector<engine::MessageDelta> call_deltas;
  for (auto& d : deltas) {
    if (d.tool_index >= 0) call_deltas.push_back(d);
  }
  // agentd's generic tool format (stories260K has no template of its own) is sent whole once
  // it parses: one delta here. A server that streams the arguments in pieces sends more.
  ASSERT_GE(call_deltas.size(), 1u) << "the call is passed on as a delta, not only in the Result";
  EXPECT_EQ(call_deltas[0].tool_call.name, "get_weather");
  EXPECT_EQ(call_deltas[0].tool_call.id, result.tool_calls[0].id);
  std::string streamed_arguments;
  for (const auto& d : call_deltas) {
    EXPECT_EQ(d.tool_index, 0);
    streamed_arguments += d.tool_call.arguments;
  }
  EXPECT_EQ(streamed_arguments, result.tool_calls[0].arguments);
  EXPECT_EQ(result.tool_calls[0].name, "get_weather");
  EXPECT_FALSE(result.tool_calls[0].id.empty());
  json args = json::parse(result.tool_calls[0].arguments);  // the pieces joined into one JSON object
  ASSERT_TRUE(args.is_object()) << result.tool_calls[0].arguments;
  EXPECT_TRUE(args.contains("city")) << args.dump();

  // The answer to the call goes back as a tool message, with the call in the assistant message.
  engine::Request next = greedy("What is the weather in Paris?", 8);
  engine::ChatMessage asked{"assistant", ""};
  asked.tool_calls = result.tool_calls;
  next.messages.push_back(asked);
  engine::ChatMessage answer{"tool", R"({"sky": "clear"})"};
  answer.tool_call_id = result.tool_calls[0].id;
  next.messages.push_back(answer);
  next.tools = r.tools;
  next.tool_choice = engine::ToolChoice::none;
  engine::Result after = remote.submit(next)->wait();
  EXPECT_EQ(after.finish, engine::FinishReason::length) << after.error;
  EXPECT_TRUE(after.tool_calls.empty());
}

TEST_F(OpenAIEngineTest, CancelStopsTheRemoteGeneration) {
  engine::OpenAIEngine remote({.base_url = start_server({"--ctx", "2048"}), .model = "stories260K"});
  auto g = remote.submit(greedy("Once upon a time", 1900));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(g->next_piece());
  g->cancel();
  engine::Result r = g->wait();
  EXPECT_EQ(r.finish, engine::FinishReason::cancelled);
  EXPECT_LT(r.completion_tokens, 1900);
  // The server noticed the client leaving and cancelled its side too (each look is a request).
  httplib::Client c("127.0.0.1", port_);
  bool cancelled = false;
  for (int i = 0; i < 5000 && !cancelled; ++i) {
    auto m = c.Get("/metrics");
    cancelled = m && m->body.find("agentd_requests_total{class=\"interactive\",finish=\"cancelled\"} 1") != std::string::npos;
  }
  EXPECT_TRUE(cancelled);
}

TEST_F(OpenAIEngineTest, AClosedPortIsAnErrorAfterTheRetries) {
  int port = testing::unused_loopback_port();
  engine::OpenAIEngine remote({.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1",
                               .model = "m",
                               .max_retries = 2,
                               .backoff = std::chrono::milliseconds(5)});
  engine::Result r = remote.submit(greedy("hi", 4))->wait();
  EXPECT_EQ(r.finish, engine::FinishReason::error);
  EXPECT_NE(r.error.find("cannot reach http://127.0.0.1:" + std::to_string(port)), std::string::npos) << r.error;
}

TEST_F(OpenAIEngineTest, AServerErrorIsReportedWithItsMessageAndBadInputIsRefused) {
  engine::OpenAIEngine remote({.base_url = start_server(), .model = "no-such-model"});
  engine::Result r = remote.submit(greedy("hi", 4))->wait();
  EXPECT_EQ(r.finish, engine::FinishReason::error);
  EXPECT_NE(r.error.find("answered 404"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("does not exist"), std::string::npos) << r.error;

  engine::Request raw;
  raw.prompt = "raw text";
  EXPECT_THROW(remote.submit(raw), engine::RequestError);
  EXPECT_THROW(engine::OpenAIEngine({.base_url = "ftp://x"}), engine::EngineError);
  EXPECT_THROW(engine::OpenAIEngine({.base_url = "http://x/v1", .api_key_env = "AGENTD_TEST_SURELY_UNSET"}),
               engine::EngineError);
}

TEST_F(OpenAIEngineTest, TheApiKeyComesFromTheEnvironmentAsABearerToken) {
  std::ofstream(dir_ / "agentd.json") << R"({"http": {"token_env": "AGENTD_TEST_KEY"}})";
  ::setenv("AGENTD_TEST_KEY", "k-123", 1);
  std::string url = start_server();
  engine::OpenAIEngine with_key({.base_url = url, .model = "stories260K", .api_key_env = "AGENTD_TEST_KEY"});
  ::unsetenv("AGENTD_TEST_KEY");
  EXPECT_EQ(with_key.submit(greedy("Hi", 3))->wait().finish, engine::FinishReason::length);
  engine::OpenAIEngine without({.base_url = url, .model = "stories260K", .max_retries = 0});
  engine::Result r = without.submit(greedy("Hi", 3))->wait();
  EXPECT_EQ(r.finish, engine::FinishReason::error);
  EXPECT_NE(r.error.find("answered 401"), std::string::npos) << r.error;
}

TEST_F(OpenAIEngineTest, TheApiKeyNeverTravelsOverPlainHttpToAnotherMachine) {
  ::setenv("AGENTD_TEST_KEY", "k-123", 1);
  auto refusal = [](const std::string& url) -> std::string {
    try {
      engine::OpenAIEngine e({.base_url = url, .api_key_env = "AGENTD_TEST_KEY"});
    } catch (const engine::EngineError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(refusal("http://api.example.com/v1").find("refusing to send the API key (AGENTD_TEST_KEY) over plain http"),
            std::string::npos);
  EXPECT_NE(refusal("http://127.0.0.1.example.com:80/v1"), "") << "a name that starts like loopback is not loopback";
  EXPECT_NE(refusal("http://10.0.0.5:8080/v1"), "");
  EXPECT_EQ(refusal("https://api.example.com/v1"), "");
  EXPECT_EQ(refusal("http://127.0.0.1:8080/v1"), "");
  EXPECT_EQ(refusal("http://localhost:11434/v1"), "");
  EXPECT_EQ(refusal("http://[::1]:8080/v1"), "");
  ::unsetenv("AGENTD_TEST_KEY");
}

}  // namespace
}  // namespace agentd
