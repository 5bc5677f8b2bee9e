// A chat session's history: the last turns (a user message and the reply), bounded by a number
// of turns and a character budget, stored as JSON in the chat agent's memory and sent to the
// model as alternating user/assistant messages. Also the index of sessions (most recently used
// last), bounded too: the least recently used session is forgotten first.
//
// Stored form: {"turns": [{"user": "...", "assistant": "...", "at": 1700000000000}, ...]}
// oldest first. A stored value of any other shape reads as an empty history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "storage/memory_store.hpp"

namespace agentd::agents {

struct HistoryLimits {
  size_t max_turns = 8;
  size_t max_chars = 6000;  // user + assistant text of the turns kept
};

struct Turn {
  std::string user;
  std::string assistant;
  int64_t at_ms = 0;
};

class Conversation {
 public:
  static Conversation from_json(const nlohmann::json& stored);
  nlohmann::json to_json() const;

  // Appends a turn, then drops the oldest turns until both limits hold. A single turn larger
  // than the character budget is kept alone (the newest turn is never dropped).
  void add(Turn turn, const HistoryLimits& limits);
  void trim(const HistoryLimits& limits);

  const std::deque<Turn>& turns() const { return turns_; }
  size_t chars() const;
  // The turns as chat messages, oldest first: user, assistant, user, assistant, ...
  std::vector<engine::ChatMessage> messages() const;

 private:
  std::deque<Turn> turns_;
};

// The system-context text for recalled notes ("" when there are none).
std::string notes_context(const std::vector<storage::Note>& notes);

// Session index: names, most recently used last. touch() moves (or adds) `name` to the end and
// returns the names dropped past `max_sessions`.
struct SessionIndex {
  std::vector<std::string> names;

  static SessionIndex from_json(const nlohmann::json& stored);
  nlohmann::json to_json() const { return names; }
  std::vector<std::string> touch(const std::string& name, size_t max_sessions);
};

}  // namespace agentd::agents
