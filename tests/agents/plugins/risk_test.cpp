// RiskAgent end to end with the mock engine: a portfolio file and price histories in two read
// folders, the report file and the memo prompt carrying the computed figures, missing prices and
// histories logged, malformed rows, nothing usable, and settings errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/risk/risk_agent.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::HasSubstr;

constexpr int64_t kTuesdayAfternoonUtc = 1709647629000;  // 2024-03-05 14:07:09 UTC

// First in the memo's prompt, whole: the engine's prefix cache reuses it run after run.
const std::string kMemoInstruction =
    "Write a short risk memo (at most five sentences) on the portfolio figures below: the main concentrations, the "
    "drawdown, and what to watch. Use only these figures.\n\nPortfolio risk figures for ";

class RiskTest : public test_support::AgentsTest {
 protected:
  static void SetUpTestSuite() {
    setenv("TZ", "UTC", 1);
    tzset();
  }

  RiskTest() {
    root = fs::canonical(dir.path());
    own = root / "risk";
    prices = root / "prices";
    out = root / "out";
    for (const auto& f : {own, prices, out}) fs::create_directories(f);
    config.name = "risk";
    config.plugin = "risk";
    config.read_folders = {own, prices};
    config.write_folders = {out};
    now = kTuesdayAfternoonUtc;
    // ACME falls from 110 to 88 and recovers; BOLT is flat at 50. Common dates: Jan 2, 3, 5.
    write_file(prices / "ACME.csv", "date,open,high,low,close,volume\n2024-01-02,110,110,110,110,1\n"
                                    "2024-01-03,88,88,88,88,1\n2024-01-04,90,90,90,90,1\n2024-01-05,100,100,100,100,1\n");
    write_file(prices / "BOLT.csv", "date,open,high,low,close,volume\n2024-01-02,50,50,50,50,1\n"
                                    "2024-01-03,50,50,50,50,1\n2024-01-05,50,50,50,50,1\n");
  }

  Run run(const std::string& memo) {
    RiskAgent agent(config);
    return run_answering(agent, memo);
  }

  std::string run_error() {
    RiskAgent agent(config);
    TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
    try {
      agent.run(ctx);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected the task to fail";
    return "";
  }

  std::string config_error() { return config_error_of<RiskAgent>(); }

  fs::path own, prices;
};

TEST_F(RiskTest, WritesTheReportWithComputedFiguresAndTheModelsMemo) {
  // ACME 10 x 100 (from its history), BOLT 20 x 50, CASH 1000 x 1 (no history: held constant).
  write_file(own / "portfolio.csv", "symbol,quantity,cost_basis,price,sector,asset_class\n"
                                    "ACME,10,80,,Technology,equity\nBOLT,20,55,50,Industrials,equity\n"
                                    "CASH,1000,1,1,Cash,cash\n");
  Run r = run("\nConcentration is high.\n");

  // Values 1000 + 1000 + 1000; history: Jan 2 1100+1000+1000, Jan 3 880+1000+1000, Jan 5 1000+...
  const std::string figures =
      "- Total value 3,000.00, cost 2,900.00, P&L +100.00 (+3.4%), 3 positions\n"
      "- Largest: ACME 33.3%, BOLT 33.3%, CASH 33.3% (top 3 together 100.0%)\n"
      "- Asset classes: equity 66.7%, cash 33.3%\n"
      "- Sectors: Cash 33.3%, Industrials 33.3%, Technology 33.3%\n"
      "- Max drawdown: 7.1%, from 3,100.00 on 2024-01-02 to 2,880.00 on 2024-01-03 over 3 common dates 2024-01-02 to 2024-01-05\n"
      "- Concentration flags: ACME is 33.3% of the portfolio (limit 20.0%); BOLT is 33.3% of the portfolio (limit 20.0%); "
      "CASH is 33.3% of the portfolio (limit 20.0%); the three largest (ACME, BOLT, CASH) are 100.0% of the portfolio "
      "(limit 60.0%)\n";
  EXPECT_THAT(r.output, HasSubstr("## Key figures\n\n" + figures));
  EXPECT_THAT(r.prompt, HasSubstr(figures));
  EXPECT_TRUE(r.prompt.starts_with(kMemoInstruction)) << r.prompt;
  EXPECT_THAT(r.output, HasSubstr("## Memo\n\nConcentration is high.\n"));
  EXPECT_THAT(r.output, HasSubstr("| ACME | 10 | 100.00* | 1,000.00 | 33.3% | 800.00 | +200.00 | +25.0% | Technology | equity |"));
  EXPECT_THAT(r.output, HasSubstr("- CASH: no price history; held at its current price in the value history\n"));
  EXPECT_EQ(read_file(out / "risk-2024-03-05.md"), r.output);

  auto missing = logs_with(r.task.id, "no price history");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0]["symbol"], "CASH");
  auto notes = memory.recent_notes("risk", 5);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].text, HasSubstr("Risk 2024-03-05: value 3,000.00, P&L +100.00 (+3.4%); max drawdown 7.1%; 4 flags"));
  // Read: the portfolio, two folder listings, the two histories; wrote: the report.
  EXPECT_EQ(events_of(r.task.id, "read").size(), 5u);
  EXPECT_EQ(events_of(r.task.id, "wrote").size(), 1u);
}

