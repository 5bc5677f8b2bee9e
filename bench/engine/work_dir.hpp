// A benchmark's work directory: given (kept), or a new temporary one removed at the end unless
// keep() was called (a failed run keeps its models and the tools' logs to read).
#pragma once

#include <filesystem>
#include <string>

namespace agentd::bench {

class WorkDir {
 public:
  // `given` empty: a new directory under the temp dir, named after `prefix`.
  WorkDir(const std::string& given, const std::string& prefix);
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  void keep() { keep_ = true; }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
  bool owned_ = true;
  bool keep_ = false;
};

}  // namespace agentd::bench
