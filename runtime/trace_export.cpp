#include "runtime/trace_export.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "runtime/openai_api.hpp"

namespace agentd::runtime {

using nlohmann::json;

TraceExport export_trace(storage::TaskStore& tasks, int64_t since_ms, std::optional<int64_t> until_ms,
                         std::ostream& out) {
  TraceExport done;
  std::map<std::string, int> chains;             // agent -> chain number
  std::map<int, int64_t> chain_last_end;         // chain -> when its previous call ended
  std::map<int64_t, int> task_numbers;           // task id -> "task"
  tasks.each_call(since_ms, until_ms, [&](const storage::TaskStore::RecordedCall& c) {
    const json* request = c.data.contains("request") && c.data["request"].is_object() ? &c.data["request"] : nullptr;
    if (!request) return void(++done.not_recorded);
    if (!request->contains("messages")) return void(++done.raw_prompts);
    const int64_t sent_at = request->value("sent_at", c.at);
    if (done.written == 0) done.first_sent_at = sent_at;
    done.last_sent_at = sent_at;

    // A /v1 call stands alone, under the label its client gave (a replayed day sends it again).
    const std::optional<std::string> label = v1_label(c.agent);
    json line = {{"time", static_cast<double>(sent_at - done.first_sent_at) / 1000.0},
                 {"agent", label && !label->empty() ? *label : c.agent},
                 {"class", request->value("priority", std::string(core::to_string(c.priority)))},
                 {"messages", (*request)["messages"]},
                 {"max_tokens", std::max(1, request->value("max_tokens", 1))}};
    if (request->contains("schema")) line["schema"] = (*request)["schema"];
    if (request->contains("tools")) line["tools"] = (*request)["tools"];
    if (!label) {
      auto [it, added] = chains.try_emplace(c.agent, static_cast<int>(chains.size()));
      line["chain"] = it->second;
      if (auto last = chain_last_end.find(it->second); last != chain_last_end.end() && sent_at > last->second) {
        line["after"] = static_cast<double>(sent_at - last->second) / 1000.0;
      }
      chain_last_end[it->second] = c.at;
    }
    if (line["class"] == "background") {
      auto [it, added] = task_numbers.try_emplace(c.task_id, static_cast<int>(task_numbers.size()));
      line["task"] = it->second;
    }
    out << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    ++done.written;
  });
  done.background_tasks = static_cast<int64_t>(task_numbers.size());
  return done;
}

}  // namespace agentd::runtime
