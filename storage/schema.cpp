#include "storage/schema.hpp"

#include <array>
#include <string>

namespace agentd::storage {

namespace {

// Timestamps are INTEGER milliseconds since the Unix epoch (UTC). JSON lives in TEXT columns.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE tasks (
  id          INTEGER PRIMARY KEY,
  agent       TEXT NOT NULL,
  plugin      TEXT NOT NULL DEFAULT '',
  priority    TEXT NOT NULL DEFAULT 'background'
              CHECK (priority IN ('interactive', 'tool', 'background')),
  status      TEXT NOT NULL DEFAULT 'queued'
              CHECK (status IN ('queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted')),
  trigger     TEXT NOT NULL DEFAULT 'manual',
  input       TEXT NOT NULL DEFAULT '',
  output      TEXT,
  error       TEXT,
  parent_id   INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
  attempt     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  started_at  INTEGER,
  finished_at INTEGER
);
-- Listings are newest first (id order is creation order), optionally by agent and status.
CREATE INDEX tasks_by_agent_status ON tasks (agent, status, id);
CREATE INDEX tasks_by_status ON tasks (status, id);
CREATE INDEX tasks_by_created ON tasks (created_at);
CREATE INDEX tasks_by_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE task_events (
  id      INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  at      INTEGER NOT NULL,
  kind    TEXT NOT NULL,
  data    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);

CREATE TABLE sections (
  task_id    INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  title      TEXT NOT NULL,
  text       TEXT NOT NULL DEFAULT '',
  tokens     INTEGER NOT NULL DEFAULT 0,
  status     TEXT NOT NULL DEFAULT 'pending'
             CHECK (status IN ('pending', 'running', 'done', 'failed')),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, idx)
) WITHOUT ROWID;

CREATE TABLE memory (
  agent      TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL CHECK (json_valid(value)),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (agent, key)
) WITHOUT ROWID;

CREATE TABLE notes (
  id    INTEGER PRIMARY KEY,
  agent TEXT NOT NULL,
  at    INTEGER NOT NULL,
  text  TEXT NOT NULL
);
CREATE INDEX notes_by_agent ON notes (agent, id);
CREATE VIRTUAL TABLE notes_fts USING fts5 (text, content = 'notes', content_rowid = 'id',
                                          tokenize = 'porter unicode61');
CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
  INSERT INTO notes_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN
  INSERT INTO notes_fts (notes_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER notes_au AFTER UPDATE ON notes BEGIN
  INSERT INTO notes_fts (notes_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO notes_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE schedules (
  agent        TEXT NOT NULL,
  trigger      TEXT NOT NULL,
  last_fire_at INTEGER,
  next_fire_at INTEGER,
  PRIMARY KEY (agent, trigger)
) WITHOUT ROWID;
)sql";

// Listings at scale (bench/storage, 1M tasks). created_at in the (agent, status) index lets a
// filtered listing (`agent = ? AND status = ? AND created_at >= ? ORDER BY id DESC`) skip tasks
// outside the window without reading their rows; started_at and finished_at make agent_stats() an
// index scan; (agent, id) lists one agent newest first without sorting all its tasks.
// (Widening tasks_by_status the same way halved the bench's insert rate, so it stays as it is.)
constexpr std::string_view kV2 = R"sql(
DROP INDEX tasks_by_agent_status;
CREATE INDEX tasks_by_agent_status ON tasks (agent, status, id, created_at, started_at, finished_at);
CREATE INDEX tasks_by_agent ON tasks (agent, id, created_at);
)sql";

// Task counts by status kept by triggers in the same transaction as every change to `tasks`, so
// GET /metrics reads six rows instead of scanning the table (bench/README.md). Triggers, not
// counters in the daemon's memory: other processes write tasks too (`agentd submit`, `cancel`,
// `db prune`), and a rolled-back change (a failed statement, SQLITE_FULL) rolls back its count.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE task_counts (
  status TEXT PRIMARY KEY,
  n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO task_counts (status, n)
  SELECT s.status, (SELECT count(*) FROM tasks WHERE tasks.status = s.status)
  FROM (SELECT 'queued' AS status UNION ALL SELECT 'running' UNION ALL SELECT 'finished'
        UNION ALL SELECT 'failed' UNION ALL SELECT 'cancelled' UNION ALL SELECT 'interrupted') AS s;
CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks BEGIN
  UPDATE task_counts SET n = n + 1 WHERE status = new.status;
