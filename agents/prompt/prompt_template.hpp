// PromptTemplate: text with {{placeholders}}, checked when the agent is loaded and filled for
// each task. Placeholders (spaces inside the braces are allowed):
//   {{input}}         the task's input
//   {{input_file}}    the text of the file the input names (a watch trigger's file; for an
//                     event, its "file" field), read through the agent's FileAccess
//   {{file:PATH}}     the text of a file in the agent's folders
//   {{memory:KEY}}    the agent's memory value (a string as is, anything else as JSON; "" if unset)
//   {{event.FIELD}}   a field of the triggering event's data (dotted path: event.stats.words)
//   {{date}} {{time}} {{datetime}} {{weekday}}   local time when the task runs
//   {{agent}} {{task}}                           the agent's name, the task id
// Anything else between {{ and }} is an error at load time, naming the placeholder.
//
// Put the standing instructions first and the placeholders whose text changes from task to task
// ({{input}}, {{input_file}}, {{event.*}}, {{date}} and the other times, {{task}}) after them:
// the engine reuses the cached KV of a prompt's longest prefix it has seen, up to its first
// changed token, so only the text from the first such placeholder on is prefilled again.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace agentd::agents {

class PromptTemplate {
 public:
  enum class Kind { text, input, input_file, file, memory, event, date, time, datetime, weekday, agent, task };
  struct Part {
    Kind kind = Kind::text;
    std::string arg;  // the literal text, PATH, KEY or FIELD
  };

  // Throws std::invalid_argument naming the bad placeholder. `allowed` limits the kinds (an
  // output file name may not read files); empty = all.
  explicit PromptTemplate(const std::string& text, const std::vector<Kind>& allowed = {});

  // Fills the template; `value` returns the text of one placeholder part.
  std::string render(const std::function<std::string(const Part&)>& value) const;
  const std::vector<Part>& parts() const { return parts_; }
  bool uses(Kind kind) const;

 private:
  std::vector<Part> parts_;
};

}  // namespace agentd::agents
