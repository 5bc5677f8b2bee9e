#include "agents/summarizer/document.hpp"

#include <stdexcept>

#include "agents/common/plain_text.hpp"

namespace agentd::agents {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// The longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8 sequence.
size_t utf8_cut(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return cut == 0 ? max : cut;
}

// Where to cut `s` (longer than max) so the first piece fits: after the last sentence end
// within the budget, else at the last space, else at the budget itself.
size_t cut_point(std::string_view s, size_t max) {
  std::string_view head = s.substr(0, utf8_cut(s, max));
  for (size_t i = head.size(); i-- > 1;) {
    if (is_space(head[i]) && (head[i - 1] == '.' || head[i - 1] == '!' || head[i - 1] == '?')) return i;
  }
  for (size_t i = head.size(); i-- > 1;) {
    if (is_space(head[i])) return i;
  }
  return head.size();
}

// `paragraph` in pieces of at most `max` bytes.
std::vector<std::string> split_long(std::string_view paragraph, size_t max) {
  std::vector<std::string> pieces;
  std::string_view rest = paragraph;
  while (rest.size() > max) {
    size_t cut = cut_point(rest, max);
    pieces.emplace_back(text::trim_view(rest.substr(0, cut)));
    rest = text::trim_view(rest.substr(cut));
  }
  if (!rest.empty()) pieces.emplace_back(rest);
  return pieces;
}

}  // namespace

std::vector<std::string> split_paragraphs(std::string_view text) {
  std::vector<std::string> paragraphs;
  std::string current;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (text::trim_view(line).empty()) {
      if (!text::trim_view(current).empty()) paragraphs.emplace_back(text::trim_view(current));
      current.clear();
    } else {
      if (!current.empty()) current += '\n';
      current += line;
    }
    pos = end + 1;
  }
  if (!text::trim_view(current).empty()) paragraphs.emplace_back(text::trim_view(current));
  return paragraphs;
}

std::vector<std::string> chunk_paragraphs(std::string_view text, size_t max_chars) {
  if (max_chars < 16) throw std::invalid_argument("chunk size must be at least 16 characters");
  std::vector<std::string> chunks;
  std::string current;
  for (const std::string& paragraph : split_paragraphs(text)) {
    for (const std::string& piece : paragraph.size() > max_chars ? split_long(paragraph, max_chars)
                                                                   : std::vector<std::string>{paragraph}) {
      if (!current.empty() && current.size() + 2 + piece.size() > max_chars) {
        chunks.push_back(std::move(current));
        current.clear();
      }
      if (!current.empty()) current += "\n\n";
      current += piece;
    }
  }
  if (!current.empty()) chunks.push_back(std::move(current));
  return chunks;
}

DocumentFacts document_facts(std::string_view text) {
  DocumentFacts f;
  f.bytes = text.size();
  bool in_word = false;
  for (char c : text) {
    if (!is_space(c) && !in_word) ++f.words;
    in_word = !is_space(c);
  }
  f.paragraphs = split_paragraphs(text).size();
  bool fenced = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text::trim_view(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.starts_with("```")) fenced = !fenced;
    if (fenced || !line.starts_with('#')) continue;
    size_t level = line.find_first_not_of('#');
    if (level == std::string_view::npos || level > 6 || line[level] != ' ') continue;
    std::string_view title = text::trim_view(line.substr(level));
    while (!title.empty() && title.back() == '#') title.remove_suffix(1);  // "## Title ##"
    if (!text::trim_view(title).empty()) f.headings.emplace_back(text::trim_view(title));
  }
  return f;
}

}  // namespace agentd::agents
