// The coder's first question to the model: which file to write. The answer is a JSON object
// {"path": "...", "language": "..."} generated under a GBNF grammar that only allows safe
// relative names with an allowed extension and a language from a fixed list. The grammar helps a
// local model; the answer is still parsed and checked in code (output_path), because a remote
// backend may ignore the grammar and a cut-off answer is not JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents::coder {

struct Language {
  std::string name;       // "python"
  std::string extension;  // its usual extension, "py"
};

// The languages the model may name, each with its usual extension.
const std::vector<Language>& languages();

// The grammar of the answer for these allowed extensions.
std::string proposal_grammar(const std::vector<std::string>& extensions);

struct FileProposal {
  std::string path;      // as proposed, unchecked
  std::string language;  // one of languages(), "text" when missing or unknown
};

// The proposal in the model's answer, or nullopt when it is not a JSON object with a "path"
// string.
std::optional<FileProposal> parse_proposal(std::string_view answer);

// A name that passes the checks: "coder-<task>.<ext>", the language's extension if allowed,
// else "txt" if allowed, else the first allowed extension.
std::string fallback_name(int64_t task_id, const std::string& language, const std::vector<std::string>& extensions);

}  // namespace agentd::agents::coder
