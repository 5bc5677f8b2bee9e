// The two inputs of an evaluation, read in code: the claims of a Markdown draft (its sentences)
// and a fact list (one fact per line or Markdown bullet). Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents::evaluation {

struct ClaimList {
  std::vector<std::string> claims;  // at most the `max_claims` asked for, in draft order
  size_t total = 0;                 // claims found, including those beyond the limit
};

// Sentences of a Markdown draft that state something. Skipped: headings ("# ..."), fenced code,
// HTML comments, blank lines, and fragments under 3 words. Each list item and paragraph is split
// at '.', '!' or '?' followed by a space or the end (so "3.5" and "v1.2" are not split; an
// abbreviation such as "e.g." is, and the fragment is dropped if short). List markers, '>'
// quotes and emphasis marks (** __ `) are removed; each claim is on one line, at most 400 bytes.
ClaimList split_claims(std::string_view markdown, size_t max_claims);

struct FactList {
  std::vector<std::string> facts;
  std::vector<std::string> problems;  // lines left out and why ("line 7: 512 bytes; at most 300")
};

// Facts, one per line: "- x", "* x", "+ x", "1. x", "1) x" or a plain line. Blank lines, headings
// and HTML comment lines are skipped. A line over `max_fact_bytes` is left out (with a problem
// naming it); so are facts beyond `max_facts`.
FactList parse_facts(std::string_view text, size_t max_facts, size_t max_fact_bytes);

}  // namespace agentd::agents::evaluation
