// Fetching a feed over HTTP(S) with cpp-httplib's client.
//
// fetch_url() blocks its thread: the news agent runs it through TaskContext::call_blocking (the
// runtime's blocking-call pool, cancelled with the task, recorded in its timeline), never on the
// agent thread and never on a thread of its own. Bounds: `timeout` for connecting, for each read, and for the
// whole transfer; at most `max_bytes` of body (a larger one is refused, not truncated);
// at most 5 redirects, each only to an https:// URL (never a downgrade to http); only status 200
// accepted. https:// works when the linked cpp-httplib was
// built with OpenSSL (Debian's is: CPPHTTPLIB_OPENSSL_SUPPORT); https_supported() says so.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <stop_token>
#include <string>

namespace agentd::agents {

class FetchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FetchLimits {
  std::chrono::milliseconds timeout{10'000};
  size_t max_bytes = 1 << 20;
};

bool https_supported();

// Whether `url` is http:// or https:// (when supported) with a host; the reason if not.
std::string url_problem(const std::string& url);

// The body of `url`. Throws FetchError naming the URL and the reason. A stop requested on `stop`
// ends the transfer at its next read (FetchError "cancelled"); connecting is bounded by the
// timeout.
std::string fetch_url(const std::string& url, const FetchLimits& limits, std::stop_token stop = {});

}  // namespace agentd::agents
