// The RFC 4180 CSV reader shared by the market and risk agents: quoting, line ends, line numbers
// of records and of errors, and the caps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/common/csv.hpp"

namespace agentd::agents {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::vector<std::string>> fields_of(const CsvTable& t) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : t.records) out.push_back(r.fields);
  return out;
}

std::vector<int> lines_of(const CsvTable& t) {
  std::vector<int> out;
  for (const auto& r : t.records) out.push_back(r.line);
  return out;
}

// The error's line and message, or (0, "") when parsing succeeds.
std::pair<int, std::string> error_of(std::string_view text, const CsvLimits& limits = {}) {
  try {
    parse_csv(text, limits);
  } catch (const CsvError& e) {
    return {e.line(), e.what()};
  }
  return {0, ""};
}

TEST(CsvTest, ReadsAHeaderAndRecordsWithTheirLines) {
  CsvTable t = parse_csv("date,close\n2024-01-02,10.5\n2024-01-03,11\n");
  EXPECT_THAT(t.header, ElementsAre("date", "close"));
  EXPECT_THAT(fields_of(t), ElementsAre(ElementsAre("2024-01-02", "10.5"), ElementsAre("2024-01-03", "11")));
  EXPECT_THAT(lines_of(t), ElementsAre(2, 3));
}

TEST(CsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  CsvTable t = parse_csv("name,note\n\"Smith, J\",\"said \"\"hi\"\"\"\n\"two\nlines\",x\nlast,\"\"\n");
  EXPECT_THAT(fields_of(t), ElementsAre(ElementsAre("Smith, J", "said \"hi\""), ElementsAre("two\nlines", "x"),
                                        ElementsAre("last", "")));
  // A record spanning two lines starts on 3; the next one is on 5.
  EXPECT_THAT(lines_of(t), ElementsAre(2, 3, 5));
}

TEST(CsvTest, CrlfBlankLinesByteOrderMarkAndNoFinalNewline) {
  CsvTable t = parse_csv("\xEF\xBB\xBF" "a,b\r\n1,2\r\n\r\n\n3,\"x\r\ny\"\r\n4,5");
  EXPECT_THAT(t.header, ElementsAre("a", "b"));
  EXPECT_THAT(fields_of(t), ElementsAre(ElementsAre("1", "2"), ElementsAre("3", "x\r\ny"), ElementsAre("4", "5")));
  EXPECT_THAT(lines_of(t), ElementsAre(2, 5, 7));
  EXPECT_THAT(fields_of(parse_csv("a,b\r\n1,2\r")), ElementsAre(ElementsAre("1", "2")));  // a CR ending the text
}

TEST(CsvTest, EmptyFieldsAndRaggedRecordsAreKeptAsTheyAre) {
  CsvTable t = parse_csv("a,b,c\n1,,3\n,,\n1,2\n1,2,3,4\n");
  EXPECT_THAT(fields_of(t), ElementsAre(ElementsAre("1", "", "3"), ElementsAre("", "", ""), ElementsAre("1", "2"),
                                        ElementsAre("1", "2", "3", "4")));
}

TEST(CsvTest, SyntaxErrorsNameTheirLine) {
  EXPECT_EQ(error_of("a,b\n1,\"open\n2,3\n"), std::make_pair(2, std::string("line 2: a quoted field is not closed")));
  EXPECT_EQ(error_of("a,b\n1,2\n3,4\"5\n"), std::make_pair(3, std::string("line 3: a quote inside an unquoted field")));
  EXPECT_EQ(error_of("a,b\n\"1\"x,2\n"), std::make_pair(2, std::string("line 2: unexpected text after a closing quote")));
  EXPECT_EQ(error_of(""), std::make_pair(1, std::string("line 1: no header row (the file is empty)")));
  EXPECT_EQ(error_of("\n\r\n"), std::make_pair(1, std::string("line 1: no header row (the file is empty)")));
}

TEST(CsvTest, CapsAreErrorsNotTruncation) {
  CsvLimits limits{.max_records = 2, .max_fields = 3, .max_field_bytes = 5};
  EXPECT_NO_THROW(parse_csv("a,b,c\n1,2,3\n12345,2,3\n", limits));
  EXPECT_EQ(error_of("a\n1\n2\n3\n", limits), std::make_pair(4, std::string("line 4: more than 2 records")));
  EXPECT_EQ(error_of("a\n1,2,3,4\n", limits), std::make_pair(2, std::string("line 2: more than 3 fields in a record")));
  EXPECT_EQ(error_of("a\n123456\n", limits), std::make_pair(2, std::string("line 2: a field longer than 5 bytes")));
  EXPECT_EQ(error_of("a\n\"12\n3456\"\n", limits).first, 3);  // the quoted field grows too long on line 3
}

TEST(CsvTest, ColumnsAreFoundIgnoringCaseAndSpaces) {
  CsvTable t = parse_csv(" Date ,CLOSE,Volume\n");
  EXPECT_EQ(t.column("date"), 0u);
  EXPECT_EQ(t.column("close"), 1u);
  EXPECT_EQ(t.column("volume "), 2u);
  EXPECT_EQ(t.column("open"), std::nullopt);
  EXPECT_TRUE(t.records.empty());
}

}  // namespace
}  // namespace agentd::agents
