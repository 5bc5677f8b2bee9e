#include "agents/chat/chat_agent.hpp"

#include "agents/common/agent_tools.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace {

const std::string kSessionsKey = "sessions";

std::string session_key(const std::string& session) { return "session:" + session; }

}  // namespace

ChatAgent::ChatAgent(const AgentConfig& config) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"max_turns", "max_history_chars", "recall_notes", "max_message_chars", "max_sessions", "tools"});
  int max_turns = static_cast<int>(limits_.max_turns);
  int max_chars = static_cast<int>(limits_.max_chars);
  s.integer("max_turns", max_turns, 1, 100);
  s.integer("max_history_chars", max_chars, 100, 1'000'000);
  limits_ = {static_cast<size_t>(max_turns), static_cast<size_t>(max_chars)};
  s.integer("recall_notes", recall_notes_, 0, 20);
  s.integer("max_message_chars", max_message_chars_, 1, 1'000'000);
  s.integer("max_sessions", max_sessions_, 1, 10'000);
  s.boolean("tools", tools_);
}

std::string ChatAgent::run(TaskContext& ctx) {
  ChatRequest request;
  try {
    request = parse_chat_request(ctx.input(), static_cast<size_t>(max_message_chars_));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  if (request.message.empty()) return status(ctx);

  auto stored = ctx.recall(session_key(request.session));
  Conversation history = Conversation::from_json(stored.value_or(nlohmann::json()));
  history.trim(limits_);  // the limits may have been lowered since it was stored

  Turn turn{request.message, "", 0, "", {}};
  if (auto note = note_request(request.message)) {
    turn.assistant = save_note(ctx, *note);
  } else {
    turn = answer(ctx, request, history);
  }
  turn.at_ms = ctx.now_ms();
  std::string reply = turn.assistant;
  record_turn(ctx, request.session, std::move(history), std::move(turn));
  return reply;
}

std::string ChatAgent::save_note(TaskContext& ctx, const std::string& text) const {
  if (text.empty()) return "There is nothing to note. Say \"/note\" followed by what I should remember.";
  int64_t id = ctx.note(text);
  ctx.log("saved a note", {{"note", id}});
  return "Noted: " + text;
}

// The history goes first, exactly as it was sent last time, and this turn's notes come after it,
// next to the new message: the engine reuses the cached prefix of the conversation up to there.
Turn ChatAgent::answer(TaskContext& ctx, const ChatRequest& request, const Conversation& history) const {
  std::vector<Note> notes;
  if (std::string query = recall_query(request.message); recall_notes_ > 0 && !query.empty()) {
    notes = ctx.search_notes(query, recall_notes_);
  }
  nlohmann::json ids = nlohmann::json::array();
  for (const Note& n : notes) ids.push_back(n.id);
  ctx.log("recalled " + std::to_string(notes.size()) + " note(s), " + std::to_string(history.turns().size()) +
              " turn(s) of history",
          {{"session", request.session}, {"notes", ids}});
  std::erase_if(notes, [&](const Note& n) { return history.shows_note(n.id); });  // already in the history

  Turn turn{request.message, "", 0, notes_context(notes), {}};
  for (const Note& n : notes) turn.note_ids.push_back(n.id);
  GenerateOptions options;
  options.messages = history.messages();
  if (!turn.notes.empty()) options.messages.push_back({"system", turn.notes});
  options.messages.push_back({"user", request.message});
  // With tools the model may search the notes and look up recent tasks itself (bounded rounds).
  turn.assistant = text::trim(tools_ ? ctx.generate_with_tools(options, agent_tools(ctx), {.max_rounds = 2}).text
                                     : ctx.generate(options).text);
  if (turn.assistant.empty()) turn.assistant = "(the model gave no answer)";
  return turn;
}

void ChatAgent::record_turn(TaskContext& ctx, const std::string& session, Conversation history, Turn turn) const {
  history.add(std::move(turn), limits_);
  ctx.remember(session_key(session), history.to_json());
  SessionIndex index = SessionIndex::from_json(ctx.recall(kSessionsKey).value_or(nlohmann::json()));
  for (const std::string& dropped : index.touch(session, static_cast<size_t>(max_sessions_))) {
    ctx.remember(session_key(dropped), Conversation().to_json());
    ctx.log("forgot the least recently used session", {{"session", dropped}});
  }
  ctx.remember(kSessionsKey, index.to_json());
}

std::string ChatAgent::status(TaskContext& ctx) const {
  SessionIndex index = SessionIndex::from_json(ctx.recall(kSessionsKey).value_or(nlohmann::json()));
  std::string out = "# Chat: ready\n\n";
  out += "Sessions: " + std::to_string(index.names.size()) + (index.names.empty() ? "" : " (most recent last:");
  for (size_t i = 0; i < index.names.size(); ++i) {
    const std::string& name = index.names[i];
    auto turns = Conversation::from_json(ctx.recall(session_key(name)).value_or(nlohmann::json())).turns().size();
    out += (i ? ", " : " ") + name + " " + std::to_string(turns) + " turn(s)";
  }
  out += index.names.empty() ? "\n" : ")\n";
  std::vector<Note> notes = ctx.recent_notes(5);
  out += "\nRecent notes" + std::string(notes.empty() ? ": none yet (say \"remember that ...\")\n" : ":\n");
  for (const Note& n : notes) out += "- " + n.text + "\n";
  return out;
}

}  // namespace agentd::agents
