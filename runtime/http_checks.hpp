// What every request must pass before it is routed (the server's pre-routing handler):
//
//  - at most kMaxHeaders header fields (431): httplib 0.11 has no such bound of its own (its
//    CPPHTTPLIB_HEADER_MAX_COUNT came later), so it is counted here, once the head is read;
//  - framing that two parsers could read differently is refused (400): two different
//    Content-Length headers, one that is not digits, Content-Length together with
//    Transfer-Encoding, a transfer coding other than chunked. A proxy in front may have framed the request otherwise, and the rest of
//    the bytes would be read as a second, smuggled request;
//  - a body httplib would not read (on GET, HEAD, OPTIONS: 400), or a Content-Length of more
//    than 16 times the body cap (413), is refused before any of it is read, and the connection
//    closed: its bytes are neither taken for a next request nor read and thrown away for as long
//    as the client sends (a body a little over the cap is read and dropped, then 413);
//  - with a token, "Authorization: Bearer <token>" (compared in constant time), else 401;
//  - without a token (loopback), the Host must name this server: loopback, or the listen
//    address. A web page that rebinds its own name to 127.0.0.1 sends that name as Host (403);
// and, checked by check_state_change once the route and method are known to fit (a wrong method is
// a 405 first):
//  - a state-changing request (any method but GET, HEAD, OPTIONS) from a browser must come
//    from this server's own origin (Origin, when sent, equals http://<Host>), and every one
//    must say Content-Type: application/json. An HTML form or a no-cors fetch cannot send that
//    type, and a cross-origin fetch that does is preflighted, which this server never allows.
//    A browser's Sec-Fetch-Site, when sent, must be same-origin (or none: typed by the user);
//  - one under /api/ (start, cancel: the control API) must also carry kControlHeader, or the
//    token: a second, independent guard, so that no form, image or no-cors request of a page
//    the user happens to visit can change anything even if one of the checks above had a gap.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/openai_api.hpp"

namespace httplib {
struct Request;
}

namespace agentd::runtime {

struct AccessPolicy {
  std::string token;        // the bearer token requests must carry ("" = none)
  std::string listen_host;  // the configured listen host, also accepted as Host
  size_t max_body_bytes = 1 << 20;  // the largest request body read
};

inline constexpr size_t kMaxHeaders = 100;
// The header the dashboard and API clients send with a state-changing /api request ("1").
inline constexpr const char* kControlHeader = "X-Agentd-Request";

// The first check the request fails (header count, framing, token or Host), as the error to
// answer; nullopt when it passes.
std::optional<ApiError> check_request(const httplib::Request& req, const AccessPolicy& policy);
// For a state-changing method: same origin, JSON, and under /api/ the control header or the
// token (415 or 403); nullopt when it passes.
std::optional<ApiError> check_state_change(const httplib::Request& req, const AccessPolicy& policy);

// Equal contents, in a time that depends on the expected length only (a token compare).
bool constant_time_equal(std::string_view given, std::string_view expected);

}  // namespace agentd::runtime
