// FileAccess: an agent's reads and writes stay inside its folders, whatever paths and symbolic
// links it is handed. Real files in a TempDir. The tests run as root, so nothing here relies on a
// permission denial: every refusal must come from FileAccess itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "agents/file_access.hpp"
#include "agents_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FileAccessTest : public ::testing::Test {
 protected:
  FileAccessTest() {
    for (const auto& d : {read, other, write, outside}) fs::create_directories(d);
  }

  // Runs `f`, expects FileAccessError, returns its message.
  template <typename F>
  std::string refusal(F&& f) {
    try {
      f();
    } catch (const FileAccessError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected FileAccessError";
    return "";
  }

  std::vector<std::string> names_in(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  agentd::testing::TempDir dir;
  const fs::path root = fs::canonical(dir.path());
  const fs::path read = root / "read";
  const fs::path other = root / "other";
  const fs::path write = root / "write";
  const fs::path outside = root / "outside";
  FileAccess files{{read, other}, {write}, 1 << 20};
};

TEST_F(FileAccessTest, RelativePathsResolveAgainstTheFirstFolderOfTheirKind) {
  write_file(read / "a.txt", "from read");
  write_file(other / "a.txt", "from other");
  write_file(write / "a.txt", "from write");

  EXPECT_EQ(files.resolve_read("a.txt"), read / "a.txt");
  EXPECT_EQ(files.read_text("a.txt"), "from read");
  EXPECT_EQ(files.resolve_write("a.txt"), write / "a.txt");

  EXPECT_EQ(files.write_text("new.txt", "written"), write / "new.txt");
  EXPECT_EQ(read_file(write / "new.txt"), "written");
  EXPECT_FALSE(fs::exists(read / "new.txt"));

  // Without read folders, a relative read is taken from the first write folder (also readable).
  FileAccess write_only({}, {write}, 1 << 20);
  EXPECT_EQ(write_only.read_text("a.txt"), "from write");
}

TEST_F(FileAccessTest, AbsolutePathsInsideAnyFolderAreAllowed) {
  write_file(other / "b.txt", "b");
  write_file(write / "w.txt", "w");
  EXPECT_EQ(files.read_text(other / "b.txt"), "b");
  EXPECT_EQ(files.read_text(write / "w.txt"), "w");  // write folders are readable too
}

TEST_F(FileAccessTest, DotDotIsRefusedEvenWhenItWouldStayInside) {
  write_file(read / "a.txt", "a");
  fs::create_directories(read / "sub");
  fs::create_directories(write / "sub");

  std::string message = refusal([&] { files.read_text("sub/../a.txt"); });
  EXPECT_THAT(message, HasSubstr("sub/../a.txt"));
  EXPECT_THAT(message, HasSubstr("'..'"));
  EXPECT_THAT(refusal([&] { files.read_text(read / "sub" / ".." / "a.txt"); }), HasSubstr("'..'"));
  EXPECT_THAT(refusal([&] { files.list("sub/.."); }), HasSubstr("'..'"));

  EXPECT_THAT(refusal([&] { files.write_text("sub/../x.txt", "x"); }), HasSubstr("sub/../x.txt"));
  EXPECT_THAT(refusal([&] { files.append_text("sub/../x.txt", "x"); }), HasSubstr("'..'"));
  EXPECT_FALSE(fs::exists(write / "x.txt"));
}

TEST_F(FileAccessTest, AbsolutePathOutsideIsRefused) {
  write_file(outside / "secret.txt", "secret");
  const fs::path secret = outside / "secret.txt";

  std::string message = refusal([&] { files.read_text(secret); });
  EXPECT_THAT(message, HasSubstr(secret.string()));
  EXPECT_THAT(message, HasSubstr("outside"));
  EXPECT_THAT(refusal([&] { files.list(outside); }), HasSubstr(outside.string()));
  // A sibling whose name merely starts with an allowed folder's name is outside too.
  write_file(root / "readx" / "c.txt", "c");
  EXPECT_THAT(refusal([&] { files.read_text(root / "readx" / "c.txt"); }), HasSubstr("readx"));

  EXPECT_THAT(refusal([&] { files.write_text(outside / "new.txt", "x"); }), HasSubstr((outside / "new.txt").string()));
  EXPECT_THAT(refusal([&] { files.append_text(outside / "new.txt", "x"); }), HasSubstr("new.txt"));
  EXPECT_FALSE(fs::exists(outside / "new.txt"));
}

TEST_F(FileAccessTest, SymlinkInAReadFolderLeadingOutsideIsRefusedAndNotListed) {
  write_file(outside / "secret.txt", "secret");
  write_file(read / "plain.txt", "plain");
  fs::create_symlink(outside / "secret.txt", read / "link.txt");
  fs::create_directory_symlink(outside, read / "linked_dir");

  std::string message = refusal([&] { files.read_text("link.txt"); });
  EXPECT_THAT(message, HasSubstr("link.txt"));
  EXPECT_THAT(message, HasSubstr("refused"));
  EXPECT_THAT(refusal([&] { files.read_text("linked_dir/secret.txt"); }), HasSubstr("linked_dir/secret.txt"));
  EXPECT_THAT(refusal([&] { files.list("linked_dir"); }), HasSubstr("linked_dir"));

  EXPECT_THAT(files.list(read), ElementsAre(read / "plain.txt"));
  EXPECT_THAT(files.list("."), ElementsAre(read / "plain.txt"));
}

TEST_F(FileAccessTest, SymlinkIntoAnotherAllowedFolderIsFollowed) {
  write_file(other / "b.txt", "from other");
  fs::create_symlink(other / "b.txt", read / "link.txt");
  fs::create_directory_symlink(other, read / "other_dir");

  EXPECT_EQ(files.read_text("link.txt"), "from other");
  EXPECT_EQ(files.resolve_read("link.txt"), other / "b.txt");
  EXPECT_EQ(files.read_text("other_dir/b.txt"), "from other");
  EXPECT_THAT(files.list(read), ElementsAre(read / "link.txt"));
}

TEST_F(FileAccessTest, ListReturnsMatchingRegularFilesSorted) {
  write_file(read / "b.md", "b");
  write_file(read / "a.md", "a");
  write_file(read / "c.txt", "c");
  write_file(read / ".hidden.md", "h");
  fs::create_directories(read / "folder.md");

  EXPECT_THAT(files.list(read, "*.md"), ElementsAre(read / "a.md", read / "b.md"));
  EXPECT_THAT(files.list(read), ElementsAre(read / "a.md", read / "b.md", read / "c.txt"));
  EXPECT_THAT(files.list(other), IsEmpty());
  EXPECT_THAT(refusal([&] { files.list("a.md"); }), HasSubstr("not a folder"));
}

TEST_F(FileAccessTest, ListSkipsADanglingLink) {
  // A broken link is not a regular file: it is skipped, it does not make the listing fail.
  fs::create_symlink(read / "gone.md", read / "dangling.md");
  EXPECT_THAT(files.list(read), IsEmpty());
  write_file(read / "a.md", "a");
  EXPECT_THAT(files.list(read), ElementsAre(read / "a.md"));
}

TEST_F(FileAccessTest, WriteThroughASymlinkAtTheFinalComponentIsRefused) {
  write_file(outside / "target.txt", "original");
  write_file(write / "inside.txt", "inside original");
  fs::create_symlink(outside / "target.txt", write / "out_link.txt");
  fs::create_symlink(write / "inside.txt", write / "in_link.txt");  // even one that stays inside
  fs::create_symlink(outside / "new.txt", write / "dangling.txt");

  for (const char* name : {"out_link.txt", "in_link.txt", "dangling.txt"}) {
    SCOPED_TRACE(name);
    std::string message = refusal([&] { files.write_text(name, "overwritten"); });
    EXPECT_THAT(message, HasSubstr(name));
    EXPECT_THAT(message, HasSubstr("symbolic link"));
    EXPECT_THAT(refusal([&] { files.append_text(name, "appended"); }), HasSubstr(name));
    EXPECT_TRUE(fs::is_symlink(write / name));
  }
  EXPECT_EQ(read_file(outside / "target.txt"), "original");
  EXPECT_EQ(read_file(write / "inside.txt"), "inside original");
  EXPECT_FALSE(fs::exists(outside / "new.txt"));
  EXPECT_EQ(fs::read_symlink(write / "out_link.txt"), outside / "target.txt");
}

TEST_F(FileAccessTest, WriteIntoASymlinkedSubfolderLeadingOutsideIsRefused) {
  fs::create_directory_symlink(outside, write / "sub");

  std::string message = refusal([&] { files.write_text("sub/x.txt", "x"); });
  EXPECT_THAT(message, HasSubstr("sub/x.txt"));
  EXPECT_THAT(message, HasSubstr("outside"));
  EXPECT_THAT(refusal([&] { files.append_text("sub/x.txt", "x"); }), HasSubstr("sub/x.txt"));
  EXPECT_THAT(refusal([&] { files.write_text("sub/deeper/x.txt", "x"); }), HasSubstr("sub/deeper/x.txt"));
  EXPECT_THAT(names_in(outside), IsEmpty());
}

// Issue #14: a write folder that was a real folder at load but is a link leading outside when a
// task runs (swapped) must not move the agent's writes there: the folder's real path is checked
// when FileAccess is made, not just taken.
TEST_F(FileAccessTest, AWriteFolderSwappedForALinkLeadingOutsideIsRefusedAtWriteTime) {
  const fs::path swapped = root / "swapped";
  fs::create_directory_symlink(outside, swapped);
  FileAccess task_files({}, {swapped}, 1 << 20);  // as a task makes it, from the folders loaded

  EXPECT_THAT(refusal([&] { task_files.write_text("x.md", "x"); }), HasSubstr("x.md"));
  EXPECT_THAT(refusal([&] { task_files.append_text("x.md", "x"); }), HasSubstr("x.md"));
  EXPECT_THAT(refusal([&] { task_files.write_text(swapped / "y.md", "y"); }), HasSubstr("y.md"));
  EXPECT_THAT(names_in(outside), IsEmpty());
}

// Issue #14: a dangling link as the write folder, pointing outside; once its target exists
// (created by anyone) the writes would land outside.
TEST_F(FileAccessTest, ADanglingWriteFolderLinkIsRefusedBeforeAndAfterItsTargetExists) {
  const fs::path link = root / "out";
  fs::create_directory_symlink(outside / "new", link);
  FileAccess before({}, {link}, 1 << 20);
  EXPECT_THAT(refusal([&] { before.write_text("x.md", "x"); }), HasSubstr("x.md"));

  fs::create_directories(outside / "new");
  FileAccess after({}, {link}, 1 << 20);
  EXPECT_THAT(refusal([&] { after.write_text("x.md", "x"); }), HasSubstr("x.md"));
  EXPECT_THAT(refusal([&] { after.read_text("x.md"); }), HasSubstr("x.md"));
  EXPECT_THAT(names_in(outside / "new"), IsEmpty());
}

// Issue #14: "file confinement falls back to a lexical compare when a path cannot be resolved".
// A path whose real path cannot be found (here a link loop) is refused by FileAccess with the
// reason, not judged by its name and left to fail later somewhere else.
TEST_F(FileAccessTest, APathThatCannotBeResolvedIsRefusedNotComparedByName) {
  fs::create_directory_symlink(write / "loop", write / "loop");
  std::string message = refusal([&] { files.write_text("loop/x.txt", "x"); });
  EXPECT_THAT(message, HasSubstr("loop/x.txt"));
  EXPECT_THAT(message, HasSubstr("cannot be resolved"));
  EXPECT_THAT(refusal([&] { files.resolve_read(write / "loop" / "x.txt"); }), HasSubstr("cannot be resolved"));
  EXPECT_THAT(refusal([&] { files.append_text("loop/deeper/x.txt", "x"); }), HasSubstr("cannot be resolved"));
}

TEST_F(FileAccessTest, WritesAreRefusedInReadOnlyFolders) {
  write_file(read / "a.txt", "original");
  std::string message = refusal([&] { files.write_text(read / "a.txt", "changed"); });
  EXPECT_THAT(message, HasSubstr((read / "a.txt").string()));
  EXPECT_THAT(message, HasSubstr("write folders"));
  EXPECT_THAT(refusal([&] { files.append_text(read / "a.txt", "more"); }), HasSubstr("a.txt"));
  EXPECT_THAT(refusal([&] { files.write_text(other / "new.txt", "x"); }), HasSubstr("new.txt"));
  EXPECT_EQ(read_file(read / "a.txt"), "original");
  EXPECT_FALSE(fs::exists(other / "new.txt"));

  FileAccess read_only({read}, {}, 1 << 20);
  EXPECT_THAT(refusal([&] { read_only.write_text("b.txt", "x"); }), HasSubstr("no write folder"));
  EXPECT_FALSE(fs::exists(read / "b.txt"));
}

TEST_F(FileAccessTest, WriteTextReplacesTheFileAtomically) {
  write_file(write / "out.md", "an older and much longer content\n");
  EXPECT_EQ(files.write_text("out.md", "new"), write / "out.md");
  EXPECT_EQ(read_file(write / "out.md"), "new");
  EXPECT_EQ(files.write_text("out.md", ""), write / "out.md");
  EXPECT_EQ(read_file(write / "out.md"), "");
  EXPECT_EQ(files.write_text("out.md", "final"), write / "out.md");
  EXPECT_EQ(read_file(write / "out.md"), "final");
  EXPECT_THAT(names_in(write), ElementsAre("out.md"));  // no temporary file left behind
  EXPECT_THAT(refusal([&] { files.write_text("folder/", "x"); }), HasSubstr("folder/"));
}

TEST_F(FileAccessTest, WriteCreatesMissingSubfoldersInsideTheWriteFolder) {
  EXPECT_EQ(files.write_text("a/b/c.txt", "deep"), write / "a" / "b" / "c.txt");
  EXPECT_EQ(read_file(write / "a" / "b" / "c.txt"), "deep");
  EXPECT_EQ(files.append_text("d/e.log", "line\n"), write / "d" / "e.log");
  EXPECT_EQ(read_file(write / "d" / "e.log"), "line\n");
  EXPECT_THAT(names_in(write / "a" / "b"), ElementsAre("c.txt"));
}

TEST_F(FileAccessTest, AppendTextAppends) {
  EXPECT_EQ(files.append_text("log.txt", "one\n"), write / "log.txt");
  EXPECT_EQ(files.append_text("log.txt", "two\n"), write / "log.txt");
  EXPECT_EQ(read_file(write / "log.txt"), "one\ntwo\n");
  write_file(write / "existing.txt", "start|");
  files.append_text(write / "existing.txt", "end");
  EXPECT_EQ(read_file(write / "existing.txt"), "start|end");
}

TEST_F(FileAccessTest, ReadOverMaxBytesIsRefusedWithSizeAndLimit) {
  FileAccess small({read}, {}, 10);
  write_file(read / "ten.txt", "0123456789");
  write_file(read / "eleven.txt", "0123456789A");

  EXPECT_EQ(small.read_text("ten.txt"), "0123456789");
  std::string message = refusal([&] { small.read_text("eleven.txt"); });
  EXPECT_THAT(message, HasSubstr("eleven.txt"));
  EXPECT_THAT(message, HasSubstr("11 bytes"));
  EXPECT_THAT(message, HasSubstr("limit of 10"));
}

TEST_F(FileAccessTest, MissingFilesAndFoldersAreNamed) {
  EXPECT_THAT(refusal([&] { files.read_text("missing.txt"); }), HasSubstr("missing.txt: no such file"));
  fs::create_directories(read / "folder");
  EXPECT_THAT(refusal([&] { files.read_text("folder"); }), HasSubstr("folder: not a regular file"));
}

}  // namespace
}  // namespace agentd::agents
