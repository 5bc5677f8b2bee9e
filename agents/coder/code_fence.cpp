#include "agents/coder/code_fence.hpp"

#include <optional>
#include <sstream>
#include <vector>

#include "agents/common/plain_text.hpp"

namespace agentd::agents::coder {

namespace {

struct Fence {
  char mark;
  size_t length;
};

size_t indent_of(const std::string& line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

std::optional<Fence> opening_fence(const std::string& line) {
  size_t i = indent_of(line);
  if (i > 3 || i >= line.size() || (line[i] != '`' && line[i] != '~')) return std::nullopt;
  char mark = line[i];
  size_t n = 0;
  while (i + n < line.size() && line[i + n] == mark) ++n;
  if (n < 3) return std::nullopt;
  return Fence{mark, n};
}

bool closes(const std::string& line, const Fence& fence) {
  auto f = opening_fence(line);
  return f && f->mark == fence.mark && f->length >= fence.length && text::trim(line).size() == f->length;
}

// The block opened at lines[open], to its closing line or the end.
std::string block_at(const std::vector<std::string>& lines, size_t open) {
  Fence fence = *opening_fence(lines[open]);
  std::string body;
  for (size_t i = open + 1; i < lines.size() && !closes(lines[i], fence); ++i) body += lines[i] + "\n";
  return body;
}

std::string tidy(std::string_view content) {
  // Drop blank lines at both ends but keep the first line's indentation.
  std::vector<std::string> lines = text::lines(content);
  size_t begin = 0, end = lines.size();
  while (begin < end && text::trim(lines[begin]).empty()) ++begin;
  while (end > begin && text::trim(lines[end - 1]).empty()) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += lines[i] + "\n";
  return out;
}

}  // namespace

std::string strip_code_fence(std::string_view answer, bool keep_inner_fences) {
  std::vector<std::string> lines = text::lines(answer);
  size_t first = 0;
  while (first < lines.size() && text::trim(lines[first]).empty()) ++first;
  if (first < lines.size() && opening_fence(lines[first])) return tidy(block_at(lines, first));
  if (!keep_inner_fences) {
    for (size_t i = first; i < lines.size(); ++i) {
      if (opening_fence(lines[i])) return tidy(block_at(lines, i));
    }
  }
  return tidy(answer);
}

}  // namespace agentd::agents::coder
