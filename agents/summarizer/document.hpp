// Plain-text and Markdown documents as the summarizer sees them: paragraphs (blocks separated by
// blank lines), chunks of paragraphs that fit a character budget, and facts counted in code.
//
// Chunking: paragraphs are packed in order into chunks of at most `max_chars` (joined by a blank
// line). A paragraph longer than that is cut at sentence ends, a sentence longer than that at
// the last space, and a run without spaces at the budget (never inside a UTF-8 sequence). So
// every chunk fits, no text is lost or reordered, and cuts fall on the most natural boundary.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents {

// Blocks separated by one or more blank lines (lines of only spaces count as blank), each
// trimmed of outer blank space; CRLF line ends read as LF.
std::vector<std::string> split_paragraphs(std::string_view text);

// Throws std::invalid_argument if max_chars < 16.
std::vector<std::string> chunk_paragraphs(std::string_view text, size_t max_chars);

struct DocumentFacts {
  size_t bytes = 0;
  size_t words = 0;       // runs of non-space characters
  size_t paragraphs = 0;
  std::vector<std::string> headings;  // Markdown ATX headings ("# Title" ... "###### x"), outside ``` fences
};
DocumentFacts document_facts(std::string_view text);

}  // namespace agentd::agents
