// NewsAgent end to end with a mock engine: feed files in a real folder, feeds over HTTP from a
// real server on 127.0.0.1, de-duplication within a run and across runs, the news file, the note,
// malformed feeds logged, and bad settings refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <functional>
#include <future>
#include <stop_token>
#include <thread>

#include "agents/config_reader.hpp"
#include "agents/news/news_agent.hpp"
#include "agents/registry.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;

// Tuesday 4 March 2025, 12:00 UTC.
constexpr int64_t kNoon = 1741089600000;

std::string rss(const std::string& items) {
  return "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog</title>" + items + "</channel></rss>";
}
std::string rss_item(const std::string& guid, const std::string& title, const std::string& date) {
  return "<item><title>" + title + "</title><guid>" + guid + "</guid><link>https://b.example.org/" + guid +
         "</link><pubDate>" + date + "</pubDate><description>About " + title + ".</description></item>";
}
std::string atom(const std::string& entries) {
  return "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Project</title>" + entries + "</feed>";
}
std::string atom_entry(const std::string& id, const std::string& title, const std::string& updated) {
  return "<entry><title>" + title + "</title><id>" + id + "</id><updated>" + updated + "</updated><summary>" + title +
         " in short.</summary></entry>";
}

class NewsAgentTest : public test_support::AgentsTest {
 protected:
  NewsAgentTest() {
    feeds = agent_folders("news", "feeds");
    config.settings = {{"time_zone", "UTC"}};
    now = kNoon;
  }

  // Runs a task; the model answers "summary N" to the N-th call; prompts are collected.
  std::string run(int model_calls, std::vector<std::string>* prompts = nullptr, int64_t* task_id = nullptr) {
    NewsAgent agent(config);
    storage::Task task = make_task();
    if (task_id) *task_id = task.id;
    int n = 0;
    auto answer = [&n, prompts](engine::Request r) {
      if (prompts) prompts->push_back(r.messages.back().content);
      return std::unique_ptr<engine::Generation>(std::make_unique<test_support::FakeGeneration>(
          test_support::text_result("summary " + std::to_string(++n) + "\nsecond line"),
          std::make_shared<test_support::GenerationProbe>()));
    };
    // Over-saturation fails the test; the default action keeps it from crashing the suite.
    ON_CALL(engine, submit(_)).WillByDefault(answer);
    EXPECT_CALL(engine, submit(_)).Times(model_calls).WillRepeatedly(answer);
    TaskContext ctx(config, task, services(), std::stop_source().get_token());
    std::string output = agent.run(ctx);
    ::testing::Mock::VerifyAndClearExpectations(&engine);
    return output;
  }

  std::string config_error() { return config_error_of<NewsAgent>(); }

  fs::path feeds;
};

TEST_F(NewsAgentTest, SummarisesNewItemsNewestFirstAndWritesTheNewsFileAndANote) {
  write_file(feeds / "blog.rss", rss(rss_item("p1", "Release 2.0", "Mon, 03 Mar 2025 09:30:00 +0100") +
                                     rss_item("p2", "Stale builds", "Thu, 27 Feb 2025 16:05:00 GMT")));
  write_file(feeds / "project.atom", atom(atom_entry("tag:x,1", "Security fix", "2025-03-04T11:45:00+01:00")));
  std::vector<std::string> prompts;
  int64_t task = 0;
  std::string output = run(3, &prompts, &task);

  EXPECT_EQ(prompts[0], "Summarise this news item in one sentence.\nFeed: Project\nTitle: Security fix\n"
                        "Text: Security fix in short.\n");
  EXPECT_THAT(prompts[1], HasSubstr("Title: Release 2.0\n"));
  EXPECT_THAT(prompts[2], HasSubstr("Title: Stale builds\n"));
  EXPECT_EQ(output,
            "## 2025-03-04 12:00 — 3 new items (2 feeds, 0 already seen)\n"
            "\n### Security fix\nProject · 2025-03-04 10:45\n\nsummary 1 second line\n"
            "\n### Release 2.0\nBlog · 2025-03-03 08:30 · <https://b.example.org/p1>\n\nsummary 2 second line\n"
            "\n### Stale builds\nBlog · 2025-02-27 16:05 · <https://b.example.org/p2>\n\nsummary 3 second line\n");
  EXPECT_EQ(read_file(out / "news-2025-03-04.md"), output + "\n");
  auto notes = memory.recent_notes("news", 5);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].text,
            "News 2025-03-04 12:00: 3 new item(s).\n- Security fix (Project): summary 1 second line\n"
            "- Release 2.0 (Blog): summary 2 second line\n- Stale builds (Blog): summary 3 second line\n");
  EXPECT_EQ(events_of(task, storage::event::llm_call).size(), 3u);
}

