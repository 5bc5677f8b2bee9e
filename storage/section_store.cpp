#include "storage/section_store.hpp"

#include <array>

namespace agentd::storage {

namespace {
constexpr std::array<std::string_view, 4> kNames = {"pending", "running", "done", "failed"};
}

std::string_view to_string(SectionStatus s) { return kNames[static_cast<size_t>(s)]; }

std::optional<SectionStatus> parse_section_status(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) return static_cast<SectionStatus>(i);
  }
  return std::nullopt;
}

void SectionStore::plan(int64_t task_id, const std::vector<std::string>& titles) {
  Transaction tx(db_);
  int64_t at = now_ms();
  for (size_t i = 0; i < titles.size(); ++i) {
    db_.cached("INSERT OR IGNORE INTO sections (task_id, idx, title, status, updated_at) "
               "VALUES (?, ?, ?, 'pending', ?)")
        .bind_all(task_id, static_cast<int64_t>(i), titles[i], at)
        .run();
  }
  tx.commit();
}

void SectionStore::put(const Section& s) {
  db_.cached("INSERT OR REPLACE INTO sections (task_id, idx, title, text, tokens, status, updated_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(s.task_id, s.idx, s.title, s.text, s.tokens, to_string(s.status), now_ms())
      .run();
}

void SectionStore::set_status(int64_t task_id, int idx, SectionStatus status) {
  db_.cached("UPDATE sections SET status = ?, updated_at = ? WHERE task_id = ? AND idx = ?")
      .bind_all(to_string(status), now_ms(), task_id, idx)
      .run();
}

std::vector<Section> SectionStore::list(int64_t task_id) {
  auto& s = db_.cached(
      "SELECT task_id, idx, title, text, tokens, status, updated_at FROM sections WHERE task_id = ? ORDER BY idx");
  s.bind_all(task_id);
  std::vector<Section> out;
  while (s.step()) {
    out.push_back({s.int64(0), static_cast<int>(s.int64(1)), s.text(2), s.text(3),
                   static_cast<int>(s.int64(4)), parse_section_status(s.text(5)).value_or(SectionStatus::failed),
                   s.int64(6)});
  }
  s.reset();
  return out;
}

std::optional<int> SectionStore::first_unfinished(int64_t task_id) {
  auto& s = db_.cached("SELECT min(idx) FROM sections WHERE task_id = ? AND status != 'done'");
  s.bind_all(task_id);
  s.step();
  auto idx = s.optional_int64(0);
  s.reset();
  if (!idx) return std::nullopt;
  return static_cast<int>(*idx);
}

}  // namespace agentd::storage
