// A copy of the checkout's default configuration in a temp folder: the twelve shipped agents of
// agents.d/ and the sample inputs under agents/*/samples, laid out as in the checkout (agents.d/
// next to agents/), so the agents' relative folders resolve the same way and their outputs land
// in the copy's var/. For tests that run the daemon on what a user gets out of the box.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {

class ShippedAgentsTest : public DaemonTest {
 protected:
  void SetUp() override {  // not the fixture's two prompt agents: the shipped ones
    namespace fs = std::filesystem;
    fs::path source = AGENTD_SOURCE_DIR;
    checkout_ = dir_ / "checkout";
    fs::create_directories(checkout_ / "agents.d");
    for (const auto& entry : fs::directory_iterator(source / "agents.d")) {
      if (entry.path().extension() != ".json") continue;
      fs::copy_file(entry.path(), checkout_ / "agents.d" / entry.path().filename());
      shipped_.insert(entry.path().stem().string());
    }
    for (const auto& entry : fs::directory_iterator(source / "agents")) {
      if (!fs::is_directory(entry.path() / "samples")) continue;
      fs::path to = checkout_ / "agents" / entry.path().filename() / "samples";
      fs::create_directories(to);
      fs::copy(entry.path() / "samples", to, fs::copy_options::recursive);
    }
  }

  std::string agents_dir() const { return (checkout_ / "agents.d").string(); }

  std::filesystem::path checkout_;
  std::set<std::string> shipped_;
};

}  // namespace agentd
