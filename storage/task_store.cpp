#include "storage/task_store.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace agentd::storage {

using core::Priority;

namespace {

constexpr std::array<std::string_view, kTaskStatuses> kStatusNames = {"queued",    "running",   "finished",
                                                          "failed",    "cancelled", "interrupted"};

constexpr std::string_view kTaskColumns =
    "id, agent, plugin, priority, status, trigger, input, output, error, parent_id, attempt, "
    "created_at, started_at, finished_at, dry_run";

Task read_task(const Statement& s) {
  Task t;
  t.id = s.int64(0);
  t.agent = s.text(1);
  t.plugin = s.text(2);
  t.priority = core::parse_priority(s.text(3)).value_or(Priority::background);
  t.status = parse_task_status(s.text(4)).value_or(TaskStatus::failed);
  t.trigger = s.text(5);
  t.input = s.text(6);
  t.output = s.optional_text(7);
  t.error = s.optional_text(8);
  t.parent_id = s.optional_int64(9);
  t.attempt = static_cast<int>(s.int64(10));
  t.created_at = s.int64(11);
  t.started_at = s.optional_int64(12);
  t.finished_at = s.optional_int64(13);
  t.dry_run = s.int64(14) != 0;
  return t;
}

}  // namespace

std::string_view to_string(TaskStatus s) { return kStatusNames[static_cast<size_t>(s)]; }

std::optional<TaskStatus> parse_task_status(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == s) return static_cast<TaskStatus>(i);
  }
  return std::nullopt;
}

int64_t TaskStore::enqueue(const NewTask& task) {
  Transaction tx(db_);
  int64_t at = now_ms();
  db_.cached("INSERT INTO tasks (agent, plugin, priority, status, trigger, input, parent_id, created_at, dry_run) "
             "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)")
      .bind_all(task.agent, task.plugin, core::to_string(task.priority), task.trigger, task.input,
                task.parent_id, at, static_cast<int64_t>(task.dry_run))
      .run();
  int64_t id = db_.last_insert_rowid();
  nlohmann::json queued = {{"trigger", task.trigger}};
  if (task.dry_run) queued["dry_run"] = true;
  insert_event(id, at, event::queued, queued);
  tx.commit();
  return id;
}

int64_t TaskStore::record_call(const NewTask& task, const EndedCall& call) {
  Transaction tx(db_);
  const char* status = call.status == TaskStatus::finished ? "finished" : call.status == TaskStatus::cancelled ? "cancelled" : "failed";
  db_.cached("INSERT INTO tasks (agent, plugin, priority, status, trigger, input, output, error, created_at, started_at, finished_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(task.agent, task.plugin, core::to_string(task.priority), status, task.trigger, task.input, call.output,
                call.error, call.started_at, call.started_at, call.finished_at)
      .run();
  int64_t id = db_.last_insert_rowid();
  insert_event(id, call.started_at, event::started, nlohmann::json::object());
  insert_event(id, call.finished_at, event::llm_call, call.llm_call);
  insert_event(id, call.finished_at, status, call.error ? nlohmann::json{{"error", *call.error}} : nlohmann::json::object());
  tx.commit();
  return id;
}

bool TaskStore::claim(int64_t id) {
  return transition(id, {TaskStatus::queued}, TaskStatus::running, event::started, nlohmann::json::object());
}

// The claim and reading the task back are one transaction: if the read fails (the database busy,
// full, an I/O error), the claim is undone and the task stays queued, instead of being left
// `running` with no job running it until the next start.
std::optional<Task> TaskStore::claim_and_read(int64_t id) {
  Transaction tx(db_);
  if (!claim(id)) return std::nullopt;
  std::optional<Task> task = get(id);
  tx.commit();
  return task;
}

