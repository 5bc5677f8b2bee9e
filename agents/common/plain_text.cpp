#include "agents/common/plain_text.hpp"

#include <cctype>
#include <sstream>

namespace agentd::agents::text {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string truncate_utf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  while (cut > 0 && is_continuation(s[cut])) --cut;  // s[cut] starts the first character left out
  return std::string(s.substr(0, cut));
}

std::string one_line(std::string_view s, size_t max_bytes) {
  std::string folded;
  bool pending_space = false;
  for (char c : s) {
    if (is_space(c)) {
      pending_space = !folded.empty();
      continue;
    }
    if (pending_space) folded += ' ';
    pending_space = false;
    folded += c;
  }
  if (folded.size() <= max_bytes) return folded;
  std::string cut = trim(truncate_utf8(folded, max_bytes > 3 ? max_bytes - 3 : 0));
  return cut + "...";
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  out.append(s).append("'");
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> lines(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

}  // namespace agentd::agents::text
