// The client side of an OpenAI-compatible streamed answer: server-sent events whose data are
// chat.completion.chunk objects, ended by "data: [DONE]". One reader for the cloud backend
// (engine/openai_engine) and the CLI's chat (runtime/cli_chat), which reads the daemon's stream.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace agentd::engine {

class SseEvents {
 public:
  // Appends `n` bytes of the stream and calls `on_data` with the data of each event completed
  // by them (an event ends at a blank line; its "data:" lines, each without "data:" and one
  // following space, joined), in order. Events without data are skipped. Returns false as soon
  // as `on_data` does; the rest is not read.
  bool feed(const char* bytes, std::size_t n, const std::function<bool(const std::string& data)>& on_data);

 private:
  std::string buffer_;  // an event not yet complete
};

// The text a chunk adds: choices[0].delta.content when it is a string.
std::optional<std::string> chunk_content(const nlohmann::json& chunk);

// The message of an OpenAI error body ({"error": {"message": ...}}), else the body's first 300
// bytes.
std::string error_message(const std::string& body);

}  // namespace agentd::engine
