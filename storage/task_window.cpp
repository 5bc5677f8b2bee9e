#include "storage/task_window.hpp"

#include <algorithm>

namespace agentd::storage {

namespace {

constexpr std::string_view kEntryColumns = "id, agent, status, created_at, finished_at - started_at";

// Not ended: its status, and so its figures, can still change (interrupted may be requeued).
bool still_open(TaskStatus s) {
  return s == TaskStatus::queued || s == TaskStatus::running || s == TaskStatus::interrupted;
}

int64_t count_since(Database& db, int64_t since) {
  auto& s = db.cached("SELECT count(*) FROM tasks WHERE created_at >= ?");
  s.bind(1, since);
  const int64_t n = s.step() ? s.int64(0) : 0;
  s.reset();
  return n;
}

}  // namespace

// A row of kEntryColumns, without its id (column 0).
TaskWindow::Entry TaskWindow::entry_of(const Statement& s) {
  return {s.text(1), s.int64(3), parse_task_status(s.text(2)).value_or(TaskStatus::failed), s.optional_int64(4)};
}

void TaskWindow::read_all(Database& db, int64_t since) {
  entries_.clear();
  auto& max = db.cached("SELECT coalesce(max(id), 0) FROM tasks");
  max_id_ = max.step() ? max.int64(0) : 0;
  max.reset();
  auto& s = db.cached("SELECT " + std::string(kEntryColumns) + " FROM tasks WHERE created_at >= ?");
  s.bind(1, since);
  while (s.step()) {
    entries_[s.int64(0)] = entry_of(s);
    ++last_.rows_read;
  }
  s.reset();
  loaded_ = true;
  last_.full = true;
}

void TaskWindow::read_new(Database& db, int64_t since) {
  auto& s = db.cached("SELECT " + std::string(kEntryColumns) + " FROM tasks WHERE id > ? ORDER BY id");
  s.bind(1, max_id_);
  while (s.step()) {
    max_id_ = s.int64(0);
    ++last_.rows_read;
    if (s.int64(3) < since) continue;
    entries_[max_id_] = entry_of(s);
  }
  s.reset();
}

void TaskWindow::read_open(Database& db) {
  auto& s = db.cached("SELECT status, finished_at - started_at FROM tasks WHERE id = ?");
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!still_open(it->second.status)) {
      ++it;
      continue;
    }
    s.bind(1, it->first);
    ++last_.rows_read;
    if (!s.step()) {  // deleted
      s.reset();
      it = entries_.erase(it);
      continue;
    }
    it->second.status = parse_task_status(s.text(0)).value_or(TaskStatus::failed);
    it->second.duration_ms = s.optional_int64(1);
    s.reset();
    ++it;
  }
}

std::vector<AgentWindowStats> TaskWindow::refresh(Database& db, int64_t now_ms) {
  const int64_t since = now_ms - span_ms_;
  last_ = {};
  ReadSnapshot snapshot(db);  // the counts and rows below agree with each other
  if (!loaded_) {
    read_all(db, since);
  } else {
    read_new(db, since);
    read_open(db);
    std::erase_if(entries_, [&](const auto& e) { return e.second.created_at < since; });
    // A task deleted after it ended, or written with a time inside the window below max_id_:
    // the count of the window's rows is the check (an index range count, a few ms at 86k rows).
    if (count_since(db, since) != static_cast<int64_t>(entries_.size())) read_all(db, since);
  }
  return figures();
}

std::vector<AgentWindowStats> TaskWindow::figures() const {
  std::map<std::string_view, std::pair<AgentWindowStats, std::vector<int64_t>>> by_agent;
  for (const auto& [id, e] : entries_) {
    auto& [a, durations] = by_agent[e.agent];
    ++a.total;
    if (e.status == TaskStatus::finished) ++a.finished;
    if (e.status == TaskStatus::failed || e.status == TaskStatus::interrupted) ++a.failed;
    if (e.duration_ms) durations.push_back(*e.duration_ms);
  }
  std::vector<AgentWindowStats> out;
  for (auto& [agent, entry] : by_agent) {
    auto& [a, durations] = entry;
    a.agent = agent;
    if (!durations.empty()) {
      const size_t k = std::min(durations.size() - 1, static_cast<size_t>(0.95 * static_cast<double>(durations.size())));
      std::nth_element(durations.begin(), durations.begin() + static_cast<std::ptrdiff_t>(k), durations.end());
      a.p95_duration_ms = static_cast<double>(durations[k]);
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace agentd::storage
