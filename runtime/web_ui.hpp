// The dashboard's side of the HTTP server: its embedded files (GET / and GET /web/...), and the
// headers every answer carries so that a browser treats what it shows as this origin's and
// nothing else's:
//   Content-Security-Policy: default-src 'self' — no inline script or style, no eval, no other
//     origin to load from or connect to, and frame-ancestors 'none' (no clickjacking);
//   X-Content-Type-Options: nosniff — a JSON answer holding "<script>" is never read as HTML;
//   Referrer-Policy: no-referrer, and Cache-Control: no-store on the files (they change with the
//     binary; they are small and loopback is fast).
#pragma once

#include <string_view>

namespace httplib {
struct Response;
}

namespace agentd::runtime {

inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// On every answer of the server (API and files alike).
void set_security_headers(httplib::Response& res);

// The embedded file at `path` ("" or "index.html" is the page; "app.js", ...) into `res`; false
// when there is no such file (the caller answers 404).
bool serve_web_file(std::string_view path, httplib::Response& res);

}  // namespace agentd::runtime
