#include "storage_test_support.hpp"

#include <stdlib.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace agentd::storage::test_support {

int64_t scalar(Database& db, std::string_view sql) {
  auto s = db.prepare(sql);
  if (!s.step()) throw std::runtime_error("no row from: " + std::string(sql));
  return s.int64(0);
}

void set_task_times(Database& db, int64_t id, int64_t created_at, std::optional<int64_t> started_at,
                    std::optional<int64_t> finished_at) {
  db.prepare("UPDATE tasks SET created_at = ?, started_at = ?, finished_at = ? WHERE id = ?")
      .bind_all(created_at, started_at, finished_at, id)
      .run();
  if (db.changes() != 1) throw std::runtime_error("no task " + std::to_string(id));
}

}  // namespace agentd::storage::test_support