TEST_F(NewsAgentTest, AnItemsTextIsDecodedOnce) {
  // The feed escapes HTML that itself shows the text "<b>": one decoding gives "<b>", a second
  // would take it for a tag and drop it.
  write_file(feeds / "blog.rss",
             rss("<item><title>Tags</title><guid>t1</guid><description>Use &amp;lt;b&amp;gt; for bold."
                 "</description></item>"));
  std::vector<std::string> prompts;
  run(1, &prompts);
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_THAT(prompts[0], HasSubstr("Text: Use <b> for bold."));
}

TEST_F(NewsAgentTest, TheSameItemInTwoFeedsIsReportedOnce) {
  write_file(feeds / "a.rss", rss(rss_item("shared", "Shared story", "Mon, 03 Mar 2025 09:30:00 GMT")));
  write_file(feeds / "b.atom", atom(atom_entry("shared", "Shared story again", "2025-03-03T09:30:00Z") +
                                    atom_entry("own", "Own story", "2025-03-01T00:00:00Z")));
  std::string output = run(2);
  EXPECT_THAT(output, HasSubstr("2 new items (2 feeds, 1 already seen)"));
  EXPECT_THAT(output, HasSubstr("### Shared story\nBlog"));  // from the first feed read (a.rss)
  EXPECT_THAT(output, Not(HasSubstr("Shared story again")));
}

TEST_F(NewsAgentTest, AFolderListedTwiceIsReadOnce) {
  config.read_folders = {feeds, feeds};  // a watched folder is also a read folder
  write_file(feeds / "blog.rss", rss(rss_item("p1", "One", "Mon, 03 Mar 2025 09:30:00 GMT")));
  EXPECT_THAT(run(1), HasSubstr("1 new item (1 feed, 0 already seen)"));
}

TEST_F(NewsAgentTest, RemembersWhatItReportedAcrossRuns) {
  write_file(feeds / "blog.rss", rss(rss_item("p1", "One", "Mon, 03 Mar 2025 09:30:00 GMT")));
  run(1);
  // Second run, nothing new: no model call, nothing appended, no note.
  now += 3600'000;
  EXPECT_EQ(run(0), "## 2025-03-04 13:00 — no new items (1 feed, 1 already seen)\n");
  // Third run: one new item in the feed.
  write_file(feeds / "blog.rss", rss(rss_item("p1", "One", "Mon, 03 Mar 2025 09:30:00 GMT") +
                                     rss_item("p2", "Two", "Tue, 04 Mar 2025 12:30:00 GMT")));
  now += 3600'000;
  std::string third = run(1);
  EXPECT_THAT(third, HasSubstr("1 new item (1 feed, 1 already seen)"));
  EXPECT_THAT(third, HasSubstr("### Two\n"));
  std::string file = read_file(out / "news-2025-03-04.md");
  EXPECT_THAT(file, HasSubstr("## 2025-03-04 12:00 — 1 new item"));
  EXPECT_THAT(file, HasSubstr("## 2025-03-04 14:00 — 1 new item"));
  EXPECT_THAT(file, Not(HasSubstr("13:00")));
  EXPECT_EQ(memory.recent_notes("news", 5).size(), 2u);
}

TEST_F(NewsAgentTest, TheMemoryOfSeenItemsIsBounded) {
  config.settings["remember"] = 10;
  std::string items;
  for (int i = 0; i < 12; ++i) {
    std::string n = std::to_string(i);
    items += rss_item(std::string("g") + n, std::string("Item ") + n, "");
  }
  write_file(feeds / "blog.rss", rss(items));
  config.settings["max_items"] = 0;  // list only, no model calls
  std::string first = run(0);
  EXPECT_THAT(first, HasSubstr("12 new items"));
  EXPECT_EQ(memory.get("news", "seen_items")->size(), 10u);
  // The two oldest keys were dropped, so those two items count as new again.
  std::string second = run(0);
  EXPECT_THAT(second, HasSubstr("2 new items (1 feed, 10 already seen)"));
  EXPECT_THAT(second, HasSubstr("- Item 0 (Blog) <https://b.example.org/g0>"));
}

