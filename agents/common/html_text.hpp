// html_to_text: the readable text of HTML from strangers (a mail body, a feed item's title or
// summary), for a model prompt, a summary or a list. Not a browser: libxml2's HTML parser reads it
// (as a browser would: unclosed and misnested tags, every named and numeric character reference),
// then the tree is walked for its text. <script>, <style>, <head>, <template> and comments are
// dropped with their content; block elements (<p>, <div>, <br>, <tr>, headings, ...) break the
// line, an <li> starts a line with "- ", inline ones (<a>, <b>, <span>, ...) join their words, any
// other tag separates words. Source line breaks are not text line breaks (except inside <pre>);
// a non-breaking space reads as a space; runs of spaces collapse and there is at most one blank
// line in a row. Text nested deeper than libxml2's limit (256 elements) is dropped. Bytes that are
// not UTF-8 pass through as they came (the callers repair or cut text to UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace agentd::agents {

std::string html_to_text(std::string_view html);

}  // namespace agentd::agents