std::optional<Task> TaskStore::claim_next() {
  auto& next = db_.cached(
      "SELECT id FROM tasks WHERE status = 'queued' ORDER BY "
      "CASE priority WHEN 'interactive' THEN 0 WHEN 'tool' THEN 1 ELSE 2 END, id LIMIT 1");
  if (!next.step()) return std::nullopt;
  int64_t id = next.int64(0);
  next.reset();
  return claim_and_read(id);
}

std::optional<Task> TaskStore::claim_next(const std::vector<std::string>& agents) {
  if (agents.empty()) return std::nullopt;
  auto& next = db_.cached(
      "SELECT id FROM tasks WHERE status = 'queued' AND agent IN (SELECT value FROM json_each(?1)) ORDER BY "
      "CASE priority WHEN 'interactive' THEN 0 WHEN 'tool' THEN 1 ELSE 2 END, id LIMIT 1");
  next.bind(1, nlohmann::json(agents).dump());
  if (!next.step()) return std::nullopt;
  int64_t id = next.int64(0);
  next.reset();
  return claim_and_read(id);
}

bool TaskStore::any_queued() {
  auto& q = db_.cached("SELECT 1 FROM tasks WHERE status = 'queued' LIMIT 1");
  const bool found = q.step();
  q.reset();
  return found;
}

bool TaskStore::finish(int64_t id, std::string_view output) {
  return transition(id, {TaskStatus::running}, TaskStatus::finished, event::finished,
                    {{"output_bytes", output.size()}}, output);
}

bool TaskStore::fail(int64_t id, std::string_view error) {
  return transition(id, {TaskStatus::running, TaskStatus::interrupted}, TaskStatus::failed, event::failed,
                    {{"error", error}}, {}, error);
}

bool TaskStore::cancel(int64_t id, std::string_view reason) {
  return transition(id, {TaskStatus::queued, TaskStatus::running}, TaskStatus::cancelled, event::cancelled,
                    {{"reason", reason}}, {}, reason);
}

bool TaskStore::interrupt(int64_t id, std::string_view reason) {
  return transition(id, {TaskStatus::running}, TaskStatus::interrupted, event::interrupted,
                    {{"reason", reason}});
}

int TaskStore::recover_interrupted() {
  Transaction tx(db_);
  int64_t at = now_ms();
  db_.cached("INSERT INTO task_events (task_id, at, kind, data) "
             "SELECT id, ?, 'interrupted', '{\"reason\":\"the daemon stopped while the task ran\"}' "
             "FROM tasks WHERE status = 'running'")
      .bind_all(at)
      .run();
  db_.cached("UPDATE tasks SET status = 'interrupted', finished_at = ? WHERE status = 'running'")
      .bind_all(at)
      .run();
  int n = db_.changes();
  tx.commit();
  return n;
}

bool TaskStore::requeue(int64_t id) {
  Transaction tx(db_);
  db_.cached("UPDATE tasks SET status = 'queued', attempt = attempt + 1, started_at = NULL, "
             "finished_at = NULL WHERE id = ? AND status = 'interrupted'")
      .bind_all(id)
      .run();
  if (db_.changes() == 0) return false;
  insert_event(id, now_ms(), event::resumed, nlohmann::json::object());
  tx.commit();
  return true;
}

void TaskStore::add_event(int64_t task_id, std::string_view kind, const nlohmann::json& data) {
  insert_event(task_id, now_ms(), kind, data);
}

void TaskStore::insert_event(int64_t task_id, int64_t at, std::string_view kind, const nlohmann::json& data) {
  db_.cached("INSERT INTO task_events (task_id, at, kind, data) VALUES (?, ?, ?, ?)")
      .bind_all(task_id, at, kind, json_text(data))
      .run();
}

