#include "agents/chat/chat_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace agentd::agents {

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

ChatRequest from_json_object(const nlohmann::json& j) {
  ChatRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key != "session" && key != "message") {
      throw std::invalid_argument("chat request: unknown key \"" + key + "\" (expected \"session\" and \"message\")");
    }
  }
  if (!j["message"].is_string()) throw std::invalid_argument("chat request: \"message\" must be a string");
  r.message = j["message"].get<std::string>();
  if (j.contains("session")) {
    if (!j["session"].is_string()) throw std::invalid_argument("chat request: \"session\" must be a string");
    r.session = j["session"].get<std::string>();
  }
  return r;
}

}  // namespace

bool valid_session_name(std::string_view name) {
  static const std::regex valid("[A-Za-z0-9_.-]{1,64}");
  return std::regex_match(name.begin(), name.end(), valid);
}

ChatRequest parse_chat_request(const std::string& input, size_t max_chars) {
  ChatRequest r;
  r.message = input;
  if (core::trim_view(input).starts_with('{')) {
    nlohmann::json j = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("message")) r = from_json_object(j);
  }
  if (!valid_session_name(r.session)) {
    throw std::invalid_argument("chat request: session \"" + r.session.substr(0, 80) +
                                "\" is not a session name (1-64 letters, digits, _ . -)");
  }
  r.message = std::string(core::trim_view(r.message));
  if (r.message.size() > max_chars) {
    throw std::invalid_argument("chat request: the message is " + std::to_string(r.message.size()) +
                                " characters; the limit is " + std::to_string(max_chars));
  }
  return r;
}

std::optional<std::string> note_request(std::string_view message) {
  std::string_view m = core::trim_view(message);
  if (starts_with_nocase(m, "please ")) m = core::trim_view(m.substr(7));
  static constexpr std::array<std::string_view, 5> kOpenings = {"remember that ", "remember:", "note that ", "note:",
                                                                "/note"};
  for (std::string_view opening : kOpenings) {
    if (!starts_with_nocase(m, opening)) continue;
    std::string_view rest = m.substr(opening.size());
    // "/note" must be the whole word: "/notebook" is not a note request.
    if (opening == "/note" && !rest.empty() && !std::isspace(static_cast<unsigned char>(rest.front()))) continue;
    return std::string(core::trim_view(rest));
  }
  return std::nullopt;
}

std::string recall_query(std::string_view message) {
  static const std::set<std::string, std::less<>> kCommon = {
      "a",     "about", "all",   "am",    "an",    "and",   "any",   "are",   "as",    "at",    "be",    "but",
      "by",    "can",   "could", "did",   "do",    "does",  "for",   "from",  "had",   "has",   "have",  "he",
      "her",   "him",   "his",   "how",   "i",     "if",    "in",    "into",  "is",    "it",    "its",   "me",
      "my",    "no",    "not",   "of",    "on",    "or",    "our",   "please", "she",  "should", "so",   "tell",
      "than",  "that",  "the",   "their", "them",  "then",  "there", "these", "they",  "this",  "to",    "us",
      "was",   "we",    "were",  "what",  "when",  "where", "which", "who",   "whom",  "why",   "will",  "with",
      "would", "you",   "your"};
  std::string query, word;
  auto flush = [&] {
    if (word.size() > 1 && !kCommon.contains(word)) query += (query.empty() ? "" : " ") + word;
    word.clear();
  };
  for (unsigned char c : message) {
    if (std::isalnum(c) || c >= 0x80) {
      word += static_cast<char>(std::tolower(c));
    } else {
      flush();
    }
  }
  flush();
  return query;
}

}  // namespace agentd::agents
