// A small RFC 4180 CSV reader for untrusted files (price histories, portfolios).
//
// - Fields separated by commas; records by LF or CRLF (a lone CR inside a quoted field is data).
// - A field may be quoted: "a, b" holds a comma, "say ""hi""" a quote, and a quoted field may
//   span lines. A quote inside an unquoted field, or anything but a comma or a line end after a
//   closing quote, is an error; so is a quoted field still open at the end of the text.
// - The first record is the header. Blank lines are skipped; a UTF-8 byte-order mark is dropped.
// - Caps (CsvLimits) on records, fields per record and bytes per field: going over one is an
//   error, never a silent truncation.
// - Errors throw CsvError with the 1-based line where the problem is. Records keep the line they
//   start on, so a caller checking fields can name the line of a bad row.
// Records may have a different number of fields than the header: the caller decides (a row-level
// problem, not a syntax error).
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents {

class CsvError : public std::runtime_error {
 public:
  CsvError(int line, const std::string& what) : std::runtime_error("line " + std::to_string(line) + ": " + what), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

struct CsvLimits {
  size_t max_records = 100'000;  // data records, the header not counted
  size_t max_fields = 64;
  size_t max_field_bytes = 4096;
};

struct CsvRecord {
  int line = 0;  // where the record starts, 1-based
  std::vector<std::string> fields;
};

struct CsvTable {
  std::vector<std::string> header;
  std::vector<CsvRecord> records;

  // The position of the header column named `name` (ASCII case-insensitive, surrounding spaces
  // ignored), if any.
  std::optional<size_t> column(std::string_view name) const;
  // "N fields, the header has M" when `record` is not as wide as the header; "" when it is.
  std::string width_problem(const CsvRecord& record) const;
};

// Throws CsvError (syntax, caps, or an empty text with no header).
CsvTable parse_csv(std::string_view text, const CsvLimits& limits = {});

}  // namespace agentd::agents
