// A draft as the drafter writes it: a title line, then "## heading" and the text of each section.
// TaskContext::generate_long returns the sections as "## heading\n\ntext" joined by blank lines
// (engine/sectional); split_sections() reads them back and assemble_draft() writes the file, so
// the file's structure is made in code, never left to the model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents::draft {

struct Section {
  std::string heading;
  std::string text;
};

// The sections of a generate_long document. A heading is a line "## ..." at the start of the
// document or after a blank line, followed by a blank line or the end; anything else (a "## "
// line inside a paragraph, "### sub") stays text. Text before the first heading becomes a section
// with an empty heading. Headings and texts are trimmed.
std::vector<Section> split_sections(std::string_view document);

// "# title\n\n## heading\n\ntext\n\n..." ending with one newline; a section with an empty heading
// is written as text only.
std::string assemble_draft(const std::string& title, const std::vector<Section>& sections);

// A title from the brief when none is configured: its first line, cut at the first sentence end,
// on one line and at most 80 bytes; "Draft" if nothing is left.
std::string title_from_brief(std::string_view brief);

// Words (runs of non-space characters) in `text`.
int count_words(std::string_view text);

}  // namespace agentd::agents::draft
