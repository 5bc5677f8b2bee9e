// Sends a day's requests to one server over HTTP (/v1/chat/completions, streamed) and times each
// on the client side. Every chain (an agent, a chat session) is a thread that sends its requests
// one after another, each at its time or when the previous one finished (plus its think time),
// whichever is later. At the end of the window every request still open is cut and marked so.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "replay_trace.hpp"

namespace agentd::bench::replay {

struct Target {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
  bool send_priority = true;  // agentd: the class in "priority" and the agent in "agent"
};

struct Outcome {
  double sent_s = -1, first_s = -1, done_s = -1;  // seconds from the replay's start; -1 = never
  int status = 0;
  bool failed = false;  // an HTTP error or a broken stream before the window ended
  bool cut = false;     // still open when the window ended
  int pieces = 0;       // content pieces streamed
  int completion_tokens = -1, prompt_tokens = -1, cached_tokens = -1;  // from usage (or timings)
  // agentd's own account (the "agentd" object of its last chunk), -1 from other servers: submit to
  // admission, and submit to first token, inside the daemon. The client's time to first token
  // minus the second is the HTTP path's share.
  double server_queue_ms = -1, server_ttft_ms = -1;
  std::string error;
  nlohmann::json sent_messages;  // null, or the messages as sent when they were not the day's (resend_answers)
  int tokens() const { return completion_tokens >= 0 ? completion_tokens : pieces; }
};

struct DayRun {
  std::vector<Outcome> outcomes;                     // one per request of the day, same order
  std::vector<std::pair<double, int>> waiting;       // (time, requests sent and not yet answered)
  double window_s = 0;
};

// The chain each request belongs to: its own, else (recorded days) one per agent for tool and
// background work, and none (independent) for interactive requests.
std::vector<int> chains_of(const std::vector<ReplayRequest>& day);

// The request body as sent: model, messages, max_tokens, stream with usage, temperature 0, the
// schema as response_format json_schema; priority and agent only for agentd.
std::string request_body(const ReplayRequest& r, bool send_priority);

// A chat follow-up as sent: its k-th assistant message replaced by the chain's k-th answer, where
// that answer came (a request that failed or was cut leaves the recorded text in place).
ReplayRequest with_answers(const ReplayRequest& r, const std::vector<std::string>& answers);

DayRun run_day(const std::vector<ReplayRequest>& day, const Target& target, double window_s);

}  // namespace agentd::bench::replay
