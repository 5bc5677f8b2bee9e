#include "agents/extractor/processed_documents.hpp"

#include <algorithm>

namespace agentd::agents {

ProcessedDocuments ProcessedDocuments::from_json(const nlohmann::json& value, size_t capacity) {
  ProcessedDocuments docs(capacity);
  if (!value.is_array()) return docs;
  for (const auto& e : value) {
    if (!e.is_object()) continue;
    auto text = [&](const char* key) { return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : ""; };
    if (text("hash").empty()) continue;
    docs.add(text("hash"), text("file"), text("status"));
  }
  return docs;
}

bool ProcessedDocuments::contains(const std::string& hash) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.hash == hash; });
}

void ProcessedDocuments::add(const std::string& hash, const std::string& file, const std::string& status) {
  std::erase_if(entries_, [&](const Entry& e) { return e.hash == hash; });
  entries_.push_back({hash, file, status});
  while (entries_.size() > capacity_) entries_.pop_front();
}

nlohmann::json ProcessedDocuments::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries_) out.push_back({{"hash", e.hash}, {"file", e.file}, {"status", e.status}});
  return out;
}

}  // namespace agentd::agents
