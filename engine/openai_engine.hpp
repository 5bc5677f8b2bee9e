// OpenAIEngine: the Engine interface over any OpenAI-compatible server (llama-server, Ollama,
// vLLM, a cloud API) — /v1/chat/completions with streaming.
//
// - Each generation runs on its own thread: it POSTs with "stream": true, parses the server-sent
//   events and feeds a GenerationStream, so readers block fiber-aware exactly as with the local
//   engine. cancel() aborts the transfer at the next chunk.
// - Retries: a connection failure, 429 or 5xx before any token arrived is retried up to
//   `max_retries` times with exponential backoff from `backoff` (a Retry-After header, when
//   given, is honoured up to 30 s). Other statuses end the generation with FinishReason::error
//   and the server's message. Once tokens flowed, a broken stream is an error, never a retry
//   (the reader already has half an answer).
// - The API key is read from the environment variable named in the options when the engine is
//   created; it is sent as a bearer token and never logged or stored.
// - next_delta() passes on the server's reasoning and tool-call deltas as they arrive (a call from
//   the delta that names it, ids "call_N" where the server gave none); the Result holds the same
//   calls, in the same order, with the same ids.
// - A raw prompt (Request::prompt) is refused: chat servers take messages. A GBNF grammar is
//   sent as llama-server's "grammar" extension; a JSON schema as response_format json_schema.
#pragma once

#include <chrono>
#include <string>

#include "engine/engine.hpp"

namespace agentd::engine {

struct OpenAIEngineOptions {
  std::string base_url = "http://127.0.0.1:8080/v1";  // scheme://host[:port][/prefix]
  std::string model;                                   // sent as "model"
  std::string api_key_env;                             // environment variable with the key
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{120000};      // between two bytes of the response
  int max_retries = 3;
  std::chrono::milliseconds backoff{500};
};

class OpenAIEngine final : public Engine {
 public:
  // Throws EngineError for a base URL it cannot use.
  explicit OpenAIEngine(OpenAIEngineOptions options);
  std::unique_ptr<Generation> submit(Request request) override;
  EngineInfo info() const override;

 private:
  OpenAIEngineOptions options_;
  std::string origin_;  // scheme://host:port
  std::string prefix_;  // /v1
  std::string api_key_;
};

}  // namespace agentd::engine
