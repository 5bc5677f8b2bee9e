// SeenItems: the feed items already reported, across runs, in bounded memory. Keys (item_key)
// are kept as 64-bit FNV-1a hashes in hex, newest last; adding beyond `capacity` drops the
// oldest. Stored in the agent's memory as a JSON array of strings; a stored value of another
// shape is ignored (the agent starts afresh rather than failing).
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace agentd::agents {

class SeenItems {
 public:
  explicit SeenItems(size_t capacity) : capacity_(capacity) {}
  static SeenItems from_json(const nlohmann::json& stored, size_t capacity);

  bool contains(const std::string& key) const { return set_.count(hash_key(key)) > 0; }
  void add(const std::string& key);
  size_t size() const { return order_.size(); }
  nlohmann::json to_json() const;

  static std::string hash_key(const std::string& key);

 private:
  void add_hash(const std::string& hash);

  size_t capacity_;
  std::deque<std::string> order_;  // oldest first
  std::unordered_set<std::string> set_;
};

}  // namespace agentd::agents
