#include "storage/fault_injection.hpp"

#include <sqlite3.h>

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace agentd::storage {

namespace detail {
std::atomic<bool> fault_armed{false};
}

namespace {

std::mutex g_mutex;
FaultPlan g_plan;        // GUARDED_BY(g_mutex)
int64_t g_matched = 0;   // GUARDED_BY(g_mutex): matching statements seen since armed

int parse_code(std::string_view name, std::string_view spec) {
  if (name == "busy") return SQLITE_BUSY;
  if (name == "full") return SQLITE_FULL;
  if (name == "ioerr") return SQLITE_IOERR;
  throw std::invalid_argument(std::string(kFaultEnvironmentVariable) + "='" + std::string(spec) +
                              "': unknown error '" + std::string(name) + "' (busy, full or ioerr)");
}

}  // namespace

FaultPlan parse_fault_plan(std::string_view spec) {
  auto bad = [&](const char* why) {
    return std::invalid_argument(std::string(kFaultEnvironmentVariable) + "='" + std::string(spec) + "': " + why +
                                 " (expected CODE@N or CODE@N:SQL PREFIX, e.g. full@7)");
  };
  size_t at = spec.find('@');
  if (at == std::string_view::npos) throw bad("no '@'");
  FaultPlan plan;
  plan.code = parse_code(spec.substr(0, at), spec);
  std::string_view rest = spec.substr(at + 1);
  size_t colon = rest.find(':');
  std::string_view count = rest.substr(0, colon);
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), plan.nth);
  if (ec != std::errc() || end != count.data() + count.size() || plan.nth < 1) throw bad("N must be a whole number from 1");
  if (colon != std::string_view::npos) {
    plan.sql_prefix = std::string(rest.substr(colon + 1));
    if (plan.sql_prefix.empty()) throw bad("empty SQL prefix after ':'");
  }
  return plan;
}

void arm_fault(FaultPlan plan) {
  std::lock_guard lock(g_mutex);
  g_plan = std::move(plan);
  g_matched = 0;
  detail::fault_armed.store(true, std::memory_order_relaxed);
}

void disarm_fault() {
  std::lock_guard lock(g_mutex);
  detail::fault_armed.store(false, std::memory_order_relaxed);
}

void arm_fault_from_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* spec = std::getenv(kFaultEnvironmentVariable);
    if (spec && *spec) arm_fault(parse_fault_plan(spec));
  });
}

int detail::next_fault(std::string_view sql) {
  std::lock_guard lock(g_mutex);
  if (!fault_armed.load(std::memory_order_relaxed)) return SQLITE_OK;  // disarmed meanwhile
  if (sql.substr(0, g_plan.sql_prefix.size()) != g_plan.sql_prefix) return SQLITE_OK;
  if (++g_matched < g_plan.nth) return SQLITE_OK;
  fault_armed.store(false, std::memory_order_relaxed);
  return g_plan.code;
}

}  // namespace agentd::storage
