#include "agents/news/seen_items.hpp"

#include <cstdint>
#include <cstdio>

namespace agentd::agents {

std::string SeenItems::hash_key(const std::string& key) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

SeenItems SeenItems::from_json(const nlohmann::json& stored, size_t capacity) {
  SeenItems seen(capacity);
  if (!stored.is_array()) return seen;
  for (const auto& v : stored) {
    if (v.is_string()) seen.add_hash(v.get<std::string>());
  }
  return seen;
}

void SeenItems::add(const std::string& key) { add_hash(hash_key(key)); }

void SeenItems::add_hash(const std::string& hash) {
  if (capacity_ == 0 || !set_.insert(hash).second) return;
  order_.push_back(hash);
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

nlohmann::json SeenItems::to_json() const { return nlohmann::json(order_); }

}  // namespace agentd::agents
