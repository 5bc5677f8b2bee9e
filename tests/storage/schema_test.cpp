// Opening and migrating database files: fresh, old, newer than this build, and files that are not
// (or no longer) databases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <random>

#include "storage/memory_store.hpp"
#include "storage/retention.hpp"
#include "storage/schedule_store.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using test_support::scalar;

class SchemaTest : public test_support::StorageTest {};

bool has_table(Database& db, const std::string& name) {
  auto s = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = ?");
  s.bind(1, name);
  s.step();
  return s.int64(0) == 1;
}

// `number` appears in `text` as a number of its own (not as part of a longer one).
bool mentions_number(const std::string& text, int number) {
  const std::string n = std::to_string(number);
  for (size_t at = text.find(n); at != std::string::npos; at = text.find(n, at + 1)) {
    const bool digit_before = at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1]));
    const bool digit_after = at + n.size() < text.size() && std::isdigit(static_cast<unsigned char>(text[at + n.size()]));
    if (!digit_before && !digit_after) return true;
  }
  return false;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Rows that are valid at schema version `v`, written in that version's own SQL (the stores speak
// only the latest schema). When a migration is added, add here the rows its version introduces
// (version 2 added only indexes).
void seed_rows_at(Database& db, int v) {
  if (v < 1) return;
  db.exec(R"sql(
    INSERT INTO tasks (id, agent, plugin, priority, status, trigger, input, output, attempt,
                       created_at, started_at, finished_at)
      VALUES (7, 'digest', 'prompt', 'tool', 'finished', 'every 1h', 'summarise', 'all good', 2,
              1000, 1100, 1500);
    INSERT INTO tasks (id, agent, input, parent_id, created_at) VALUES (8, 'mail', 'check inbox', 7, 2000);
    INSERT INTO task_events (task_id, at, kind, data) VALUES
      (7, 1000, 'queued', '{}'), (7, 1100, 'started', '{}'), (7, 1500, 'finished', '{"output_bytes":8}'),
      (8, 2000, 'queued', '{"trigger":"manual"}');
    INSERT INTO sections (task_id, idx, title, text, tokens, status, updated_at) VALUES
      (7, 0, 'Intro', 'Once upon a time', 5, 'done', 1200), (7, 1, 'Body', '', 0, 'pending', 1200);
    INSERT INTO memory (agent, key, value, updated_at) VALUES ('digest', 'last_run', '{"at":1500}', 1500);
    INSERT INTO notes (agent, at, text) VALUES ('digest', 1500, 'the quarterly report mentions penguins');
    INSERT INTO schedules (agent, trigger, last_fire_at, next_fire_at) VALUES ('digest', 'every 1h', 1000, 3601000);
  )sql");
}

// The rows of seed_rows_at(v), read back through today's stores after migrating to the latest.
void expect_seeded_rows(Database& db, int v) {
  if (v < 1) return;
  TaskStore tasks(db);
  auto t = tasks.get(7);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->agent, "digest");
  EXPECT_EQ(t->plugin, "prompt");
  EXPECT_EQ(t->priority, core::Priority::tool);
  EXPECT_EQ(t->status, TaskStatus::finished);
  EXPECT_EQ(t->trigger, "every 1h");
  EXPECT_EQ(t->output, "all good");
  EXPECT_EQ(t->attempt, 2);
  EXPECT_EQ(t->created_at, 1000);
  EXPECT_EQ(t->started_at, 1100);
  EXPECT_EQ(t->finished_at, 1500);
  auto child = tasks.get(8);
  ASSERT_TRUE(child);
  EXPECT_EQ(child->parent_id, 7);
  EXPECT_EQ(child->status, TaskStatus::queued);
  auto events = tasks.events(7);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kind, "finished");
  EXPECT_EQ(events[2].data["output_bytes"], 8);

  auto sections = SectionStore(db).list(7);
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections[0].text, "Once upon a time");
  EXPECT_EQ(SectionStore(db).first_unfinished(7), 1);

  MemoryStore memory(db);
  EXPECT_EQ(memory.get("digest", "last_run"), nlohmann::json({{"at", 1500}}));
  auto found = memory.search_notes("digest", "penguins");
  ASSERT_EQ(found.size(), 1u);  // the full-text index came through too
  EXPECT_EQ(found[0].text, "the quarterly report mentions penguins");
  // Tasks written before the text index (schema 8) are in it.
  auto by_text = tasks.list({.text = "ALL GOOD"});
  ASSERT_EQ(by_text.size(), 1u);
  EXPECT_EQ(by_text[0].id, 7);
  EXPECT_NO_THROW(db.exec("INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('integrity-check', 1)"));

  auto fire = ScheduleStore(db).get("digest", "every 1h");
  ASSERT_TRUE(fire);
  EXPECT_EQ(fire->last_fire_at, 1000);
  EXPECT_EQ(fire->next_fire_at, 3601000);
}

