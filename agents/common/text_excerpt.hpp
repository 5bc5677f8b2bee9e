// Bounded excerpts of untrusted text for reports and prompts: whitespace runs collapsed to one
// space, cut at a word boundary (or, failing one in the second half, at a UTF-8 character
// boundary) with "..." when longer than asked.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentd::agents {

// `text` on one line, at most `max_bytes` bytes before the "...".
std::string one_line_excerpt(std::string_view text, size_t max_bytes);

}  // namespace agentd::agents
