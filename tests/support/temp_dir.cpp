#include "tests/support/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace agentd::testing {

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/agentd-test-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  // A test may have made parts read-only; give write permission back so removal succeeds.
  const auto rwx = std::filesystem::perms::owner_all;
  std::filesystem::permissions(path_, rwx, std::filesystem::perm_options::add, ec);
  std::filesystem::recursive_directory_iterator it(path_, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) std::filesystem::permissions(it->path(), rwx, std::filesystem::perm_options::add, ec);
  }
  std::filesystem::remove_all(path_, ec);
}

}  // namespace agentd::testing
