// Where the coder may write: checks on a file name proposed by the model, which is untrusted.
// Deliberately narrower than FileAccess (which still confines the write): a name must be
//   - 1..120 bytes of ASCII letters, digits, '.', '_', '-' and '/' only (so no unicode look-alikes,
//     no spaces, no control characters, no backslashes);
//   - relative, at most 4 components, none empty, ".", "..", hidden (".x") or starting with '-';
//   - a file name with an extension from the allowed list (compared without case).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents::coder {

constexpr size_t kMaxPathBytes = 120;
constexpr int kMaxPathComponents = 4;

// The extensions allowed when the settings name none.
const std::vector<std::string>& default_extensions();

// Why `path` may not be written, or "" when it may.
std::string path_refusal(std::string_view path, const std::vector<std::string>& extensions);

// "dir/name.ext" numbered: "dir/name-2.ext" for n = 2 (n < 2 gives the path unchanged).
std::string numbered(std::string_view path, int n);

// Whether `ext` (without the dot) may be in the allowed list: 1..10 lower-case letters or digits.
bool valid_extension(std::string_view ext);

}  // namespace agentd::agents::coder