bool TaskStore::transition(int64_t id, std::initializer_list<TaskStatus> from, TaskStatus to,
                           std::string_view kind, const nlohmann::json& data,
                           std::optional<std::string_view> output, std::optional<std::string_view> error) {
  std::string allowed;
  for (TaskStatus s : from) allowed += (allowed.empty() ? "'" : ", '") + std::string(to_string(s)) + "'";
  const bool starts = to == TaskStatus::running;
  std::string sql = "UPDATE tasks SET status = ?, " +
                    std::string(starts ? "started_at = ?" : "finished_at = ?") +
                    ", output = coalesce(?, output), error = coalesce(?, error) WHERE id = ? AND status IN (" +
                    allowed + ")";
  Transaction tx(db_);
  int64_t at = now_ms();
  db_.cached(sql).bind_all(to_string(to), at, output, error, id).run();
  if (db_.changes() == 0) return false;
  insert_event(id, at, kind, data);
  tx.commit();
  return true;
}

std::optional<Task> TaskStore::get(int64_t id) {
  auto& s = db_.cached("SELECT " + std::string(kTaskColumns) + " FROM tasks WHERE id = ?");
  s.bind_all(id);
  if (!s.step()) return std::nullopt;
  Task t = read_task(s);
  s.reset();
  return t;
}

std::vector<TaskEvent> TaskStore::events(int64_t task_id) {
  auto& s = db_.cached("SELECT id, task_id, at, kind, data FROM task_events WHERE task_id = ? ORDER BY id");
  s.bind_all(task_id);
  std::vector<TaskEvent> out;
  while (s.step()) {
    out.push_back({s.int64(0), s.int64(1), s.int64(2), s.text(3),
                   nlohmann::json::parse(s.text(4), nullptr, /*allow_exceptions=*/false)});
  }
  s.reset();
  return out;
}

