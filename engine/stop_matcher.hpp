// StopMatcher: decides which generated text may be shown to the caller. Text that might be the
// beginning of a stop string, or an incomplete UTF-8 character, is held back until the next
// piece settles it; a completed stop string ends the generation and is not part of the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops = {});

  struct Output {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string completed; `text` is what preceded it
  };

  // Adds one decoded piece.
  Output feed(std::string_view piece);
  // The text still held back; call once when the generation ends for another reason.
  std::string flush();

 private:
  std::size_t held_for_stop() const;

  std::vector<std::string> stops_;
  std::string held_;
};

// Length of a trailing incomplete UTF-8 sequence in `s` (0 if `s` ends on a character boundary).
std::size_t incomplete_utf8_tail(std::string_view s);

}  // namespace agentd::engine
