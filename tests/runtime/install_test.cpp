// `cmake --install` gives a daemon that runs without the build tree: the prefix is installed, then
// moved (so no absolute path of the install or of the build can be what makes it work), and the
// daemon started from it must load llama.cpp and its CPU variant from the moved prefix, answer a
// request, and say which CPU backend it computes with.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <fstream>
#include <regex>
#include <set>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

namespace fs = std::filesystem;

// The files of shared libraries mapped into process `pid`.
std::set<fs::path> mapped_libraries(long pid) {
  std::set<fs::path> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find(".so", slash) != std::string::npos) out.insert(line.substr(slash));
  }
  return out;
}

bool is_llama_library(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.starts_with("libllama") || name.starts_with("libggml");
}

class InstallTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    auto r = testing::run_process({AGENTD_CMAKE_COMMAND, "--install", AGENTD_BUILD_DIR, "--prefix", (dir_ / "staged").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    fs::rename(dir_ / "staged", prefix_);
    ::setenv("AGENTD_BINARY", (prefix_ / "bin" / "agentd").c_str(), 1);
  }
  void TearDown() override { ::unsetenv("AGENTD_BINARY"); }

  const fs::path prefix_ = dir_ / "moved";
};

TEST_F(InstallTest, AMovedInstallRunsOnItsOwnLibrariesAndAnswers) {
  ASSERT_TRUE(fs::is_regular_file(prefix_ / "bin" / "agentd"));
  auto daemon = start_daemon();

  const json status = agentd_json({"status", "--json"});
  ASSERT_TRUE(status.contains("daemon")) << "the installed CLI does not see the running daemon: " << status.dump(2);
  const long pid = status["daemon"]["pid"];
  const std::string backend = status["daemon"]["engine"]["cpu_backend"];
  EXPECT_FALSE(backend.empty());

  std::set<fs::path> llama_libraries;
  for (const auto& lib : mapped_libraries(pid)) {
    if (is_llama_library(lib)) llama_libraries.insert(lib);
  }
  if (AGENTD_INSTALLS_LLAMA) {
    const fs::path libdir = fs::weakly_canonical(prefix_ / "lib" / "agentd");
    EXPECT_TRUE(llama_libraries.count(libdir / ("libggml-cpu-" + backend + ".so")))
        << "the CPU variant named in status is not the installed one";
    EXPECT_GE(llama_libraries.size(), 4u) << "llama, ggml, ggml-base and a CPU variant";
    for (const auto& lib : llama_libraries) {
      EXPECT_EQ(lib.parent_path(), libdir) << lib << " is loaded from outside the installed prefix";
    }
  } else {
    EXPECT_TRUE(llama_libraries.empty()) << "a build without CPU variants links llama.cpp statically";
  }

  std::smatch m;
  ASSERT_TRUE(std::regex_search(startup_log_, m, std::regex("http: listening on 127\\.0\\.0\\.1:(\\d+)"))) << startup_log_;
  httplib::Client client("127.0.0.1", std::stoi(m[1]));
  client.set_read_timeout(120, 0);
  const json request = {{"model", "default"}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}}, {"max_tokens", 4}};
  auto res = client.Post("/v1/chat/completions", request.dump(), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["usage"]["completion_tokens"], 4) << res->body;

  daemon->signal(SIGTERM);
  EXPECT_EQ(exit_code(daemon->wait()), 0);
}

}  // namespace
}  // namespace agentd
