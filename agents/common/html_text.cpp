#include "agents/common/html_text.hpp"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>

namespace agentd::agents {

namespace {

enum class Kind { skipped, paragraph, block, line_break, item, inline_, other };

bool named(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// libxml2 gives HTML element names in lower case.
Kind kind_of(std::string_view name) {
  if (named(name, {"script", "style", "head", "template"})) return Kind::skipped;
  if (name == "br") return Kind::line_break;
  if (name == "li") return Kind::item;
  if (named(name, {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl",
                   "hr"})) {
    return Kind::paragraph;
  }
  if (named(name, {"div", "tr", "dt", "dd", "section", "article", "header", "footer", "nav", "aside", "main",
                   "figure", "figcaption", "form", "address", "center", "body", "caption"})) {
    return Kind::block;
  }
  if (named(name, {"a",    "b",   "i",   "u",    "s",      "em",  "strong", "span", "code", "small",
                   "big",  "sub", "sup", "abbr", "mark",   "q",   "cite",   "time", "kbd",  "var",
                   "font", "tt",  "del", "ins",  "strike", "bdi", "bdo",    "dfn",  "samp", "wbr"})) {
    return Kind::inline_;
  }
  return Kind::other;
}

std::string_view name_of(const xmlNode* n) {
  return reinterpret_cast<const char*>(n->name);
}

// Ends the text so far with `lines` line breaks (spaces aside), adding only what is missing: the
// boundaries of nested or adjacent blocks share their breaks.
void break_lines(std::string& out, int lines) {
  int have = 0;
  for (auto it = out.rbegin(); it != out.rend() && have < lines; ++it) {
    if (*it == '\n')
      ++have;
    else if (*it != ' ' && *it != '\t')
      break;
  }
  out.append(size_t(lines - have), '\n');
}

// What an element's start or end adds to the text: a paragraph stands apart by a blank line, a
// block on its own line; an item starts a line, its end does not; each <br> breaks the line.
// An element without children (<br>, <img>, or an empty one) is marked once, at its start.
void mark(const xmlNode* n, bool start, std::string& out) {
  switch (kind_of(name_of(n))) {
    case Kind::paragraph:
      break_lines(out, 2);
      break;
    case Kind::block:
      break_lines(out, 1);
      break;
    case Kind::line_break:
      out += '\n';
      break;
    case Kind::item:
      if (start) break_lines(out, 1), out += "- ";
      break;
    case Kind::other:
      out += ' ';
      break;
    default:
      break;
  }
}

void append_text(const xmlNode* n, bool in_pre, std::string& out) {
  std::string_view text = reinterpret_cast<const char*>(n->content);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\xC2\xA0") == 0) {  // U+00A0, a non-breaking space: plain text has spaces
      out += ' ';
      ++i;
    } else {
      out += text[i] == '\n' && !in_pre ? ' ' : text[i];
    }
  }
}

bool inside_pre(const xmlNode* n) {
  for (; n; n = n->parent) {
    if (n->type == XML_ELEMENT_NODE && name_of(n) == "pre") return true;
  }
  return false;
}

// Depth-first over the tree without recursion (a hostile document may be deep).
std::string walk(const xmlDoc* doc) {
  std::string out;
  const xmlNode* root = reinterpret_cast<const xmlNode*>(doc);
  const xmlNode* n = doc->children;
  while (n) {
    bool descend = false;
    if (n->type == XML_TEXT_NODE && n->content) {
      append_text(n, inside_pre(n->parent), out);
    } else if (n->type == XML_ELEMENT_NODE && kind_of(name_of(n)) != Kind::skipped) {
      mark(n, true, out);
      descend = n->children != nullptr;
    }
    if (descend) {
      n = n->children;
      continue;
    }
    while (n != root && !n->next) {  // climb out of finished elements, closing each
      n = n->parent;
      if (n != root) mark(n, false, out);
    }
    n = n == root ? nullptr : n->next;
  }
  return out;
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

struct FreeDoc {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

}  // namespace

std::string html_to_text(std::string_view html) {
  // libxml2 wants its global state set up once, before threads use it (xmlInitParser's contract).
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  if (html.empty()) return {};
  // No error output, no network, and the text is UTF-8 whatever a <meta charset> in it claims (the
  // callers decoded it already). The implied <html>/<head>/<body> stay: without them libxml2 nests
  // what follows a leading <script> or <title> inside it.
  const int options = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC |
                      HTML_PARSE_COMPACT;
  const int size = static_cast<int>(std::min<size_t>(html.size(), INT_MAX));
  std::unique_ptr<xmlDoc, FreeDoc> doc(htmlReadMemory(html.data(), size, nullptr, "UTF-8", options));
  if (!doc) return {};
  return collapse_spaces(walk(doc.get()));
}

}  // namespace agentd::agents
