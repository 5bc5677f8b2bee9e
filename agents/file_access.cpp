#include "agents/file_access.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace agentd::agents {

namespace fs = std::filesystem;

std::optional<fs::path> real_path(const fs::path& p) {
  std::error_code ec;
  fs::path existing = fs::absolute(p, ec).lexically_normal();
  if (ec) return std::nullopt;
  if (!existing.has_filename() && existing.has_relative_path()) existing = existing.parent_path();  // "a/b/"
  // Walk up to the longest prefix that exists as a directory entry (lstat: a dangling link
  // exists). fs::weakly_canonical stops at a dangling link instead and appends the rest by name,
  // which made a link to a missing folder outside look like a folder inside.
  fs::path missing;
  struct stat st {};
  while (::lstat(existing.c_str(), &st) != 0) {
    if (errno != ENOENT || existing == existing.root_path()) return std::nullopt;  // ELOOP, EACCES, ENOTDIR...
    missing = missing.empty() ? existing.filename() : existing.filename() / missing;
    existing = existing.parent_path();
  }
  fs::path real = fs::canonical(existing, ec);  // fails on a dangling link or a loop
  if (ec) return std::nullopt;
  return missing.empty() ? real : real / missing;
}

fs::path real_path_or_given(const fs::path& p) { return real_path(p).value_or(p.lexically_normal()); }

bool path_inside(const fs::path& path, const fs::path& folder) {
  auto [f, p] = std::mismatch(folder.begin(), folder.end(), path.begin(), path.end());
  // A trailing empty element ("/a/b/") of `folder` matches anything.
  return f == folder.end() || (std::next(f) == folder.end() && f->empty());
}

namespace {


bool inside_any(const fs::path& path, const std::vector<fs::path>& folders) {
  return std::any_of(folders.begin(), folders.end(), [&](const fs::path& f) { return path_inside(path, f); });
}

std::string errno_text() { return std::strerror(errno); }

// The real path of `p`, or FileAccessError: a path that cannot be resolved is refused, never
// judged by its name.
fs::path resolved(const fs::path& p, const fs::path& asked) {
  std::optional<fs::path> real = real_path(p);
  if (!real) {
    throw FileAccessError(asked.string() + ": refused: its real path cannot be resolved (a link loop, a dangling link, " +
                          "or a folder that cannot be searched)");
  }
  return *real;
}

void refuse_dot_dot(const fs::path& path) {
  for (const auto& part : path) {
    if (part == "..") throw FileAccessError(path.string() + ": refused: '..' is not allowed in an agent's paths");
  }
}

fs::path absolute_from(const fs::path& path, const std::vector<fs::path>& bases, const char* kind) {
  refuse_dot_dot(path);
  if (path.is_absolute()) return path.lexically_normal();
  if (bases.empty()) throw FileAccessError(path.string() + ": refused: this agent has no " + kind + " folder");
  return (bases.front() / path).lexically_normal();
}

std::string folders_text(const std::vector<fs::path>& folders) {
  std::string text;
  for (const auto& f : folders) text += (text.empty() ? "" : ", ") + f.string();
  return text.empty() ? "(none)" : text;
}

// The file actually opened must lie in a write folder: a folder swapped for a link between the
// path check and the open is caught here (Linux: /proc/self/fd names what `fd` is). Without /proc
// the check before the open stands alone.
void check_opened_inside(int fd, const fs::path& asked, const std::vector<fs::path>& folders) {
  std::error_code ec;
  fs::path opened = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (ec || inside_any(opened.parent_path(), folders)) return;
  throw FileAccessError(asked.string() + ": refused: it was opened as " + opened.string() +
                        ", outside the agent's write folders (" + folders_text(folders) + ")");
}

void write_all(int fd, std::string_view text, const fs::path& path) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileAccessError(path.string() + ": cannot write: " + errno_text());
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// A folder confines by its path as given (the config loader gives real paths, checked against the
// roots). If it now resolves elsewhere (swapped for a link, or a dangling link whose target was
// created since) it is kept as given: nothing real lies inside a link, so every access through it
// is refused, instead of following the link wherever it leads.
fs::path confining_folder(const fs::path& folder) {
  fs::path given = folder.lexically_normal();
  if (!given.has_filename() && given.has_relative_path()) given = given.parent_path();
  std::optional<fs::path> real = real_path(given);
  return real && *real == given ? *real : given;
}

}  // namespace

