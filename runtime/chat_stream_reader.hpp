// Reads an OpenAI chat-completions stream (server-sent events, "data: {chunk}\n\n", ending with
// "data: [DONE]") piece by piece as an HTTP client receives it, and hands each parsed chunk on.
// Used by `agentd chat` and by the replay benchmark's client (bench/replay), so both read the
// wire the same way; it does not care which server wrote the stream.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace agentd::runtime {

class ChatStreamReader {
 public:
  // on_chunk gets every chunk that is a JSON object (content deltas, the finish reason, usage,
  // and whatever else a server adds, e.g. llama-server's "timings"). Unparsable events are skipped.
  using ChunkFn = std::function<void(const nlohmann::json& chunk)>;
  explicit ChatStreamReader(ChunkFn on_chunk) : on_chunk_(std::move(on_chunk)) {}

  void feed(const char* data, size_t n);
  bool done() const { return done_; }  // "data: [DONE]" was read

  // The content of a chunk's first choice's delta, "" when it has none (role, finish, usage).
  static std::string delta_content(const nlohmann::json& chunk);

 private:
  ChunkFn on_chunk_;
  std::string buffer_;
  bool done_ = false;
};

}  // namespace agentd::runtime
