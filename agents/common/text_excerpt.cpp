#include "agents/common/text_excerpt.hpp"

#include <cctype>

#include "agents/common/plain_text.hpp"

namespace agentd::agents {

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
  std::string cut = space != std::string::npos && space >= max_bytes / 2
                        ? line.substr(0, space)
                        : text::truncate_utf8(line, max_bytes);
  return cut + "...";
}

}  // namespace agentd::agents