FileAccess::FileAccess(std::vector<fs::path> read_folders, std::vector<fs::path> write_folders, int64_t max_bytes)
    : max_bytes_(max_bytes) {
  for (auto& f : write_folders) write_.push_back(confining_folder(f));
  for (auto& f : read_folders) read_.push_back(confining_folder(f));
  read_.insert(read_.end(), write_.begin(), write_.end());
}

fs::path FileAccess::resolve_read(const fs::path& path) const {
  fs::path target = absolute_from(path, read_, "readable");
  fs::path real = resolved(target, path);  // follows every link, the final one included
  if (!inside_any(real, read_)) {
    throw FileAccessError(path.string() + ": refused: " + (real == target ? "" : "it resolves to " + real.string() + ", ") +
                          "outside the agent's folders (" + folders_text(read_) + ")");
  }
  return real;
}

std::optional<std::string> FileAccess::read_refusal(const fs::path& path) const {
  try {
    resolve_read(path);
    return std::nullopt;
  } catch (const FileAccessError& e) {
    return e.what();
  }
}

fs::path FileAccess::resolve_write(const fs::path& path) const {
  fs::path target = absolute_from(path, write_, "write");
  if (!target.has_filename()) throw FileAccessError(path.string() + ": refused: not a file name");
  fs::path parent = resolved(target.parent_path(), path);
  if (!inside_any(parent, write_)) {
    throw FileAccessError(path.string() + ": refused: outside the agent's write folders (" + folders_text(write_) + ")");
  }
  std::error_code ec;
  if (fs::is_symlink(parent / target.filename(), ec)) {
    throw FileAccessError(path.string() + ": refused: it is a symbolic link");
  }
  return parent / target.filename();
}

std::string FileAccess::read_text(const fs::path& path) const {
  fs::path real = resolve_read(path);
  std::error_code ec;
  if (!fs::is_regular_file(real, ec)) {
    throw FileAccessError(path.string() + ": " + (fs::exists(real, ec) ? "not a regular file" : "no such file"));
  }
  auto size = fs::file_size(real, ec);
  if (ec) throw FileAccessError(path.string() + ": cannot read: " + ec.message());
  if (static_cast<int64_t>(size) > max_bytes_) {
    throw FileAccessError(path.string() + ": refused: " + std::to_string(size) + " bytes is more than the limit of " +
                          std::to_string(max_bytes_) + " (limits.max_input_bytes)");
  }
  std::ifstream in(real, std::ios::binary);
  if (!in) throw FileAccessError(path.string() + ": cannot read: " + errno_text());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> FileAccess::list(const fs::path& folder, const std::string& glob) const {
  fs::path real = resolve_read(folder);
  std::error_code ec;
  if (!fs::is_directory(real, ec)) throw FileAccessError(folder.string() + ": not a folder");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(real, ec)) {
    std::string name = entry.path().filename().string();
    std::error_code entry_ec;  // a dangling link is skipped; its error must not fail the listing
    if (!entry.is_regular_file(entry_ec) || fnmatch(glob.c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    auto real_entry = real_path(entry.path());
    if (!real_entry || !inside_any(*real_entry, read_)) continue;  // a link leading out is not listed
    files.push_back(entry.path());
  }
  if (ec) throw FileAccessError(folder.string() + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

fs::path FileAccess::write_text(const fs::path& path, std::string_view text) const {
  fs::path target = resolve_write(path);
  fs::create_directories(target.parent_path());
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::string temp_name = ".";  // built step by step: GCC 12 warns (-Wrestrict) on the one-line form
  temp_name.append(target.filename().string()).append(".tmp").append(std::to_string(random() % 1000000));
  fs::path temp = target.parent_path() / temp_name;
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw FileAccessError(path.string() + ": cannot write: " + errno_text());
  try {
    check_opened_inside(fd, path, write_);
    write_all(fd, text, path);
    if (::fsync(fd) != 0) throw FileAccessError(path.string() + ": cannot write: " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), target.c_str()) != 0) {  // rename replaces a link itself, never its target
    int saved = errno;
    ::unlink(temp.c_str());
    throw FileAccessError(path.string() + ": cannot write: " + std::strerror(saved));
  }
  return target;
}

fs::path FileAccess::append_text(const fs::path& path, std::string_view text) const {
  fs::path target = resolve_write(path);
  fs::create_directories(target.parent_path());
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw FileAccessError(path.string() + ": cannot write: " + errno_text());
  try {
    check_opened_inside(fd, path, write_);
    write_all(fd, text, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return target;
}

}  // namespace agentd::agents
