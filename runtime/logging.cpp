#include "runtime/logging.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace agentd::runtime {

namespace {

spdlog::level::level_enum parse_level(const std::string& name) {
  auto level = spdlog::level::from_str(name);
  // from_str answers `off` for anything it does not know; only "off" itself may mean off.
  if (level == spdlog::level::off && name != "off") {
    throw std::invalid_argument("unknown log level '" + name +
                                "' (use trace, debug, info, warn, error, critical or off)");
  }
  return level;
}

}  // namespace

void setup_logging(const LogOptions& options) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(parse_level(options.console_level));
  std::vector<spdlog::sink_ptr> sinks{console};
  if (!options.file.empty()) {
    std::filesystem::create_directories(options.file.parent_path());
    auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(options.file.string(),
                                                                       options.max_file_bytes, options.max_files);
    file->set_level(parse_level(options.file_level));
    sinks.push_back(file);
  }
  auto logger = std::make_shared<spdlog::logger>("agentd", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::trace);  // the sinks filter
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(2));
}

}  // namespace agentd::runtime
