// MarketAgent end to end with the mock engine: the scan of a folder of price CSVs into a report
// file, the prompt carrying the computed table, malformed rows and files logged while the rest is
// scanned, data gaps, the watch list, reads confined to the folders, and settings errors. Also the
// registry entries of market, risk and extractor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/market/market_agent.hpp"
#include "agents/registry.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kTuesdayAfternoonUtc = 1709647629000;  // 2024-03-05 14:07:09 UTC

// A price CSV on consecutive weekdays from Monday 2024-01-01: open = close, high = close + 1,
// low = close - 1, volume 100 except the last row's `last_volume`.
std::string price_csv(const std::vector<double>& closes, double last_volume = 100) {
  std::string csv = "date,open,high,low,close,volume\n";
  auto d = std::chrono::sys_days(std::chrono::year(2024) / 1 / 1);
  for (size_t i = 0; i < closes.size(); ++i) {
    while (std::chrono::weekday(d) == std::chrono::Saturday || std::chrono::weekday(d) == std::chrono::Sunday) {
      d += std::chrono::days(1);
    }
    const double c = closes[i];
    csv += iso_date(d) + "," + std::to_string(c) + "," + std::to_string(c + 1) + "," + std::to_string(c - 1) + "," +
           std::to_string(c) + "," + (i + 1 == closes.size() ? std::to_string(last_volume) : "100") + "\n";
    d += std::chrono::days(1);
  }
  return csv;
}

// 10, 11, ..., 30 and then 35: a breakout above the prior 20-session high of 31.
std::vector<double> breakout_closes() {
  std::vector<double> closes;
  for (int c = 10; c <= 30; ++c) closes.push_back(c);
  closes.push_back(35);
  return closes;
}

class MarketTest : public test_support::AgentsTest {
 protected:
  static void SetUpTestSuite() {
    setenv("TZ", "UTC", 1);
    tzset();
  }

  MarketTest() {
    prices = agent_folders("market", "prices");
    now = kTuesdayAfternoonUtc;
  }

  Run run(const std::string& note) {
    MarketAgent agent(config);
    return run_answering(agent, note);
  }

  std::string config_error() { return config_error_of<MarketAgent>(); }

  fs::path prices;
};

TEST_F(MarketTest, ScansEveryCsvIntoAReportWithTheModelsNote) {
  write_file(prices / "ACME.csv", price_csv(breakout_closes(), 500));
  write_file(prices / "BOLT.csv", price_csv({11, 12, 12}));
  write_file(prices / "readme.txt", "not a price file");
  Run r = run("  ACME broke out on heavy volume.\n");

  const std::string acme_row = "| ACME | 2024-01-30 | 35.00 | +16.7% | +34.6% | +218.2% | 21.70 | n/a | breakout, volume spike |\n";
  const std::string bolt_row = "| BOLT | 2024-01-03 | 12.00 | 0.0% | n/a | n/a | n/a | n/a | - |\n";
  EXPECT_THAT(r.output, HasSubstr(acme_row));
  EXPECT_THAT(r.output, HasSubstr(bolt_row));
  EXPECT_THAT(r.output, HasSubstr("- ACME: breakout, close 35.00 above the 20-session high 31.00\n"));
  EXPECT_THAT(r.output, HasSubstr("- ACME: volume spike, 5.0x the 20-session average (500 vs 100)\n"));
  EXPECT_THAT(r.output, HasSubstr("- BOLT: only 3 sessions, some indicators n/a\n"));
  EXPECT_THAT(r.output, HasSubstr("## Note\n\nACME broke out on heavy volume.\n"));
  EXPECT_THAT(r.output, Not(HasSubstr("readme")));
  EXPECT_EQ(read_file(out / "market-2024-03-05.md"), r.output);

  // The model is given the computed table and signals, not asked to compute them.
  EXPECT_THAT(r.prompt, HasSubstr("Watch-list scan of 2024-03-05"));
  EXPECT_THAT(r.prompt, HasSubstr(acme_row));
  EXPECT_THAT(r.prompt, HasSubstr("- ACME: volume spike, 5.0x"));

  const std::string summary = "Market scan 2024-03-05: 2 symbols; signals: ACME breakout, ACME volume spike; "
                              "best 5d ACME +34.6%, worst 5d ACME +34.6%.";
  EXPECT_THAT(r.output, HasSubstr("# Market scan 2024-03-05\n\n" + summary + "\n"));
  auto notes = memory.recent_notes("market", 5);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].text, summary);

  // The timeline: the listing, both files read, the report written.
  auto reads = events_of(r.task.id, "read");
  ASSERT_EQ(reads.size(), 3u);
  EXPECT_EQ(reads[1].data["path"], (prices / "ACME.csv").string());
  EXPECT_EQ(reads[2].data["path"], (prices / "BOLT.csv").string());
  auto wrote = events_of(r.task.id, "wrote");
  ASSERT_EQ(wrote.size(), 1u);
  EXPECT_EQ(wrote[0].data["path"], (out / "market-2024-03-05.md").string());
}

