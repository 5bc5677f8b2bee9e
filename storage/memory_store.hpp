// Agent memory: per-agent key/value pairs with JSON values, and free-text notes searchable with
// FTS5 (ranked by bm25). Every call names the agent; one agent never sees another's memory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/database.hpp"

namespace agentd::storage {

struct MemoryEntry {
  std::string key;
  nlohmann::json value;
  int64_t updated_at = 0;
};

struct Note {
  int64_t id = 0;
  std::string agent;
  int64_t at = 0;
  std::string text;
  double rank = 0;  // bm25 score from search (lower is better); 0 elsewhere
};

class MemoryStore {
 public:
  explicit MemoryStore(Database& db) : db_(db) {}

  void set(std::string_view agent, std::string_view key, const nlohmann::json& value);
  std::optional<nlohmann::json> get(std::string_view agent, std::string_view key);
  bool erase(std::string_view agent, std::string_view key);
  std::vector<MemoryEntry> list(std::string_view agent);

  int64_t add_note(std::string_view agent, std::string_view text);
  // Notes of `agent` matching any word of `query`, best first. The query is plain words: FTS5
  // syntax in it is quoted away, so user text can never be a malformed query.
  std::vector<Note> search_notes(std::string_view agent, std::string_view query, int limit = 10);
  std::vector<Note> recent_notes(std::string_view agent, int limit = 10, int64_t since_ms = 0);
  // Every agent's notes since `since_ms`, oldest first. For reports across agents (the digest);
  // an agent reaches it only through TaskContext::activity_since.
  std::vector<Note> notes_since(int64_t since_ms, int limit = 500);

 private:
  Database& db_;
};

// Turns free text into an FTS5 query: each word quoted, joined with OR. Empty if no words.
std::string fts_query(std::string_view text);

}  // namespace agentd::storage
