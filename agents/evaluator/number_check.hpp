// The deterministic half of fact checking: numbers and dates in a claim that appear in no fact.
// A model may call a claim "supported" while it changes a figure; code does not miss that.
//
// Numbers are compared by value as written: "1,200" and "1200" are the same, "007" is "7",
// "3.50" is "3.5"; a sign, currency or unit around a number is ignored ("-3", "$5", "40%", "3rd"
// give 3, 5, 40, 3). A digit run glued to a letter in front ("B2B", "mp3", "H2O") is part of a
// name, not a number. Dates "YYYY-MM-DD" are one token ("2024-3-5"), and in facts also give
// their parts, so a claim saying "March 5, 2024" about a fact "2024-03-05" is not flagged.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents::evaluation {

// The numbers and dates in `text`, normalised as above, in order of appearance (repeats kept).
std::vector<std::string> numbers_in(std::string_view text);

// Every number the facts mention, date parts included.
std::set<std::string> fact_numbers(const std::vector<std::string>& facts);

// The numbers of `claim` that are not in `known`, each once, in order of appearance.
std::vector<std::string> unknown_numbers(std::string_view claim, const std::set<std::string>& known);

}  // namespace agentd::agents::evaluation
