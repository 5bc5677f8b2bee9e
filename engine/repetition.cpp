#include "engine/repetition.hpp"

#include <cctype>
#include <unordered_set>

namespace agentd::engine {

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {  // bytes of UTF-8 letters stay inside words
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

namespace {

std::vector<std::string> ngrams_of(std::string_view text, int n) {
  std::vector<std::string> words = words_of(text);
  std::vector<std::string> grams;
  if (n <= 0 || words.size() < static_cast<size_t>(n)) return grams;
  for (size_t i = 0; i + static_cast<size_t>(n) <= words.size(); ++i) {
    std::string gram = words[i];
    for (int k = 1; k < n; ++k) gram.append(" ").append(words[i + static_cast<size_t>(k)]);
    grams.push_back(std::move(gram));
  }
  return grams;
}

}  // namespace

double distinct_ngram_ratio(std::string_view text, int n) { return novel_ngram_ratio(text, {}, n); }

double novel_ngram_ratio(std::string_view text, std::string_view context, int n) {
  std::vector<std::string> grams = ngrams_of(text, n);
  if (grams.empty()) return 1.0;
  std::vector<std::string> earlier = ngrams_of(context, n);
  std::unordered_set<std::string> seen(earlier.begin(), earlier.end());
  size_t novel = 0;
  for (auto& g : grams) novel += seen.insert(std::move(g)).second;
  return static_cast<double>(novel) / static_cast<double>(ngrams_of(text, n).size());
}

}  // namespace agentd::engine
