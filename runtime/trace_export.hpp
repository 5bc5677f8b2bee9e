// A stretch of history as a day to replay: `agentd tasks --since 24h --export-trace FILE` writes
// the model calls the daemon recorded in the form bench/replay reads (`replay_bench --trace FILE`),
// so users can measure agentd, llama-server or another setting on their own day. One JSON line
// per call, in the order they were sent:
//   {"time": s, "agent", "class", "messages", "max_tokens", "schema"?, "tools"?, "chain"?,
//    "after"?, "task"?}
// "time" counts from the first call. An agent's calls form one chain (the daemon runs an agent's
// tasks one after another), each sent "after" the gap it had behind the chain's previous call.
// /v1 calls (tasks of agent "v1" or "v1:<label>") carry no chain and are exported under "v1" or
// the label: the replay chains them as it chains any recorded day. A background task's calls
// carry its number in "task" (the replay counts tasks whose every call finished).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>

#include "storage/task_store.hpp"

namespace agentd::runtime {

struct TraceExport {
  int64_t written = 0;
  int64_t background_tasks = 0;
  int64_t not_recorded = 0;  // calls recorded before history kept requests (no "request")
  int64_t raw_prompts = 0;   // calls with a raw prompt, not chat messages: the trace has no form for them
  int64_t first_sent_at = 0, last_sent_at = 0;
};

TraceExport export_trace(storage::TaskStore& tasks, int64_t since_ms, std::optional<int64_t> until_ms,
                         std::ostream& out);

}  // namespace agentd::runtime
