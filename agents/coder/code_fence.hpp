// The file content in a model's answer. Models like to wrap code in Markdown fences, sometimes
// after a line of prose ("Here is the script:"); the file must hold the code only.
#pragma once

#include <string>
#include <string_view>

namespace agentd::agents::coder {

// - If the answer's first non-blank line opens a fence (``` or ~~~, up to 3 spaces in front, an
//   info string after), the content is that block: up to the first closing line of the same fence
//   character (at least as long, nothing else on it), or to the end if it is never closed.
// - Otherwise, unless `keep_inner_fences` (a Markdown file, whose own fences are content), the first
//   fenced block anywhere in the answer, if there is one.
// - Otherwise the answer itself.
// Blank lines around the content are dropped; a non-empty result ends with exactly one newline.
std::string strip_code_fence(std::string_view answer, bool keep_inner_fences = false);

}  // namespace agentd::agents::coder
