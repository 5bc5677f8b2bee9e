#include "agents/live_output.hpp"

#include <algorithm>

namespace agentd::agents {

void LiveOutput::begin_call(int64_t task) {
  {
    std::lock_guard lock(mutex_);
    auto it = tasks_.find(task);
    if (it == tasks_.end()) {
      if (tasks_.size() >= kTasks) {
        auto oldest = std::min_element(tasks_.begin(), tasks_.end(),
                                       [](const auto& a, const auto& b) { return a.second.begun < b.second.begun; });
        tasks_.erase(oldest);
      }
      it = tasks_.emplace(task, Entry{{}, next_begun_++}).first;
    }
    Snapshot& s = it->second.snapshot;
    ++s.version;
    ++s.call;
    s.text.clear();
  }
  changed_.notify_all();
}

void LiveOutput::append(int64_t task, std::string_view piece) {
  {
    std::lock_guard lock(mutex_);
    auto it = tasks_.find(task);
    if (it == tasks_.end() || piece.empty()) return;  // dropped for a newer task: no preview
    Snapshot& s = it->second.snapshot;
    if (s.text.size() + piece.size() > kMaxBytes) return;
    s.text += piece;
    ++s.version;
  }
  changed_.notify_all();
}

std::optional<LiveOutput::Snapshot> LiveOutput::wait_change(int64_t task, uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto differs = [&] {
    auto it = tasks_.find(task);
    return it != tasks_.end() && it->second.snapshot.version != seen;
  };
  if (!changed_.wait_for(lock, timeout, differs)) return std::nullopt;
  return tasks_.at(task).snapshot;
}

size_t complete_utf8_prefix(std::string_view text) {
  // Look back at most 3 bytes for the lead byte of a sequence that is cut short.
  size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for its lead
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

}  // namespace agentd::agents
