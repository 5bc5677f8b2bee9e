// The risk agent's deterministic parts on hand-computed portfolios: the portfolio CSV (good and
// malformed rows), valuation, weights, exposures, flags (strictly over their limits), the value
// history over common dates, the maximum drawdown with its dates, and the report text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/risk/portfolio.hpp"
#include "agents/risk/risk_metrics.hpp"
#include "agents/risk/risk_report.hpp"

namespace agentd::agents {
namespace {

using namespace std::chrono;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

sys_days day(int y, unsigned m, unsigned d) { return sys_days(year(y) / month(m) / d); }

Position position(std::string symbol, double quantity, double cost, std::optional<double> price, std::string sector,
                  std::string asset_class) {
  return Position{std::move(symbol), quantity, cost, price, std::move(sector), std::move(asset_class), 0};
}

PriceSeries history(std::string symbol, const std::vector<std::pair<sys_days, double>>& closes) {
  PriceSeries s;
  s.symbol = std::move(symbol);
  for (const auto& [d, c] : closes) s.bars.push_back({d, c, c, c, c, 100, 0});
  return s;
}

// A: 10 x 10 (cost 8)   value 100, cost  80, P&L  20 (+25 %)
// B:  5 x 18 (cost 20)  value  90, cost 100, P&L -10 (-10 %)
// C:  2 x  5 (cost 0)   value  10, cost   0, P&L  10 (n/a)
// D:  4 x 50 from its history (cost 40) value 200, cost 160, P&L 40 (+25 %)
// E: no price, no history: unpriced.      Total 400, cost 340, P&L 60.
std::vector<Position> hand_portfolio() {
  return {position("A", 10, 8, 10, "Tech", "equity"), position("B", 5, 20, 18, "Tech", "equity"),
          position("C", 2, 0, 5, "Health", "bond"), position("D", 4, 40, std::nullopt, "Energy", "equity"),
          position("E", 1, 1, std::nullopt, "Energy", "equity")};
}

std::map<std::string, PriceSeries> hand_histories() {
  std::map<std::string, PriceSeries> h;
  h["D"] = history("D", {{day(2024, 1, 2), 40}, {day(2024, 1, 3), 45}, {day(2024, 1, 4), 50}});
  h["A"] = history("A", {{day(2024, 1, 2), 12}, {day(2024, 1, 4), 10}, {day(2024, 1, 5), 11}});
  h["Z"] = history("Z", {{day(2024, 1, 2), 1}});  // not in the portfolio
  return h;
}

TEST(PortfolioTest, ReadsPositions) {
  Portfolio p = read_portfolio("Symbol,Quantity,Cost_Basis,Price,Sector,Asset_Class\n"
                               "ACME,120,82.5,104.2,Technology,equity\n"
                               " AGGB ,300.5,98.1,,\"Fixed income, long\",bond\n");
  ASSERT_EQ(p.positions.size(), 2u);
  EXPECT_TRUE(p.problems.empty());
  EXPECT_EQ(p.positions[0].symbol, "ACME");
  EXPECT_EQ(p.positions[0].quantity, 120);
  EXPECT_EQ(p.positions[0].cost_basis, 82.5);
  EXPECT_EQ(p.positions[0].price, 104.2);
  EXPECT_EQ(p.positions[0].line, 2);
  EXPECT_EQ(p.positions[1].symbol, "AGGB");
  EXPECT_EQ(p.positions[1].quantity, 300.5);
  EXPECT_EQ(p.positions[1].price, std::nullopt);
  EXPECT_EQ(p.positions[1].sector, "Fixed income, long");
  EXPECT_EQ(p.positions[1].asset_class, "bond");
}

TEST(PortfolioTest, MalformedRowsAreSkippedWithLineAndReason) {
  Portfolio p = read_portfolio("symbol,quantity,cost_basis,price,sector,asset_class\n"
                               "A,1,1,1,S,equity\n"     // 2 good
                               "B C,1,1,1,S,equity\n"   // 3
                               "B,0,1,1,S,equity\n"     // 4
                               "B,1,-1,1,S,equity\n"    // 5
                               "B,1,1,0,S,equity\n"     // 6
                               "B,1,1,1,,equity\n"      // 7
                               "B,1,1,1,S, \n"          // 8
                               "B,1,1,1,S\n"            // 9
                               "A,2,1,1,S,equity\n"     // 10
                               "B,1,1,x,S,equity\n"     // 11
                               "B,2,3,4,S,equity\n");   // 12 good
  ASSERT_EQ(p.positions.size(), 2u);
  EXPECT_EQ(p.positions[1].line, 12);
  std::vector<std::string> reasons;
  for (const auto& problem : p.problems) reasons.push_back(std::to_string(problem.line) + " " + problem.reason);
  EXPECT_THAT(reasons, ElementsAre("3 symbol 'B C' is not a ticker", "4 quantity '0' is not a positive number",
                                   "5 cost_basis '-1' is not a number >= 0",
                                   "6 price '0' is not a positive number (leave it empty to use the price history)",
                                   "7 sector is empty", "8 asset_class is empty", "9 5 fields, the header has 6",
                                   "10 A is already listed on line 2",
                                   "11 price 'x' is not a positive number (leave it empty to use the price history)"));
}

TEST(PortfolioTest, FileLevelProblemsThrow) {
  EXPECT_THROW(read_portfolio("symbol,quantity,cost_basis,price,sector\nA,1,1,1,S\n"), PriceDataError);
  EXPECT_THROW(read_portfolio("symbol,quantity\n\"A,1\n"), CsvError);
}

TEST(RiskMetricsTest, ValuesWeightsAndExposuresOfAHandPortfolio) {
  RiskSummary s = summarize(hand_portfolio(), hand_histories(), RiskLimits{});
  EXPECT_THAT(s.unpriced, ElementsAre("E"));
  ASSERT_EQ(s.positions.size(), 4u);
  std::vector<std::string> order;
  for (const auto& p : s.positions) order.push_back(p.position.symbol);
  EXPECT_THAT(order, ElementsAre("D", "A", "B", "C"));
  const PricedPosition& d = s.positions[0];
  EXPECT_EQ(d.price, 50);
  EXPECT_TRUE(d.price_from_history);
  EXPECT_EQ(d.value, 200);
  EXPECT_EQ(d.cost, 160);
  EXPECT_EQ(d.pnl, 40);
  EXPECT_DOUBLE_EQ(*d.pnl_fraction, 0.25);
  EXPECT_DOUBLE_EQ(d.weight, 0.5);
  EXPECT_FALSE(s.positions[1].price_from_history);  // A has a history, but the file's price wins
  EXPECT_DOUBLE_EQ(*s.positions[2].pnl_fraction, -0.1);
  EXPECT_EQ(s.positions[3].pnl_fraction, std::nullopt);  // C cost nothing
  EXPECT_DOUBLE_EQ(s.positions[3].weight, 0.025);
  EXPECT_EQ(s.total_value, 400);
  EXPECT_EQ(s.total_cost, 340);
  EXPECT_EQ(s.total_pnl, 60);
  EXPECT_DOUBLE_EQ(s.top3_weight, 0.975);

  ASSERT_EQ(s.asset_classes.size(), 2u);
  EXPECT_EQ(s.asset_classes[0].name, "equity");
  EXPECT_EQ(s.asset_classes[0].value, 390);
  EXPECT_DOUBLE_EQ(s.asset_classes[0].weight, 0.975);
  EXPECT_EQ(s.asset_classes[1].name, "bond");
  ASSERT_EQ(s.sectors.size(), 3u);
  EXPECT_EQ(s.sectors[0].name, "Energy");
  EXPECT_EQ(s.sectors[0].value, 200);
  EXPECT_EQ(s.sectors[1].name, "Tech");
  EXPECT_EQ(s.sectors[1].value, 190);
  EXPECT_DOUBLE_EQ(s.sectors[1].weight, 0.475);
  EXPECT_EQ(s.sectors[2].name, "Health");
}

TEST(RiskMetricsTest, FlagsAreStrictlyOverTheirLimits) {
  RiskSummary s = summarize(hand_portfolio(), hand_histories(), RiskLimits{});
  std::vector<std::string> flags;
  for (const auto& f : s.flags) flags.push_back(flag_text(f));
  EXPECT_THAT(flags, ElementsAre("D is 50.0% of the portfolio (limit 20.0%)", "A is 25.0% of the portfolio (limit 20.0%)",
                                 "B is 22.5% of the portfolio (limit 20.0%)",
                                 "sector Energy is 50.0% of the portfolio (limit 40.0%)",
                                 "sector Tech is 47.5% of the portfolio (limit 40.0%)",
                                 "the three largest (D, A, B) are 97.5% of the portfolio (limit 60.0%)"));

  // At the limit is not over it: A at exactly 25 %, Energy at exactly 50 %.
  RiskSummary at_limits = summarize(hand_portfolio(), hand_histories(), RiskLimits{.position = 0.25, .sector = 0.5, .top3 = 0.98});
  flags.clear();
  for (const auto& f : at_limits.flags) flags.push_back(flag_text(f));
  EXPECT_THAT(flags, ElementsAre("D is 50.0% of the portfolio (limit 25.0%)"));
}

TEST(RiskMetricsTest, ValueHistoryOverCommonDatesWithConstantPositionsHeld) {
  RiskSummary s = summarize(hand_portfolio(), hand_histories(), RiskLimits{});
  ValueHistory h = value_history(s.positions, hand_histories());
  EXPECT_THAT(h.with_history, ElementsAre("D", "A"));
  EXPECT_THAT(h.held_constant, ElementsAre("B", "C"));  // 90 + 10 = 100 on every date
  ASSERT_EQ(h.points.size(), 2u);                        // D and A share Jan 2 and Jan 4 only
  EXPECT_EQ(h.points[0].day, day(2024, 1, 2));
  EXPECT_EQ(h.points[0].value, 4 * 40 + 10 * 12 + 100);
  EXPECT_EQ(h.points[1].day, day(2024, 1, 4));
  EXPECT_EQ(h.points[1].value, 4 * 50 + 10 * 10 + 100);

  EXPECT_TRUE(value_history(s.positions, {}).points.empty());
}

TEST(RiskMetricsTest, MaximumDrawdownWithPeakAndTroughDates) {
  std::vector<ValuePoint> v;
  double values[] = {100, 120, 90, 110, 130, 104};
  for (int i = 0; i < 6; ++i) v.push_back({day(2024, 1, 1 + i), values[i]});
  auto d = max_drawdown(v);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->fraction, 0.25);  // 120 -> 90; 130 -> 104 is only 20 %
  EXPECT_EQ(d->peak.day, day(2024, 1, 2));
  EXPECT_EQ(d->peak.value, 120);
  EXPECT_EQ(d->trough.day, day(2024, 1, 3));
  EXPECT_EQ(d->trough.value, 90);

