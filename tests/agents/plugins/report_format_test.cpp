// Number and text formatting of the market and risk reports.
#include <gtest/gtest.h>

#include <cmath>

#include <cstdlib>
#include <ctime>

#include "agents/common/report_format.hpp"

namespace agentd::agents {
namespace {

TEST(ReportFormatTest, FixedAndMoney) {
  EXPECT_EQ(fixed(3.14159, 2), "3.14");
  EXPECT_EQ(fixed(-0.004, 2), "0.00");
  EXPECT_EQ(fixed(2.5, 0), "2");  // round half to even, as printf does
  EXPECT_EQ(money(1234567.891), "1,234,567.89");
  EXPECT_EQ(money(123.4), "123.40");
  EXPECT_EQ(money(1000), "1,000.00");
  EXPECT_EQ(money(-1234.5), "-1,234.50");
  EXPECT_EQ(money(-999.99), "-999.99");
  // Numbers from untrusted CSVs can be huge: every digit, never a cut-off buffer.
  EXPECT_EQ(money(1e20), "100,000,000,000,000,000,000.00");
  EXPECT_EQ(fixed(1e300, 0).size(), 301u);
  EXPECT_EQ(money(INFINITY), "inf");
}

TEST(ReportFormatTest, Percentages) {
  EXPECT_EQ(percent(0.0123), "1.2%");
  EXPECT_EQ(percent(0.25, 0), "25%");
  EXPECT_EQ(signed_percent(0.0123), "+1.2%");
  EXPECT_EQ(signed_percent(-0.005), "-0.5%");
  EXPECT_EQ(signed_percent(0.0), "0.0%");
  EXPECT_EQ(signed_percent(-0.0001), "0.0%");
}

TEST(ReportFormatTest, MarkdownCellsAndLocalDates) {
  EXPECT_EQ(markdown_cell("a|b\nc"), "a\\|b c");
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(local_date(1709647629000), "2024-03-05");
  EXPECT_EQ(local_date(1709683199000), "2024-03-05");  // 23:59:59
  EXPECT_EQ(local_date(1709683200000), "2024-03-06");
}

}  // namespace
}  // namespace agentd::agents
