// FileAccess: an agent's files, confined to the folders its config names. Reads are allowed
// inside its read and write folders, writes inside its write folders only; anything else is
// refused with FileAccessError naming the path and the reason.
//
// Rules
// - A relative path is taken from the first folder of the kind asked for (read: the first read
//   folder, else the first write folder; write: the first write folder).
// - A path with a ".." component is refused outright, before any lookup.
// - Symbolic links are followed only when they stay inside an allowed folder: the real path of
//   the target (for a write, of its parent folder) must lie inside one. A path whose real path
//   cannot be found (a loop, a dangling link) is refused. A folder that resolves elsewhere than
//   the path it was given as (swapped for a link since the config was loaded) confines nothing. A write never follows a
//   symlink at the final component (O_NOFOLLOW), so a link planted there cannot redirect it.
// - Reads are capped at `max_bytes`; a larger file is refused by name and size, not truncated.
// - Writes go to a temporary file in the same folder, then rename(): a crash leaves the old file
//   or the new one, never half of it. Missing parent folders inside a write folder are created.
// The check-then-open sequence is not proof against another process swapping folders for links
// between the check and the open; agentd's threat is a confused agent, not a hostile local user.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace agentd::agents {

// The real path of `p` made absolute: symlinks resolved for the part that exists, the missing
// rest appended by name. nullopt when it cannot be resolved: a link loop, a dangling link on the
// way (it leads somewhere that does not exist yet, and may later), a folder that cannot be searched.
std::optional<std::filesystem::path> real_path(const std::filesystem::path& p);
// real_path(), or `p` normalised if that fails. Not for confinement decisions.
std::filesystem::path real_path_or_given(const std::filesystem::path& p);
// Whether `path` is `folder` or lies below it (both absolute and normalised; compared by element).
bool path_inside(const std::filesystem::path& path, const std::filesystem::path& folder);

class FileAccessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FileAccess {
 public:
  // Folders must be absolute; they are resolved to their real paths (missing ones kept as given).
  FileAccess(std::vector<std::filesystem::path> read_folders, std::vector<std::filesystem::path> write_folders,
             int64_t max_bytes);

  std::string read_text(const std::filesystem::path& path) const;
  // Regular files directly in `folder` (a readable one) whose names match `glob`, sorted.
  std::vector<std::filesystem::path> list(const std::filesystem::path& folder, const std::string& glob = "*") const;
  // Writes (replaces) the file; returns its absolute path.
  std::filesystem::path write_text(const std::filesystem::path& path, std::string_view text) const;
  // Appends to the file (created if missing); returns its absolute path.
  std::filesystem::path append_text(const std::filesystem::path& path, std::string_view text) const;

  // The absolute path `path` would name for reading / writing, or FileAccessError.
  std::filesystem::path resolve_read(const std::filesystem::path& path) const;
  std::filesystem::path resolve_write(const std::filesystem::path& path) const;
  // Why reading `path` would be refused, or nullopt: for plugins to check the paths their
  // settings name when the agent is loaded, not at its first run. (A file that does not exist
  // yet is not refused: it may be created later.)
  std::optional<std::string> read_refusal(const std::filesystem::path& path) const;

  const std::vector<std::filesystem::path>& read_folders() const { return read_; }
  const std::vector<std::filesystem::path>& write_folders() const { return write_; }

 private:
  std::vector<std::filesystem::path> read_;   // read folders, then write folders
  std::vector<std::filesystem::path> write_;
  int64_t max_bytes_;
};

}  // namespace agentd::agents
