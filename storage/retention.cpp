#include "storage/retention.hpp"

namespace agentd::storage {

PruneResult prune_history(Database& db, int64_t cutoff_ms, int batch) {
  PruneResult result;
  const std::string victims =
      "SELECT id FROM tasks WHERE created_at < ? AND status IN ('finished', 'failed', 'cancelled', "
      "'interrupted') ORDER BY id LIMIT ?";
  for (;;) {
    Transaction tx(db);
    auto& count = db.cached("SELECT count(*) FROM task_events WHERE task_id IN (" + victims + ")");
    count.bind_all(cutoff_ms, batch);
    count.step();
    int64_t events = count.int64(0);
    count.reset();
    db.cached("DELETE FROM tasks WHERE id IN (" + victims + ")").bind_all(cutoff_ms, batch).run();
    int deleted = db.changes();
    tx.commit();
    result.tasks += deleted;
    result.events += events;
    if (deleted < batch) break;
  }
  if (result.tasks > 0) db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return result;
}

namespace {

// The lines a check pragma returns other than "ok"; a damaged page it cannot read past ends the
// check with SQLite's error as the last line.
std::string check_lines(Database& db, const std::string& pragma) {
  std::string problems;
  try {
    auto check = db.prepare(pragma);
    while (check.step()) {
      std::string line = check.text(0);
      if (line != "ok") problems += line + "\n";
    }
  } catch (const DatabaseError& e) {
    problems += std::string("the check stopped: ") + (e.code() ? sqlite3_errstr(e.code()) : e.what()) + "\n";
  }
  return problems;
}

}  // namespace

std::string integrity_check(Database& db) {
  std::string problems = check_lines(db, "PRAGMA integrity_check");
  if (problems.empty()) {
    auto fk = db.prepare("PRAGMA foreign_key_check");
    while (fk.step()) {
      problems += "foreign key violation in " + fk.text(0) + " row " + std::to_string(fk.int64(1)) + "\n";
    }
  }
  return problems.empty() ? "ok" : problems;
}

void require_intact(Database& db) {
  const std::string problems = check_lines(db, "PRAGMA quick_check(5)");
  if (problems.empty()) return;
  const std::string path = db.path().string();
  throw DatabaseError(path + " is damaged, so nothing was started or written:\n" + problems +
                          "Keep a copy of it. `agentd db check` lists the damage; `sqlite3 " + path + " .recover | sqlite3 NEW.db` " +
                          "saves what can be read into NEW.db, which `--db NEW.db` (or AGENTD_DB) then uses.",
                      SQLITE_CORRUPT);
}

}  // namespace agentd::storage
