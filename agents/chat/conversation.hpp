// A chat session's history: the last turns (a user message and the reply), bounded by a number
// of turns and a character budget, stored as JSON in the chat agent's memory and sent to the
// model as alternating user/assistant messages. Also the index of sessions (most recently used
// last), bounded too: the least recently used session is forgotten first.
//
// Stored form: {"turns": [{"user": "...", "assistant": "...", "at": 1700000000000}, ...]}
// oldest first; a turn answered with recalled notes also has "notes" (the text the model was
// shown) and "note_ids". A stored value of any other shape reads as an empty history.
//
// A turn is sent back exactly as the model saw it, its notes included (as a system message just
// before its user message): the engine reuses the KV cache of the longest prefix it has seen,
// so a conversation re-sent byte for byte is prefilled only from its new turn on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/activity.hpp"
#include "engine/engine.hpp"

namespace agentd::agents {

struct HistoryLimits {
  size_t max_turns = 8;
  size_t max_chars = 6000;  // user + assistant text of the turns kept
};

struct Turn {
  std::string user;
  std::string assistant;
  int64_t at_ms = 0;
  std::string notes;              // notes_context() shown with this turn; "" if none
  std::vector<int64_t> note_ids;  // the notes in it
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
  size_t chars() const;  // user, assistant and notes text of the turns kept
  // The turns as chat messages, oldest first: [system (the turn's notes, if any)], user,
  // assistant, [system], user, assistant, ...
  std::vector<engine::ChatMessage> messages() const;
  // Whether a kept turn already shows the note `id`.
  bool shows_note(int64_t id) const;

 private:
  std::deque<Turn> turns_;
};

// The system-context text for recalled notes ("" when there are none).
std::string notes_context(const std::vector<Note>& notes);

// Session index: names, most recently used last. touch() moves (or adds) `name` to the end and
// returns the names dropped past `max_sessions`.
struct SessionIndex {
  std::vector<std::string> names;

  static SessionIndex from_json(const nlohmann::json& stored);
  nlohmann::json to_json() const { return names; }
  std::vector<std::string> touch(const std::string& name, size_t max_sessions);
};

}  // namespace agentd::agents
