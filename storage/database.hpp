// A thin RAII layer over SQLite: a connection (WAL, busy timeout, foreign keys), prepared
// statements, and transactions. Errors are typed and carry the SQL and the database path.
//
// One Database per thread: a connection is not shared between threads. The daemon holds the one
// writer; readers (the CLI, the HTTP API's handlers) open their own connections and, thanks to WAL, never
// wait for the writer.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

namespace agentd::storage {

// Any SQLite failure. what() reads "<path>: <context>: <sqlite message> [in: <sql>]".
class DatabaseError : public std::runtime_error {
 public:
  DatabaseError(const std::string& message, int code, std::string sql = {})
      : std::runtime_error(message), code_(code), sql_(std::move(sql)) {}
  int code() const { return code_; }            // SQLite's extended result code (0 if none)
  const std::string& sql() const { return sql_; }

 private:
  int code_;
  std::string sql_;
};

// The file is not a database, or its pages are damaged.
class CorruptDatabaseError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// The file was written by a newer agentd (schema version above what this build knows).
class SchemaTooNewError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

class Database;

// A prepared statement. bind() takes 1-based indexes like SQLite; column() is 0-based.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullopt_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }
  // Binds every argument in order, starting at index 1.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // Advances to the next row: true while a row is available, false when done.
  bool step();
  // Runs a statement that returns no rows (or ignores them), then resets it.
  void run();
  // Ready for another execution with new bindings.
  void reset();

  bool is_null(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::optional<int64_t> optional_int64(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

enum class OpenMode { read_write, read_only };

class Database {
 public:
  // Opens (creating if needed, in read_write mode) the database at `path`, in WAL mode with a
  // busy timeout and foreign keys on, and checks that the file really is a readable database.
  // Throws CorruptDatabaseError for a file that is not a database, DatabaseError otherwise.
  explicit Database(const std::filesystem::path& path, OpenMode mode = OpenMode::read_write,
                    int busy_timeout_ms = 10000);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(*this, sql); }
  // A statement prepared once per connection and reused (reset before it is returned).
  Statement& cached(const std::string& sql);

  int64_t last_insert_rowid() const;
  int changes() const;
  int user_version();
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Builds the typed error for SQLite result `rc` (chooses CorruptDatabaseError when it says so).
  [[noreturn]] void fail(int rc, std::string_view context, std::string_view sql = {}) const;

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception unwound).
// Nested inside another transaction on the same connection it is a SAVEPOINT: its commit is
// kept only if the outer one commits, and a rollback undoes only its own writes. So a caller can
// make several store calls (each with its own Transaction) one atomic change.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool nested_ = false;
  bool done_ = false;
};

// BEGIN (deferred) ... COMMIT around reads: every statement in it sees one snapshot of the file,
// whatever other connections commit meanwhile. Works on a read-only connection; inside a
// transaction it adds nothing.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Database& db_;
  bool nested_;
};

// Milliseconds since the Unix epoch (UTC): how every timestamp is stored.
int64_t now_ms();

// JSON as stored in a TEXT column. Strings that are not valid UTF-8 (text an agent cut mid-
// character, a malformed mail header) have the bad bytes replaced with U+FFFD instead of
// throwing: a timeline entry or a memory value is never the reason a task fails.
std::string json_text(const nlohmann::json& value);

}  // namespace agentd::storage
