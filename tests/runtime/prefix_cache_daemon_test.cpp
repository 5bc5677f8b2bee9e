// The prefix cache through the daemon's own path: an agent's second task on the same prompt shows
// its cached tokens in the timeline, an OpenAI client sees them in usage, /metrics and `agentd
// status` count them, and the cache outlives a restart in the data directory.
#include <httplib.h>

#include <regex>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

class PrefixCacheDaemonTest : public DaemonTest {
 protected:
  int port_of_log() {
    std::smatch m;
    if (!std::regex_search(startup_log_, m, std::regex("http: listening on 127\\.0\\.0\\.1:(\\d+)"))) {
      throw std::runtime_error("no http line in:\n" + startup_log_);
    }
    return std::stoi(m[1]);
  }

  json chat_completion(int port, const std::string& system, const std::string& user) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(120, 0);
    json body = {{"model", "stories260K"},
                 {"messages", json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}})},
                 {"max_tokens", 8},
                 {"temperature", 0}};
    auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    return res ? json::parse(res->body) : json();
  }

  int64_t metric(int port, const std::string& name) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/metrics");
    EXPECT_TRUE(res && res->status == 200);
    std::smatch m;
    const std::string body = res ? res->body : "";
    if (!std::regex_search(body, m, std::regex("\n" + name + " (\\d+)\n"))) return -1;
    return std::stoll(m[1]);
  }

  json llm_call_of(int64_t task) {
    const json t = agentd_json({"task", std::to_string(task), "--json"});
    for (const auto& e : t["events"]) {
      if (e["kind"] == "llm_call") return e["data"];
    }
    ADD_FAILURE() << "task " << task << " made no model call: " << t.dump();
    return json::object();
  }

  static constexpr const char* kStory =
      "Once there was a kind old man who lived in a little house near the sea. Every day he walked "
      "to the water and looked at the boats. One day, a little girl named Lily came to see him.";
};

TEST_F(PrefixCacheDaemonTest, AgentsAndClientsSeeTheirCachedTokensAndTheCacheOutlivesARestart) {
  auto daemon = start_daemon({"--max-tokens", "8"});
  const int port = port_of_log();

  // An agent's task twice on the same input: the second call's prompt comes from the cache.
  json first = agentd_json({"submit", "storyteller", "--input", kStory, "--wait", "--json", "--timeout", "2m"});
  json second = agentd_json({"submit", "storyteller", "--input", kStory, "--wait", "--json", "--timeout", "2m"});
  const json call1 = llm_call_of(first["id"].get<int64_t>());
  const json call2 = llm_call_of(second["id"].get<int64_t>());
  EXPECT_EQ(call1["cached_tokens"], 0);
  EXPECT_EQ(call2["cached_tokens"].get<int>(), call2["prompt_tokens"].get<int>() - 1);

  // An OpenAI client: the shared system prompt is reused under another question.
  json a = chat_completion(port, kStory, "Who is Lily?");
  json b = chat_completion(port, kStory, "Where is the house?");
  const int cached_a = a["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>();  // the template's first tag
  const int cached = b["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>();
  EXPECT_GT(cached, cached_a + 40) << "the system prompt alone is longer";
  EXPECT_LT(cached, b["usage"]["prompt_tokens"].get<int>());

  const int64_t hits = metric(port, "agentd_prefix_cache_hit_tokens_total");
  EXPECT_GE(hits, call2["cached_tokens"].get<int64_t>() + cached);
  EXPECT_GT(metric(port, "agentd_prefix_cache_miss_tokens_total"), 0);
  EXPECT_GE(metric(port, "agentd_prefix_cache_entries"), 0);

  daemon->signal(SIGTERM);
  ASSERT_EQ(exit_code(daemon->wait()), 0);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "prefix-cache"));
  EXPECT_FALSE(std::filesystem::is_empty(dir_ / "prefix-cache")) << "written at shutdown";

  // After a restart the same question starts from the disk cache.
  daemon = start_daemon({"--max-tokens", "8"});
  json c = chat_completion(port_of_log(), kStory, "Who is Lily?");
  EXPECT_GT(c["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 40);
  EXPECT_EQ(c["choices"][0]["message"]["content"], a["choices"][0]["message"]["content"]);
  auto status = agentd({"status"});
  EXPECT_NE(status.out.find("prefix cache:"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("s in steps,"), std::string::npos) << "where the engine's time went:\n" << status.out;
  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

}  // namespace
}  // namespace agentd