END;
CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks BEGIN
  UPDATE task_counts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER task_counts_update AFTER UPDATE OF status ON tasks WHEN old.status <> new.status BEGIN
  UPDATE task_counts SET n = n - 1 WHERE status = old.status;
  UPDATE task_counts SET n = n + 1 WHERE status = new.status;
END;
)sql";

// The dashboard's Tasks page filters by class and pages newest first (keyset on id): without
// (priority, id) a rare class (interactive) meant reading the whole table backwards for a page.
constexpr std::string_view kV4 = R"sql(
CREATE INDEX tasks_by_priority ON tasks (priority, id);
)sql";

// A dry run (`agentd submit --dry-run`, "dry_run": true over HTTP) is recorded as one: its task
// runs its model calls, but what it would write (files, memory, notes, events) is only shown in
// its timeline.
constexpr std::string_view kV5 = R"sql(
ALTER TABLE tasks ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
)sql";

// The dashboard's decode tokens/s over the last hour reads the llm_call events by time: without an
// index on `at` that was a scan of every event ever written. Partial, so the other events (most of
// them) cost no index write.
constexpr std::string_view kV6 = R"sql(
CREATE INDEX task_events_llm_calls ON task_events (at) WHERE kind = 'llm_call';
)sql";

// Per agent, what task_counts keeps in all: tasks by status, and the time finished tasks ran, kept
// by triggers in the same transaction as the change. `agentd status`, /api/status and the
// dashboard's Agents page read these rows instead of grouping every task (~640 ms at 1M tasks). A
// row is dropped when its count reaches 0, so an agent whose history was pruned away is gone, as
// it was from the GROUP BY. `timed`/`duration_ms`: finished tasks with both times, and their sum;
// a change of either time takes the task's old part out and puts its new part in.
constexpr std::string_view kV7 = R"sql(
CREATE TABLE agent_counts (
  agent       TEXT NOT NULL,
  status      TEXT NOT NULL,
  n           INTEGER NOT NULL,
  timed       INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (agent, status)
) WITHOUT ROWID;
INSERT INTO agent_counts (agent, status, n, timed, duration_ms)
  SELECT agent, status, count(*),
         count(CASE WHEN status = 'finished' THEN finished_at - started_at END),
         coalesce(sum(CASE WHEN status = 'finished' THEN finished_at - started_at END), 0)
  FROM tasks GROUP BY agent, status;
CREATE TRIGGER agent_counts_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO agent_counts (agent, status, n, timed, duration_ms)
    VALUES (new.agent, new.status, 1,
            new.status = 'finished' AND new.finished_at - new.started_at IS NOT NULL,
            CASE WHEN new.status = 'finished' THEN coalesce(new.finished_at - new.started_at, 0) ELSE 0 END)
    ON CONFLICT (agent, status) DO UPDATE
    SET n = n + 1, timed = timed + excluded.timed, duration_ms = duration_ms + excluded.duration_ms;
END;
CREATE TRIGGER agent_counts_delete AFTER DELETE ON tasks BEGIN
  UPDATE agent_counts
    SET n = n - 1,
        timed = timed - (old.status = 'finished' AND old.finished_at - old.started_at IS NOT NULL),
        duration_ms = duration_ms - CASE WHEN old.status = 'finished' THEN coalesce(old.finished_at - old.started_at, 0) ELSE 0 END
    WHERE agent = old.agent AND status = old.status;
  DELETE FROM agent_counts WHERE agent = old.agent AND status = old.status AND n <= 0;
END;
CREATE TRIGGER agent_counts_update AFTER UPDATE OF status, started_at, finished_at ON tasks
  WHEN old.status <> new.status OR old.started_at IS NOT new.started_at OR old.finished_at IS NOT new.finished_at BEGIN
  UPDATE agent_counts
    SET n = n - 1,
        timed = timed - (old.status = 'finished' AND old.finished_at - old.started_at IS NOT NULL),
        duration_ms = duration_ms - CASE WHEN old.status = 'finished' THEN coalesce(old.finished_at - old.started_at, 0) ELSE 0 END
    WHERE agent = old.agent AND status = old.status;
  DELETE FROM agent_counts WHERE agent = old.agent AND status = old.status AND n <= 0;
  INSERT INTO agent_counts (agent, status, n, timed, duration_ms)
    VALUES (new.agent, new.status, 1,
            new.status = 'finished' AND new.finished_at - new.started_at IS NOT NULL,
            CASE WHEN new.status = 'finished' THEN coalesce(new.finished_at - new.started_at, 0) ELSE 0 END)
    ON CONFLICT (agent, status) DO UPDATE
    SET n = n + 1, timed = timed + excluded.timed, duration_ms = duration_ms + excluded.duration_ms;
