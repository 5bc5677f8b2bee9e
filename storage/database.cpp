#include "storage/database.hpp"

#include <nlohmann/json.hpp>

#include "storage/fault_injection.hpp"

#include <chrono>

namespace agentd::storage {

namespace {

bool is_corruption(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

}  // namespace

// --- Statement -----------------------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, "prepare", sql);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, "bind", sqlite3_sql(stmt_));
  return *this;
}

Statement& Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, "bind", sqlite3_sql(stmt_));
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->fail(rc, "bind", sqlite3_sql(stmt_));
  return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->fail(rc, "bind", sqlite3_sql(stmt_));
  return *this;
}

bool Statement::step() {
  // The testing switch counts a statement once, when it starts (not per row of a SELECT).
  int rc = sqlite3_stmt_busy(stmt_) ? SQLITE_OK : injected_fault(sqlite3_sql(stmt_));
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(stmt_);
  sqlite3_reset(stmt_);
  db_->fail(rc, "step", sql);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text(int column) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::optional<int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

// --- Database ------------------------------------------------------------------------------------

Database::Database(const std::filesystem::path& path, OpenMode mode, int busy_timeout_ms) : path_(path) {
  arm_fault_from_environment();  // AGENTD_STORAGE_FAULT, a testing switch (storage/fault_injection.hpp)
  int flags = mode == OpenMode::read_only ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = path_.string() + ": cannot open database: " +
                      (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw DatabaseError(msg, rc);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  try {
    // Reading the schema is the first real I/O: a file that is not a database fails here.
    exec("SELECT count(*) FROM sqlite_schema");
    if (mode == OpenMode::read_write) {
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=NORMAL");  // durable across process crashes; WAL keeps it consistent
      // After a checkpoint the WAL file is cut back to this, not left at its largest size (it
      // reached 12x the database on a small disk and filled it).
      exec("PRAGMA journal_size_limit=8388608");
    }
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    cache_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

void Database::exec(std::string_view sql) {
  std::string owned(sql);
  int rc = injected_fault(sql);
  if (rc == SQLITE_OK) {
    char* err = nullptr;
    rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
  }
  if (rc != SQLITE_OK) fail(rc, "exec", sql);
}

Statement& Database::cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<Statement>(*this, sql)).first;
  it->second->reset();
  return *it->second;
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

int Database::user_version() {
  Statement s(*this, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.int64(0));
}

void Database::fail(int rc, std::string_view context, std::string_view sql) const {
  // The connection's message when it describes `rc`; otherwise (it is stale, or `rc` came from
  // the fault-injection switch) SQLite's text for the code, which is what it would have said.
  const bool current = db_ && sqlite3_extended_errcode(db_) == rc;
  std::string message = path_.string() + ": " + std::string(context) + ": " +
                        (current ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  if (is_corruption(rc)) {
    message += " (the file is not an agentd database, or it is damaged; `agentd db check` tells which)";
    throw CorruptDatabaseError(message, rc, std::string(sql));
  }
  if (!sql.empty()) message += " [in: " + std::string(sql.substr(0, 200)) + "]";
  throw DatabaseError(message, rc, std::string(sql));
}

// --- Transaction ---------------------------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(db), nested_(sqlite3_get_autocommit(db.handle()) == 0) {
  db_.exec(nested_ ? "SAVEPOINT agentd_nested" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (done_) return;
  const char* sql = nested_ ? "ROLLBACK TO agentd_nested; RELEASE agentd_nested" : "ROLLBACK";
  char* err = nullptr;
  sqlite3_exec(db_.handle(), sql, nullptr, nullptr, &err);  // never throws from a destructor
  sqlite3_free(err);
}

void Transaction::commit() {
  db_.exec(nested_ ? "RELEASE agentd_nested" : "COMMIT");
  done_ = true;
}

ReadSnapshot::ReadSnapshot(Database& db) : db_(db), nested_(sqlite3_get_autocommit(db.handle()) == 0) {
  if (!nested_) db_.exec("BEGIN");
}

ReadSnapshot::~ReadSnapshot() {
  if (nested_) return;  // inside the caller's transaction, which already is one snapshot
  char* err = nullptr;
  sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, &err);  // a read: nothing to lose; never throws
  sqlite3_free(err);
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace agentd::storage
