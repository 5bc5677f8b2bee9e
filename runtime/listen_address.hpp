// "host:port" of agentd.json "http": {"listen"} and --listen, read into its parts. Apart from
// http_server.cpp so that reading agentd.json does not need the server linked (tests/fuzz).
#pragma once

#include <string>
#include <utility>

namespace agentd::runtime {

// "127.0.0.1:8377" → host and port ("[::1]:80" → "::1", 80); throws std::invalid_argument.
std::pair<std::string, int> parse_listen_address(const std::string& listen);

}  // namespace agentd::runtime
