// The Engine interface: submit a Request, get a Generation (a token stream the caller reads from a
// fiber or a plain thread, cancels, and waits on). LlamaEngine (embedded llama.cpp) and, later,
// OpenAIEngine (HTTP) implement it; agents only ever see this interface.
//
// Contract:
//  - submit() validates synchronously (prompt fits the context, grammar parses, sampling sane)
//    and throws RequestError naming the problem; otherwise it returns at once: the request is
//    queued by priority class and runs when the engine admits it.
//  - Generation::next_piece() blocks only the calling fiber (or thread when called off-fiber)
//    until the next decoded text piece is available; std::nullopt once the generation ended.
//  - cancel() is safe from any thread, at any time, any number of times; the generation ends with
//    FinishReason::cancelled and its slot is freed at the next token boundary.
//  - wait() blocks (fiber-aware) until the generation ended and returns its Result; pieces not
//    read are still part of Result::text.
//  - Destroying a Generation cancels it if it has not ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "scheduler/priority.hpp"

namespace agentd::engine {

using Clock = std::chrono::steady_clock;

struct ChatMessage {
  std::string role;     // "system", "user", "assistant"
  std::string content;
};

struct Sampling {
  float temperature = 0.8f;   // 0 = greedy
  int top_k = 40;             // 0 = off
  float top_p = 0.95f;        // 1 = off
  float min_p = 0.05f;        // 0 = off
  float repeat_penalty = 1.0f;  // 1 = off
  int repeat_last_n = 64;
  uint32_t seed = 0xFFFFFFFF;   // 0xFFFFFFFF = random
};

struct Request {
  std::vector<ChatMessage> messages;  // formatted with the chat template...
  std::string prompt;                 // ...unless a raw prompt is given (then used verbatim)
  Sampling sampling;
  std::vector<std::string> stop;      // generation ends before any of these strings
  int max_tokens = 256;
  std::string grammar;                // optional GBNF
  std::string json_schema;            // optional JSON schema (converted to a grammar)
  scheduler::Priority priority = scheduler::Priority::tool;
  std::optional<Clock::time_point> deadline;  // ends with FinishReason::deadline when passed
  int64_t task_id = 0;                // the task this call belongs to (0 = none), for accounting
};

enum class FinishReason { stop, length, cancelled, deadline, error };
const char* to_string(FinishReason r);

struct Result {
  std::string text;
  FinishReason finish = FinishReason::stop;
  std::string error;             // set when finish == error
  int prompt_tokens = 0;
  int cached_tokens = 0;         // prompt tokens whose KV came from the prefix cache (not prefilled)
  int completion_tokens = 0;
  double queue_wait_ms = 0;      // submit -> admitted (prefill starts)
  double ttft_ms = 0;            // submit -> first token sampled
  double decode_tokens_per_s = 0;  // completion tokens / (end - first token)
  int times_preempted = 0;       // how often the sequence was paused for a higher class
  // Engine decode steps done when it was submitted, and the step that gave its first token
  // (-1 when unknown: no token, or a remote backend). Priorities are measured in these.
  int64_t submitted_step = -1;
  int64_t first_token_step = -1;
};

// A request the engine refuses before running it (prompt too long, bad grammar, ...).
class RequestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The engine could not be created (missing file, not GGUF, unsupported architecture, ...).
class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Generation {
 public:
  virtual ~Generation() = default;
  virtual std::optional<std::string> next_piece() = 0;
  virtual void cancel() = 0;
  virtual Result wait() = 0;
};

struct EngineInfo {
  std::string backend;   // "llama.cpp", "openai"
  std::string model;     // model path or name
  std::string policy;    // "serial" / "batched"
  int slots = 1;         // sequences decoded together
  int context = 0;       // tokens per sequence
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::unique_ptr<Generation> submit(Request request) = 0;
  virtual EngineInfo info() const = 0;
};

}  // namespace agentd::engine
