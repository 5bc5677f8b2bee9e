#include "bench/engine/work_dir.hpp"

#include <stdlib.h>

#include <stdexcept>

namespace agentd::bench {

namespace fs = std::filesystem;

WorkDir::WorkDir(const std::string& given, const std::string& prefix) {
  if (!given.empty()) {
    fs::create_directories(given);
    path_ = given;
    owned_ = false;
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("cannot create " + tmpl);
  path_ = tmpl;
}

WorkDir::~WorkDir() {
  std::error_code ec;
  if (owned_ && !keep_) fs::remove_all(path_, ec);
}

}  // namespace agentd::bench
