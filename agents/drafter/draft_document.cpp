#include "agents/drafter/draft_document.hpp"

#include <cctype>
#include <sstream>

#include "agents/common/plain_text.hpp"

namespace agentd::agents::draft {

namespace {

bool blank(const std::string& line) { return text::trim(line).empty(); }

bool is_heading_at(const std::vector<std::string>& lines, size_t i) {
  if (!lines[i].starts_with("## ")) return false;
  bool before = i == 0 || blank(lines[i - 1]);
  bool after = i + 1 == lines.size() || blank(lines[i + 1]);
  return before && after;
}

}  // namespace

std::vector<Section> split_sections(std::string_view document) {
  std::vector<std::string> lines = text::lines(document);
  std::vector<Section> sections;
  std::string body;
  // The text gathered since the last heading belongs to it (or, before any heading, to a
  // section without one).
  auto close_section = [&] {
    std::string trimmed = text::trim(body);
    body.clear();
    if (sections.empty() && trimmed.empty()) return;
    if (sections.empty()) sections.push_back({});
    sections.back().text = trimmed;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!is_heading_at(lines, i)) {
      body += lines[i] + "\n";
      continue;
    }
    close_section();
    sections.push_back({text::trim(std::string_view(lines[i]).substr(3)), ""});
  }
  close_section();
  return sections;
}

std::string assemble_draft(const std::string& title, const std::vector<Section>& sections) {
  std::string out = "# " + title + "\n";
  for (const auto& s : sections) {
    out += "\n";
    if (!s.heading.empty()) out += "## " + s.heading + "\n\n";
    if (!s.text.empty()) out += s.text + "\n";
  }
  return out;
}

std::string title_from_brief(std::string_view brief) {
  std::string first = text::trim(brief);
  if (size_t nl = first.find('\n'); nl != std::string::npos) first.resize(nl);
  for (size_t i = 0; i < first.size(); ++i) {
    char c = first[i];
    bool end_of_sentence = (c == '.' || c == '!' || c == '?' || c == ':') &&
                           (i + 1 == first.size() || std::isspace(static_cast<unsigned char>(first[i + 1])));
    if (end_of_sentence) {
      first.resize(c == '.' || c == ':' ? i : i + 1);
      break;
    }
  }
  while (!first.empty() && first.front() == '#') first.erase(0, 1);  // a brief written as a heading
  std::string title = text::one_line(first, 80);
  return title.empty() ? "Draft" : title;
}

int count_words(std::string_view text) {
  int words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace agentd::agents::draft
