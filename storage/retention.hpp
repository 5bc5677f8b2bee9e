// Retention: pruning task history older than a cut-off, and the integrity check.
#pragma once

#include <cstdint>
#include <string>

#include "storage/database.hpp"

namespace agentd::storage {

struct PruneResult {
  int64_t tasks = 0;   // task rows deleted (their events and sections go with them)
  int64_t events = 0;
};

// Deletes tasks that ended (finished, failed, cancelled, interrupted) and were created before
// `cutoff_ms`, in batches so that a large prune never holds the write lock for long. Queued and
// running tasks are never pruned. Agent memory and notes are not history and are kept.
PruneResult prune_history(Database& db, int64_t cutoff_ms, int batch = 5000);

// `PRAGMA integrity_check` and `foreign_key_check`: "ok", or the problems found (SQLite's own
// lines, naming tables and pages; a check that cannot read on is one of them).
std::string integrity_check(Database& db);

// `PRAGMA quick_check`: the B-tree and page structure without the index-to-table comparison
// (2.6 s warm, 4.7 s cold at 1M tasks, 1.1 GB, on this project's VM). Throws DatabaseError naming
// the file, up to five lines of damage and what to do when it finds any.
void require_intact(Database& db);

}  // namespace agentd::storage
