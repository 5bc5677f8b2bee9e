#include "runtime/http_checks.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "runtime/http_server.hpp"

namespace agentd::runtime {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// HTTP's optional white space (RFC 9110 OWS: spaces and tabs only), not core::trim's.
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ApiError refused(int status, const std::string& message, const std::string& code) {
  return ApiError{status, message, "invalid_request_error", "", code};
}

constexpr unsigned long long kDiscardedBodyFactor = 16;

// Methods whose body httplib 0.11 reads (detail::expect_content); on any other, a body's bytes
// would be parsed as the next request.
bool body_is_read(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" || method == "PRI";
}

std::optional<ApiError> check_framing(const httplib::Request& req, size_t max_body_bytes) {
  size_t lengths = req.get_header_value_count("Content-Length");
  if (lengths > 0) {
    // httplib reads "abc" as 0 and "-1" as a huge length: neither is what the client meant.
    std::string value = req.get_header_value("Content-Length", 0);
    if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return refused(400, "Content-Length '" + value + "' is not a number of bytes", "ambiguous_framing");
    }
    const unsigned long long length = std::stoull(value);
    if (length > 0 && !body_is_read(req.method)) {
      return refused(400, "a " + req.method + " request has no body (Content-Length " + value + ")", "unexpected_body");
    }
    // A body a little over the cap is read and thrown away (httplib answers 413 after it), so the
    // client, still sending, gets the answer rather than a broken pipe; one far over is not.
    if (length > kDiscardedBodyFactor * static_cast<unsigned long long>(max_body_bytes)) {
      return ApiError{413, "the request body is " + value + " bytes; at most " + std::to_string(max_body_bytes) + " are read",
                      "invalid_request_error", "", "request_too_large"};
    }
  }
  for (size_t i = 1; i < lengths; ++i) {
    if (req.get_header_value("Content-Length", i) != req.get_header_value("Content-Length", 0)) {
      return refused(400, "two different Content-Length headers: the request's end is ambiguous", "ambiguous_framing");
    }
  }
  if (!req.has_header("Transfer-Encoding")) return std::nullopt;
  if (lengths > 0) {
    return refused(400, "both Content-Length and Transfer-Encoding: the request's end is ambiguous", "ambiguous_framing");
  }
  if (req.get_header_value_count("Transfer-Encoding") > 1 || lower(trim_ows(req.get_header_value("Transfer-Encoding"))) != "chunked") {
    return refused(400, "Transfer-Encoding '" + req.get_header_value("Transfer-Encoding") + "': only chunked is accepted",
                   "ambiguous_framing");
  }
  if (!body_is_read(req.method)) return refused(400, "a " + req.method + " request has no body (Transfer-Encoding)", "unexpected_body");
  return std::nullopt;
}

// "127.0.0.1:8377" → "127.0.0.1"; "[::1]:8377" → "::1"; "localhost" → "localhost".
std::string host_name(std::string_view host) {
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  size_t colon = host.find(':');
  return lower(host.substr(0, colon));
}

std::optional<ApiError> check_host(const httplib::Request& req, const AccessPolicy& policy) {
  if (!req.has_header("Host")) return std::nullopt;  // HTTP/1.0 tools; every browser sends one
  std::string host = req.get_header_value("Host");
  std::string name = host_name(host);
  if (is_loopback(name) || name == lower(policy.listen_host)) return std::nullopt;
  return refused(403, "Host '" + host + "' is not this server's address (a web page's own name pointed at 127.0.0.1?)",
                 "forbidden_host");
}

bool is_state_changing(const std::string& method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

std::optional<ApiError> check_browser(const httplib::Request& req) {
  if (req.has_header("Origin")) {
    std::string origin = req.get_header_value("Origin");
    if (lower(origin) != "http://" + lower(req.get_header_value("Host"))) {
      return refused(403, "Origin '" + origin + "' is another site: it may not change anything here", "forbidden_origin");
    }
  }
  if (req.has_header("Sec-Fetch-Site")) {
    std::string site = lower(trim_ows(req.get_header_value("Sec-Fetch-Site")));
    if (site != "same-origin" && site != "none") {
      return refused(403, "Sec-Fetch-Site '" + site + "': a request from another site may not change anything here",
                     "forbidden_origin");
    }
  }
  std::string type = req.get_header_value("Content-Type");
  if (lower(trim_ows(std::string_view(type).substr(0, type.find(';')))) != "application/json") {
    return refused(415, req.method + " needs Content-Type: application/json" +
                            (type.empty() ? std::string(" (none given)") : " (not '" + type + "')"),
                   "unsupported_media_type");
  }
  return std::nullopt;
}

}  // namespace

bool constant_time_equal(std::string_view given, std::string_view expected) {
  // Walks the expected value's length whatever was given: the time says nothing of where they differ.
  unsigned char diff = given.size() != expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ expected[i]);
  }
  return diff == 0;
}

std::optional<ApiError> check_request(const httplib::Request& req, const AccessPolicy& policy) {
  if (req.headers.size() > kMaxHeaders) {
    return ApiError{431, std::to_string(req.headers.size()) + " header fields: at most " + std::to_string(kMaxHeaders) + " are read",
                    "invalid_request_error", "", "too_many_headers"};
  }
  if (auto e = check_framing(req, policy.max_body_bytes)) return e;
  if (!policy.token.empty()) {
    if (!constant_time_equal(req.get_header_value("Authorization"), "Bearer " + policy.token)) {
      return refused(401, "missing or wrong bearer token (Authorization: Bearer ...)", "invalid_api_key");
    }
  } else if (auto e = check_host(req, policy)) {
    return e;
  }
  return std::nullopt;
}

std::optional<ApiError> check_state_change(const httplib::Request& req, const AccessPolicy& policy) {
  if (!is_state_changing(req.method)) return std::nullopt;
  if (auto e = check_browser(req)) return e;
  // With a token, check_request has already seen it: the request is not a browser's own doing.
  if (req.path.starts_with("/api/") && policy.token.empty() && req.get_header_value(kControlHeader) != "1") {
    return refused(403, req.method + " " + req.path + " needs the header " + kControlHeader + ": 1 (or the bearer token)",
                   "missing_control_header");
  }
  return std::nullopt;
}

}  // namespace agentd::runtime
