// The `drafter` plugin: long-form writing. The brief (the task's input, or settings "brief" when
// the input is empty, so a timer can run it) is written as an outline plus sections through
// TaskContext::generate_long: each section is stored the moment it is done, and a task run again
// after a crash continues at the first unfinished section without asking the model again for the
// ones it has. The file is assembled in code: draft-<task>.md in the first write folder, a title
// line then "## heading" and text per section. The agent then emits "<agent>.done" with
// {"task", "agent", "file", "title"} (the evaluator listens for drafter.done) and returns a short
// report: file, title, and words per section.
//
//   "folders": { "write": ["../var/drafter"] },
//   "generation": { "section_tokens": 200 },     // per section (at least 5/8 of it asked for)
//   "settings": {
//     "brief": "A one-page note on ...",       // used when the task input is empty
//     "title": "The harbour town of Lindqvist", // default: the brief's first sentence
//     "sections": 4,                           // 1..12; the model writes the headings...
//     "outline": ["History", "Today"]          // ...unless given (then sections = their count)
//   }
//
// Limits: a brief of at most 4000 bytes (a longer one fails the task, naming its size).
#pragma once

#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"

namespace agentd::agents {

class DrafterAgent : public Agent {
 public:
  static constexpr size_t kMaxBriefBytes = 4000;
  static constexpr int kMaxSections = 12;

  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit DrafterAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  std::string brief_of(const TaskContext& ctx) const;

  std::string brief_;
  std::string title_;
  int sections_ = 4;
  std::vector<std::string> outline_;
};

}  // namespace agentd::agents
