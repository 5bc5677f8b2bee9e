#include "core/time_text.hpp"

#include <ctime>

namespace agentd::core {

std::string format_time(int64_t ms, const char* format, TimeBase base) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (base == TimeBase::utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace agentd::core
