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
#include <utility>
#include <vector>

#include "scheduler/priority.hpp"

namespace agentd::engine {

using Clock = std::chrono::steady_clock;

// A call the model asked for: `arguments` is JSON text (an object), as OpenAI sends it.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool"
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant: the calls it made
  std::string tool_call_id;          // tool: the call this message answers
  std::string reasoning;             // assistant: its thinking, when a caller keeps it
};

// A function the model may call; `parameters` is a JSON schema (text) of its arguments object.
struct Tool {
  std::string name;
  std::string description;
  std::string parameters = "{\"type\": \"object\"}";
};

// automatic: the model decides; none: no call; required: at least one call; named: a call of
// Request::tool_name. Under required and named, the output is grammar-constrained to a call.
enum class ToolChoice { automatic, none, required, named };

struct Sampling {
  float temperature = 0.8f;   // 0 = greedy
  int top_k = 40;             // 0 = off
  float top_p = 0.95f;        // 1 = off
  float min_p = 0.05f;        // 0 = off
  float repeat_penalty = 1.0f;  // 1 = off
  int repeat_last_n = 64;
  uint32_t seed = 0xFFFFFFFF;   // 0xFFFFFFFF = random
  // Added to a token's logit before anything else picks (OpenAI's logit_bias: -100 all but bans
  // the token, 100 all but forces it). Token ids of this model's vocabulary.
  std::vector<std::pair<int32_t, float>> logit_bias;
};

struct Request {
  std::vector<ChatMessage> messages;  // formatted with the chat template...
  std::string prompt;                 // ...unless a raw prompt is given (then used verbatim)
  Sampling sampling;
  std::vector<std::string> stop;      // generation ends before any of these strings
  int max_tokens = 256;
  std::string grammar;                // optional GBNF
  std::string json_schema;            // optional JSON schema (converted to a grammar)
  std::vector<Tool> tools;            // functions the model may call (chat messages only)
  ToolChoice tool_choice = ToolChoice::automatic;
  std::string tool_name;              // ToolChoice::named
  bool parallel_tool_calls = false;   // more than one call in one answer
  bool thinking = true;               // false: a reasoning model is asked not to think
  // At most this many tokens of thinking (-1: no bound); then the model's end-of-thinking marker
  // is forced and it answers. Only for models whose template marks its thinking.
  int reasoning_budget = -1;
  scheduler::Priority priority = scheduler::Priority::tool;
  std::optional<Clock::time_point> deadline;  // ends with FinishReason::deadline when passed
  int64_t task_id = 0;                // the task this call belongs to (0 = none), for accounting
};

enum class FinishReason { stop, length, cancelled, deadline, error };
const char* to_string(FinishReason r);

struct Result {
  std::string text;              // the answer: for a chat, without its reasoning and tool calls
  std::string reasoning;         // a reasoning model's thinking, split out of the answer
  std::vector<ToolCall> tool_calls;  // calls the model made (a chat request with tools)
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
  // `field`: the request's part at fault, in OpenAI's names ("tools", "logit_bias"), when known.
  explicit RequestError(const std::string& what, std::string field = "")
      : std::runtime_error(what), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// The engine could not be created (missing file, not GGUF, unsupported architecture, ...).
class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A step of a chat answer as it streams: text of the answer, of the reasoning, or of a tool call
// (index, then id and name once, then pieces of its arguments).
struct MessageDelta {
  std::string content;
  std::string reasoning;
  int tool_index = -1;  // >= 0: a tool call delta
  ToolCall tool_call;   // id and name on a call's first delta; arguments text appended
};

class Generation {
 public:
  virtual ~Generation() = default;
  virtual std::optional<std::string> next_piece() = 0;
  // The answer as deltas; by default every piece is answer text. Backends that split reasoning
  // and tool calls out of the text override it. Read either next_piece() or next_delta().
  virtual std::optional<MessageDelta> next_delta() {
    auto piece = next_piece();
    if (!piece) return std::nullopt;
    MessageDelta d;
    d.content = std::move(*piece);
    return d;
  }
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
