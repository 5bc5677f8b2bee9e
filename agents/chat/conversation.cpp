#include "agents/chat/conversation.hpp"

#include <algorithm>

namespace agentd::agents {

namespace {

size_t turn_chars(const Turn& t) { return t.user.size() + t.assistant.size() + t.notes.size(); }

}  // namespace

Conversation Conversation::from_json(const nlohmann::json& stored) {
  Conversation c;
  if (!stored.is_object() || !stored.contains("turns") || !stored["turns"].is_array()) return c;
  for (const nlohmann::json& t : stored["turns"]) {
    if (!t.is_object() || !t.contains("user") || !t["user"].is_string() || !t.contains("assistant") ||
        !t["assistant"].is_string()) {
      continue;
    }
    int64_t at = t.contains("at") && t["at"].is_number_integer() ? t["at"].get<int64_t>() : 0;
    Turn turn{t["user"].get<std::string>(), t["assistant"].get<std::string>(), at, "", {}};
    if (t.contains("notes") && t["notes"].is_string()) turn.notes = t["notes"].get<std::string>();
    if (t.contains("note_ids") && t["note_ids"].is_array()) {
      for (const nlohmann::json& id : t["note_ids"]) {
        if (id.is_number_integer()) turn.note_ids.push_back(id.get<int64_t>());
      }
    }
    c.turns_.push_back(std::move(turn));
  }
  return c;
}

nlohmann::json Conversation::to_json() const {
  nlohmann::json turns = nlohmann::json::array();
  for (const Turn& t : turns_) {
    nlohmann::json turn = {{"user", t.user}, {"assistant", t.assistant}, {"at", t.at_ms}};
    if (!t.notes.empty()) {
      turn["notes"] = t.notes;
      turn["note_ids"] = t.note_ids;
    }
    turns.push_back(std::move(turn));
  }
  return {{"turns", turns}};
}

void Conversation::add(Turn turn, const HistoryLimits& limits) {
  turns_.push_back(std::move(turn));
  trim(limits);
}

void Conversation::trim(const HistoryLimits& limits) {
  size_t total = chars();
  while (turns_.size() > 1 && (turns_.size() > limits.max_turns || total > limits.max_chars)) {
    total -= turn_chars(turns_.front());
    turns_.pop_front();
  }
}

size_t Conversation::chars() const {
  size_t total = 0;
  for (const Turn& t : turns_) total += turn_chars(t);
  return total;
}

std::vector<engine::ChatMessage> Conversation::messages() const {
  std::vector<engine::ChatMessage> out;
  for (const Turn& t : turns_) {
    if (!t.notes.empty()) out.push_back({"system", t.notes});
    out.push_back({"user", t.user});
    out.push_back({"assistant", t.assistant});
  }
  return out;
}

bool Conversation::shows_note(int64_t id) const {
  return std::any_of(turns_.begin(), turns_.end(), [id](const Turn& t) {
    return std::find(t.note_ids.begin(), t.note_ids.end(), id) != t.note_ids.end();
  });
}

std::string notes_context(const std::vector<Note>& notes) {
  if (notes.empty()) return "";
  std::string text = "Notes the user asked you to remember (use them if they are relevant):";
  for (const Note& n : notes) text += "\n- " + n.text;
  return text;
}

SessionIndex SessionIndex::from_json(const nlohmann::json& stored) {
  SessionIndex index;
  if (!stored.is_array()) return index;
  for (const nlohmann::json& name : stored) {
    if (name.is_string()) index.names.push_back(name.get<std::string>());
  }
  return index;
}

std::vector<std::string> SessionIndex::touch(const std::string& name, size_t max_sessions) {
  std::erase(names, name);
  names.push_back(name);
  std::vector<std::string> dropped;
  while (names.size() > std::max<size_t>(max_sessions, 1)) {
    dropped.push_back(names.front());
    names.erase(names.begin());
  }
  return dropped;
}

}  // namespace agentd::agents
