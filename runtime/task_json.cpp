#include "runtime/task_json.hpp"

#include "scheduler/priority.hpp"

namespace agentd::runtime {

namespace {
template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json to_json(const storage::Task& t) {
  return {{"id", t.id},
          {"agent", t.agent},
          {"plugin", t.plugin},
          {"priority", scheduler::to_string(t.priority)},
          {"status", storage::to_string(t.status)},
          {"trigger", t.trigger},
          {"input", t.input},
          {"output", or_null(t.output)},
          {"error", or_null(t.error)},
          {"parent_id", or_null(t.parent_id)},
          {"attempt", t.attempt},
          {"created_at", t.created_at},
          {"started_at", or_null(t.started_at)},
          {"finished_at", or_null(t.finished_at)},
          {"dry_run", t.dry_run}};
}

nlohmann::json to_json(const storage::TaskEvent& e) {
  return {{"id", e.id}, {"task_id", e.task_id}, {"at", e.at}, {"kind", e.kind}, {"data", e.data}};
}

nlohmann::json to_json(const storage::Section& s) {
  return {{"idx", s.idx},       {"title", s.title},   {"text", s.text},
          {"tokens", s.tokens}, {"status", storage::to_string(s.status)}, {"updated_at", s.updated_at}};
}

nlohmann::json to_json(const storage::Note& n) {
  return {{"id", n.id}, {"agent", n.agent}, {"at", n.at}, {"text", n.text}, {"rank", n.rank}};
}

nlohmann::json to_json(const storage::AgentStats& a) {
  return {{"agent", a.agent},         {"total", a.total},         {"queued", a.queued},
          {"running", a.running},     {"finished", a.finished},   {"failed", a.failed},
          {"cancelled", a.cancelled}, {"interrupted", a.interrupted},
          {"last_created_at", or_null(a.last_created_at)}, {"mean_duration_ms", a.mean_duration_ms}};
}

}  // namespace agentd::runtime
