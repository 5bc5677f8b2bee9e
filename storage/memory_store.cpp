#include "storage/memory_store.hpp"

#include <cctype>

namespace agentd::storage {

void MemoryStore::set(std::string_view agent, std::string_view key, const nlohmann::json& value) {
  db_.cached("INSERT INTO memory (agent, key, value, updated_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (agent, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
      .bind_all(agent, key, json_text(value), now_ms())
      .run();
}

std::optional<nlohmann::json> MemoryStore::get(std::string_view agent, std::string_view key) {
  auto& s = db_.cached("SELECT value FROM memory WHERE agent = ? AND key = ?");
  s.bind_all(agent, key);
  if (!s.step()) return std::nullopt;
  std::string text = s.text(0);
  s.reset();
  return nlohmann::json::parse(text);
}

bool MemoryStore::erase(std::string_view agent, std::string_view key) {
  db_.cached("DELETE FROM memory WHERE agent = ? AND key = ?").bind_all(agent, key).run();
  return db_.changes() > 0;
}

std::vector<MemoryEntry> MemoryStore::list(std::string_view agent) {
  auto& s = db_.cached("SELECT key, value, updated_at FROM memory WHERE agent = ? ORDER BY key");
  s.bind_all(agent);
  std::vector<MemoryEntry> out;
  while (s.step()) out.push_back({s.text(0), nlohmann::json::parse(s.text(1)), s.int64(2)});
  s.reset();
  return out;
}

int64_t MemoryStore::add_note(std::string_view agent, std::string_view text) {
  db_.cached("INSERT INTO notes (agent, at, text) VALUES (?, ?, ?)").bind_all(agent, now_ms(), text).run();
  return db_.last_insert_rowid();
}

std::vector<Note> MemoryStore::search_notes(std::string_view agent, std::string_view query, int limit) {
  std::string match = fts_query(query);
  if (match.empty()) return {};
  auto& s = db_.cached(
      "SELECT notes.id, notes.agent, notes.at, notes.text, bm25(notes_fts) AS rank "
      "FROM notes_fts JOIN notes ON notes.id = notes_fts.rowid "
      "WHERE notes_fts MATCH ? AND notes.agent = ? ORDER BY rank LIMIT ?");
  s.bind_all(match, agent, limit);
  std::vector<Note> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.int64(2), s.text(3), s.real(4)});
  s.reset();
  return out;
}

std::vector<Note> MemoryStore::recent_notes(std::string_view agent, int limit, int64_t since_ms) {
  auto& s = db_.cached("SELECT id, agent, at, text FROM notes WHERE agent = ? AND at >= ? ORDER BY id DESC LIMIT ?");
  s.bind_all(agent, since_ms, limit);
  std::vector<Note> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.int64(2), s.text(3), 0});
  s.reset();
  return out;
}

std::vector<Note> MemoryStore::notes_since(int64_t since_ms, int limit) {
  auto& s = db_.cached("SELECT id, agent, at, text FROM notes WHERE at >= ? ORDER BY id LIMIT ?");
  s.bind_all(since_ms, limit);
  std::vector<Note> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.int64(2), s.text(3), 0});
  s.reset();
  return out;
}

std::string fts_query(std::string_view text) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += " OR ";
    out += '"' + word + '"';
    word.clear();
  };
  for (unsigned char c : text) {
    // Letters, digits and any UTF-8 byte belong to words; everything else separates them.
    if (std::isalnum(c) || c >= 0x80) word += static_cast<char>(c);
    else flush();
  }
  flush();
  return out;
}

}  // namespace agentd::storage
