#include "agents/news/feed_dates.hpp"

#include <array>
#include <cctype>
#include <string>

#include "agents/common/time_zone.hpp"

namespace agentd::agents {

namespace {

// A left-to-right reader over the text.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void skip_spaces() {
    while (!done() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  // Exactly `min`..`max` digits.
  std::optional<int> digits(size_t min, size_t max) {
    size_t start = i;
    int value = 0;
    while (!done() && i - start < max && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (i - start < 9) value = value * 10 + (s[i] - '0');  // long fractions: only their text is used
      ++i;
    }
    if (i - start < min) return std::nullopt;
    return value;
  }
  std::string word() {
    size_t start = i;
    while (!done() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string w(s.substr(start, i - start));
    for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return w;
  }
};

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<int64_t> instant(int year, int month, int day, int hour, int minute, int second, int millis,
                               int offset_minutes) {
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  if (second == 60) second = 59;  // a leap second: the last whole second of the minute
  int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return (seconds - offset_minutes * 60) * 1000 + millis;
}

std::optional<int> month_number(const std::string& name) {
  static constexpr std::array<const char*, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  if (name.size() < 3) return std::nullopt;
  for (size_t m = 0; m < kMonths.size(); ++m) {
    if (name.compare(0, 3, kMonths[m]) == 0) return int(m + 1);
  }
  return std::nullopt;
}

std::optional<int> zone_offset_minutes(Cursor& c) {
  if (c.peek() == '+' || c.peek() == '-') {
    int sign = c.s[c.i++] == '-' ? -1 : 1;
    auto hhmm = c.digits(4, 4);
    if (!hhmm || *hhmm % 100 > 59) return std::nullopt;
    return sign * (*hhmm / 100 * 60 + *hhmm % 100);
  }
  std::string zone = c.word();
  if (zone == "UT" || zone == "UTC" || zone == "GMT" || zone == "Z") return 0;
  if (zone == "EST") return -5 * 60;
  if (zone == "EDT") return -4 * 60;
  if (zone == "CST") return -6 * 60;
  if (zone == "CDT") return -5 * 60;
  if (zone == "MST") return -7 * 60;
  if (zone == "MDT") return -6 * 60;
  if (zone == "PST") return -8 * 60;
  if (zone == "PDT") return -7 * 60;
  if (zone.size() == 1 && zone != "J") return 0;  // military zones: unreliable, read as UTC (RFC 2822)
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_rfc822_date(std::string_view text) {
  Cursor c{text};
  c.skip_spaces();
  if (std::isalpha(static_cast<unsigned char>(c.peek()))) {  // optional day name and comma
    c.word();
    c.skip_spaces();
    if (!c.eat(',')) return std::nullopt;
    c.skip_spaces();
  }
  auto day = c.digits(1, 2);
  c.skip_spaces();
  auto month = month_number(c.word());
  c.skip_spaces();
  size_t year_start = c.i;
  auto year = c.digits(2, 4);
  if (!day || !month || !year || c.i - year_start == 3) return std::nullopt;
  if (c.i - year_start == 2) *year += *year < 50 ? 2000 : 1900;
  c.skip_spaces();
  auto hour = c.digits(2, 2);
  if (!hour || !c.eat(':')) return std::nullopt;
  auto minute = c.digits(2, 2);
  if (!minute) return std::nullopt;
  int second = 0;
  if (c.eat(':')) {
    auto s = c.digits(2, 2);
    if (!s) return std::nullopt;
    second = *s;
  }
  c.skip_spaces();
  auto offset = zone_offset_minutes(c);
  c.skip_spaces();
  if (!offset || !c.done()) return std::nullopt;
  return instant(*year, *month, *day, *hour, *minute, second, 0, *offset);
}

std::optional<int64_t> parse_rfc3339_date(std::string_view text) {
  Cursor c{text};
  c.skip_spaces();
  auto year = c.digits(4, 4);
  if (!year || !c.eat('-')) return std::nullopt;
  auto month = c.digits(2, 2);
  if (!month || !c.eat('-')) return std::nullopt;
  auto day = c.digits(2, 2);
  if (!day || !(c.eat('T') || c.eat('t') || c.eat(' '))) return std::nullopt;
  auto hour = c.digits(2, 2);
  if (!hour || !c.eat(':')) return std::nullopt;
  auto minute = c.digits(2, 2);
  if (!minute || !c.eat(':')) return std::nullopt;
  auto second = c.digits(2, 2);
  if (!second) return std::nullopt;
  int millis = 0;
  if (c.eat('.')) {
    size_t start = c.i;
    auto fraction = c.digits(1, 32);
    if (!fraction) return std::nullopt;
    std::string digits(c.s.substr(start, c.i - start));
    digits.resize(3, '0');
    millis = std::stoi(digits.substr(0, 3));
  }
  int offset = 0;
  if (c.eat('Z') || c.eat('z')) {
    offset = 0;
  } else if (c.peek() == '+' || c.peek() == '-') {
    int sign = c.s[c.i++] == '-' ? -1 : 1;
    auto hh = c.digits(2, 2);
    if (!hh || !c.eat(':')) return std::nullopt;
    auto mm = c.digits(2, 2);
    if (!mm || *hh > 23 || *mm > 59) return std::nullopt;
    offset = sign * (*hh * 60 + *mm);
  } else {
    return std::nullopt;
  }
  c.skip_spaces();
  if (!c.done()) return std::nullopt;
  return instant(*year, *month, *day, *hour, *minute, *second, millis, offset);
}

std::optional<int64_t> parse_feed_date(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return std::nullopt;
  std::string_view t = text.substr(b);
  bool looks_3339 = t.size() > 5 && std::isdigit(static_cast<unsigned char>(t[0])) &&
                    std::isdigit(static_cast<unsigned char>(t[3])) && t[4] == '-';
  return looks_3339 ? parse_rfc3339_date(t) : parse_rfc822_date(t);
}

}  // namespace agentd::agents
