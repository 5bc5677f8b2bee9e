// A testing switch: the Nth statement this process runs (counted from when the switch is armed,
// optionally among those whose SQL starts with a given prefix) fails with SQLITE_BUSY,
// SQLITE_FULL or SQLITE_IOERR instead of running, and is reported exactly as SQLite's own error
// of that code would be (Database::fail, same exception type and message). It fires once.
//
// Tests of the real `agentd` binary arm it through the environment, read once per process when
// the first Database opens:
//
//   AGENTD_STORAGE_FAULT=full@7                 the 7th statement fails with SQLITE_FULL
//   AGENTD_STORAGE_FAULT=ioerr@3:UPDATE tasks   the 3rd statement starting "UPDATE tasks" fails
//   AGENTD_STORAGE_FAULT=busy@1:COMMIT          the first COMMIT fails with SQLITE_BUSY
//
// A statement counts when it starts (its first step, or one Database::exec); the rows of a
// SELECT after the first do not. Off, it costs one relaxed atomic load and a branch per
// statement.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentd::storage {

struct FaultPlan {
  int code = 0;             // SQLITE_BUSY, SQLITE_FULL or SQLITE_IOERR
  int64_t nth = 1;          // 1 = the first matching statement
  std::string sql_prefix;   // empty: every statement matches
};

inline constexpr const char* kFaultEnvironmentVariable = "AGENTD_STORAGE_FAULT";

// "full@7", "busy@1:COMMIT", "ioerr@3:UPDATE tasks". Throws std::invalid_argument naming what
// is wrong with `spec`.
FaultPlan parse_fault_plan(std::string_view spec);

// Arms the switch (replacing an armed plan); counting starts now.
void arm_fault(FaultPlan plan);
void disarm_fault();
// Arms from AGENTD_STORAGE_FAULT, once per process (later calls do nothing). Throws
// std::invalid_argument for a malformed value: a typo must not silently test nothing.
void arm_fault_from_environment();

namespace detail {
extern std::atomic<bool> fault_armed;
int next_fault(std::string_view sql);
}  // namespace detail

// SQLITE_OK, or the code the statement `sql` is to fail with (the switch then disarms).
inline int injected_fault(std::string_view sql) {
  if (!detail::fault_armed.load(std::memory_order_relaxed)) [[likely]] return 0;
  return detail::next_fault(sql);
}

}  // namespace agentd::storage
