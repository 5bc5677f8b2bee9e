#include "agents/common/html_entities.hpp"

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>

#include "agents/common/plain_text.hpp"

namespace agentd::agents {

namespace {

void append_utf8(uint32_t cp, std::string& out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | cp >> 6), out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | cp >> 12), out += char(0x80 | (cp >> 6 & 0x3F)), out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | cp >> 18), out += char(0x80 | (cp >> 12 & 0x3F)), out += char(0x80 | (cp >> 6 & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// "#38", "#x26": the code point (0x110000 for anything past U+10FFFF), or nullopt.
std::optional<uint32_t> numeric_reference(std::string_view name) {
  bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
  std::string_view digits = name.substr(hex ? 2 : 1);
  if (digits.empty()) return std::nullopt;
  uint32_t cp = 0;
  for (char c : digits) {
    auto u = static_cast<unsigned char>(c);
    int v = std::isdigit(u) ? c - '0' : hex && std::isxdigit(u) ? std::tolower(u) - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    cp = cp * (hex ? 16 : 10) + uint32_t(v);
    if (cp > 0x10FFFF) cp = 0x110000;
  }
  return cp;
}

std::optional<uint32_t> named_reference(std::string_view name) {
  static const std::map<std::string, uint32_t, std::less<>> kSymbols = {  // matched in any case
      {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},       {"apos", '\''},
      {"nbsp", 0xA0},     {"ndash", 0x2013},  {"mdash", 0x2014},  {"hellip", 0x2026},  {"lsquo", 0x2018},
      {"rsquo", 0x2019},  {"ldquo", 0x201C},  {"rdquo", 0x201D},  {"euro", 0x20AC},    {"pound", 0xA3},
      {"copy", 0xA9},     {"reg", 0xAE},      {"middot", 0xB7},   {"bull", 0x2022}};
  static const std::map<std::string, uint32_t, std::less<>> kLetters = {  // matched exactly
      {"eacute", 0xE9}, {"egrave", 0xE8}, {"uuml", 0xFC}, {"ouml", 0xF6}, {"auml", 0xE4}, {"szlig", 0xDF}};
  if (auto it = kLetters.find(name); it != kLetters.end()) return it->second;
  if (auto it = kSymbols.find(text::ascii_lower(name)); it != kSymbols.end()) return it->second;
  return std::nullopt;
}

}  // namespace

size_t decode_html_entity(std::string_view text, size_t at, std::string& out) {
  size_t semi = text.find(';', at);
  if (semi == std::string_view::npos || semi - at > 10 || semi == at + 1) return 0;
  std::string_view name = text.substr(at + 1, semi - at - 1);
  std::optional<uint32_t> cp = name[0] == '#' ? numeric_reference(name) : named_reference(name);
  if (!cp) return 0;
  append_utf8(*cp == 0xA0 ? ' ' : *cp, out);  // a non-breaking space reads as a space in plain text
  return semi - at + 1;
}

std::string decode_html_entities(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t used = text[i] == '&' ? decode_html_entity(text, i, out) : 0;
    if (used == 0) out += text[i];
    i += used ? used : 1;
  }
  return out;
}

}  // namespace agentd::agents
