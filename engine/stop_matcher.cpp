#include "engine/stop_matcher.hpp"

#include <algorithm>

namespace agentd::engine {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

StopMatcher::Output StopMatcher::feed(std::string_view piece) {
  held_ += piece;
  // Earliest completed stop string wins. Emitted text never ends in a stop-string prefix, so a
  // match can only lie inside held_.
  std::size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    Output out{held_.substr(0, first), true};
    held_.clear();
    return out;
  }
  const std::size_t keep = std::max(held_for_stop(), incomplete_utf8_tail(held_));
  Output out{held_.substr(0, held_.size() - keep), false};
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

// Longest suffix of held_ that is a proper prefix of some stop string.
std::size_t StopMatcher::held_for_stop() const {
  std::size_t keep = 0;
  const std::string_view held = held_;
  for (const auto& s : stops_) {
    const std::size_t max_k = std::min(held.size(), s.size() - 1);
    for (std::size_t k = max_k; k > keep; --k) {
      if (held.substr(held.size() - k) == std::string_view(s).substr(0, k)) {
        keep = k;
        break;
      }
    }
  }
  return keep;
}

std::size_t incomplete_utf8_tail(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(4, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    std::size_t len = 1;
    if ((c & 0xE0) == 0xC0) len = 2;
    else if ((c & 0xF0) == 0xE0) len = 3;
    else if ((c & 0xF8) == 0xF0) len = 4;
    return len > back ? back : 0;
  }
  return 0;  // only continuation bytes: malformed, nothing to wait for
}

}  // namespace agentd::engine