TEST_F(SchemaTest, NewFileIsCreatedAtLatestVersion) {
  auto db = open();
  EXPECT_EQ(db->user_version(), latest_schema_version());
  for (const char* table : {"tasks", "task_events", "sections", "memory", "notes", "notes_fts", "schedules"}) {
    EXPECT_TRUE(has_table(*db, table)) << table;
  }
  EXPECT_EQ(integrity_check(*db), "ok");
}

TEST_F(SchemaTest, EmptyFileIsMigratedToLatest) {
  write_file(db_path(), "");
  auto db = open();
  EXPECT_EQ(db->user_version(), latest_schema_version());
  EXPECT_TRUE(has_table(*db, "tasks"));
}

// Another program's SQLite file (tables, no schema version) is refused, read or written, and left
// as it was; an empty one (a failed copy, a touch) becomes a new database.
TEST_F(SchemaTest, AnotherProgramsDatabaseIsRefusedAndLeftAlone) {
  {
    Database other(db_path());
    other.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)");
  }
  for (OpenMode mode : {OpenMode::read_write, OpenMode::read_only}) {
    try {
      open(mode);
      FAIL() << "adopted another program's database";
    } catch (const DatabaseError& e) {
      EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("not an agentd database (it has tables photos"));
    }
  }
  Database after(db_path());
  EXPECT_FALSE(has_table(after, "tasks"));
  EXPECT_EQ(after.user_version(), 0);
}

// One large transaction grows the WAL past 8 MiB; after a checkpoint it is cut back, not kept at
// its largest (on a small disk it filled the volume by itself).
TEST_F(SchemaTest, TheWriteAheadLogIsCutBackAfterACheckpoint) {
  auto db = open();
  db->exec("BEGIN; CREATE TABLE scratch (b BLOB);"
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) "
           "INSERT INTO scratch SELECT randomblob(1000) FROM c; COMMIT");
  const auto wal = db_path().string() + "-wal";
  ASSERT_GT(std::filesystem::file_size(wal), 16u << 20) << "the transaction did not grow the WAL";
  db->exec("PRAGMA wal_checkpoint(RESTART)");
  db->exec("CREATE TABLE small (x)");  // the next write starts the WAL over, and cuts the file back
  EXPECT_LE(std::filesystem::file_size(wal), 8u << 20);
}

TEST_F(SchemaTest, MigratesFromEveryEarlierVersionKeepingRows) {
  ASSERT_GE(latest_schema_version(), 1);
  ASSERT_EQ(static_cast<int>(migrations().size()), latest_schema_version());
  for (int v = 0; v < latest_schema_version(); ++v) {
    SCOPED_TRACE("from version " + std::to_string(v));
    auto path = dir_.path() / ("v" + std::to_string(v) + ".db");
    {
      Database db(path);
      EXPECT_EQ(migrate(db, v), 0);
      ASSERT_EQ(db.user_version(), v);
      seed_rows_at(db, v);
    }
    auto db = open_database(path);
    EXPECT_EQ(db->user_version(), latest_schema_version());
    expect_seeded_rows(*db, v);
    EXPECT_EQ(integrity_check(*db), "ok");
  }
}

TEST_F(SchemaTest, DatabaseAtLatestIsLeftAloneOnReopen) {
  int64_t schema_cookie = 0;
  int64_t id = 0;
  {
    auto db = open();
    id = TaskStore(*db).enqueue({.agent = "a", .input = "keep me"});
    schema_cookie = scalar(*db, "PRAGMA schema_version");  // bumped by every schema change
  }
  auto db = open();
  EXPECT_EQ(migrate(*db), latest_schema_version());  // already there: nothing to do
  EXPECT_EQ(scalar(*db, "PRAGMA schema_version"), schema_cookie);
  EXPECT_EQ(db->user_version(), latest_schema_version());
  auto t = TaskStore(*db).get(id);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->input, "keep me");
}

TEST_F(SchemaTest, FailedMigrationLeavesThePreviousVersion) {
  {
    // A stray table named like one the first migration creates last: it fails at its very end.
    Database db(db_path());
    db.exec("CREATE TABLE schedules (stray TEXT); INSERT INTO schedules VALUES ('mine')");
  }
  try {
    open();
    FAIL() << "migrating over a conflicting table succeeded";
  } catch (const DatabaseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(db_path().string()));
  }
  Database db(db_path());
  EXPECT_EQ(db.user_version(), 0);
  EXPECT_FALSE(has_table(db, "tasks")) << "a half-applied migration was kept";
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM schedules WHERE stray = 'mine'"), 1);
}

