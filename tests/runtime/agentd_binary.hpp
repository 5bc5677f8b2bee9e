// The agentd binary under test: env AGENTD_BINARY, else the one this build made (the path comes
// from CMake, on the runtime test targets only, so other suites do not depend on the executable).
#pragma once

#include <cstdlib>
#include <string>

namespace agentd::testing {

inline std::string agentd_binary() {
  const char* p = std::getenv("AGENTD_BINARY");
  return p && *p ? p : AGENTD_BINARY_PATH;
}

}  // namespace agentd::testing
