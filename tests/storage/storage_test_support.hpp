// Shared helpers of the storage tests: a temporary folder per test (real SQLite files, no mocks),
// and a few raw-SQL helpers for setting up states the public API does not expose (old timestamps).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/database.hpp"
#include "storage/schema.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::storage::test_support {

using agentd::testing::TempDir;

// Fixture: every test gets its own folder and a database path inside it.
class StorageTest : public ::testing::Test {
 protected:
  std::filesystem::path db_path() const { return dir_.path() / "agentd.db"; }
  // Opens (creating and migrating) the test database.
  std::unique_ptr<Database> open(OpenMode mode = OpenMode::read_write) const {
    return open_database(db_path(), mode);
  }

  TempDir dir_;
};

// The first column of the first row of `sql` as an integer.
int64_t scalar(Database& db, std::string_view sql);
// Overwrites a task's timestamps (tests need old or exactly known times).
void set_task_times(Database& db, int64_t id, int64_t created_at, std::optional<int64_t> started_at = {},
                    std::optional<int64_t> finished_at = {});

}  // namespace agentd::storage::test_support
