// What one chat task asks: the session and the message, parsed from the task input, and whether
// the message is a request to save a note. Deterministic; the chat agent acts on the result.
//
// Input: plain text (session "default"), or a JSON object {"session": "work", "message": "..."}.
// Text that merely looks like JSON ("{hello}") is plain text; an object with "message" must
// have a string message, an optional valid session name and no other keys.
//
// Note requests (case-insensitive, leading spaces and an optional "please" ignored):
//   "remember that X" · "remember: X" · "note: X" · "note that X" · "/note X"
// give X (trimmed). "Do you remember that film?" is not one: the phrase must open the message.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace agentd::agents {

struct ChatRequest {
  std::string session = "default";
  std::string message;  // trimmed; empty for a tick of a timer trigger
};

// Session names: 1-64 of [A-Za-z0-9_.-] (they become memory keys and appear in reports).
bool valid_session_name(std::string_view name);

// Throws std::invalid_argument with a readable reason: a bad session name, a message longer
// than `max_chars`, a JSON request of the wrong shape.
ChatRequest parse_chat_request(const std::string& input, size_t max_chars);

// The text to note, if `message` is a note request ("" for "/note" with nothing after it).
std::optional<std::string> note_request(std::string_view message);

// The words of `message` worth searching the notes for, space-separated: common English words
// ("the", "when", "is", ...) and single letters are dropped, so a question matches notes by what
// it is about, not by its grammar. "" when nothing is left.
std::string recall_query(std::string_view message);

}  // namespace agentd::agents
