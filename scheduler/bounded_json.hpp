// Bounded JSON: untrusted JSON text (config files, agent files, JSON schemas in them, HTTP request
// bodies) checked against a size and a nesting limit BEFORE nlohmann sees it. nlohmann's dump(),
// copy and compare recurse once per nesting level, so a document nested a few hundred thousand
// levels deep overflows the stack wherever it is next copied or printed (SIGHUP reload, a schema
// dumped for the grammar); refusing it at the door is the only place that covers every later use.
//
// The check is one linear pass over the bytes, not a parse: it counts brackets outside strings
// and comments (a "[" inside a string is not nesting), refuses NUL bytes (nlohmann stops reading
// at the first one, so anything after it would be ignored) and bytes that are not UTF-8 (JSON
// text is UTF-8; nlohmann checks strings only, not comments). Lives in scheduler/ because every
// module may use scheduler/ (as scheduler/duration for "30s" texts).
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace agentd::scheduler {

struct JsonBounds {
  size_t max_bytes = 4u << 20;  // a configuration file is a few kB; 4 MiB is plenty
  int max_depth = 64;           // arrays and objects inside each other; a schema needs ~10
};

// A JSON text that is out of bounds or does not parse. what() is the reason with its place
// ("nested deeper than 64 levels at line 3, column 70"), without a file name: the caller adds it.
class BoundedJsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why `text` must not reach the parser, or nullopt when it is within `bounds`. Comments (// and
// /* */) are skipped like strings, so the check also fits texts parsed with comments allowed.
std::optional<std::string> json_bounds_problem(std::string_view text, const JsonBounds& bounds = {});

// json_bounds_problem(), then nlohmann's strict parse (nothing but white space after the value),
// refusing a key that appears twice in one object (nlohmann would keep the last silently).
// Throws BoundedJsonError with the problem or the parser's message (line and column).
nlohmann::json parse_bounded_json(std::string_view text, const JsonBounds& bounds = {}, bool allow_comments = false);

// The byte offset of the first byte of `text` that is not part of a well-formed UTF-8 sequence
// (overlong forms, surrogates and values past U+10FFFF included; a NUL byte too), or nullopt.
// Checked by GLib (g_utf8_validate_len).
std::optional<size_t> first_invalid_utf8(std::string_view text);

// `text` with every byte that is not valid UTF-8 written as \xNN, for messages and logs: a file
// name or a parser message quoting a bad byte is then printable and JSON-serialisable.
std::string escape_invalid_utf8(std::string_view text);

}  // namespace agentd::scheduler
