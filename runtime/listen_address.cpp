#include "runtime/listen_address.hpp"

#include <stdexcept>

namespace agentd::runtime {

std::pair<std::string, int> parse_listen_address(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::invalid_argument("'" + listen + "' is not host:port (e.g. 127.0.0.1:8377)");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) throw std::invalid_argument("'" + listen + "': the port must be 0..65535");
  return {host, port};
}

}  // namespace agentd::runtime
