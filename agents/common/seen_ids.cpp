#include "agents/common/seen_ids.hpp"

#include <algorithm>

#include "agents/task_context.hpp"

namespace agentd::agents {

SeenIds::SeenIds(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

SeenIds SeenIds::from_json(const nlohmann::json& value, size_t capacity) {
  SeenIds seen(capacity);
  if (!value.is_array()) return seen;
  for (const nlohmann::json& id : value) {
    if (id.is_string()) seen.add(id.get<std::string>());
  }
  return seen;
}

nlohmann::json SeenIds::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& id : order_) out.push_back(id);
  return out;
}

bool SeenIds::contains(std::string_view id) const { return ids_.contains(std::string(id)); }

bool SeenIds::add(const std::string& id) {
  if (!ids_.insert(id).second) return false;
  order_.push_back(id);
  while (order_.size() > capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

SeenIds SeenIds::recall(const TaskContext& ctx, const std::string& key, size_t capacity) {
  auto stored = ctx.recall(key);
  return stored ? from_json(*stored, capacity) : SeenIds(capacity);
}

void SeenIds::remember(TaskContext& ctx, const std::string& key) const { ctx.remember(key, to_json()); }

}  // namespace agentd::agents
