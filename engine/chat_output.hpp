// The output side of a chat: the model's text parsed into answer, reasoning and tool calls
// (llama.cpp common's parser for the template's format, or agentd's generic tool JSON), and
// ChatGeneration, which streams that as MessageDeltas and returns it in the Result.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat.h"
#include "engine/engine.hpp"

namespace agentd::engine {

struct OutputSyntax {
  enum class Kind { common, generic_tools };
  Kind kind = Kind::common;
  common_chat_parser_params params;  // Kind::common
};

// Throws std::exception when a complete (partial = false) text does not parse.
common_chat_msg parse_output(const OutputSyntax& syntax, const std::string& text, bool partial);

class ChatGeneration final : public Generation {
 public:
  ChatGeneration(std::unique_ptr<Generation> inner, std::shared_ptr<const OutputSyntax> syntax);
  std::optional<std::string> next_piece() override;  // answer text only
  std::optional<MessageDelta> next_delta() override;
  void cancel() override { inner_->cancel(); }
  Result wait() override;

 private:
  void advance(const common_chat_msg& next);
  common_chat_msg parse_final(const std::string& text);

  std::unique_ptr<Generation> inner_;
  std::shared_ptr<const OutputSyntax> syntax_;
  std::string raw_;                // the model's text so far
  common_chat_msg shown_;          // what the deltas so far add up to
  std::deque<MessageDelta> pending_;
  std::vector<std::string> ids_;   // tool call ids, stable from the first delta to the Result
  bool ended_ = false;
};

}  // namespace agentd::engine
