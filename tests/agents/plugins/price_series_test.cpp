// Price histories from CSV (agents/common/price_series): good rows exactly, every kind of bad row
// skipped with its line and reason, file-level errors, and the date/number/symbol helpers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/common/price_series.hpp"

namespace agentd::agents {
namespace {

using namespace std::chrono;
using ::testing::ElementsAre;
using ::testing::Field;

sys_days day(int y, unsigned m, unsigned d) { return sys_days(year(y) / month(m) / d); }

std::vector<std::pair<int, std::string>> problems_of(const PriceSeries& s) {
  std::vector<std::pair<int, std::string>> out;
  for (const auto& p : s.problems) out.emplace_back(p.line, p.reason);
  return out;
}

TEST(PriceSeriesTest, ReadsGoodRowsExactly) {
  PriceSeries s = read_price_series("ACME",
                                    "date,open,high,low,close,volume\n"
                                    "2024-01-02,10.5,11.25,10,11,1200\n"
                                    "2024-01-03,11,11.5,10.75,11.5,0\n");
  EXPECT_EQ(s.symbol, "ACME");
  ASSERT_EQ(s.bars.size(), 2u);
  EXPECT_TRUE(s.problems.empty());
  const PriceBar& b = s.bars[0];
  EXPECT_EQ(b.day, day(2024, 1, 2));
  EXPECT_EQ(b.open, 10.5);
  EXPECT_EQ(b.high, 11.25);
  EXPECT_EQ(b.low, 10);
  EXPECT_EQ(b.close, 11);
  EXPECT_EQ(b.volume, 1200);
  EXPECT_EQ(b.line, 2);
  EXPECT_EQ(s.bars[1].volume, 0);
  EXPECT_EQ(s.bars[1].line, 3);
}

TEST(PriceSeriesTest, ColumnsInAnyOrderAndCaseWithExtraColumns) {
  PriceSeries s = read_price_series("X", "Volume,Close,Low,High,Open,Date,adj_close\n500,2,1,3,1.5,2024-02-29,2\n");
  ASSERT_EQ(s.bars.size(), 1u);
  EXPECT_EQ(s.bars[0].day, day(2024, 2, 29));
  EXPECT_EQ(s.bars[0].open, 1.5);
  EXPECT_EQ(s.bars[0].close, 2);
  EXPECT_EQ(s.bars[0].volume, 500);
}

TEST(PriceSeriesTest, MalformedRowsAreSkippedWithLineAndReason) {
  PriceSeries s = read_price_series("X",
                                    "date,open,high,low,close,volume\n"
                                    "2024-01-02,10,11,9,10,100\n"       // 2 good
                                    "2024-02-30,10,11,9,10,100\n"       // 3 no such day
                                    "2024/01/04,10,11,9,10,100\n"       // 4 not ISO
                                    "2024-01-05,0,11,9,10,100\n"        // 5 open not positive
                                    "2024-01-05,10,11,9,abc,100\n"      // 6 close not a number
                                    "2024-01-05,10,11,9,nan,100\n"      // 7 not finite
                                    "2024-01-05,10,11,9,10,-1\n"        // 8 negative volume
                                    "2024-01-05,10,11,10.5,10,100\n"    // 9 low above open
                                    "2024-01-05,10,11,9,12,100\n"       // 10 high below close
                                    "2024-01-05,10,11,9,10\n"           // 11 a field short
                                    "2024-01-02,10,11,9,10,100\n"       // 12 not after line 2
                                    "2024-01-08,10,11,9,10.5,100\n");   // 13 good
  EXPECT_THAT(s.bars, ElementsAre(Field(&PriceBar::line, 2), Field(&PriceBar::line, 13)));
  EXPECT_THAT(problems_of(s),
              ElementsAre(std::make_pair(3, "date '2024-02-30' is not YYYY-MM-DD"),
                          std::make_pair(4, "date '2024/01/04' is not YYYY-MM-DD"),
                          std::make_pair(5, "open '0' is not a positive number"),
                          std::make_pair(6, "close 'abc' is not a positive number"),
                          std::make_pair(7, "close 'nan' is not a positive number"),
                          std::make_pair(8, "volume '-1' is not a number >= 0"),
                          std::make_pair(9, "low 10.5 / high 11 do not bound open 10 and close 10"),
                          std::make_pair(10, "low 9 / high 11 do not bound open 10 and close 12"),
                          std::make_pair(11, "5 fields, the header has 6"),
                          std::make_pair(12, "date 2024-01-02 is not after 2024-01-02 (line 2)")));
}

TEST(PriceSeriesTest, FileLevelProblemsThrow) {
  EXPECT_THROW(read_price_series("X", "date,open,high,low,close\n2024-01-02,1,1,1,1\n"), PriceDataError);
  EXPECT_THROW(read_price_series("X", ""), CsvError);
  EXPECT_THROW(read_price_series("X", "date,open,high,low,close,volume\n\"2024-01-02,1,1,1,1,1\n"), CsvError);
  // A header and no rows is a series with no bars, for the caller to judge.
  EXPECT_TRUE(read_price_series("X", "date,open,high,low,close,volume\n").bars.empty());
}

TEST(PriceSeriesTest, IsoDates) {
  EXPECT_EQ(parse_iso_date("2024-02-29"), day(2024, 2, 29));
  EXPECT_EQ(parse_iso_date(" 2000-02-29 "), day(2000, 2, 29));
  EXPECT_EQ(parse_iso_date("2023-02-29"), std::nullopt);
  EXPECT_EQ(parse_iso_date("1900-02-29"), std::nullopt);
  EXPECT_EQ(parse_iso_date("2024-13-01"), std::nullopt);
  EXPECT_EQ(parse_iso_date("2024-1-01"), std::nullopt);
  EXPECT_EQ(parse_iso_date("2024-01-0x"), std::nullopt);
  EXPECT_EQ(parse_iso_date(""), std::nullopt);
  EXPECT_EQ(iso_date(day(2024, 3, 5)), "2024-03-05");
  EXPECT_EQ(iso_date(day(999, 12, 31)), "0999-12-31");
}

TEST(PriceSeriesTest, Numbers) {
  EXPECT_EQ(parse_number("12"), 12.0);
  EXPECT_EQ(parse_number(" -3.5 "), -3.5);
  EXPECT_EQ(parse_number("1e3"), 1000.0);
  EXPECT_EQ(parse_number(""), std::nullopt);
  EXPECT_EQ(parse_number("1,000"), std::nullopt);
  EXPECT_EQ(parse_number("12abc"), std::nullopt);
  EXPECT_EQ(parse_number("inf"), std::nullopt);
  EXPECT_EQ(parse_number("1e400"), std::nullopt);
}

TEST(PriceSeriesTest, SymbolsAndFileNames) {
  EXPECT_TRUE(valid_symbol("BRK.B"));
  EXPECT_TRUE(valid_symbol("^GSPC"));
  EXPECT_FALSE(valid_symbol(""));
  EXPECT_FALSE(valid_symbol("A B"));
  EXPECT_FALSE(valid_symbol("../X"));
  EXPECT_FALSE(valid_symbol("ABCDEFGHIJKLMNOP"));  // 16
  EXPECT_EQ(symbol_of_file("/data/ACME.csv"), "ACME");
  EXPECT_EQ(symbol_of_file("ACME.txt"), std::nullopt);
  EXPECT_EQ(symbol_of_file("my prices.csv"), std::nullopt);
}

}  // namespace
}  // namespace agentd::agents
