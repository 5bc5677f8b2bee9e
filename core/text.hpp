// Text helpers every module needs, once: trimming ASCII white space and joining with a
// separator. (HTTP's optional white space, spaces and tabs only, is its own rule: runtime/
// http_checks.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::core {

// `s` without leading and trailing white space (std::isspace in the C locale: space, \t, \n,
// \v, \f, \r).
std::string_view trim_view(std::string_view s);
std::string trim(std::string_view s);

// The parts with `separator` between each two.
std::string joined(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace agentd::core
