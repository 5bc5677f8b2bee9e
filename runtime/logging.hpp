// Logging: a console sink (stderr) and a rotating file in the data directory, levels from config.
#pragma once

#include <filesystem>
#include <string>

namespace agentd::runtime {

struct LogOptions {
  std::string console_level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file_level = "debug";
  std::filesystem::path file;          // empty = no file
  size_t max_file_bytes = 10 * 1024 * 1024;
  size_t max_files = 5;
};

// Installs the default logger. Throws std::invalid_argument for an unknown level name.
void setup_logging(const LogOptions& options);

}  // namespace agentd::runtime