namespace {

// True when `text` holds 3 characters in a row that LIKE reads as themselves: the trigram index
// (schema v8) finds candidates only from such a run; without one it would read every task through
// its view, slower than the plain scan.
bool has_trigram(std::string_view text) {
  int run = 0;
  for (unsigned char c : text) {
    if (c == '%' || c == '_') {
      run = 0;
    } else if ((c & 0xC0) != 0x80 && ++run >= 3) {  // a character starts here (not a UTF-8 continuation)
      return true;
    }
  }
  return false;
}

// `text` as a LIKE pattern that matches it anywhere, its wildcards escaped with '\'.
std::string contains_pattern(std::string_view text, bool escape) {
  std::string out = "%";
  for (char c : text) {
    if (escape && (c == '%' || c == '_' || c == '\\')) out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace

std::vector<Task> TaskStore::list(const TaskFilter& f) {
  // Built from fixed fragments only; every value is bound. A text of 3 characters or more is looked
  // up in the trigram index (tasks_fts), newest first, so the listing stops at `limit`; the join
  // is written CROSS so that SQLite keeps the index outside: inside, it would search the index
  // again for every task the other filters let through. The index's LIKE reads '%' and '_' in the
  // text as wildcards and sees the three columns as one document, so a text with either, or with
  // the separator, is checked column by column too (the scan's condition, escaped).
  const bool indexed = f.text && has_trigram(*f.text);
  const bool exact = f.text && (!indexed || f.text->find_first_of("%_\x1f") != std::string::npos);
  std::string sql = "SELECT " + std::string(kTaskColumns) +
                    (indexed ? " FROM tasks_fts CROSS JOIN tasks ON tasks.id = tasks_fts.rowid WHERE tasks_fts.doc LIKE :pattern"
                             : " FROM tasks WHERE 1");
  if (f.agent) sql += " AND agent = :agent";
  if (f.status) sql += " AND status = :status";
  if (f.since_ms) sql += " AND created_at >= :since";
  if (f.until_ms) sql += " AND created_at < :until";
  if (f.before_id) sql += indexed ? " AND tasks_fts.rowid < :before" : " AND id < :before";
  if (f.finished_since_ms) sql += " AND finished_at >= :finished_since";
  if (f.priority) sql += " AND priority = :priority";
  if (exact) sql += " AND (input LIKE :text ESCAPE '\\' OR output LIKE :text ESCAPE '\\' OR error LIKE :text ESCAPE '\\')";
  sql += indexed ? " ORDER BY tasks_fts.rowid DESC LIMIT :limit" : " ORDER BY id DESC LIMIT :limit";
  auto& s = db_.cached(sql);
  // Named parameters take indexes in order of first appearance (:text once, though used thrice).
  int i = 0;
  if (indexed) s.bind(++i, contains_pattern(*f.text, /*escape=*/false));
  if (f.agent) s.bind(++i, *f.agent);
  if (f.status) s.bind(++i, to_string(*f.status));
  if (f.since_ms) s.bind(++i, *f.since_ms);
  if (f.until_ms) s.bind(++i, *f.until_ms);
  if (f.before_id) s.bind(++i, *f.before_id);
  if (f.finished_since_ms) s.bind(++i, *f.finished_since_ms);
  if (f.priority) s.bind(++i, std::string(core::to_string(*f.priority)));
  if (exact) s.bind(++i, contains_pattern(*f.text, /*escape=*/true));
  s.bind(++i, f.limit);
  std::vector<Task> out;
  while (s.step()) out.push_back(read_task(s));
  s.reset();
  return out;
}

std::vector<Task> TaskStore::with_status(TaskStatus status, int limit) {
  TaskFilter f;
  f.status = status;
  f.limit = limit;
  return list(f);
}

int64_t TaskStore::latest_id() {
  auto& s = db_.cached("SELECT coalesce(max(id), 0) FROM tasks");
  int64_t id = s.step() ? s.int64(0) : 0;
  s.reset();
  return id;
}

std::vector<AgentStats> TaskStore::agent_stats() {
  // The counts the schema's triggers keep (agent_counts), and each agent's newest task by the
  // tasks_by_agent index: a few rows per agent, never a scan of the tasks.
  auto& s = db_.cached(
      "SELECT c.agent, sum(n), "
      "sum(CASE WHEN status = 'queued' THEN n ELSE 0 END), sum(CASE WHEN status = 'running' THEN n ELSE 0 END), "
      "sum(CASE WHEN status = 'finished' THEN n ELSE 0 END), sum(CASE WHEN status = 'failed' THEN n ELSE 0 END), "
      "sum(CASE WHEN status = 'cancelled' THEN n ELSE 0 END), sum(CASE WHEN status = 'interrupted' THEN n ELSE 0 END), "
      "(SELECT t.created_at FROM tasks t WHERE t.agent = c.agent ORDER BY t.id DESC LIMIT 1), "
      "CAST(sum(duration_ms) AS REAL) / nullif(sum(timed), 0) "
      "FROM agent_counts c GROUP BY c.agent ORDER BY c.agent");
  std::vector<AgentStats> out;
  while (s.step()) {
    AgentStats a;
    a.agent = s.text(0);
    a.total = s.int64(1);
    a.queued = s.int64(2);
    a.running = s.int64(3);
    a.finished = s.int64(4);
    a.failed = s.int64(5);
    a.cancelled = s.int64(6);
    a.interrupted = s.int64(7);
    a.last_created_at = s.optional_int64(8);
    a.mean_duration_ms = s.is_null(9) ? 0 : s.real(9);
    out.push_back(std::move(a));
  }
  s.reset();
  return out;
}

TaskStore::DecodeRate TaskStore::decode_rate(int64_t since_ms, int64_t bucket_ms) {
  // `kind = 'llm_call'` spelled as in the partial index's WHERE, so SQLite may use it.
  auto& q = db_.cached(
      "SELECT (at - ?1) / ?2, SUM(tokens), SUM(tokens / rate) FROM ("
      "  SELECT at, json_extract(data, '$.completion_tokens') AS tokens,"
      "         CAST(json_extract(data, '$.decode_tokens_per_s') AS REAL) AS rate"
      "  FROM task_events WHERE kind = 'llm_call' AND at >= ?1) "
      "WHERE rate > 0 AND tokens > 0 GROUP BY 1 ORDER BY 1");
  q.bind(1, since_ms);
  q.bind(2, std::max<int64_t>(bucket_ms, 1));
  DecodeRate out;
  while (q.step()) {
    DecodeBucket b{since_ms + q.int64(0) * bucket_ms, q.int64(1), q.real(2)};
    out.tokens += b.tokens;
    out.seconds += b.seconds;
    out.buckets.push_back(b);
  }
  q.reset();
  return out;
}

void TaskStore::each_call(int64_t since_ms, std::optional<int64_t> until_ms,
                          const std::function<void(const RecordedCall&)>& fn) {
  auto q = db_.prepare(
      "SELECT e.task_id, t.agent, t.priority, e.at, e.data FROM task_events e JOIN tasks t ON t.id = e.task_id "
      "WHERE e.kind = 'llm_call' AND e.at >= ?1 AND e.at < ?2 "
      "ORDER BY coalesce(json_extract(e.data, '$.request.sent_at'), e.at), e.id");
  q.bind(1, since_ms);
  q.bind(2, until_ms.value_or(std::numeric_limits<int64_t>::max()));
  while (q.step()) {
    RecordedCall c;
    c.task_id = q.int64(0);
    c.agent = q.text(1);
    c.priority = core::parse_priority(q.text(2)).value_or(core::Priority::background);
    c.at = q.int64(3);
    c.data = nlohmann::json::parse(q.text(4), nullptr, false);
    if (c.data.is_discarded() || !c.data.is_object()) c.data = nlohmann::json::object();
    fn(c);
  }
}

}  // namespace agentd::storage

namespace agentd::storage {

std::array<int64_t, kTaskStatuses> TaskStore::count_by_status() {
  std::array<int64_t, kTaskStatuses> counts{};
  auto& q = db_.cached("SELECT status, n FROM task_counts");
  while (q.step()) {
    if (auto s = parse_task_status(q.text(0))) counts[static_cast<size_t>(*s)] = q.int64(1);
  }
  q.reset();
  return counts;
}

std::array<int64_t, core::kPriorityClasses> TaskStore::queued_by_priority() {
  std::array<int64_t, core::kPriorityClasses> counts{};
  auto& q = db_.cached("SELECT priority, COUNT(*) FROM tasks WHERE status = 'queued' GROUP BY priority");
  while (q.step()) {
    if (auto p = core::parse_priority(q.text(0))) counts[static_cast<size_t>(core::index(*p))] = q.int64(1);
  }
  q.reset();
  return counts;
}

}  // namespace agentd::storage

namespace agentd::storage {

std::vector<TaskStore::CallStats> TaskStore::call_stats(int64_t since_ms) {
  auto& q = db_.cached(
      "SELECT t.agent, COALESCE(json_extract(e.data, '$.route'), 'local'), "
      "date(e.at / 1000, 'unixepoch', 'localtime'), COUNT(*), "
      "COALESCE(SUM(json_extract(e.data, '$.prompt_tokens')), 0), "
      "COALESCE(SUM(json_extract(e.data, '$.completion_tokens')), 0), "
      "COALESCE(SUM(json_extract(e.data, '$.cost_usd')), 0.0) "
      "FROM task_events e JOIN tasks t ON t.id = e.task_id "
      "WHERE e.kind = 'llm_call' AND e.at >= ?1 GROUP BY 1, 2, 3 ORDER BY 3, 1, 2");
  q.bind(1, since_ms);
  std::vector<CallStats> out;
  while (q.step()) {
    out.push_back({q.text(0), q.text(1), q.text(2), q.int64(3), q.int64(4), q.int64(5), q.real(6)});
  }
  q.reset();
  return out;
}

}  // namespace agentd::storage
