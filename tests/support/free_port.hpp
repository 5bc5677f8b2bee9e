// A TCP port on 127.0.0.1 that nobody listens on right now: bound to port 0, read back, closed.
// For a server a test starts (a small race with other processes is accepted) or for a client
// that must find the port closed.
#pragma once

namespace agentd::testing {

int unused_loopback_port();

}  // namespace agentd::testing
