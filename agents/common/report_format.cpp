#include "agents/common/report_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/time_text.hpp"

namespace agentd::agents {

std::string fixed(double value, int decimals) {
  std::string text(std::snprintf(nullptr, 0, "%.*f", decimals, value), '\0');  // 1e300 has 301 digits
  std::snprintf(text.data(), text.size() + 1, "%.*f", decimals, value);
  if (text.starts_with("-") && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

std::string money(double value) {
  const std::string text = fixed(value, 2);
  const size_t start = text.starts_with("-") ? 1 : 0;
  const size_t point = std::min(text.find('.'), text.size());  // no point: "inf", "nan"
  std::string out = text.substr(0, start);
  for (size_t i = start; i < point; ++i) {
    if (i > start && (point - i) % 3 == 0) out += ',';
    out += text[i];
  }
  return out + text.substr(point);
}

std::string percent(double fraction, int decimals) { return fixed(fraction * 100, decimals) + "%"; }

std::string signed_percent(double fraction, int decimals) {
  std::string text = percent(fraction, decimals);
  return text.starts_with("-") || text.find_first_not_of("0.%") == std::string::npos ? text : "+" + text;
}

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string local_date(int64_t ms) { return core::format_time(ms, "%Y-%m-%d", core::TimeBase::local); }

}  // namespace agentd::agents
