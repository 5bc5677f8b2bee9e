#include "replay_trace.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <limits>

namespace agentd::bench::replay {

using nlohmann::json;

namespace {

[[noreturn]] void refuse(const std::string& source, size_t line, const std::string& why) {
  throw TraceError(source + ":" + std::to_string(line) + ": " + why);
}

bool is_class(const std::string& c) { return c == "interactive" || c == "tool" || c == "background"; }

ReplayRequest request_from(const json& j, const std::string& source, size_t line) {
  if (!j.is_object()) refuse(source, line, "not a JSON object");
  ReplayRequest r;
  if (!j.contains("time") || !j["time"].is_number() || j["time"].get<double>() < 0) {
    refuse(source, line, "'time' must be a number of seconds >= 0");
  }
  r.time_s = j["time"];
  r.agent = j.value("agent", "");
  if (r.agent.empty()) refuse(source, line, "'agent' must be a non-empty string");
  if (!j.contains("class") || !j["class"].is_string() || !is_class(j["class"])) {
    refuse(source, line, "'class' must be interactive, tool or background");
  }
  r.klass = j["class"];
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) {
    refuse(source, line, "'messages' must be a non-empty array");
  }
  for (const json& m : j["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") || !m["content"].is_string()) {
      refuse(source, line, "each message needs string 'role' and 'content'");
    }
  }
  r.messages = j["messages"];
  if (!j.contains("max_tokens") || !j["max_tokens"].is_number_integer() || j["max_tokens"].get<int>() < 1) {
    refuse(source, line, "'max_tokens' must be an integer >= 1");
  }
  r.max_tokens = j["max_tokens"];
  if (j.contains("schema") && !j["schema"].is_null()) {
    if (!j["schema"].is_object()) refuse(source, line, "'schema' must be a JSON object");
    r.schema = j["schema"];
  }
  if (j.contains("tools") && !j["tools"].is_null()) {
    if (!j["tools"].is_array()) refuse(source, line, "'tools' must be an array");
    r.tools = j["tools"];
  }
  auto whole = [&](const char* key) {
    if (!j.contains(key)) return -1;
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0 || j[key].get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      refuse(source, line, std::string("'") + key + "' must be an integer >= 0");
    }
    return j[key].get<int>();
  };
  r.chain = whole("chain");
  r.task = whole("task");
  if (j.contains("resend_answers")) {
    if (!j["resend_answers"].is_boolean()) refuse(source, line, "'resend_answers' must be true or false");
    r.resend_answers = j["resend_answers"];
  }
  if (j.contains("after")) {
    if (!j["after"].is_number() || j["after"].get<double>() < 0) refuse(source, line, "'after' must be a number >= 0");
    r.after_s = j["after"];
  }
  return r;
}

// "2023-11-16 18:15:46.6805900" -> seconds since the epoch (UTC), fractional.
std::optional<double> parse_timestamp(const std::string& s) {
  std::tm tm{};
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &n) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double frac = 0;
  if (static_cast<size_t>(n) < s.size()) {
    if (s[n] != '.') return std::nullopt;
    auto [p, ec] = std::from_chars(s.data() + n, s.data() + s.size(), frac);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  }
  return static_cast<double>(::timegm(&tm)) + frac;
}

std::optional<int> parse_count(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

json to_json(const ReplayRequest& r) {
  json j = {{"time", r.time_s}, {"agent", r.agent}, {"class", r.klass}, {"messages", r.messages}, {"max_tokens", r.max_tokens}};
  if (r.schema) j["schema"] = *r.schema;
  if (r.tools) j["tools"] = *r.tools;
  if (r.chain >= 0) j["chain"] = r.chain;
  if (r.after_s > 0) j["after"] = r.after_s;
  if (r.task >= 0) j["task"] = r.task;
  if (r.resend_answers) j["resend_answers"] = true;
  return j;
}

std::vector<ReplayRequest> read_trace_jsonl(std::istream& in, const std::string& source) {
  std::vector<ReplayRequest> day;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) refuse(source, line, "not valid JSON");
    day.push_back(request_from(j, source, line));
  }
  std::stable_sort(day.begin(), day.end(), [](const auto& a, const auto& b) { return a.time_s < b.time_s; });
  return day;
}

void write_trace_jsonl(std::ostream& out, const std::vector<ReplayRequest>& day) {
  for (const auto& r : day) out << to_json(r).dump() << '\n';
}

std::vector<ChatTraceRow> read_azure_conv_csv(std::istream& in, const std::string& source) {
  std::vector<ChatTraceRow> rows;
  std::string text;
  double t0 = -1;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (line == 1) {
      if (text != "TIMESTAMP,ContextTokens,GeneratedTokens") refuse(source, line, "expected the header TIMESTAMP,ContextTokens,GeneratedTokens");
      continue;
    }
    if (text.empty()) continue;
    const size_t a = text.find(','), b = a == std::string::npos ? a : text.find(',', a + 1);
    if (b == std::string::npos || text.find(',', b + 1) != std::string::npos) refuse(source, line, "expected 3 fields");
    auto at = parse_timestamp(text.substr(0, a));
    auto ctx = parse_count(std::string_view(text).substr(a + 1, b - a - 1));
    auto gen = parse_count(std::string_view(text).substr(b + 1));
    if (!at) refuse(source, line, "bad TIMESTAMP '" + text.substr(0, a) + "'");
    if (!ctx || !gen) refuse(source, line, "token counts must be integers >= 0");
    if (t0 < 0) t0 = *at;
    if (*at < t0) refuse(source, line, "TIMESTAMP goes back in time");
    rows.push_back({*at - t0, *ctx, *gen});
  }
  return rows;
}

}  // namespace agentd::bench::replay