END;
)sql";

// Search by text (`agentd tasks --text`, /api/tasks?text=, the Tasks page): a substring of a task's
// input, output or error, ASCII case folded (LIKE). A scan read every task (~1 s at 1M tasks for a
// term that is nowhere). The trigram index finds the candidates from any 3 characters of the term,
// and LIKE checks each against the text, so an index that over-matches costs time, never a wrong
// row. One document per task (the three columns joined by U+001F, which a search never crosses
// unless it holds one; TaskStore checks such terms column by column), read through a view, so
// the text is not stored twice. detail=none keeps the index at ~0.4x the text it covers (rowids
// only; LIKE needs no positions). The rebuild reads every task once (~26 s at 1M tasks of ~500
// bytes). Output and error change when a task ends; a status change leaves the index alone.
constexpr std::string_view kV8 = R"sql(
CREATE VIEW tasks_text AS
  SELECT id, input || char(31) || coalesce(output, '') || char(31) || coalesce(error, '') AS doc FROM tasks;
CREATE VIRTUAL TABLE tasks_fts USING fts5 (doc, content = 'tasks_text', content_rowid = 'id',
                                           tokenize = 'trigram', detail = 'none');
INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild');
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO tasks_fts (rowid, doc)
    VALUES (new.id, new.input || char(31) || coalesce(new.output, '') || char(31) || coalesce(new.error, ''));
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
  INSERT INTO tasks_fts (tasks_fts, rowid, doc)
    VALUES ('delete', old.id, old.input || char(31) || coalesce(old.output, '') || char(31) || coalesce(old.error, ''));
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF input, output, error ON tasks
  WHEN old.input IS NOT new.input OR old.output IS NOT new.output OR old.error IS NOT new.error BEGIN
  INSERT INTO tasks_fts (tasks_fts, rowid, doc)
    VALUES ('delete', old.id, old.input || char(31) || coalesce(old.output, '') || char(31) || coalesce(old.error, ''));
  INSERT INTO tasks_fts (rowid, doc)
    VALUES (new.id, new.input || char(31) || coalesce(new.output, '') || char(31) || coalesce(new.error, ''));
END;
)sql";

constexpr std::array<std::string_view, 8> kMigrations = {kV1, kV2, kV3, kV4, kV5, kV6, kV7, kV8};

[[noreturn]] void throw_too_new(const std::filesystem::path& path, int version) {
  throw SchemaTooNewError(path.string() + ": schema version " + std::to_string(version) +
                              " was written by a newer agentd; this build knows versions up to " +
                              std::to_string(static_cast<int>(kMigrations.size())) + ". Upgrade agentd.",
                          0);
}

// A file with tables but no schema version is some other program's database: agentd's tables
// are not added to it.
void refuse_foreign(Database& db) {
  auto tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 4");
  std::string names;
  int n = 0;
  for (; tables.step(); ++n) names += (n ? ", " : "") + (n < 3 ? tables.text(0) : std::string("..."));
  if (n == 0) return;
  throw DatabaseError(db.path().string() + ": not an agentd database (it has tables " + names +
                          " and no agentd schema version); point --db or AGENTD_DB at another file",
                      SQLITE_NOTADB);
}

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }
int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

int migrate(Database& db, int target) {
  if (target < 0) target = latest_schema_version();
  const int before = db.user_version();
  if (before > latest_schema_version()) throw_too_new(db.path(), before);
  if (before == 0) refuse_foreign(db);
  // The version is read again under the write lock: another process (a CLI write racing the
  // daemon's first start) may have migrated meanwhile.
  for (;;) {
    Transaction tx(db);
    int v = db.user_version();
    if (v >= target) break;
    db.exec(kMigrations[static_cast<size_t>(v)]);
    db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    tx.commit();
  }
  return before;
}

std::unique_ptr<Database> open_database(const std::filesystem::path& path, OpenMode mode) {
  if (mode == OpenMode::read_only && !std::filesystem::exists(path)) {
    throw DatabaseError(path.string() + ": no database here (the daemon creates it on first run)",
                        SQLITE_CANTOPEN);
  }
  auto db = std::make_unique<Database>(path, mode);
  if (mode == OpenMode::read_write) {
    migrate(*db);
  } else if (int v = db->user_version(); v > latest_schema_version()) {
    throw_too_new(path, v);
  } else if (v == 0) {
    refuse_foreign(*db);
  }
  return db;
}

}  // namespace agentd::storage