// The engine's prefix cache reuses the longest prompt prefix it has seen: the note's instruction
// comes first, whole, and the dated scan after it.
TEST_F(MarketTest, ScansOfOtherDaysAndPricesShareTheWholeInstruction) {
  write_file(prices / "ACME.csv", price_csv(breakout_closes(), 500));
  Run first = run("ok");
  write_file(prices / "ACME.csv", price_csv({11, 12, 12}));
  now += 24 * 3600 * 1000;
  Run second = run("ok");
  EXPECT_THAT(test_support::common_prefix(first.prompt, second.prompt),
              ::testing::StartsWith("Write a short note (at most four sentences) on what moved and what stands out in "
                                    "the watch-list scan below. Use only its numbers.\n\nWatch-list scan of 2024-03-0"));
}

TEST_F(MarketTest, MalformedRowsAndFilesAreLoggedAndTheRestIsScanned) {
  write_file(prices / "ACME.csv", "date,open,high,low,close,volume\n2024-01-01,10,11,9,10,100\n2024-01-02,x,11,9,10,100\n"
                                  "2024-01-03,10,11,9,10.5,100\n");
  write_file(prices / "CRUX.csv", "date,open,high,low,close,volume\n2024-01-01,1\"0,11,9,10,100\n");
  write_file(prices / "EMPTY.csv", "date,open,high,low,close,volume\n");
  write_file(prices / "NOVOL.csv", "date,open,high,low,close\n2024-01-01,10,11,9,10\n");
  write_file(prices / "bad name.csv", price_csv({1, 2}));
  Run r = run("note");

  auto rows = logs_with(r.task.id, "skipped row");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["file"], (prices / "ACME.csv").string());
  EXPECT_EQ(rows[0]["line"], 3);
  EXPECT_EQ(rows[0]["error"], "open 'x' is not a positive number");

  auto files = logs_with(r.task.id, "skipped file");
  ASSERT_EQ(files.size(), 4u);  // the name is refused when listing, before any file is read
  EXPECT_EQ(files[0]["file"], (prices / "bad name.csv").string());
  EXPECT_EQ(files[1]["file"], (prices / "CRUX.csv").string());
  EXPECT_EQ(files[1]["error"], "line 2: a quote inside an unquoted field");
  EXPECT_EQ(files[2]["error"], "no usable rows (0 malformed)");
  EXPECT_EQ(files[3]["error"], "no 'volume' column in the header");

  EXPECT_THAT(r.output, HasSubstr("| ACME | 2024-01-03 | 10.50 | +5.0% |"));
  EXPECT_THAT(r.output, HasSubstr("## Not scanned\n\n- bad name.csv: the file name is not <SYMBOL>.csv\n"
                                  "- CRUX.csv: line 2: a quote inside an unquoted field\n"
                                  "- EMPTY.csv: no usable rows (0 malformed)\n"
                                  "- NOVOL.csv: no 'volume' column in the header\n"));
}

