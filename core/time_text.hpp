// A time (ms since the epoch) as text, by strftime: the one formatter behind the CLI's times, the
// dates in agents' file names and reports, and the prompt plugin's placeholders.
#pragma once

#include <cstdint>
#include <string>

namespace agentd::core {

enum class TimeBase {
  utc,
  local,  // the process's zone: TZ, else /etc/localtime
};

// strftime(`format`) of the whole second containing `ms`. The result is at most 127 bytes.
std::string format_time(int64_t ms, const char* format, TimeBase base);

}  // namespace agentd::core
