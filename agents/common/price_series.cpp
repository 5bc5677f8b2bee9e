#include "agents/common/price_series.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "agents/common/plain_text.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace chrono = std::chrono;

namespace {

constexpr size_t kMaxRowLogsPerFile = 20;

std::optional<int> digits(std::string_view s) {
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

constexpr std::array<const char*, 6> kColumns = {"date", "open", "high", "low", "close", "volume"};

// The bar in `fields`, or the reason it is not one.
std::optional<PriceBar> bar_of(const std::vector<std::string>& fields, const std::array<size_t, 6>& at,
                               std::string& why) {
  PriceBar bar;
  auto day = parse_iso_date(fields[at[0]]);
  if (!day) {
    why = "date '" + fields[at[0]] + "' is not YYYY-MM-DD";
    return std::nullopt;
  }
  bar.day = *day;
  double* prices[] = {&bar.open, &bar.high, &bar.low, &bar.close, &bar.volume};
  for (size_t i = 1; i < kColumns.size(); ++i) {
    auto v = parse_number(fields[at[i]]);
    const bool is_volume = i == 5;
    if (!v || (is_volume ? *v < 0 : *v <= 0)) {
      why = std::string(kColumns[i]) + " '" + fields[at[i]] + "' is not a " + (is_volume ? "number >= 0" : "positive number");
      return std::nullopt;
    }
    *prices[i - 1] = *v;
  }
  if (bar.low > std::min(bar.open, bar.close) || bar.high < std::max(bar.open, bar.close)) {
    why = "low " + number_text(bar.low) + " / high " + number_text(bar.high) + " do not bound open " +
          number_text(bar.open) + " and close " + number_text(bar.close);
    return std::nullopt;
  }
  return bar;
}

}  // namespace

std::optional<chrono::sys_days> parse_iso_date(std::string_view text) {
  text = text::trim_view(text);
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto y = digits(text.substr(0, 4)), m = digits(text.substr(5, 2)), d = digits(text.substr(8, 2));
  if (!y || !m || !d) return std::nullopt;
  chrono::year_month_day ymd{chrono::year(*y), chrono::month(static_cast<unsigned>(*m)),
                             chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  return chrono::sys_days(ymd);
}

std::string iso_date(chrono::sys_days day) {
  chrono::year_month_day ymd(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<double> parse_number(std::string_view text) {
  text = text::trim_view(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

bool valid_symbol(std::string_view symbol) {
  return !symbol.empty() && symbol.size() <= 15 && std::all_of(symbol.begin(), symbol.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '^' || c == '_';
         });
}

std::optional<std::string> symbol_of_file(const std::filesystem::path& file) {
  if (file.extension() != ".csv") return std::nullopt;
  std::string stem = file.stem().string();
  if (!valid_symbol(stem)) return std::nullopt;
  return stem;
}

void log_row_problems(TaskContext& ctx, const std::filesystem::path& file,
                      const std::vector<RowProblem>& problems) {
  for (size_t i = 0; i < problems.size() && i < kMaxRowLogsPerFile; ++i) {
    ctx.log("skipped row",
            {{"file", file.string()}, {"line", problems[i].line}, {"error", problems[i].reason}});
  }
  if (problems.size() > kMaxRowLogsPerFile) {
    ctx.log("skipped rows", {{"file", file.string()}, {"more", problems.size() - kMaxRowLogsPerFile}});
  }
}

PriceSeries read_price_series(std::string symbol, std::string_view csv_text, const CsvLimits& limits) {
  CsvTable table = parse_csv(csv_text, limits);
  const std::array<size_t, 6> at = required_columns(table, kColumns);
  PriceSeries series;
  series.symbol = std::move(symbol);
  for (const CsvRecord& record : table.records) {
    std::string why = table.width_problem(record);
    std::optional<PriceBar> bar;
    if (why.empty() && (bar = bar_of(record.fields, at, why)) && !series.bars.empty() && bar->day <= series.bars.back().day) {
      why = "date " + iso_date(bar->day) + " is not after " + iso_date(series.bars.back().day) + " (line " +
            std::to_string(series.bars.back().line) + ")";
      bar.reset();
    }
    if (!bar) {
      series.problems.push_back({record.line, why});
      continue;
    }
    bar->line = record.line;
    series.bars.push_back(*bar);
  }
  return series;
}

}  // namespace agentd::agents