TEST_F(SchemaTest, NewerSchemaIsRefusedNamingFileAndVersions) {
  const int newer = latest_schema_version() + 1;
  {
    auto db = open();
    db->exec("PRAGMA user_version = " + std::to_string(newer));
  }
  for (OpenMode mode : {OpenMode::read_write, OpenMode::read_only}) {
    SCOPED_TRACE(mode == OpenMode::read_write ? "read-write" : "read-only");
    try {
      open(mode);
      ADD_FAILURE() << "a file from a newer agentd was opened";
    } catch (const SchemaTooNewError& e) {
      std::string message = e.what();
      auto at = message.find(db_path().string());
      ASSERT_NE(at, std::string::npos) << message;
      message.erase(at, db_path().string().size());  // the numbers must not come from the path
      EXPECT_TRUE(mentions_number(message, newer)) << message;
      EXPECT_TRUE(mentions_number(message, newer - 1)) << message;
    }
  }
  Database raw(db_path(), OpenMode::read_only);
  EXPECT_EQ(raw.user_version(), newer) << "refusing must not touch the file";
}

TEST_F(SchemaTest, ReadOnlyOpenOfMissingFileFailsWithoutCreatingIt) {
  try {
    open(OpenMode::read_only);
    FAIL() << "opened a database that does not exist";
  } catch (const DatabaseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(db_path().string()));
  }
  EXPECT_FALSE(std::filesystem::exists(db_path()));
}

TEST_F(SchemaTest, ReadOnlyOpenNeverMigrates) {
  {
    Database db(db_path());
    migrate(db, 0);  // a database file with no schema yet
  }
  auto db = open(OpenMode::read_only);
  EXPECT_EQ(db->user_version(), 0);
  EXPECT_FALSE(has_table(*db, "tasks"));
  EXPECT_THROW(db->exec("CREATE TABLE t (x)"), DatabaseError);
}

// The history listings (TaskStore::list) stay index walks in id order, never a sort of every
// matching task: at a million tasks a sort is the difference between 0.1 ms and 100 ms.
TEST_F(SchemaTest, ListingQueriesWalkAnIndexWithoutSorting) {
  auto db = open();
  const std::string select = "SELECT * FROM tasks WHERE 1";
  for (std::string where : {"", " AND agent = ?", " AND status = ?", " AND agent = ? AND status = ?",
                            " AND agent = ? AND status = ? AND created_at >= ?", " AND agent = ? AND id < ?",
                            " AND created_at >= ?"}) {
    const std::string sql = select + where + " ORDER BY id DESC LIMIT 20";
    auto plan = db->prepare("EXPLAIN QUERY PLAN " + sql);
    std::string steps;
    while (plan.step()) steps += plan.text(3) + "; ";
    EXPECT_THAT(steps, Not(HasSubstr("TEMP B-TREE"))) << sql;
    if (where.find("agent") != std::string::npos || where.find("status") != std::string::npos) {
      EXPECT_THAT(steps, HasSubstr("INDEX")) << sql;
    }
  }
}

// The text filter's shape (TaskStore::list): the trigram index is searched once, outside, newest
// first, so a listing stops at its limit; with the index inside, SQLite would search it again for
// every task the other filters let through.
TEST_F(SchemaTest, TextListingSearchesTheTrigramIndexOnceWithoutSorting) {
  auto db = open();
  const std::string select =
      "SELECT id FROM tasks_fts CROSS JOIN tasks ON tasks.id = tasks_fts.rowid WHERE tasks_fts.doc LIKE ?";
  for (std::string where : {"", " AND agent = ?", " AND status = ? AND created_at >= ?", " AND tasks_fts.rowid < ?"}) {
    const std::string sql = select + where + " ORDER BY tasks_fts.rowid DESC LIMIT 20";
    auto plan = db->prepare("EXPLAIN QUERY PLAN " + sql);
    std::vector<std::string> steps;
    while (plan.step()) steps.push_back(plan.text(3));
    ASSERT_EQ(steps.size(), 2u) << sql;
    EXPECT_THAT(steps[0], HasSubstr("tasks_fts VIRTUAL TABLE INDEX")) << sql;
    EXPECT_THAT(steps[0], HasSubstr("L0")) << sql;  // the LIKE goes to the index
    EXPECT_THAT(steps[1], HasSubstr("INTEGER PRIMARY KEY")) << sql;
  }
}

// --- Files that are not databases ----------------------------------------------------------------

void expect_corrupt_error_on_open(const std::filesystem::path& path) {
  const std::string before = read_file(path);
  for (OpenMode mode : {OpenMode::read_write, OpenMode::read_only}) {
    try {
      open_database(path, mode);
      ADD_FAILURE() << "opened a file that is not a database";
    } catch (const CorruptDatabaseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string()));
    }
  }
  EXPECT_EQ(read_file(path), before) << "a failed open changed the user's file";
}

