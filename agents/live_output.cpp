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

}  // namespace agentd::agents
