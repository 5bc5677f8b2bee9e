// Sections of a long-form task (an outline plus independently generated parts). Each write is
// one statement, so a section is either fully stored or not at all: a crash mid-generation loses
// at most the section being written, and resume starts at the first section not `done`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace agentd::storage {

enum class SectionStatus { pending, running, done, failed };
std::string_view to_string(SectionStatus s);
std::optional<SectionStatus> parse_section_status(std::string_view s);

struct Section {
  int64_t task_id = 0;
  int idx = 0;
  std::string title;
  std::string text;
  int tokens = 0;
  SectionStatus status = SectionStatus::pending;
  int64_t updated_at = 0;
};

class SectionStore {
 public:
  explicit SectionStore(Database& db) : db_(db) {}

  // Records the outline: one pending section per title (existing sections are left as they are).
  void plan(int64_t task_id, const std::vector<std::string>& titles);
  // Writes one section whole (insert or replace).
  void put(const Section& section);
  void set_status(int64_t task_id, int idx, SectionStatus status);
  std::vector<Section> list(int64_t task_id);
  // Index of the first section that is not done, if any.
  std::optional<int> first_unfinished(int64_t task_id);

 private:
  Database& db_;
};

}  // namespace agentd::storage
