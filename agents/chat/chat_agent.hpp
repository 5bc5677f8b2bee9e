// The `chat` plugin: an interactive assistant with a memory. Each task is one message of a
// conversation; the output is the reply.
//
// - Input: plain text (session "default") or {"session": "work", "message": "..."}.
// - History per session, in the agent's memory ("session:<name>"): the last turns, bounded by
//   max_turns and max_history_chars, sent to the model as chat messages before the new one.
//   At most max_sessions sessions are kept; the least recently used one is forgotten.
// - Before answering, the notes most relevant to the message (FTS5 search over the agent's
//   notes for its words other than common ones, best bm25 first, top recall_notes) go into a
//   system message after the history, just before the new message, and are kept with the turn
//   (a note the kept history already shows is not repeated). The history is thus re-sent byte
//   for byte turn after turn, and the engine's prefix cache prefills only the new turn.
// - "remember that X", "note: X", "note that X", "/note X" (any case) save X as a note and reply
//   with a confirmation, without a model call.
// - An empty input (a timer tick) replies with the agent's state: sessions and recent notes.
//
//   "settings": {
//     "max_turns": 8,             // turns of history kept per session (1-100)
//     "max_history_chars": 6000,  // characters of history kept per session
//     "recall_notes": 3,          // notes recalled into the prompt (0 = none)
//     "max_message_chars": 8000,  // longer messages are refused
//     "max_sessions": 20,         // sessions remembered
//     "tools": false              // true: the model may call search_notes and recent_activity
//   }                             //   (common/agent_tools.hpp; at most 2 rounds, each call in the timeline)
#pragma once

#include <string>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/chat/chat_request.hpp"
#include "agents/chat/conversation.hpp"

namespace agentd::agents {

class ChatAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit ChatAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  std::string save_note(TaskContext& ctx, const std::string& text) const;
  Turn answer(TaskContext& ctx, const ChatRequest& request, const Conversation& history) const;
  std::string status(TaskContext& ctx) const;
  void record_turn(TaskContext& ctx, const std::string& session, Conversation history, Turn turn) const;

  HistoryLimits limits_;
  int recall_notes_ = 3;
  int max_message_chars_ = 8000;
  int max_sessions_ = 20;
  bool tools_ = false;
};

}  // namespace agentd::agents
