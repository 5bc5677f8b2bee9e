#include "agents/evaluator/claims.hpp"

#include <cctype>
#include <sstream>

#include "agents/common/plain_text.hpp"

namespace agentd::agents::evaluation {

namespace {

constexpr size_t kMaxClaimBytes = 400;
constexpr int kMinClaimWords = 3;

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) lines.push_back(text::trim(line));
  return lines;
}

// "- x", "* x", "+ x", "12. x", "3) x" -> "x"; also a leading "> " quote. Returns whether a list
// marker was removed.
bool strip_list_marker(std::string& line) {
  while (line.starts_with(">")) line = text::trim(std::string_view(line).substr(1));
  if (line.size() >= 2 && (line[0] == '-' || line[0] == '*' || line[0] == '+') && line[1] == ' ') {
    line = text::trim(std::string_view(line).substr(2));
    return true;
  }
  size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    line = text::trim(std::string_view(line).substr(digits + 2));
    return true;
  }
  return false;
}

std::string without_emphasis(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 2) == "**" || s.substr(i, 2) == "__") {
      ++i;
      continue;
    }
    if (s[i] == '`') continue;
    out += s[i];
  }
  return out;
}

int word_count(std::string_view s) {
  int words = 0;
  bool in_word = false;
  for (char c : s) {
    if (!is_space(c) && !in_word) ++words;
    in_word = !is_space(c);
  }
  return words;
}

bool sentence_end_at(std::string_view p, size_t i, size_t& end) {
  if (p[i] != '.' && p[i] != '!' && p[i] != '?') return false;
  end = i + 1;
  while (end < p.size() && (p[end] == '"' || p[end] == '\'' || p[end] == ')' || p[end] == ']')) ++end;
  return end == p.size() || is_space(p[end]);
}

void add_sentences(std::string_view paragraph, ClaimList& out, size_t max_claims) {
  std::string p = without_emphasis(paragraph);
  size_t start = 0;
  auto add = [&](size_t end) {
    std::string sentence = text::one_line(std::string_view(p).substr(start, end - start), kMaxClaimBytes);
    start = end;
    if (word_count(sentence) < kMinClaimWords) return;
    ++out.total;
    if (out.claims.size() < max_claims) out.claims.push_back(sentence);
  };
  for (size_t i = 0; i < p.size(); ++i) {
    size_t end = 0;
    if (sentence_end_at(p, i, end)) {
      add(end);
      i = end > 0 ? end - 1 : i;
    }
  }
  if (start < p.size()) add(p.size());
}

}  // namespace

ClaimList split_claims(std::string_view markdown, size_t max_claims) {
  ClaimList out;
  std::string paragraph;
  bool in_fence = false, in_comment = false;
  auto end_paragraph = [&] {
    if (!paragraph.empty()) add_sentences(paragraph, out, max_claims);
    paragraph.clear();
  };
  for (std::string line : lines_of(markdown)) {
    if (in_comment) {
      in_comment = line.find("-->") == std::string::npos;
      continue;
    }
    if (line.starts_with("```") || line.starts_with("~~~")) {
      end_paragraph();
      in_fence = !in_fence;
      continue;
    }
    if (in_fence) continue;
    if (line.starts_with("<!--")) {
      end_paragraph();
      in_comment = line.find("-->") == std::string::npos;
      continue;
    }
    if (line.empty() || line.starts_with("#")) {
      end_paragraph();
      continue;
    }
    if (strip_list_marker(line)) end_paragraph();  // each list item is a paragraph of its own
    paragraph += (paragraph.empty() ? "" : " ") + line;
  }
  end_paragraph();
  return out;
}

FactList parse_facts(std::string_view text, size_t max_facts, size_t max_fact_bytes) {
  FactList out;
  size_t number = 0, dropped = 0;
  bool in_comment = false;
  for (std::string line : lines_of(text)) {
    ++number;
    if (in_comment) {
      in_comment = line.find("-->") == std::string::npos;
      continue;
    }
    if (line.starts_with("<!--")) {
      in_comment = line.find("-->") == std::string::npos;
      continue;
    }
    if (line.empty() || line.starts_with("#")) continue;
    strip_list_marker(line);
    if (line.empty()) continue;
    if (line.size() > max_fact_bytes) {
      out.problems.push_back("line " + std::to_string(number) + ": " + std::to_string(line.size()) +
                             " bytes; a fact has at most " + std::to_string(max_fact_bytes));
      continue;
    }
    if (out.facts.size() == max_facts) {
      ++dropped;
      continue;
    }
    out.facts.push_back(line);
  }
  if (dropped > 0) {
    out.problems.push_back(std::to_string(dropped) + " fact(s) beyond the first " + std::to_string(max_facts) +
                           " left out");
  }
  return out;
}

}  // namespace agentd::agents::evaluation
