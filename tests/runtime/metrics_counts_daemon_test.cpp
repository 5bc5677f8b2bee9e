// GET /metrics on a database of 20k tasks: agentd_tasks{status} equals a COUNT straight from the
// file, and stays equal as tasks are added, finished, failed, cancelled (from another process)
// and pruned (`agentd db prune`, another process too). The counts come from task_counts, which
// the schema's triggers keep (tests/storage/task_counts_test.cpp shows a scrape reads no task row).
#include <httplib.h>
#include <sqlite3.h>

#include <regex>

#include "storage/schema.hpp"
#include "storage/task_store.hpp"
#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

class MetricsCountsTest : public DaemonTest {
 protected:
  // agentd_tasks{status="..."} as /metrics reports them.
  std::map<std::string, int64_t> scraped() {
    auto res = http_->Get("/metrics");
    EXPECT_TRUE(res && res->status == 200);
    std::map<std::string, int64_t> out;
    if (!res) return out;
    std::regex line("agentd_tasks\\{status=\"([a-z]+)\"\\} (\\d+)");
    for (std::sregex_iterator it(res->body.begin(), res->body.end(), line), end; it != end; ++it) {
      out[(*it)[1]] = std::stoll((*it)[2]);
    }
    return out;
  }

  // The same, counted from the file (every status listed, zero or not).
  std::map<std::string, int64_t> counted() {
    std::map<std::string, int64_t> out;
    for (const char* s : {"queued", "running", "finished", "failed", "cancelled", "interrupted"}) out[s] = 0;
    auto conn = storage::open_database(db(), storage::OpenMode::read_only);
    auto q = conn->prepare("SELECT status, count(*) FROM tasks GROUP BY status");
    while (q.step()) out[q.text(0)] = q.int64(1);
    return out;
  }

  void connect(const std::string& log) {
    std::smatch m;
    if (!std::regex_search(log, m, std::regex("http: listening on 127\\.0\\.0\\.1:(\\d+)"))) {
      throw std::runtime_error("no http line in:\n" + log);
    }
    http_ = std::make_unique<httplib::Client>("127.0.0.1", std::stoi(m[1]));
    http_->set_read_timeout(60, 0);
  }

  std::unique_ptr<httplib::Client> http_;
};

TEST_F(MetricsCountsTest, TaskCountsEqualACountAt20kTasksThroughEveryKindOfChange) {
  {  // 20k tasks in every ended state, of an agent the daemon does not load (so they stay put)
    auto conn = storage::open_database(db());
    storage::TaskStore tasks(*conn);
    storage::Transaction batch(*conn);
    for (int i = 0; i < 20'000; ++i) {
      int64_t id = tasks.enqueue({.agent = "ghost", .input = "x"});
      if (i % 4 == 0) continue;
      tasks.claim(id);
      if (i % 4 == 1) tasks.finish(id, "out");
      if (i % 4 == 2) tasks.fail(id, "boom");
      if (i % 4 == 3) tasks.cancel(id, "no");
    }
    conn->exec("UPDATE tasks SET created_at = 1000 WHERE id <= 6000");  // prunable
    batch.commit();
  }
  auto daemon = start_daemon({"--max-tokens", "8", "--ctx", "256"});
  connect(startup_log_);
  EXPECT_EQ(scraped(), counted());
  EXPECT_EQ(scraped()["queued"], 5000);

  json finished = agentd_json({"submit", "storyteller", "--input", "Once upon a time", "--wait", "--json"});
  EXPECT_EQ(finished["status"], "finished");
  EXPECT_EQ(scraped(), counted());

  std::string too_long;  // more tokens than the 256-token context: the model call is refused
  for (int i = 0; i < 400; ++i) too_long += "the cat sat on the mat ";
  json failed = json::parse(agentd({"submit", "storyteller", "--input", too_long, "--wait", "--json"}).out);
  EXPECT_EQ(failed["status"], "failed") << failed.dump();
  EXPECT_EQ(scraped(), counted());

  auto queued = agentd({"submit", "ghost", "--force"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  EXPECT_EQ(scraped(), counted());
  ASSERT_EQ(agentd({"cancel", std::to_string(std::stoll(queued.out))}).exit_code, 0);
  EXPECT_EQ(scraped(), counted());

  auto pruned = agentd({"db", "prune", "--older-than", "1d"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  auto after = scraped();
  EXPECT_EQ(after, counted());
  int64_t total = 0;
  for (const auto& [status, n] : after) total += n;
  EXPECT_EQ(total, 20'000 + 3 - 4500) << "the 4,500 ended tasks among the first 6,000 were pruned";

  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

}  // namespace
}  // namespace agentd
