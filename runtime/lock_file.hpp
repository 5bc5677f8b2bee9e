// One daemon per database: an exclusive flock on <data dir>/agentd.lock, held for the process's
// life (the kernel drops it when the process dies, even by SIGKILL, so a crash never leaves a
// stale lock behind).
#pragma once

#include <filesystem>
#include <optional>

namespace agentd::runtime {

class LockFile {
 public:
  // Throws std::runtime_error naming the file (and the holder's pid) if another process holds it.
  explicit LockFile(const std::filesystem::path& path);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  // The pid of the process holding the lock at `path`, if one does (never takes it).
  static std::optional<long> holder(const std::filesystem::path& path);

 private:
  int fd_ = -1;
};

}  // namespace agentd::runtime
