#include "agents/evaluator/number_check.hpp"

#include <algorithm>
#include <cctype>

namespace agentd::agents::evaluation {

namespace {

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

std::string without_leading_zeros(std::string s) {
  size_t nonzero = s.find_first_not_of('0');
  return nonzero == std::string::npos ? "0" : s.substr(nonzero);
}

// Digits from `i`; returns the run and moves `i` past it.
std::string digit_run(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && digit(s[i])) ++i;
  return std::string(s.substr(start, i - start));
}

// "YYYY-M-D" at `i` (4, 1-2, 1-2 digits, '-' between, not followed by a digit).
bool date_at(std::string_view s, size_t i, std::string& out, size_t& end) {
  size_t j = i;
  std::string year = digit_run(s, j);
  if (year.size() != 4 || j >= s.size() || s[j] != '-') return false;
  ++j;
  std::string month = digit_run(s, j);
  if (month.empty() || month.size() > 2 || j >= s.size() || s[j] != '-') return false;
  ++j;
  std::string day = digit_run(s, j);
  if (day.empty() || day.size() > 2) return false;
  out = year + "-" + without_leading_zeros(month) + "-" + without_leading_zeros(day);
  end = j;
  return true;
}

// A number at `i`: digits, thousands groups ",ddd" (only whole groups of three), and a decimal
// part ".d+" with trailing zeros dropped.
std::string number_at(std::string_view s, size_t i, size_t& end) {
  size_t j = i;
  std::string whole = digit_run(s, j);
  // ",ddd" continues a number of 1-3 leading digits when exactly three digits follow.
  bool grouped = whole.size() <= 3;
  while (grouped && j + 3 < s.size() && s[j] == ',' && digit(s[j + 1]) && digit(s[j + 2]) && digit(s[j + 3]) &&
         (j + 4 == s.size() || !digit(s[j + 4]))) {
    whole += std::string(s.substr(j + 1, 3));
    j += 4;
  }
  std::string value = without_leading_zeros(whole);
  if (j + 1 < s.size() && s[j] == '.' && digit(s[j + 1])) {
    ++j;
    std::string fraction = digit_run(s, j);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    if (!fraction.empty()) value += "." + fraction;
  }
  end = j;
  return value;
}

}  // namespace

std::vector<std::string> numbers_in(std::string_view text) {
  std::vector<std::string> found;
  size_t i = 0;
  while (i < text.size()) {
    if (!digit(text[i])) {
      ++i;
      continue;
    }
    bool glued = i > 0 && (letter(text[i - 1]) || text[i - 1] == '_');
    size_t end = i;
    std::string token;
    if (!date_at(text, i, token, end)) token = number_at(text, i, end);
    if (!glued) found.push_back(token);
    i = end;
  }
  return found;
}

std::set<std::string> fact_numbers(const std::vector<std::string>& facts) {
  std::set<std::string> known;
  for (const auto& fact : facts) {
    for (const auto& n : numbers_in(fact)) {
      known.insert(n);
      if (std::count(n.begin(), n.end(), '-') == 2) {  // a date: its year, month and day too
        size_t a = n.find('-'), b = n.rfind('-');
        known.insert(n.substr(0, a));
        known.insert(n.substr(a + 1, b - a - 1));
        known.insert(n.substr(b + 1));
      }
    }
  }
  return known;
}

std::vector<std::string> unknown_numbers(std::string_view claim, const std::set<std::string>& known) {
  std::vector<std::string> unknown;
  for (const auto& n : numbers_in(claim)) {
    if (!known.count(n) && std::find(unknown.begin(), unknown.end(), n) == unknown.end()) unknown.push_back(n);
  }
  return unknown;
}

}  // namespace agentd::agents::evaluation
