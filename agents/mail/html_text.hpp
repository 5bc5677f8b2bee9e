// html_to_text: the readable text of an HTML mail body, for a model prompt and a summary. Not a
// browser: comments, <script>, <style> and <head> are dropped with their content, other tags are
// removed, block ends (<br>, </p>, </div>, </tr>, <li>, headings) become line breaks, entities
// (common/html_entities: &#NN; &#xHH; and the common named ones: &amp; &nbsp; &ndash; ...) are
// decoded, runs of spaces collapse. Unterminated tags or comments drop the rest of the text rather
// than leak markup.
#pragma once

#include <string>

namespace agentd::agents {

std::string html_to_text(const std::string& html);

}  // namespace agentd::agents
