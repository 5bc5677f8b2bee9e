// agentd.json, read as `agentd daemon` reads it: apply_config_file() over the built-in defaults.
// Documented failure: ConfigError (the daemon refuses to start with that message).
#include <cstddef>
#include <cstdint>

#include "runtime/config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd;
  static const auto file = fuzz::scratch_dir() / "agentd.json";
  fuzz::write_file(file, fuzz::as_text(data, size));
  runtime::DaemonOptions options;
  try {
    runtime::apply_config_file(file, options);
  } catch (const agents::ConfigError&) {
  }
  return 0;
}
