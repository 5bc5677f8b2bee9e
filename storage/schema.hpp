// The database schema as forward-only migrations. Version N is the state after migrations[0..N).
// Each migration runs in its own transaction together with the `PRAGMA user_version` bump, so a
// crash mid-migration leaves the previous version intact.
#pragma once

#include <span>
#include <string_view>

#include "storage/database.hpp"

namespace agentd::storage {

// Every migration, oldest first. Never edit one that has shipped: append a new one.
std::span<const std::string_view> migrations();
int latest_schema_version();

// Brings `db` to `target` (default: latest). Throws SchemaTooNewError when the file is newer than
// this build knows. Returns the version the file had before.
int migrate(Database& db, int target = -1);

// Opens `path` for the daemon or a CLI write: opens, migrates, returns the connection.
// A read-only open checks the version but never migrates (a reader must not change the file).
// Either refuses a file with other tables and no agentd schema version (another program's).
std::unique_ptr<Database> open_database(const std::filesystem::path& path,
                                        OpenMode mode = OpenMode::read_write);

}  // namespace agentd::storage
