#include "runtime/events.hpp"

#include <spdlog/spdlog.h>

namespace agentd::runtime {

namespace {

int chain_depth(storage::TaskStore& tasks, const storage::Task& task) {
  int depth = 0;
  std::optional<int64_t> parent = task.parent_id;
  while (parent && depth <= kMaxEventDepth) {
    ++depth;
    auto t = tasks.get(*parent);
    parent = t ? t->parent_id : std::nullopt;
  }
  return depth;
}

}  // namespace

int publish_events(storage::TaskStore& tasks, const AgentCatalog& catalog, const storage::Task& from,
                   const std::vector<agents::TaskContext::Event>& events) {
  if (events.empty()) return 0;
  int depth = chain_depth(tasks, from);
  int queued = 0;
  for (const auto& event : events) {
    auto subscribers = catalog.subscribers(event.name);
    nlohmann::json record = {{"event", event.name}, {"subscribers", nlohmann::json::array()}};
    if (depth >= kMaxEventDepth && !subscribers.empty()) {
      record["dropped"] = "the chain of events is " + std::to_string(depth) + " tasks deep (limit " +
                          std::to_string(kMaxEventDepth) + ")";
      tasks.add_event(from.id, storage::event::emitted, record);
      spdlog::warn("task {}: event {} not delivered: {}", from.id, event.name, record["dropped"].get<std::string>());
      continue;
    }
    nlohmann::json input = event.data.is_object() ? event.data : nlohmann::json{{"data", event.data}};
    input["event"] = event.name;
    input["from_task"] = from.id;
    for (const auto& agent : subscribers) {
      storage::NewTask task;
      task.agent = agent->config.name;
      task.plugin = agent->config.plugin;
      task.priority = agent->config.priority;
      task.trigger = "on " + event.name;
      task.input = input.dump();
      task.parent_id = from.id;
      int64_t id = tasks.enqueue(task);
      record["subscribers"].push_back({{"agent", agent->config.name}, {"task", id}});
      ++queued;
    }
    tasks.add_event(from.id, storage::event::emitted, record);
  }
  return queued;
}

}  // namespace agentd::runtime