TEST_F(NewsAgentTest, SummarisesAtMostMaxItemsAndListsTheRest) {
  config.settings["max_items"] = 1;
  write_file(feeds / "blog.rss", rss(rss_item("p1", "Old", "Mon, 03 Mar 2025 09:30:00 GMT") +
                                     rss_item("p2", "New", "Tue, 04 Mar 2025 09:30:00 GMT") +
                                     "<item><title>Undated</title><guid>p3</guid></item>"));
  std::string output = run(1);
  EXPECT_THAT(output, HasSubstr("### New\n"));
  EXPECT_THAT(output, HasSubstr("\n### Also new\n\n- Old (Blog) <https://b.example.org/p1>\n- Undated (Blog)\n"));
}

TEST_F(NewsAgentTest, AnEmptyModelAnswerFallsBackToTheItemsText) {
  write_file(feeds / "blog.rss", rss(rss_item("p1", "One", "Mon, 03 Mar 2025 09:30:00 GMT")));
  NewsAgent agent(config);
  answer_with("   ");
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT(agent.run(ctx), HasSubstr("\n\nAbout One.\n"));
}

TEST_F(NewsAgentTest, MalformedFeedsAreLoggedAndSkipped) {
  config.limits.max_input_bytes = 4096;
  write_file(feeds / "good.rss", rss(rss_item("p1", "One", "Mon, 03 Mar 2025 09:30:00 GMT")));
  write_file(feeds / "broken.xml", "<rss><channel><item><title>cut off");
  write_file(feeds / "page.xml", "<html><body>hello</body></html>");
  write_file(feeds / "huge.rss", std::string(5000, ' '));
  int64_t task = 0;
  std::string output = run(1, nullptr, &task);
  EXPECT_THAT(output, HasSubstr("1 new item (1 feed, 0 already seen)"));
  std::string logs = logs_of(task);
  EXPECT_THAT(logs, HasSubstr((feeds / "broken.xml").string() + "\""));
  EXPECT_THAT(logs, HasSubstr("malformed XML"));
  EXPECT_THAT(logs, HasSubstr("the root element is <html>"));
  EXPECT_THAT(logs, HasSubstr((feeds / "huge.rss").string()));
}

