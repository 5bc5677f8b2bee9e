// How repetitive a text is, by word n-grams. Words are lower-cased runs of letters and digits;
// punctuation and spacing do not count. distinct_ngram_ratio = distinct n-grams / all n-grams
// (1.0: nothing repeats; a text looping one phrase tends to 0). Texts shorter than n words have
// ratio 1.0. Used by the sectional generator's repetition guard and by its benchmark.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::engine {

std::vector<std::string> words_of(std::string_view text);
double distinct_ngram_ratio(std::string_view text, int n = 4);
// The share of `text`'s n-grams that are new: not seen earlier in `text` nor anywhere in
// `context` (the document written so far). Equals distinct_ngram_ratio when context is empty.
double novel_ngram_ratio(std::string_view text, std::string_view context, int n = 4);

}  // namespace agentd::engine
