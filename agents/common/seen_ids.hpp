// SeenIds: a bounded set of ids an agent has already handled (Message-IDs, content hashes, item
// links), kept across runs in the agent's memory under one key as a JSON array, oldest first.
// Adding past the capacity drops the oldest id, so the memory stays bounded however long the
// daemon runs; an id dropped that way would count as new again if it ever came back.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace agentd::agents {

class TaskContext;

class SeenIds {
 public:
  explicit SeenIds(size_t capacity);
  // From a stored value: an array of strings, oldest first. Anything else (a value damaged or
  // written by an older version) counts as an empty set; non-string elements are skipped.
  static SeenIds from_json(const nlohmann::json& value, size_t capacity);
  nlohmann::json to_json() const;

  bool contains(std::string_view id) const;
  // Adds `id` as the newest; returns false (and changes nothing) if it was already there.
  bool add(const std::string& id);
  size_t size() const { return order_.size(); }
  size_t capacity() const { return capacity_; }

  // The set kept under `key` in the agent's memory (empty if none), and saving it back.
  static SeenIds recall(const TaskContext& ctx, const std::string& key, size_t capacity);
  void remember(TaskContext& ctx, const std::string& key) const;

 private:
  size_t capacity_;
  std::deque<std::string> order_;  // oldest first
  std::unordered_set<std::string> ids_;
};

}  // namespace agentd::agents
