#include "agents/common/task_input.hpp"

#include <stdexcept>

#include "agents/common/plain_text.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

std::string task_text(const TaskContext& ctx, const std::string& standing, const TaskText& what) {
  std::string text = text::trim(ctx.input());
  if (text.empty()) text = text::trim(standing);
  if (text.empty()) {
    throw std::runtime_error(std::string("no ") + what.noun + ": give the task an input (agentd submit " + ctx.agent() +
                             " --input \"...\") or set settings." + what.setting);
  }
  if (text.size() > what.max_bytes) {
    throw std::runtime_error(std::string(what.described) + " is " + std::to_string(text.size()) + " bytes; at most " +
                             std::to_string(what.max_bytes));
  }
  return text;
}

}  // namespace agentd::agents
