#include "agents/common/text_excerpt.hpp"

#include <cctype>

namespace agentd::agents {

std::string cut_utf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

std::string one_line_excerpt(std::string_view text, size_t max_bytes) {
  std::string line;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (space && (line.empty() || line.back() == ' ')) continue;
    line += space ? ' ' : c;
    if (line.size() > max_bytes + 1) break;  // enough to know it must be cut
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.size() <= max_bytes) return line;
  size_t space = line.rfind(' ', max_bytes);
  std::string cut = space != std::string::npos && space >= max_bytes / 2 ? line.substr(0, space) : cut_utf8(line, max_bytes);
  return cut + "...";
}

}  // namespace agentd::agents
