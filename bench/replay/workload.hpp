// The replayed day, deterministic from a seed: interactive chat sessions drawn from the Azure
// conversation trace, and the twelve shipped agents' model calls at their triggers, the 24-hour
// day compressed into the replay window. See bench/README.md ("Replay") for how it is scaled.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "replay_trace.hpp"

namespace agentd::bench::replay {

struct WorkloadOptions {
  uint64_t seed = 1;
  double day_minutes = 2.5;        // the day, compressed: this many minutes of wall time (per system)
  double chat_rate = 0.05;         // share of the trace's chat requests kept (it has ~5.4/s)
  double token_scale = 0.25;       // chat prompt/answer sizes and agents' answer budgets × this
  int agent_copies = 1;            // the twelve agents' work this many times (the scale run)
  size_t max_prompt_chars = 1800;  // one request's text is cut to this: with the answer it must fit the
                                   // context per sequence, and digits (price CSVs) are a token each
  bool answers_as_recorded = false;  // chat follow-ups resend fixed text of each answer's recorded size,
                                     // not the answer the system gave
  std::filesystem::path source_root;  // the checkout: agents.d/ and agents/*/samples
};

// Throws std::runtime_error naming the file when agents.d or a sample cannot be read.
std::vector<ReplayRequest> generate_day(const WorkloadOptions& o, const std::vector<ChatTraceRow>& chat_rows);

// What the day asks of a server: request and task counts, characters of prompt text and
// answer-token budgets per class, and per minute of the window.
struct OfferedLoad {
  size_t requests = 0, chat_requests = 0, chat_sessions = 0, tool_requests = 0, background_requests = 0, tasks = 0;
  double prompt_chars = 0, answer_tokens = 0, background_answer_tokens = 0;
};
OfferedLoad offered_load(const std::vector<ReplayRequest>& day);
std::string describe(const OfferedLoad& l, double window_s);

}  // namespace agentd::bench::replay
