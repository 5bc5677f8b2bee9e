// The `coder` plugin: writes one script or configuration file from a task description (the task's
// input, or settings "task" when the input is empty, so a timer can run it) into its output folder.
// It never runs anything: no process is started, and files are written without the executable bit
// (mode 0644), so a script has to be looked at and made executable by a person.
//
// Two model calls: (1) the file to write, {"path": "...", "language": "..."} under a grammar that
// admits only safe relative names with an allowed extension; (2) the file's content, from which a
// Markdown code fence is stripped in code. The path is checked again in code (coder/output_path:
// relative, no "..", no hidden names, ASCII letters/digits/._-/ only, allowed extension) and then
// confined by FileAccess to the first write folder. A refused or unparseable proposal does not
// fail the task: the file is written as "coder-<task>.<ext>" instead, and the refusal and its
// reason are logged and stated in the report, since the content is still what was asked for.
// An existing file is never replaced unless "overwrite" is true: the name gets -2, -3, ... (up to
// -99, then the task fails).
//
//   "folders": { "write": ["../var/coder"] },
//   "settings": {
//     "task": "A bash script that ...",              // used when the task input is empty
//     "extensions": ["sh", "py", "json", "yaml"],    // allowed; default: coder::default_extensions()
//     "overwrite": false
//   }
//
// Limits: a task description of at most 4000 bytes; the content is what the model writes within
// generation.max_tokens. The last 50 files written are kept in memory ("written").
#pragma once

#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"

namespace agentd::agents {

class CoderAgent : public Agent {
 public:
  static constexpr size_t kMaxTaskBytes = 4000;
  static constexpr int kMaxNumbered = 99;
  static constexpr int kRememberedFiles = 50;

  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit CoderAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  std::string task_text(const TaskContext& ctx) const;

  std::string task_;
  std::vector<std::string> extensions_;
  bool overwrite_ = false;
};

}  // namespace agentd::agents