TEST_F(MarketTest, DataGapsAreLoggedAndReported) {
  write_file(prices / "GAPPY.csv", "date,open,high,low,close,volume\n2024-01-05,10,11,9,10,100\n"
                                   "2024-01-12,10,11,9,10,100\n2024-01-15,10,11,9,10,100\n");
  Run r = run("note");
  auto gaps = logs_with(r.task.id, "data gap");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]["after"], "2024-01-05");
  EXPECT_EQ(gaps[0]["before"], "2024-01-12");
  EXPECT_EQ(gaps[0]["missing_weekdays"], 4);
  EXPECT_THAT(r.output, HasSubstr("- GAPPY: data gap, 4 weekdays missing between 2024-01-05 and 2024-01-12\n"));
  EXPECT_THAT(r.output, HasSubstr("| 1 data gap |"));
}

TEST_F(MarketTest, NothingUsableFailsWithoutAskingTheModel) {
  write_file(prices / "CRUX.csv", "date,open,high,low,close,volume\n\"2024-01-01,10,11,9,10,100\n");
  MarketAgent agent(config);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  // StrictMock engine: any model call fails the test.
  EXPECT_THAT([&] { agent.run(ctx); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("no usable price file")));
  EXPECT_FALSE(fs::exists(out / "market-2024-03-05.md"));
}

TEST_F(MarketTest, TheWatchListNamesTheSymbols) {
  write_file(prices / "ACME.csv", price_csv({10, 11}));
  write_file(prices / "BOLT.csv", price_csv({20, 19}));
  config.settings = {{"symbols", {"BOLT", "GONE"}}};
  Run r = run("note");
  EXPECT_THAT(r.output, HasSubstr("| BOLT |"));
  EXPECT_THAT(r.output, Not(HasSubstr("| ACME |")));
  auto files = logs_with(r.task.id, "skipped file");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0]["file"], (prices / "GONE.csv").string());
  EXPECT_THAT(files[0]["error"].get<std::string>(), HasSubstr("no such file"));
}

TEST_F(MarketTest, ReadsStayInsideTheAgentsFolders) {
  write_file(root / "outside" / "EVIL.csv", price_csv({1, 2}));
  fs::create_symlink(root / "outside" / "EVIL.csv", prices / "EVIL.csv");
  write_file(prices / "ACME.csv", price_csv({10, 11}));
  Run listed = run("note");  // a link leading out is not even listed
  EXPECT_THAT(listed.output, Not(HasSubstr("EVIL")));

  config.settings = {{"symbols", {"ACME", "EVIL"}}};
  Run named = run("note");
  auto files = logs_with(named.task.id, "skipped file");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_THAT(files[0]["error"].get<std::string>(), HasSubstr("refused"));
  EXPECT_THAT(named.output, HasSubstr("| ACME |"));
}

TEST_F(MarketTest, SettingsErrorsNameTheFileAndPath) {
  const std::string file = config.file.string();
  config.settings = {{"symbol", {"ACME"}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/symbol: unknown key (did you mean 'symbols'?)"));
  config.settings = {{"symbols", {"ACME", "../X"}}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/symbols/1: '../X' is not a symbol"));
  config.settings = {{"symbols", {"ACME", "ACME"}}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/symbols/1: 'ACME' is listed twice"));
  config.settings = {{"symbols", nlohmann::json::array()}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/symbols: an empty watch list"));
  config.settings = {{"breakout_sessions", 1}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/breakout_sessions: 1 is outside 2..250"));
  config.settings = {{"volume_factor", "2"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/volume_factor: expected a number"));
  config.settings = nlohmann::json::object();
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /folders/write: the market agent needs a write folder"));
}

TEST(ShippedPluginsTest, MarketRiskAndExtractorAreRegistered) {
  Registry registry = builtin_plugins();
  for (const char* name : {"market", "risk", "extractor"}) {
    ASSERT_TRUE(registry.has(name)) << name;
    AgentConfig config;
    config.name = name;
    config.plugin = name;
    config.file = "agents.d/x.json";
    config.read_folders = {"/tmp/in"};
    config.write_folders = {"/tmp/out"};
    EXPECT_NE(registry.create(config), nullptr) << name;
    config.settings = {{"bogus", 1}};
    EXPECT_THROW(registry.create(config), ConfigError) << name;
  }
}

}  // namespace
}  // namespace agentd::agents
