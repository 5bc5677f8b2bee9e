#include "runtime/web_ui.hpp"

#include <httplib.h>

#include <string>

#include "runtime/web_assets.hpp"

namespace agentd::runtime {

void set_security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");  // for browsers older than frame-ancestors
  res.set_header("Referrer-Policy", "no-referrer");
}

bool serve_web_file(std::string_view path, httplib::Response& res) {
  if (path.empty()) path = "index.html";
  for (const WebAsset& a : web_assets()) {
    if (a.path != path) continue;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::string(a.bytes), std::string(a.content_type));
    return true;
  }
  return false;
}

}  // namespace agentd::runtime
