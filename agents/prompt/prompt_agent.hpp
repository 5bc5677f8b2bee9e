// The generic `prompt` plugin: an agent defined entirely in its config file. Its "prompt" is a
// PromptTemplate filled for each task; the model's answer is the task's output and can also go
// to a file, a memory key, a note and an event:
//
//   "prompt": "Summarise this note in three bullet points:\n{{input_file}}",
//   "settings": {
//     "output_file": "summary-{{date}}-{{task}}.md",  // in the agent's first write folder
//     "append": false,          // true: append to output_file instead of replacing it
//     "memory_key": "last_summary",
//     "note": true,             // keep the answer as a searchable note
//     "emit": "done",           // publish "<agent>.done" with {task, agent, output, file}
//     "json_schema": { ... },   // constrain the answer to this JSON schema
//     "stop": ["\n\n\n"],
//     "tools": ["search_notes", "recent_activity"],  // functions the model may call first
//                               // (common/agent_tools; at most 3 rounds, each call in the timeline)
//     "long_form": {            // write the answer as an outline plus sections (generate_long);
//       "sections": 6,          // the filled prompt is the brief. Sections are stored as they
//       "outline": ["..."],     // finish and a crashed task resumes at the first unfinished one.
//       "tail_chars": 400, "min_distinct4": 0.7, "max_attempts": 3 }
//   }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/prompt/prompt_template.hpp"
#include "engine/sectional.hpp"

namespace agentd::agents {

class PromptAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad prompt or setting.
  explicit PromptAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  std::string fill(const PromptTemplate& t, TaskContext& ctx) const;
  std::string input_file_path(TaskContext& ctx) const;

  PromptTemplate prompt_;
  std::optional<PromptTemplate> output_file_;
  bool append_ = false;
  std::string memory_key_;
  bool note_ = false;
  std::string emit_;
  std::string json_schema_;
  std::vector<std::string> tools_;
  std::vector<std::string> stop_;
  std::optional<engine::LongFormOptions> long_form_;  // only the fields set in "long_form"
};

}  // namespace agentd::agents
