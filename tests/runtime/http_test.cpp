// The daemon's HTTP server over real sockets on 127.0.0.1, with the real model: OpenAI chat
// completions (plain, streamed, JSON-schema constrained), a corpus of malformed requests (the
// server keeps answering), the control API, metrics, queue limits, and the token rule.
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
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
    client_->set_default_headers({{"X-Agentd-Request", "1"}});  // what a state-changing /api request carries
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

  // Opens a TCP connection to the daemon (-1 on failure); the caller closes it.
  int connect_raw() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    timeval tv{60, 0};  // a server that never answers fails the test instead of hanging it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  // Sends `bytes` as they are (framing included) and reads until the server closes.
  std::string raw(const std::string& bytes) const {
    int fd = connect_raw();
    if (fd < 0) return "";
    for (size_t sent = 0; sent < bytes.size();) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may answer and close before reading everything
      sent += static_cast<size_t>(n);
    }
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return answer;
  }

  std::string raw_post(const std::string& path, const std::string& headers, const std::string& body) const {
    return raw("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
               "\r\nConnection: close\r\n" + headers + "\r\n" + body);
  }

  static int status_of(const std::string& answer) {
    return answer.starts_with("HTTP/1.1 ") && answer.size() > 12 ? std::stoi(answer.substr(9, 3)) : 0;
  }

  // Looks at /metrics until `pattern` shows (each look is a real request; no sleep), at most
  // `looks` times.
  bool metrics_show(const std::regex& pattern, int looks = 2000) {
    for (int i = 0; i < looks; ++i) {
      auto m = client_->Get("/metrics");
      if (m && std::regex_search(m->body, pattern)) return true;
    }
    return false;
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
    if (chunk.contains("usage")) {
      usage_tokens = chunk["usage"]["completion_tokens"];
      // The usage chunk carries the scheduler's figures, as the plain body does.
      const double queue_wait = chunk["agentd"]["queue_wait_ms"], ttft = chunk["agentd"]["ttft_ms"];
      EXPECT_GE(queue_wait, 0);
      EXPECT_GE(ttft, queue_wait);
    }
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

// stories260K has no template, so tools go through agentd's generic JSON format. Whatever the
// model picks, an answer the token limit cuts is its text so far or its finished calls, never
// the format's own JSON, and streamed it adds up to the same answer.
TEST_F(HttpTest, WithToolsAnAnswerCutByTheTokenLimitIsNeverTheToolFormatsJson) {
  auto daemon = start_http();
  const json tools = json::array({{{"type", "function"},
                                   {"function",
                                    {{"name", "get_time"},
                                     {"parameters", {{"type", "object"}, {"properties", json::object()}}}}}}});
  for (int seed = 1; seed <= 6; ++seed) {
    for (int max_tokens : {8, 40}) {
      json body = chat("What time is it?", max_tokens);
      body["temperature"] = 1;
      body["seed"] = seed;
      body["tools"] = tools;
      const std::string where = "seed " + std::to_string(seed) + ", max_tokens " + std::to_string(max_tokens);
      const json plain = post("/v1/chat/completions", body, 200);
      const json& message = plain["choices"][0]["message"];
      const std::string content = message["content"].is_string() ? message["content"].get<std::string>() : "";
      EXPECT_EQ(content.find("\"response\""), std::string::npos) << where << ": " << plain.dump();
      EXPECT_EQ(content.find("\"tool_calls\""), std::string::npos) << where << ": " << plain.dump();
      EXPECT_FALSE(std::regex_search(content, std::regex(R"(^\{\s*")"))) << where << ": the format's opening: " << plain.dump();
      const size_t calls = message.contains("tool_calls") ? message["tool_calls"].size() : 0;
      for (size_t i = 0; i < calls; ++i) EXPECT_EQ(message["tool_calls"][i]["function"]["name"], "get_time") << where;

      body["stream"] = true;
      auto res = client_->Post("/v1/chat/completions", body.dump(), "application/json");
      ASSERT_TRUE(res && res->status == 200) << where;
      std::string joined;
      size_t streamed_calls = 0;
      std::istringstream lines(res->body);
      for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("data: {")) continue;
        const json chunk = json::parse(line.substr(6));
        if (chunk["choices"].empty()) continue;
        const json& delta = chunk["choices"][0]["delta"];
        joined += delta.value("content", "");
        if (delta.contains("tool_calls") && delta["tool_calls"][0].contains("id")) ++streamed_calls;
      }
      EXPECT_EQ(joined, content) << where << ": streamed and plain answers differ";
      EXPECT_EQ(streamed_calls, calls) << where;
    }
  }
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

// What OpenAI's clients call besides completions: models.retrieve, the request id, logit_bias.
TEST_F(HttpTest, AModelCanBeRetrievedAndALogitBiasReachesTheSampler) {
  auto daemon = start_http();
  EXPECT_EQ(get("/v1/models/stories260K")["id"], "stories260K");
  EXPECT_EQ(get("/v1/models/default")["object"], "model");
  auto missing = client_->Get("/v1/models/gpt-4o");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "model_not_found");

  auto res = client_->Post("/v1/chat/completions", chat("Once upon a time", 4).dump(), "application/json");
  ASSERT_TRUE(res && res->status == 200);
  const json plain = json::parse(res->body);
  EXPECT_EQ(res->get_header_value("x-request-id"), plain["id"]);

  // +100 on one token: greedy picks it at every step.
  json forced = chat("Once upon a time", 4);
  forced["logit_bias"] = {{"100", 100}};
  const std::string text = post("/v1/chat/completions", forced, 200)["choices"][0]["message"]["content"];
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.size() % 4, 0u) << text;
  const std::string piece = text.substr(0, text.size() / 4);
  EXPECT_EQ(text, piece + piece + piece + piece) << "four times the biased token";
  EXPECT_NE(text, plain["choices"][0]["message"]["content"]);

  forced["logit_bias"] = {{"999999", 1}};
  const json refused = post("/v1/chat/completions", forced, 400);
  EXPECT_EQ(refused["error"]["param"], "logit_bias");
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("vocabulary has tokens 0 to"), std::string::npos) << refused.dump();
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
  // 16 tools of 200 required arguments each (100 KB): refused before the template or the grammar
  // sees them (this took seconds and half a GB; 128 of them, 17 GB).
  json many_tools = chat("x", 4);
  for (int t = 0; t < 16; ++t) {
    json params = {{"type", "object"}, {"properties", json::object()}, {"required", json::array()}};
    for (int a = 0; a < 200; ++a) {
      params["properties"]["argument" + std::to_string(a)] = {{"type", "string"}};
      params["required"].push_back("argument" + std::to_string(a));
    }
    many_tools["tools"].push_back({{"type", "function"}, {"function", {{"name", "f" + std::to_string(t)}, {"parameters", params}}}});
  }
  std::vector<Case> cases = {
      {"/v1/chat/completions", "{not json", 400, ""},
      {"/v1/chat/completions", many_tools.dump(), 400, "tools"},
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

TEST_F(HttpTest, TextThatIsNotUtf8IsServedWithReplacementCharactersAndStreamsEndCleanly) {
  auto daemon = start_http();
  // A task whose input is not UTF-8 (a file written by a stranger), queued for an agent that is
  // not loaded, then cancelled: its record and its event stream hold the raw bytes.
  std::ofstream(dir_ / "input.txt", std::ios::binary) << "caf\xE9 \xFF\xFE end";
  auto submitted = agentd({"submit", "nobody", "--force", "--input", "@" + (dir_ / "input.txt").string()});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(submitted.out, m, std::regex("(\\d+)"))) << submitted.out;
  std::string id = m[1];
  ASSERT_EQ(agentd({"cancel", id}).exit_code, 0);

  auto task = client_->Get(("/api/tasks/" + id).c_str());
  ASSERT_TRUE(task);
  EXPECT_EQ(task->status, 200) << task->body;
  EXPECT_EQ(json::parse(task->body, nullptr, false).value("input", ""), "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD end");
  auto events = client_->Get(("/api/tasks/" + id + "/events").c_str());
  ASSERT_TRUE(events) << "the server went away";
  EXPECT_NE(events->body.find("event: end"), std::string::npos) << events->body;
  EXPECT_NE(events->body.find("\xEF\xBF\xBD end"), std::string::npos) << events->body;
  auto tasks = client_->Get("/api/tasks?agent=nobody");
  ASSERT_TRUE(tasks);
  EXPECT_EQ(tasks->status, 200);
  EXPECT_EQ(get("/v1/models")["data"][0]["id"], "stories260K") << "still serving";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, ASchemaNestedThousandsOfLevelsIsRefusedNotACrash) {
  auto daemon = start_http();
  // 50 000 levels in 500 KB, under the body limit.
  std::string schema;
  for (int i = 0; i < 50000; ++i) schema += R"({"items":)";
  schema += "{}" + std::string(50000, '}');
  std::string body = R"({"model": "default", "messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "deep", "schema": )" + schema + "}}}";
  auto res = client_->Post("/v1/chat/completions", body, "application/json");
  ASSERT_TRUE(res) << "no answer: the daemon died";
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("nested"), std::string::npos) << res->body;
  // As deep, in a plain array of the request: refused as well, before the parser builds it.
  std::string deep_user = R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "user": )" +
                          std::string(200000, '[') + std::string(200000, ']') + "}";
  res = client_->Post("/v1/chat/completions", deep_user, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(post("/v1/chat/completions", chat("Hi", 2), 200)["usage"]["completion_tokens"], 2) << "still serving";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, RequestFramingThatCouldSmuggleOrOverflowIsRefused) {
  std::ofstream(dir_ / "agentd.json") << R"({"http": {"max_body_kb": 4}})";
  auto daemon = start_http();
  // Two different Content-Length headers: which one a proxy in front believed is unknowable.
  std::string answer = raw_post("/api/tasks/999999/cancel",
                                "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n", "{}");
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_NE(answer.find("Content-Length"), std::string::npos) << answer;
  // httplib read "abc" as 0 (the request went through with no body) and "-1" as huge.
  for (const char* length : {"abc", "-1"}) {
    answer = raw_post("/api/tasks/999999/cancel", "Content-Type: application/json\r\nContent-Length: " + std::string(length) + "\r\n", "{}");
    EXPECT_EQ(status_of(answer), 400) << length << "\n" << answer;
  }
  // Content-Length together with Transfer-Encoding: the same ambiguity.
  answer = raw_post("/api/tasks/999999/cancel",
                    "Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(answer), 400) << answer;
  // A chunked body past max_body_kb (4 KB): 413, like one with a Content-Length.
  std::string chunked;
  for (int i = 0; i < 4; ++i) chunked += "800\r\n" + std::string(0x800, ' ') + "\r\n";
  answer = raw_post("/v1/chat/completions", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                    chunked + "0\r\n\r\n");
  EXPECT_EQ(status_of(answer), 413) << answer.substr(0, 300);
  // A small chunked body is still read.
  std::string small = chat("Hi", 2).dump();
  char size[16];
  std::snprintf(size, sizeof size, "%zx", small.size());
  answer = raw_post("/v1/chat/completions", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                    std::string(size) + "\r\n" + small + "\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(answer), 200) << answer;

  // A refused request's body is never read as a next request, on a kept-alive connection too:
  // the answer is the refusal alone, then the connection closes. (A web page's no-cors fetch
  // sends such bytes; the request inside started an agent from any site.)
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  const std::string inner = "GET /v1/models HTTP/1.1\r\n" + host + "\r\n";
  auto answers = [](const std::string& a) { return a.find("HTTP/1.1 ", 1) == std::string::npos ? 1 : 2; };
  answer = raw("POST /api/agents/storyteller/run HTTP/1.1\r\n" + host +
               "Connection: keep-alive\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: " +
               std::to_string(inner.size()) + "\r\n\r\n" + inner);
  EXPECT_EQ(status_of(answer), 403) << answer;
  EXPECT_EQ(answers(answer), 1) << "the body was served as a request:\n" << answer;
  // A GET's body, which httplib does not read: refused, never served.
  answer = raw("GET /v1/models HTTP/1.1\r\n" + host + "Connection: keep-alive\r\nContent-Length: " + std::to_string(inner.size()) +
               "\r\n\r\n" + inner);
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_EQ(answers(answer), 1) << "the body was served as a request:\n" << answer;
  // A request line httplib cannot parse: 400, and what follows it is not read as requests.
  answer = raw("NOT A REQUEST LINE\r\n" + inner);
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_EQ(answers(answer), 1) << "what followed a broken head was served:\n" << answer;
  // Over the cap by its Content-Length: 413 naming it, before a byte of the body is read.
  answer = raw("POST /v1/chat/completions HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n");
  EXPECT_EQ(status_of(answer), 413) << answer;
  EXPECT_NE(answer.find("100000000000 bytes"), std::string::npos) << answer;
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

// A client that trickles its head a byte at a time, each within the per-read timeout (5 s), is
// cut off at http.request_timeout_s (here 1 s) instead of holding a worker as long as it likes.
TEST_F(HttpTest, AHeadTrickledByteByByteIsCutOffAtTheRequestTimeout) {
  std::ofstream(dir_ / "agentd.json") << R"({"http": {"request_timeout_s": 1}})";
  auto daemon = start_http();
  const int fd = connect_raw();
  ASSERT_GE(fd, 0);
  const std::string head = "GET /v1/models HTTP/1.1\r\nX-Slow: " + std::string(40, 'a');
  size_t sent = 0;
  for (; sent < head.size(); ++sent) {
    if (::send(fd, head.data() + sent, 1, MSG_NOSIGNAL) != 1) break;
    // The slow client under test: a byte every 200 ms (the behaviour, not a synchronisation).
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    char c;
    if (::recv(fd, &c, 1, MSG_DONTWAIT) >= 0) break;  // the server answered or closed: it gave up

  }
  ::close(fd);
  EXPECT_LT(sent, head.size()) << "the server waited for the whole trickled head (" << head.size() * 200 / 1000 << " s)";
  EXPECT_EQ(get("/v1/models")["data"][0]["id"], "stories260K") << "still serving";
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, ASecondDaemonCannotListenOnTheSamePort) {
  auto daemon = start_http();
  testing::TempDir other;
  std::filesystem::create_directories(other.path() / "agents.d");
  testing::ChildProcess second({testing::agentd_binary(), "--db", (other.path() / "agentd.db").string(), "run", "--model",
                                test_model(), "--threads", "1", "--log-file-level", "off", "--listen",
                                "127.0.0.1:" + std::to_string(port_)},
                               /*merge_stderr=*/true);
  std::string log;
  bool served = false;
  while (auto line = second.read_line()) {
    log += *line + "\n";
    if (line->find("serving:") != std::string::npos) {
      served = true;
      break;
    }
  }
  if (served) second.kill();
  int status = second.wait();
  EXPECT_FALSE(served) << "two daemons on one port: the kernel splits connections between them\n" << log;
  EXPECT_EQ(exit_code(status), 1) << log;
  EXPECT_NE(log.find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos) << log;
  // The listen backlog (ss shows it as Send-Q of a listening socket) is more than httplib's 5.
  auto ss = testing::run_process({"/bin/sh", "-c", "ss -ltnH 'sport = :" + std::to_string(port_) + "'"});
  std::istringstream fields(ss.out);
  std::string state, recv_q, send_q;
  fields >> state >> recv_q >> send_q;
  if (!send_q.empty()) {
    EXPECT_GE(std::stoi(send_q), 128) << ss.out;
  }
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

// SIGTERM while a client waits on a long generation: stopping ends it (the client gets its answer
// so far) instead of waiting for it to run out.
TEST_F(HttpTest, StoppingTheDaemonEndsTheGenerationsClientsWaitOn) {
  auto daemon = start_http({"--slots", "1", "--ctx", "2048"});
  json body = chat("Once upon a time", 1900);
  std::optional<httplib::Result> answer;
  std::thread waiting([&, port = port_] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(600, 0);
    answer = c.Post("/v1/chat/completions", body.dump(), "application/json");
  });
  const bool running = metrics_show(std::regex("agentd_slots_busy\\{class=\"[a-z]+\"\\} 1"));
  EXPECT_TRUE(running) << "the generation never started";  // (no ASSERT: the thread must be joined)
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  waiting.join();
  ASSERT_TRUE(answer && *answer);
  EXPECT_EQ((*answer)->status, 200);
  json done = json::parse((*answer)->body);
  EXPECT_LT(done["usage"]["completion_tokens"].get<int>(), 1900) << "it ran to its end before the daemon stopped";
}

TEST_F(HttpTest, CrossSiteRequestsCannotStartAgentsOrCancelTasks) {
  auto daemon = start_http();
  const std::string json_type = "Content-Type: application/json\r\n";
  const std::string body = R"({"input": "x"})";
  auto post_with = [&](const std::string& headers, const std::string& host) {
    return raw("POST /api/agents/storyteller/run HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" + headers +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  const std::string here = "127.0.0.1:" + std::to_string(port_);
  // DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name as Host.
  std::string answer = post_with(json_type, "evil.example:" + std::to_string(port_));
  EXPECT_EQ(status_of(answer), 403) << answer;
  EXPECT_NE(answer.find("Host"), std::string::npos) << answer;
  // A page on another origin posting here.
  answer = post_with(json_type + "Origin: https://evil.example\r\n", here);
  EXPECT_EQ(status_of(answer), 403) << answer;
  EXPECT_NE(answer.find("Origin"), std::string::npos) << answer;
  // What an HTML form or a no-cors fetch can send: not JSON, so refused.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    answer = post_with(std::string("Content-Type: ") + type + "\r\n", here);
    EXPECT_EQ(status_of(answer), 415) << type << "\n" << answer;
  }
  answer = raw("POST /api/tasks/1/cancel HTTP/1.1\r\nHost: " + here + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_of(answer), 415) << "no Content-Type at all (fetch with no body)\n" << answer;
  // Reads through a rebound name are refused too: the timeline is private.
  answer = raw("GET /api/tasks HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(answer), 403) << answer;
  // A browser says where the request comes from: another site is refused whatever else it sends.
  const std::string control = "X-Agentd-Request: 1\r\n";
  for (const char* site : {"cross-site", "same-site"}) {
    answer = post_with(json_type + control + "Sec-Fetch-Site: " + site + "\r\n", here);
    EXPECT_EQ(status_of(answer), 403) << site << "\n" << answer;
  }
  // Without the control header (or the token) /api changes nothing, even as same-origin JSON.
  answer = post_with(json_type + "Origin: http://" + here + "\r\nSec-Fetch-Site: same-origin\r\n", here);
  EXPECT_EQ(status_of(answer), 403) << answer;
  EXPECT_NE(answer.find("X-Agentd-Request"), std::string::npos) << answer;
  // The same page, same origin, and plain clients pass.
  answer = post_with(json_type + control + "Origin: http://localhost:" + std::to_string(port_) + "\r\nSec-Fetch-Site: same-origin\r\n",
                     "localhost:" + std::to_string(port_));
  EXPECT_EQ(status_of(answer), 202) << answer;
  answer = post_with("Content-Type: application/json; charset=utf-8\r\n" + control, here);
  EXPECT_EQ(status_of(answer), 202) << answer;
  EXPECT_EQ(get("/api/tasks?agent=storyteller").size(), 2u) << "only the two allowed requests queued a task";
  daemon->signal(SIGTERM);
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

TEST_F(HttpTest, AnInteractiveChatIsAnsweredWhileBackgroundRequestsFillTheirClassAndIdleConnectionsAreOpen) {
  std::ofstream(dir_ / "agentd.json") << R"({"http": {"max_queued": 12}})";
  auto daemon = start_http({"--slots", "1", "--ctx", "2048"});
  // 13 long background completions, not streamed: one runs, 12 wait (the class's queue is full).
  // With httplib's 8 worker threads, the 9th already waited for a thread and the chat behind it.
  json background = chat("Once upon a time", 1900);
  background["priority"] = "background";
  std::vector<std::thread> holders;
  for (int i = 0; i < 13; ++i) {
    holders.emplace_back([&, port = port_] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(600, 0);
      c.Post("/v1/chat/completions", background.dump(), "application/json");
    });
  }
  // 200 connections that never send a byte.
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(connect_raw());
  ASSERT_TRUE(metrics_show(std::regex("agentd_queue_depth\\{class=\"background\"\\} 12\n")))
      << "the 13 background requests did not all reach the engine";
  // The 14th background request is refused at once: its class is full, below the worker count.
  auto refused = client_->Post("/v1/chat/completions", background.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  // The chat is answered while every background request is still held: none has finished.
  json urgent = post("/v1/chat/completions", chat("Hello", 4), 200);
  EXPECT_EQ(urgent["usage"]["completion_tokens"], 4);
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body.find("agentd_requests_total{class=\"background\""), std::string::npos)
      << "a background request finished before the chat was answered:\n" << m->body;
  for (int fd : idle) ::close(fd);
  daemon->signal(SIGTERM);
  daemon->signal(SIGTERM);  // don't wait out the long ones
  EXPECT_EQ(exit_code(daemon->wait()), 0);
  for (auto& t : holders) t.join();
}

TEST_F(HttpTest, V1CallsOfOtherProgramsAreRecordedInHistoryWithTheirLabelClassTokensAndTtft) {
  auto daemon = start_http();
  json body = chat("Once upon a time", 8);
  body["agent"] = "editor";
  body["priority"] = "tool";
  post("/v1/chat/completions", body, 200);
  json streamed = chat("Hello", 4);
  streamed["stream"] = true;
  auto res = client_->Post("/v1/chat/completions", streamed.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_NE(res->body.find("[DONE]"), std::string::npos);

  json labelled = get("/api/tasks?agent=v1:editor");
  ASSERT_EQ(labelled.size(), 1u);
  EXPECT_EQ(labelled[0]["status"], "finished");
  EXPECT_EQ(labelled[0]["priority"], "tool");
  EXPECT_EQ(labelled[0]["input"], "Once upon a time");
  json task = get("/api/tasks/" + std::to_string(labelled[0]["id"].get<int64_t>()));
  json call;
  for (const auto& e : task["events"]) {
    if (e["kind"] == "llm_call") call = e["data"];
  }
  ASSERT_TRUE(call.is_object()) << task.dump();
  EXPECT_EQ(call["completion_tokens"], 8);
  EXPECT_EQ(call["label"], "editor");
  EXPECT_GE(call["ttft_ms"].get<double>(), 0);
  // The streamed one without a label; both in `agentd tasks` and in /metrics' task counts.
  // (A stream's call is recorded before its "[DONE]" is sent.)
  json cli = agentd_json({"tasks", "--agent", "v1", "--json"});
  ASSERT_EQ(cli.size(), 1u);
  EXPECT_EQ(cli[0]["priority"], "interactive");
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("agentd_tasks{status=\"finished\"} 2"), std::string::npos) << metrics->body;
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
  EXPECT_GT(status["daemon"]["engine"]["time"]["step_seconds"].get<double>(), 0.0) << "the engine ran the tasks' calls";
  EXPECT_GT(status["daemon"]["engine"]["time"]["idle_seconds"].get<double>(), 0.0) << "and waited before them";
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
  ASSERT_TRUE(metrics_show(std::regex("agentd_slots_busy\\{class=\"background\"\\} 1\n"), 5000));
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
