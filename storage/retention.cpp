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

std::string integrity_check(Database& db) {
  std::string problems;
  auto check = db.prepare("PRAGMA integrity_check");
  while (check.step()) {
    std::string line = check.text(0);
    if (line != "ok") problems += line + "\n";
  }
  auto fk = db.prepare("PRAGMA foreign_key_check");
  while (fk.step()) {
    problems += "foreign key violation in " + fk.text(0) + " row " + std::to_string(fk.int64(1)) + "\n";
  }
  return problems.empty() ? "ok" : problems;
}

}  // namespace agentd::storage
