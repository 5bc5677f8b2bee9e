#include "engine/prompt_tokens.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "llama.h"

namespace agentd::engine {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

PromptTokenizer::PromptTokenizer(const llama_vocab* vocab) : vocab_(vocab) {
  const int32_t n = llama_vocab_n_tokens(vocab);
  for (int32_t t = 0; t < n; ++t) {
    // The tokens llama.cpp matches only with parse_special on (llama-vocab.cpp, tokenizer_st_partition).
    const auto attr = llama_vocab_get_attr(vocab, t);
    if ((attr & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN)) == 0) continue;
    const char* text = llama_vocab_get_text(vocab, t);
    if (text == nullptr || *text == '\0') continue;
    by_first_byte_[static_cast<unsigned char>(*text)].push_back(
        {text, t, (attr & LLAMA_TOKEN_ATTR_LSTRIP) != 0, (attr & LLAMA_TOKEN_ATTR_RSTRIP) != 0});
  }
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
  }
}

const PromptTokenizer::Special* PromptTokenizer::special_at(const std::string& text, size_t at, size_t end) const {
  for (const Special& s : by_first_byte_[static_cast<unsigned char>(text[at])]) {
    if (s.text.size() <= end - at && text.compare(at, s.text.size(), s.text) == 0) return &s;
  }
  return nullptr;
}

bool PromptTokenizer::has_special_text(const std::string& text) const {
  for (size_t i = 0; i < text.size(); ++i) {
    if (special_at(text, i, text.size()) != nullptr) return true;
  }
  return false;
}

void PromptTokenizer::append_run(const std::string& run, std::vector<int32_t>& out) const {
  if (run.empty()) return;
  if (run.size() > (size_t{1} << 30)) throw std::length_error("prompt too large");
  const auto len = static_cast<int32_t>(run.size());
  std::vector<llama_token> tokens(run.size() + 2);
  int32_t n = llama_tokenize(vocab_, run.data(), len, tokens.data(), static_cast<int32_t>(tokens.size()), false, false);
  if (n < 0) {
    tokens.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab_, run.data(), len, tokens.data(), static_cast<int32_t>(tokens.size()), false, false);
  }
  out.insert(out.end(), tokens.begin(), tokens.begin() + std::max(0, n));
}

std::vector<int32_t> PromptTokenizer::tokenize(const std::string& text, const Ranges& plain) const {
  std::vector<int32_t> out;
  if (llama_vocab_get_add_bos(vocab_)) out.push_back(llama_vocab_bos(vocab_));
  std::string run;
  size_t next_plain = 0;  // first range that may still cover a position
  for (size_t i = 0; i < text.size();) {
    while (next_plain < plain.size() && plain[next_plain].second <= i) ++next_plain;
    const bool in_plain = next_plain < plain.size() && plain[next_plain].first <= i;
    if (in_plain) {
      const size_t end = std::min(plain[next_plain].second, text.size());
      run.append(text, i, end - i);
      i = end;
      continue;
    }
    // A control token lies wholly in template text: it ends before the next caller text begins.
    const size_t template_end = next_plain < plain.size() ? plain[next_plain].first : text.size();
    if (const Special* s = special_at(text, i, template_end)) {
      // lstrip/rstrip (llama-vocab.cpp, tokenizer_st_partition): the token swallows the
      // whitespace before or after it, caller text included, as far as the next special token.
      if (s->lstrip) {
        while (!run.empty() && is_space(run.back())) run.pop_back();
      }
      append_run(run, out);
      run.clear();
      out.push_back(s->token);
      i += s->text.size();
      if (s->rstrip) {
        while (i < text.size() && is_space(text[i])) ++i;
      }
      continue;
    }
    run.push_back(text[i++]);
  }
  append_run(run, out);
  if (llama_vocab_get_add_eos(vocab_)) out.push_back(llama_vocab_eos(vocab_));
  return out;
}

}  // namespace agentd::engine
