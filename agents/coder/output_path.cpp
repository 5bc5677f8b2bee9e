#include "agents/coder/output_path.hpp"

#include <algorithm>
#include <cstdio>

#include "agents/common/plain_text.hpp"

namespace agentd::agents::coder {

namespace {

bool allowed_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '/';
}

std::string byte_text(char c) {
  char buf[16];
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F) std::snprintf(buf, sizeof buf, "'%c'", c);
  else std::snprintf(buf, sizeof buf, "byte 0x%02X", u);
  return buf;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

std::string component_refusal(std::string_view part) {
  if (part.empty()) return "an empty path component ('//' or a trailing '/')";
  if (part == "." || part == "..") return text::quoted(part) + " is not allowed in a path";
  if (part.front() == '.') return text::quoted(part) + " is a hidden name";
  if (part.front() == '-') return text::quoted(part) + " starts with '-'";
  return "";
}

}  // namespace

const std::vector<std::string>& default_extensions() {
  static const std::vector<std::string> list = {"sh",   "bash", "py",  "js",   "ts",  "sql", "json", "yaml",
                                                "yml",  "toml", "ini", "cfg",  "conf", "md", "txt",  "csv",
                                                "xml",  "html", "css", "service", "timer"};
  return list;
}

bool valid_extension(std::string_view ext) {
  return !ext.empty() && ext.size() <= 10 &&
         std::all_of(ext.begin(), ext.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

std::string path_refusal(std::string_view path, const std::vector<std::string>& extensions) {
  if (path.empty()) return "an empty path";
  if (path.size() > kMaxPathBytes) {
    return std::to_string(path.size()) + " bytes; a path has at most " + std::to_string(kMaxPathBytes);
  }
  if (path.front() == '/') return "an absolute path; give a path inside the output folder";
  for (char c : path) {
    if (!allowed_char(c)) return byte_text(c) + " is not allowed (only ASCII letters, digits, '.', '_', '-', '/')";
  }
  std::vector<std::string_view> parts = components(path);
  if (parts.size() > static_cast<size_t>(kMaxPathComponents)) {
    return std::to_string(parts.size()) + " components; at most " + std::to_string(kMaxPathComponents);
  }
  for (auto part : parts) {
    if (std::string why = component_refusal(part); !why.empty()) return why;
  }
  std::string_view name = parts.back();
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return text::quoted(name) + " has no extension";
  std::string ext = text::ascii_lower(name.substr(dot + 1));
  if (std::find(extensions.begin(), extensions.end(), ext) == extensions.end()) {
    std::string allowed;
    for (const auto& e : extensions) allowed += (allowed.empty() ? "." : ", .") + e;
    return "the extension '." + ext + "' is not allowed (allowed: " + allowed + ")";
  }
  return "";
}

std::string numbered(std::string_view path, int n) {
  if (n < 2) return std::string(path);
  size_t slash = path.rfind('/');
  size_t name_start = slash == std::string_view::npos ? 0 : slash + 1;
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || dot <= name_start) return std::string(path) + "-" + std::to_string(n);
  return std::string(path.substr(0, dot)) + "-" + std::to_string(n) + std::string(path.substr(dot));
}

}  // namespace agentd::agents::coder