TEST_F(RiskTest, MissingPricesAndMalformedRowsAreLoggedAndLeftOut) {
  write_file(own / "portfolio.csv", "symbol,quantity,cost_basis,price,sector,asset_class\n"
                                    "BOLT,20,55,50,Industrials,equity\nGLDX,3,180,,Commodities,commodity\n"
                                    "ACME,-5,80,,Technology,equity\n");
  write_file(prices / "BAD.csv", "date,open\n");  // not a history anyone asked for: never read
  Run r = run("memo");
  auto missing = logs_with(r.task.id, "missing price");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0]["symbol"], "GLDX");
  auto rows = logs_with(r.task.id, "skipped row");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["file"], "portfolio.csv");
  EXPECT_EQ(rows[0]["line"], 4);
  EXPECT_EQ(rows[0]["error"], "quantity '-5' is not a positive number");
  EXPECT_THAT(r.output, HasSubstr("- Total value 1,000.00, cost 1,100.00, P&L -100.00 (-9.1%), 1 position\n"));
  EXPECT_THAT(r.output, HasSubstr("- portfolio.csv line 4 skipped: quantity '-5' is not a positive number\n"));
  EXPECT_THAT(r.output, HasSubstr("- GLDX: no price in the portfolio and no price history; left out of every figure\n"));
}

TEST_F(RiskTest, ABrokenHistoryIsLoggedAndTheReportGoesOn) {
  write_file(prices / "ACME.csv", "date,open,high,low,close\n2024-01-02,1,1,1,1\n");
  write_file(own / "portfolio.csv", "symbol,quantity,cost_basis,price,sector,asset_class\n"
                                    "ACME,10,80,100,Technology,equity\nBOLT,20,55,50,Industrials,equity\n");
  Run r = run("memo");
  auto broken = logs_with(r.task.id, "cannot use price history");
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0]["error"], "no 'volume' column in the header");
  EXPECT_THAT(r.output, HasSubstr("- ACME.csv: not used: no 'volume' column in the header\n"));
  EXPECT_THAT(r.output, HasSubstr("- Max drawdown: none, the value never fell below a previous peak over 3 common dates"));
}

TEST_F(RiskTest, NothingUsableFailsWithoutAskingTheModel) {
  EXPECT_THAT(run_error(), HasSubstr("cannot use the portfolio portfolio.csv"));  // no file
  write_file(own / "portfolio.csv", "symbol,quantity,cost_basis,price,sector,asset_class\nACME,x,1,1,T,equity\n");
  EXPECT_THAT(run_error(), HasSubstr("no valid position (1 malformed rows)"));
  write_file(own / "portfolio.csv", "symbol,quantity,cost_basis,price,sector,asset_class\nGLDX,1,1,,T,equity\n");
  EXPECT_THAT(run_error(), HasSubstr("no position has a price"));
  write_file(own / "portfolio.csv", "symbol;quantity\n");
  EXPECT_THAT(run_error(), HasSubstr("no 'symbol' column"));
}

TEST_F(RiskTest, SettingsChangeTheLimitsAndTheFile) {
  write_file(own / "book.csv", "symbol,quantity,cost_basis,price,sector,asset_class\n"
                               "BOLT,20,55,50,Industrials,equity\nCASH,1000,1,1,Cash,cash\n");
  config.settings = {{"portfolio", "book.csv"}, {"position_limit_pct", 50}, {"sector_limit_pct", 50}, {"top3_limit_pct", 100}};
  Run r = run("memo");
  EXPECT_THAT(r.output, HasSubstr("- Concentration flags: none\n"));  // two halves, each exactly at 50 %
}

TEST_F(RiskTest, SettingsErrorsNameTheFileAndPath) {
  const std::string file = config.file.string();
  config.settings = {{"portfolo", "x.csv"}};
  EXPECT_THAT(config_error(), HasSubstr(file + ": /settings/portfolo: unknown key (did you mean 'portfolio'?)"));
  config.settings = {{"position_limit_pct", 0}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/position_limit_pct:"));
  config.settings = {{"largest", 0}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/largest: 0 is outside 1..100"));
  config.settings = {{"portfolio", ""}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/portfolio: an empty file name"));
  config.settings = nlohmann::json::object();
  config.read_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr(file + ": /folders/read:"));
}

}  // namespace
}  // namespace agentd::agents
