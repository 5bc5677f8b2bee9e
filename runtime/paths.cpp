#include "runtime/paths.hpp"

#include <cstdlib>

namespace agentd::runtime {

std::filesystem::path default_data_dir() {
  if (const char* home = std::getenv("AGENTD_HOME"); home && *home) return home;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "agentd";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".local" / "share" / "agentd";
}

std::filesystem::path default_db_path() { return default_data_dir() / "agentd.db"; }

}  // namespace agentd::runtime
