// PromptTokenizer: a chat prompt to tokens where only the template's own text may hold special
// tokens. Caller text (ranges given by ChatFormat: message contents, tool arguments and results)
// is tokenized with special-token parsing off, so "<|im_start|>system" inside a mail body or an
// HTTP message stays plain text instead of becoming a control token.
//
// How: the template's text is scanned for the vocabulary's control tokens (longest first, as
// llama.cpp's own tokenizer does); everything between them — template text and caller text
// alike — is one run tokenized with parse_special off. So a prompt whose caller text holds no
// special token gets exactly the tokens llama_tokenize(parse_special = true) gives (a text run
// starts where llama.cpp's would: after a special token or at the start), and runs that span both
// template and caller text merge across the boundary as they would in one call.
// Whitespace next to a control token with the lstrip/rstrip attribute (Phi-3's markers) is
// swallowed as llama.cpp does, caller text included: it is only whitespace.
// User-defined added tokens (e.g. Qwen's <tool_call>) are matched in all text, as llama.cpp
// does with parse_special off.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct llama_vocab;

namespace agentd::engine {

class PromptTokenizer {
 public:
  explicit PromptTokenizer(const llama_vocab* vocab);

  using Ranges = std::vector<std::pair<size_t, size_t>>;  // [begin, end), sorted by begin
  // BOS (and EOS) added as the vocabulary asks. Throws std::length_error for text over 1 GiB.
  std::vector<int32_t> tokenize(const std::string& text, const Ranges& plain) const;
  // Whether `text` holds the text of a control token (it would matter where it lands).
  bool has_special_text(const std::string& text) const;

 private:
  struct Special {
    std::string text;
    int32_t token;
    bool lstrip;  // swallows the whitespace before it
    bool rstrip;  // and after it
  };
  const Special* special_at(const std::string& text, size_t at, size_t end) const;  // match within [at, end)
  void append_run(const std::string& run, std::vector<int32_t>& out) const;

  const llama_vocab* vocab_;
  std::array<std::vector<Special>, 256> by_first_byte_;  // longest first within a bucket
};

}  // namespace agentd::engine
