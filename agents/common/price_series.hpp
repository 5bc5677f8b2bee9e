// A symbol's daily price history read from a CSV file with a header naming the columns
// date, open, high, low, close, volume (any order, any case; other columns are an error only if
// a row's field count differs from the header's). Used by the market and risk agents.
//
// Validation, row by row: the date is an ISO calendar date (YYYY-MM-DD) later than the previous
// good row's; open, high, low and close are positive finite numbers with low <= open, close <= high;
// volume is a finite number >= 0. A row that fails is skipped and reported with its line and the
// reason (the caller logs it with log_row_problems); the rest of the file is still used. A file
// that cannot be read as CSV, or lacks a column, throws.
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agents/common/csv.hpp"

namespace agentd::agents {

class TaskContext;

class PriceDataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The positions of `names` in `table`'s header (CsvTable::column), in order. Throws
// PriceDataError "no '<name>' column in the header" for the first one missing.
template <size_t N>
std::array<size_t, N> required_columns(const CsvTable& table, const std::array<const char*, N>& names) {
  std::array<size_t, N> at{};
  for (size_t i = 0; i < N; ++i) {
    auto column = table.column(names[i]);
    if (!column) throw PriceDataError(std::string("no '") + names[i] + "' column in the header");
    at[i] = *column;
  }
  return at;
}

struct PriceBar {
  std::chrono::sys_days day;
  double open = 0, high = 0, low = 0, close = 0, volume = 0;
  int line = 0;  // in the CSV file
};

struct RowProblem {
  int line = 0;
  std::string reason;
};

struct PriceSeries {
  std::string symbol;
  std::vector<PriceBar> bars;         // ascending by date, no duplicates
  std::vector<RowProblem> problems;  // rows skipped
};

// The rows of `file` skipped for `problems` in the task's log: "skipped row" with the line and the
// reason for the first 20, then one "skipped rows" with how many more.
void log_row_problems(TaskContext& ctx, const std::filesystem::path& file,
                      const std::vector<RowProblem>& problems);

// Throws CsvError (syntax, caps) or PriceDataError (a column missing).
PriceSeries read_price_series(std::string symbol, std::string_view csv_text,
                              const CsvLimits& limits = {.max_records = 20'000, .max_fields = 32, .max_field_bytes = 64});

// "2024-03-05" -> that day; nullopt for anything but a valid YYYY-MM-DD date.
std::optional<std::chrono::sys_days> parse_iso_date(std::string_view text);
std::string iso_date(std::chrono::sys_days day);
// A finite decimal number ("12", "-3.5", "1e3"; spaces around allowed); nullopt otherwise.
std::optional<double> parse_number(std::string_view text);

// A ticker: 1 to 15 of A-Z a-z 0-9 . - ^ _ (as in "BRK.B", "^GSPC").
bool valid_symbol(std::string_view symbol);
// The symbol a price file stands for: its name without ".csv", if that is a valid symbol.
std::optional<std::string> symbol_of_file(const std::filesystem::path& file);

}  // namespace agentd::agents
