// The dashboard's files (runtime/web/), compiled into the binary by cmake/embed_web.cmake: the
// daemon serves them with no file read and no network at run time.
#pragma once

#include <string_view>
#include <vector>

namespace agentd::runtime {

struct WebAsset {
  std::string_view path;          // relative to runtime/web/, e.g. "app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view bytes;
};

// Every file, in the order CMake listed them (defined in the generated web_assets.cpp).
const std::vector<WebAsset>& web_assets();

}  // namespace agentd::runtime