  v[5].value = 91;  // 130 -> 91 = 30 %: the later, deeper fall wins
  d = max_drawdown(v);
  EXPECT_DOUBLE_EQ(d->fraction, 0.3);
  EXPECT_EQ(d->peak.day, day(2024, 1, 5));
  EXPECT_EQ(d->trough.day, day(2024, 1, 6));

  auto rising = max_drawdown({{day(2024, 1, 1), 1}, {day(2024, 1, 2), 2}});
  ASSERT_TRUE(rising);
  EXPECT_EQ(rising->fraction, 0);
  EXPECT_EQ(max_drawdown({{day(2024, 1, 1), 1}}), std::nullopt);
  EXPECT_EQ(max_drawdown({}), std::nullopt);
}

TEST(RiskReportTest, KeyFiguresAndSummaryLine) {
  RiskFigures f;
  f.summary = summarize(hand_portfolio(), hand_histories(), f.limits);
  f.history = value_history(f.summary.positions, hand_histories());
  f.drawdown = max_drawdown(f.history.points);
  EXPECT_EQ(key_figures(f),
            "- Total value 400.00, cost 340.00, P&L +60.00 (+17.6%), 4 positions\n"
            "- Largest: D 50.0%, A 25.0%, B 22.5% (top 3 together 97.5%)\n"
            "- Asset classes: equity 97.5%, bond 2.5%\n"
            "- Sectors: Energy 50.0%, Tech 47.5%, Health 2.5%\n"
            "- Max drawdown: none, the value never fell below a previous peak over 2 common dates 2024-01-02 to 2024-01-04\n"
            "- Concentration flags: D is 50.0% of the portfolio (limit 20.0%); A is 25.0% of the portfolio (limit 20.0%); "
            "B is 22.5% of the portfolio (limit 20.0%); sector Energy is 50.0% of the portfolio (limit 40.0%); sector Tech "
            "is 47.5% of the portfolio (limit 40.0%); the three largest (D, A, B) are 97.5% of the portfolio (limit 60.0%)\n");
  EXPECT_EQ(risk_summary_line("2024-03-05", f),
            "Risk 2024-03-05: value 400.00, P&L +60.00 (+17.6%); max drawdown 0.0%; 6 flags: D 50.0%, A 25.0%, B 22.5%, "
            "sector Energy 50.0%, sector Tech 47.5%, top 3 97.5%.");

  std::string tables = risk_tables(f, 2);
  EXPECT_THAT(tables, HasSubstr("| D | 4 | 50.00* | 200.00 | 50.0% | 160.00 | +40.00 | +25.0% | Energy | equity |\n"
                                "| A | 10 | 10.00 | 100.00 | 25.0% | 80.00 | +20.00 | +25.0% | Tech | equity |\n"
                                "\n2 smaller positions not shown.\n"));
  EXPECT_THAT(tables, HasSubstr("| Sector | Value | Weight |\n|---|---:|---:|\n| Energy | 200.00 | 50.0% |\n"));

  f.history.points = {{day(2024, 1, 2), 400}, {day(2024, 1, 3), 300}};
  f.drawdown = max_drawdown(f.history.points);
  EXPECT_THAT(key_figures(f), HasSubstr("- Max drawdown: 25.0%, from 400.00 on 2024-01-02 to 300.00 on 2024-01-03 over 2 "
                                        "common dates 2024-01-02 to 2024-01-03\n"));
}

}  // namespace
}  // namespace agentd::agents
