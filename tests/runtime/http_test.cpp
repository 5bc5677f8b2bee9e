// The daemon's HTTP server over real sockets on 127.0.0.1, with the real model: OpenAI chat
// completions (plain, streamed, JSON-schema constrained), a corpus of malformed requests (the
// server keeps answering), the control API, metrics, queue limits, and the token rule.
#include <httplib.h>

#include <regex>
#include <thread>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

class HttpTest : public DaemonTest {
 protected:
  std::unique_ptr<testing::ChildProcess> start_http(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--listen", "127.0.0.1:0"});
    auto daemon = start_daemon(extra);
    std::smatch m;
    if (!std::regex_search(startup_log_, m, std::regex("http: listening on 127\\.0\\.0\\.1:(\\d+)"))) {
      throw std::runtime_error("no http line in:\n" + startup_log_);
    }
    port_ = std::stoi(m[1]);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(120, 0);
    return daemon;
  }

  json post(const std::string& path, const json& body, int expected_status) {
    auto res = client_->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    if (!res) return {};
    EXPECT_EQ(res->status, expected_status) << path << " " << res->body;
    return json::parse(res->body, nullptr, false);
  }

  json get(const std::string& path) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res && res->status == 200) << path;
    return res ? json::parse(res->body, nullptr, false) : json();
  }

  static json chat(const std::string& content, int max_tokens) {
    return {{"model", "stories260K"},
            {"messages", json::array({{{"role", "user"}, {"content", content}}})},
            {"max_tokens", max_tokens},
            {"temperature", 0}};
  }

  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(HttpTest, ChatCompletionsPlainAndStreamedGiveTheSameGreedyText) {
  auto daemon = start_http();
  json models = get("/v1/models");
  EXPECT_EQ(models["data"][0]["id"], "stories260K");

  json plain = post("/v1/chat/completions", chat("Once upon a time", 16), 200);
  EXPECT_EQ(plain["object"], "chat.completion");
  std::string text = plain["choices"][0]["message"]["content"];
  EXPECT_FALSE(text.empty());
  EXPECT_GT(plain["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(plain["usage"]["completion_tokens"], 16);
  EXPECT_EQ(plain["choices"][0]["finish_reason"], "length");

  json streamed = chat("Once upon a time", 16);
  streamed["stream"] = true;
  streamed["stream_options"] = {{"include_usage", true}};
  auto res = client_->Post("/v1/chat/completions", streamed.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  std::string joined, finish;
  int usage_tokens = -1;
  bool done = false;
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("data: ")) continue;
    std::string data = line.substr(6);
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    json chunk = json::parse(data);
    EXPECT_FALSE(done) << "nothing after [DONE]";
    if (chunk.contains("usage")) usage_tokens = chunk["usage"]["completion_tokens"];
    if (chunk["choices"].empty()) continue;
    joined += chunk["choices"][0]["delta"].value("content", "");
    if (!chunk["choices"][0]["finish_reason"].is_null()) finish = chunk["choices"][0]["finish_reason"];
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(joined, text);
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(usage_tokens, 16);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, JsonSchemaOutputParses) {
  auto daemon = start_http();
  json body = chat("Tell me about a cat.", 60);
  body["temperature"] = 0.8;
  body["seed"] = 5;
  body["response_format"] = {
      {"type", "json_schema"},
      {"json_schema",
       {{"name", "pet"},
        {"schema",
         {{"type", "object"},
          {"properties", {{"name", {{"type", "string"}, {"maxLength", 12}}}, {"age", {{"type", "integer"}}}}},
          {"required", {"name", "age"}}}}}}};
  json r = post("/v1/chat/completions", body, 200);
  json pet = json::parse(r["choices"][0]["message"]["content"].get<std::string>(), nullptr, false);
  ASSERT_FALSE(pet.is_discarded()) << r.dump();
  EXPECT_TRUE(pet["name"].is_string());
  EXPECT_TRUE(pet["age"].is_number_integer());
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, MalformedRequestsGetOpenAiErrorsAndTheServerKeepsServing) {
  auto daemon = start_http();
  struct Case {
    std::string path, body;
    int status;
    std::string param;
  };
  std::vector<Case> cases = {
      {"/v1/chat/completions", "{not json", 400, ""},
      {"/v1/chat/completions", R"({"model": "stories260K"})", 400, "messages"},
      {"/v1/chat/completions", R"({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})", 404, "model"},
      {"/v1/chat/completions", R"({"model": "stories260K", "messages": [{"role": "user", "content": "x"}], "n": 3})", 400, "n"},
      {"/v1/chat/completions", R"({"model": "stories260K", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1})", 400, "max_tokens"},
      {"/v1/chat/completions", R"({"model": "stories260K", "messages": [{"role": "user", "content": "x"}], "tools": []})", 400, "tools"},
      {"/v1/chat/completions", R"({"model": "stories260K", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"schema": {"$ref": "#/x"}}}})", 400, "messages"},
      {"/v1/chat/completions", R"({"model": "stories260K", "messages": [{"role": "user", "content": ")" + std::string(30000, 'a') + R"("}]})", 400, "messages"},
      {"/v1/chat/completions", std::string(2 << 20, ' '), 413, ""},
      {"/v1/nothing", "{}", 404, ""},
      {"/api/agents/nobody/run", "{}", 404, ""},
      {"/api/tasks/999999/cancel", "", 404, ""},
  };
  for (const auto& c : cases) {
    auto res = client_->Post(c.path.c_str(), c.body, "application/json");
    ASSERT_TRUE(res) << c.path << ": no answer";
    EXPECT_EQ(res->status, c.status) << c.path << " " << c.body.substr(0, 120) << "\n" << res->body;
    json e = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << res->body;
    EXPECT_TRUE(e["error"]["message"].is_string());
    if (!c.param.empty()) {
      EXPECT_EQ(e["error"]["param"], c.param) << res->body;
    }
  }
  json ok = post("/v1/chat/completions", chat("Hi", 4), 200);
  EXPECT_EQ(ok["usage"]["completion_tokens"], 4) << "still serving after the corpus";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, ControlApiRunsFollowsAndCancelsTasksAndMetricsCountThem) {
  auto daemon = start_http({"--max-tokens", "1900", "--ctx", "2048"});
  json queued = post("/api/agents/chat/run", {{"input", "Hello"}, {"priority", "tool"}}, 202);
  int64_t id = queued["id"];
  // The live timeline as server-sent events, until the task ends.
  auto res = client_->Get(("/api/tasks/" + std::to_string(id) + "/events").c_str());
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("event: started"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("event: llm_call"), std::string::npos);
  EXPECT_NE(res->body.find("event: end"), std::string::npos);
  json task = get("/api/tasks/" + std::to_string(id));
  EXPECT_EQ(task["status"], "finished");
  EXPECT_EQ(task["trigger"], "http");
  EXPECT_EQ(task["priority"], "tool");
  EXPECT_EQ(post("/api/tasks/" + std::to_string(id) + "/cancel", json::object(), 409)["error"]["code"], "task_ended");

  json long_task = post("/api/agents/storyteller/run", {{"input", "Once upon a time"}}, 202);
  int64_t long_id = long_task["id"];
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(long_id) + " (storyteller) started"));
  post("/api/tasks/" + std::to_string(long_id) + "/cancel", json::object(), 200);
  ASSERT_TRUE(wait_for_line(*daemon, "task " + std::to_string(long_id) + " cancelled"));
  json listed = get("/api/tasks?agent=storyteller&limit=5");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["status"], "cancelled");

  json status = get("/api/status");
  EXPECT_EQ(status["agents"]["chat"]["state"], "enabled");
  json cli_status = agentd_json({"status", "--json"});
  EXPECT_EQ(cli_status["source"], "api") << "agentd status asks the running daemon";
  EXPECT_EQ(cli_status["tasks"]["cancelled"], 1);
  EXPECT_EQ(status["daemon"]["engine"]["slots"], 4);
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(std::regex_search(metrics->body, std::regex("agentd_requests_total\\{class=\"tool\",finish=\"(stop|length)\"\\} 1")))
      << "the task's model call, at the task's priority:\n" << metrics->body;
  EXPECT_NE(metrics->body.find("agentd_tasks{status=\"cancelled\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("agentd_ttft_ms_count{class=\"tool\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("agentd_queue_depth{class=\"interactive\"} 0"), std::string::npos);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, AFullClassQueueGets429WithRetryAfter) {
  std::ofstream(dir_ / "agentd.json") << R"({"http": {"max_queued": 1}})";
  auto daemon = start_http({"--slots", "1", "--ctx", "2048"});
  // Two long background completions: one holds the only slot, one waits; a third is refused.
  json long_body = chat("Once upon a time", 1900);
  long_body["priority"] = "background";
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&, port = port_] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(300, 0);
      c.Post("/v1/chat/completions", long_body.dump(), "application/json");
    });
  }
  // Wait until the engine reports one background request waiting (each look is a real request).
  bool waiting = false;
  for (int i = 0; i < 5000 && !waiting; ++i) {
    auto m = client_->Get("/metrics");
    waiting = m && m->body.find("agentd_queue_depth{class=\"background\"} 1") != std::string::npos;
  }
  ASSERT_TRUE(waiting);
  auto res = client_->Post("/v1/chat/completions", long_body.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "queue_full");
  // Another class is not limited by background's queue.
  json quick = chat("Hi", 2);
  EXPECT_EQ(post("/v1/chat/completions", quick, 200)["usage"]["completion_tokens"], 2);
  daemon->signal(SIGTERM);
  daemon->signal(SIGTERM);  // don't wait out the long ones
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  for (auto& t : holders) t.join();
}

