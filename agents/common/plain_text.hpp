// Small text helpers shared by the plugins: trimming, cutting to a byte budget without splitting
// a UTF-8 character, and folding text onto one line. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"

namespace agentd::agents::text {

// trim(s): `s` without leading and trailing whitespace (core/text). trim_view(s): the same as a
// view into `s` (no copy): `s` must outlive it, so never pass a temporary string.
using core::trim;
using core::trim_view;

// At most `max_bytes` bytes of `s`, cut before a UTF-8 character that would not fit (a
// continuation byte is never left dangling). Unchanged if it fits.
std::string truncate_utf8(std::string_view s, size_t max_bytes);

// `s` on one line: every run of whitespace (newlines included) becomes one space, trimmed, then
// cut to `max_bytes` (UTF-8 safe) with "..." appended when it was cut.
std::string one_line(std::string_view s, size_t max_bytes);

// `s` in single quotes: 'x'. (Built by appending: GCC 12 warns (-Wrestrict) on "'" + std::string.)
std::string quoted(std::string_view s);

// The lines of `s`, without their "\n" or "\r\n"; a last line without a newline counts.
std::vector<std::string> lines(std::string_view s);

// Lower-case ASCII letters of `s` (other bytes unchanged).
std::string ascii_lower(std::string_view s);

}  // namespace agentd::agents::text
