// Helpers shared by the fuzz targets: the input as text, and a private scratch folder for the
// parsers that read a file by path (agent files, agentd.json) exactly as the daemon does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace agentd::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder of this process under $TMPDIR (made on first use, removed at exit), also set as $HOME
// so that "~/x" in a fuzzed file stays inside it.
const std::filesystem::path& scratch_dir();

// Writes `bytes` to `path` (replacing it), or aborts: a fuzz run must not go on without its input.
void write_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace agentd::fuzz