TEST_F(HttpTest, UnderLoadAnInteractiveRequestGetsItsFirstTokenWithinAFewDecodeSteps) {
  // One slot, held by a long background completion; an interactive one arrives mid-way.
  auto daemon = start_http({"--slots", "1", "--ctx", "2048"});
  json background = chat("Once upon a time", 1900);
  background["priority"] = "background";
  json background_result;
  std::thread holder([&, port = port_] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(300, 0);
    auto res = c.Post("/v1/chat/completions", background.dump(), "application/json");
    if (res) background_result = json::parse(res->body, nullptr, false);
  });
  bool busy = false;  // each look is a real request
  for (int i = 0; i < 5000 && !busy; ++i) {
    auto m = client_->Get("/metrics");
    busy = m && m->body.find("agentd_slots_busy{class=\"background\"} 1") != std::string::npos;
  }
  ASSERT_TRUE(busy);
  json urgent = post("/v1/chat/completions", chat("Hello", 4), 200);
  int64_t waited_steps = urgent["agentd"]["first_token_step"].get<int64_t>() - urgent["agentd"]["submitted_step"].get<int64_t>();
  EXPECT_GE(urgent["agentd"]["submitted_step"].get<int64_t>(), 0);
  EXPECT_LE(waited_steps, 4) << "the interactive request cut in at the next token:\n" << urgent.dump(2);
  holder.join();
  ASSERT_TRUE(background_result.is_object());
  EXPECT_GE(background_result["agentd"]["times_preempted"].get<int>(), 1) << "the background one was paused for it";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, AgentdChatTalksToTheRunningDaemonAndKeepsTheConversation) {
  auto daemon = start_http();
  // stdin is a pipe: one message per line, no prompt; the daemon's address comes from status.json.
  auto r = testing::run_process({"/bin/sh", "-c",
                                 "printf 'Once upon a time\\n/history\\n/max 3\\nThe end\\n/quit\\n' | " +
                                     testing::agentd_binary() + " --db " + db() + " chat --max-tokens 6"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("user: Once upon a time\nassistant: "), std::string::npos) << r.out;
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("agentd_requests_total{class=\"interactive\",finish=\"length\"} 2"), std::string::npos)
      << "two answers, at the interactive class, both cut at max tokens:\n" << m->body;
  EXPECT_NE(m->body.find("agentd_completion_tokens_total{class=\"interactive\"} 9"), std::string::npos)
      << "6 tokens, then 3 after /max 3";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);

  // With the daemon down, a message is a clear error.
  auto refused = testing::run_process({"/bin/sh", "-c", "echo hi | " + testing::agentd_binary() + " --db " + db() +
                                                            " chat --url http://127.0.0.1:9"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("cannot reach the daemon"), std::string::npos) << refused.err;
}

TEST_F(HttpTest, OffLoopbackATokenIsRequired) {
  auto refused = testing::run_process({testing::agentd_binary(), "--db", db(), "run", "--model", test_model(), "--listen",
                                       "0.0.0.0:0", "--log-file-level", "off"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("needs a bearer token"), std::string::npos) << refused.err;

  std::ofstream(dir_ / "agentd.json") << R"({"http": {"token_env": "AGENTD_TEST_HTTP_TOKEN"}})";
  ::setenv("AGENTD_TEST_HTTP_TOKEN", "s3cret", 1);
  auto daemon = start_daemon({"--listen", "0.0.0.0:0"});
  ::unsetenv("AGENTD_TEST_HTTP_TOKEN");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(startup_log_, m, std::regex("http: listening on 0\\.0\\.0\\.0:(\\d+)")));
  httplib::Client c("127.0.0.1", std::stoi(m[1]));
  auto anonymous = c.Get("/v1/models");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(json::parse(anonymous->body)["error"]["code"], "invalid_api_key");
  c.set_bearer_token_auth("s3cret");
  auto allowed = c.Get("/v1/models");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

}  // namespace
}  // namespace agentd
