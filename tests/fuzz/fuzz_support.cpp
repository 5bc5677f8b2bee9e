#include "tests/fuzz/fuzz_support.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace agentd::fuzz {

namespace fs = std::filesystem;

namespace {

void remove_scratch() {
  std::error_code ec;
  fs::remove_all(scratch_dir(), ec);
}

fs::path make_scratch() {
  fs::path dir = fs::temp_directory_path() / ("agentd-fuzz-" + std::to_string(getpid()));
  fs::create_directories(dir / "agents.d");
  setenv("HOME", dir.c_str(), 1);
  std::atexit(remove_scratch);
  return dir;
}

}  // namespace

const fs::path& scratch_dir() {
  static const fs::path dir = make_scratch();
  return dir;
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

}  // namespace agentd::fuzz
