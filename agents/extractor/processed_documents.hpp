// The documents the extractor has handled, by content hash, kept in the agent's memory across
// runs: a renamed copy of a processed receipt is skipped, an edited one is processed again.
// Bounded: at most `capacity` entries, the oldest dropped first. Failed documents are kept too
// (status "failed"), so one a model cannot read does not cost two model calls on every scan.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agents/common/content_hash.hpp"  // the fingerprint documents are known by

namespace agentd::agents {

class ProcessedDocuments {
 public:
  explicit ProcessedDocuments(size_t capacity) : capacity_(capacity) {}
  // From the memory value written by to_json(); entries that are not {hash, file, status} with
  // strings are dropped (the memory is ours, but a bad value must not stop the agent).
  static ProcessedDocuments from_json(const nlohmann::json& value, size_t capacity);

  bool contains(const std::string& hash) const;
  // Adds (or refreshes, moving it to the newest end) an entry; drops the oldest beyond capacity.
  void add(const std::string& hash, const std::string& file, const std::string& status);
  size_t size() const { return entries_.size(); }
  // [{"hash": ..., "file": ..., "status": ...}, ...], oldest first.
  nlohmann::json to_json() const;

 private:
  struct Entry {
    std::string hash, file, status;
  };
  std::deque<Entry> entries_;
  size_t capacity_;
};

}  // namespace agentd::agents
