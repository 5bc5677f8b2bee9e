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

double distinct_ngram_ratio(std::string_view text, int n) {
  std::vector<std::string> words = words_of(text);
  if (n <= 0 || words.size() < static_cast<size_t>(n)) return 1.0;
  std::unordered_set<std::string> seen;
  size_t total = words.size() - static_cast<size_t>(n) + 1;
  for (size_t i = 0; i < total; ++i) {
    std::string gram = words[i];
    for (int k = 1; k < n; ++k) gram.append(" ").append(words[i + static_cast<size_t>(k)]);
    seen.insert(std::move(gram));
  }
  return static_cast<double>(seen.size()) / static_cast<double>(total);
}

}  // namespace agentd::engine
