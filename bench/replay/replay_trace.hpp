// A replayed day: one request per line of a JSON-lines file, and the readers of the inputs a day
// is made from. A line:
//   {"time": 12.5, "agent": "mail", "class": "background", "messages": [...], "max_tokens": 96,
//    "schema": {...}, "tools": [...]}       (optional: response_format json_schema; OpenAI tools)
// plus optional fields the generator writes and a recorded day may leave out: "chain" (requests
// of one chain are sent one after another: an agent's runs, a chat session), "after" (seconds to
// wait after the previous request of the chain finished), "task" (a background task ends with the
// last request carrying its id). Readers refuse a bad line with its number.
#pragma once

#include <istream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentd::bench::replay {

struct ReplayRequest {
  double time_s = 0;       // earliest send time, seconds from the replay's start
  std::string agent;       // "chat" for the interactive sessions
  std::string klass;       // interactive | tool | background
  nlohmann::json messages = nlohmann::json::array();
  int max_tokens = 0;
  std::optional<nlohmann::json> schema;
  std::optional<nlohmann::json> tools;  // offered functions (a recorded day's tool-calling agents)
  int chain = -1;          // -1: independent
  double after_s = 0;      // think time after the chain's previous request finished
  int task = -1;           // background task id (-1: none)
  // A chat follow-up: its assistant messages are replaced, in order, by the answers its chain got
  // before it (what a chat client resends); a placeholder stays where an answer is missing.
  bool resend_answers = false;
};

struct TraceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads a day; a line that is not a JSON object with valid fields throws TraceError naming
// `source` and the line number. Blank lines are skipped. Requests are returned sorted by time.
std::vector<ReplayRequest> read_trace_jsonl(std::istream& in, const std::string& source);
void write_trace_jsonl(std::ostream& out, const std::vector<ReplayRequest>& day);
nlohmann::json to_json(const ReplayRequest& r);

// One row of the Azure LLM inference trace (conversation service): TIMESTAMP,ContextTokens,
// GeneratedTokens. time_s is from the first row.
struct ChatTraceRow {
  double time_s = 0;
  int context_tokens = 0;
  int generated_tokens = 0;
};
// Reads the CSV (header line first); a malformed row throws TraceError with its line number.
std::vector<ChatTraceRow> read_azure_conv_csv(std::istream& in, const std::string& source);

}  // namespace agentd::bench::replay
