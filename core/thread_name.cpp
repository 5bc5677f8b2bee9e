#include "core/thread_name.hpp"

#include <pthread.h>

#include <cstring>
#include <string>

namespace agentd::core {

void name_this_thread(const char* name) {
#ifdef __linux__
  // pthread_setname_np refuses (ERANGE) a name past 15 characters instead of cutting it.
  const std::string cut(name, strnlen(name, 15));
  pthread_setname_np(pthread_self(), cut.c_str());
#else
  (void)name;
#endif
}

}  // namespace agentd::core
