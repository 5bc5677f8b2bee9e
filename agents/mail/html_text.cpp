#include "agents/mail/html_text.hpp"

#include <algorithm>
#include <cctype>

#include "agents/common/html_entities.hpp"

namespace agentd::agents {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The tag name of "<tag ...>" / "</tag>" (lower case, without '/').
std::string tag_name(const std::string& tag) {
  size_t i = 1;
  if (i < tag.size() && tag[i] == '/') ++i;
  size_t end = i;
  while (end < tag.size() && std::isalnum(static_cast<unsigned char>(tag[end]))) ++end;
  return lower(tag.substr(i, end - i));
}

bool breaks_line(const std::string& name) {
  static const char* kBlocks[] = {"br", "p", "div", "tr", "ul", "ol", "table", "h1", "h2", "h3",
                                  "h4", "h5", "h6", "blockquote", "pre", "hr", "section", "article"};
  return std::any_of(std::begin(kBlocks), std::end(kBlocks), [&](const char* b) { return name == b; });
}

// Removes <name ...> ... </name> blocks (case-insensitive); an unclosed one runs to the end.
std::string drop_elements(const std::string& html, const std::string& name) {
  std::string out;
  std::string low = lower(html);
  size_t pos = 0;
  while (true) {
    size_t open = low.find("<" + name, pos);
    while (open != std::string::npos) {
      char next = open + 1 + name.size() < low.size() ? low[open + 1 + name.size()] : '>';
      if (next == '>' || next == '/' || std::isspace(static_cast<unsigned char>(next))) break;
      open = low.find("<" + name, open + 1);
    }
    if (open == std::string::npos) return out + html.substr(pos);
    out += html.substr(pos, open - pos);
    size_t close = low.find("</" + name, open);
    if (close == std::string::npos) return out;
    size_t gt = low.find('>', close);
    if (gt == std::string::npos) return out;
    pos = gt + 1;
  }
}

// Runs of spaces and tabs become one space, spaces around line breaks go, at most one blank line
// in a row, no outer blank space. A loop, not std::regex: untrusted input may hold long runs.
std::string collapse_spaces(const std::string& text) {
  std::string out;
  int newlines = 0;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
    } else if (c == '\n') {
      ++newlines;
      space = false;
    } else {
      if (!out.empty()) out += newlines >= 2 ? "\n\n" : newlines == 1 ? "\n" : space ? " " : "";
      out += c;
      newlines = 0;
      space = false;
    }
  }
  return out;
}

std::string drop_comments(const std::string& html) {
  std::string out;
  size_t pos = 0;
  for (size_t open; (open = html.find("<!--", pos)) != std::string::npos;) {
    out += html.substr(pos, open - pos);
    size_t close = html.find("-->", open + 4);
    if (close == std::string::npos) return out;  // unterminated: drop the rest
    pos = close + 3;
  }
  return out + html.substr(pos);
}

}  // namespace

std::string html_to_text(const std::string& html) {
  std::string s = drop_comments(html);
  for (const char* element : {"script", "style", "head"}) s = drop_elements(s, element);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '<') {
      out += s[i] == '\n' ? ' ' : s[i];  // source line breaks are not text line breaks
      ++i;
      continue;
    }
    size_t gt = s.find('>', i);
    if (gt == std::string::npos) break;  // an unterminated tag: drop the rest
    std::string name = tag_name(s.substr(i, gt - i + 1));
    if (breaks_line(name)) out += '\n';
    if (name == "li" && s[i + 1] != '/') out += "\n- ";  // an item starts a line; its end does not
    i = gt + 1;
  }
  return collapse_spaces(decode_html_entities(out));
}

}  // namespace agentd::agents
