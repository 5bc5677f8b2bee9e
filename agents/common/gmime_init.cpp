#include "agents/common/gmime_init.hpp"

#include <gmime/gmime.h>

#include <mutex>

namespace agentd::agents {

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

}  // namespace agentd::agents