TEST_F(SchemaTest, RandomBytesAreACorruptDatabase) {
  std::mt19937 rng(42);
  std::string bytes(64 * 1024, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  write_file(db_path(), bytes);
  expect_corrupt_error_on_open(db_path());
}

TEST_F(SchemaTest, TextFileIsACorruptDatabase) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + ": remember to buy milk\n";
  write_file(db_path(), text);
  expect_corrupt_error_on_open(db_path());
}

TEST_F(SchemaTest, DamagedPagesAreReportedNamingTheFile) {
  {
    auto db = open();
    TaskStore tasks(*db);
    for (int i = 0; i < 3000; ++i) {
      int64_t id = tasks.enqueue({.agent = "agent" + std::to_string(i % 7),
                                  .input = "task " + std::to_string(i) + " " + std::string(200, 'x')});
      tasks.claim(id);
      tasks.finish(id, "output " + std::to_string(i));
    }
  }  // the last connection closes: the WAL is checkpointed into the file and removed
  ASSERT_FALSE(std::filesystem::exists(db_path().string() + "-wal"));
  const auto size = std::filesystem::file_size(db_path());
  size_t page_size = 0;
  {
    Database db(db_path(), OpenMode::read_only);
    page_size = static_cast<size_t>(scalar(db, "PRAGMA page_size"));
  }
  const size_t pages = size / page_size;
  ASSERT_GT(pages, 100u);
  {
    std::mt19937 rng(7);
    std::string garbage(page_size * (pages / 2 - 1), '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    std::fstream f(db_path(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(page_size));  // page 2 onwards; page 1 (the header) intact
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    ASSERT_TRUE(f.good());
  }

  std::unique_ptr<Database> db;
  try {
    db = open();
  } catch (const CorruptDatabaseError& e) {  // the schema itself was hit
    EXPECT_THAT(e.what(), HasSubstr(db_path().string()));
    return;
  }
  try {
    EXPECT_NE(integrity_check(*db), "ok");
  } catch (const CorruptDatabaseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(db_path().string()));
  }
  try {
    TaskStore tasks(*db);
    tasks.list({.text = "no", .limit = 1'000'000});  // under 3 characters: reads every task
    tasks.agent_stats();
    scalar(*db, "SELECT sum(length(data)) FROM task_events");
    ADD_FAILURE() << "reading every row of a damaged file raised no error";
  } catch (const CorruptDatabaseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(db_path().string()));
  }
}

// --- Places where no database can be created ------------------------------------------------------

// A folder that is not writable. Root ignores permission bits, so when the test runs as root the
// attempt is made in a child process that first drops to an unprivileged user.
TEST_F(SchemaTest, ReadOnlyDirectoryIsRefusedNamingTheFile) {
  const auto folder = dir_.path() / "read-only";
  std::filesystem::create_directory(folder);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
  ASSERT_EQ(chmod(folder.c_str(), 0555), 0);
  const auto path = folder / "agentd.db";

  constexpr int kRefusedNamingFile = 0, kOpened = 2, kOtherError = 3, kCannotDropRoot = 77;
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(kCannotDropRoot);
    try {
      open_database(path);
      _exit(kOpened);
    } catch (const DatabaseError& e) {
      _exit(std::string(e.what()).find(path.string()) != std::string::npos ? kRefusedNamingFile : kOtherError);
    } catch (...) {
      _exit(kOtherError);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kCannotDropRoot) GTEST_SKIP() << "running as root without CAP_SETUID";
  EXPECT_EQ(WEXITSTATUS(status), kRefusedNamingFile) << "2: the database was created; 3: error without the path";
  EXPECT_TRUE(std::filesystem::is_empty(folder));
}

TEST_F(SchemaTest, MissingParentFolderIsRefusedNamingTheFile) {
  const auto path = dir_.path() / "no" / "such" / "folder" / "agentd.db";
  try {
    open_database(path);
    FAIL() << "opened a database in a folder that does not exist";
  } catch (const CorruptDatabaseError& e) {
    FAIL() << "a missing folder is not a damaged database: " << e.what();
  } catch (const DatabaseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "no"));
}

TEST_F(SchemaTest, DirectoryInPlaceOfTheFileIsRefusedNamingIt) {
  const auto path = dir_.path() / "agentd.db";
  std::filesystem::create_directory(path);
  for (OpenMode mode : {OpenMode::read_write, OpenMode::read_only}) {
    try {
      open_database(path, mode);
      ADD_FAILURE() << "opened a directory as a database";
    } catch (const DatabaseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string()));
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(path));
}

}  // namespace
}  // namespace agentd::storage