TEST_F(NewsAgentTest, FailsWhenNoFeedCanBeRead) {
  NewsAgent agent(config);
  TaskContext none(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT([&] { agent.run(none); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("no feed files")));
  write_file(feeds / "broken.xml", "<rss>");
  TaskContext broken(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT([&] { agent.run(broken); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("none of the 1 feed(s) could be read")));
}

// A real HTTP server on 127.0.0.1, serving a feed, an oversized body and a 404.
class LocalFeedServer {
 public:
  LocalFeedServer() {
    server_.Get("/feed.xml", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(rss(rss_item("web1", "From the web", "Tue, 04 Mar 2025 08:00:00 GMT")), "application/rss+xml");
    });
    server_.Get("/big.xml", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100'000, 'x'), "application/xml");
    });
    server_.Get("/moved.xml", [this](const httplib::Request&, httplib::Response& res) {
      res.set_redirect(url("/feed.xml"));  // to plain http: not followed
    });
    server_.Get("/slow.xml", [this](const httplib::Request&, httplib::Response& res) {
      if (on_slow) on_slow();
      res.set_content(rss(rss_item("slow1", "Late", "Tue, 04 Mar 2025 08:00:00 GMT")), "application/rss+xml");
    });
    server_.Get("/to-https.xml", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("https://127.0.0.1:1/feed.xml");  // to https: followed (nothing listens there)
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~LocalFeedServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::function<void()> on_slow;  // runs on the server's thread before /slow.xml answers

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(NewsAgentTest, FetchesFeedsFromUrlsWithASizeCap) {
  LocalFeedServer server;
  config.read_folders.clear();
  config.limits.max_input_bytes = 50'000;
  config.settings["urls"] = {server.url("/feed.xml"), server.url("/big.xml"), server.url("/missing.xml")};
  int64_t task = 0;
  std::string output = run(1, nullptr, &task);
  EXPECT_THAT(output, HasSubstr("### From the web\nBlog · 2025-03-04 08:00 · <https://b.example.org/web1>"));
  std::string logs = logs_of(task);
  EXPECT_THAT(logs, HasSubstr("fetched " + server.url("/feed.xml")));
  EXPECT_THAT(logs, HasSubstr(server.url("/big.xml") + ": larger than 50000 bytes"));
  EXPECT_THAT(logs, HasSubstr(server.url("/missing.xml") + ": HTTP status 404"));
}

// The fetch runs through TaskContext::call_blocking: the task's cancellation ends the wait while
// the transfer is still in flight, and the call is in the timeline.
TEST_F(NewsAgentTest, AFetchInFlightEndsWithTheTasksCancellation) {
  LocalFeedServer server;
  std::stop_source task_stop;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server.on_slow = [&task_stop, released] {
    task_stop.request_stop();  // cancelled while the server holds the answer back
    released.wait();
  };
  config.read_folders.clear();
  config.settings["urls"] = {server.url("/slow.xml")};
  NewsAgent agent(config);
  storage::Task task = make_task();
  TaskContext ctx(config, task, services(), task_stop.get_token());
  EXPECT_THROW(agent.run(ctx), TaskCancelled);
  release.set_value();
  auto calls = events_of(task.id, "blocking_call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].data["what"], "fetch " + server.url("/slow.xml"));
  EXPECT_EQ(calls[0].data["outcome"], "cancelled");
}

TEST_F(NewsAgentTest, RedirectsAreFollowedOnlyToHttps) {
  LocalFeedServer server;
  config.read_folders.clear();
  config.settings["urls"] = {server.url("/feed.xml"), server.url("/moved.xml"), server.url("/to-https.xml")};
  int64_t task = 0;
  run(1, nullptr, &task);
  std::string logs = logs_of(task);
  EXPECT_THAT(logs, HasSubstr(server.url("/moved.xml") + ": redirected to " + server.url("/feed.xml") +
                              "; refused: only redirects to https:// are followed"));
  EXPECT_THAT(logs, HasSubstr(server.url("/to-https.xml") + ": "));
  EXPECT_THAT(logs, Not(HasSubstr(server.url("/to-https.xml") + ": redirected")));
}

TEST_F(NewsAgentTest, RefusesBadSettings) {
  config.settings = {{"url", "http://x"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/url: unknown key (did you mean 'urls'?)"));
  config.settings = {{"urls", {"http://ok.example.org/feed", "ftp://x/feed"}}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/urls/1: 'ftp://x/feed': not an http:// or https:// URL"));
  config.settings = {{"urls", {"http:///nohost"}}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/urls/0: 'http:///nohost': no host"));
  config.settings = {{"max_items", 1000}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/max_items: 1000 is outside 0..100"));
  config.settings = {{"fetch_timeout", "1h"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/fetch_timeout: must be between 1s and 5m"));
  config.settings = {{"globs", nlohmann::json::array()}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/globs: no file patterns"));
  config.settings = nlohmann::json::object();
  config.read_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr("/folders/read: the news plugin needs a folder of feed files or settings.urls"));
}

TEST_F(NewsAgentTest, HttpsUrlsAreAcceptedWhenTheLibraryHasTls) {
  config.settings = {{"urls", {"https://feeds.example.org/a.xml"}}};
  if (https_supported()) {
    EXPECT_NO_THROW(NewsAgent{config});
  } else {
    EXPECT_THAT(config_error(), HasSubstr("https:// is not supported"));
  }
}

TEST_F(NewsAgentTest, IsABuiltinPluginThatOutlivesTheConfigItWasMadeFrom) {
  std::unique_ptr<Agent> agent;
  {
    AgentConfig copy = config;
    agent = builtin_plugins().create(copy);
  }
  EXPECT_NE(dynamic_cast<NewsAgent*>(agent.get()), nullptr);
  write_file(feeds / "blog.rss", rss(rss_item("p1", "One", "Mon, 03 Mar 2025 09:30:00 GMT")));
  answer_with("ok");
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT(agent->run(ctx), HasSubstr("1 new item"));
}

}  // namespace
}  // namespace agentd::agents
