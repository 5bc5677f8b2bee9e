// The official `openai` npm client (tests/clients, pinned in its package-lock.json, installed by
// scripts/setup with npm ci) against the daemon on the real test model: a tool-calling round trip
// with tool_choice "required", not streamed and streamed (tests/clients/tool_roundtrip.mjs).
// stories260K has no chat template: the daemon's chatml fallback gets agentd's generic tool
// format, whose grammar makes the output a valid call.
#include <regex>

#include "tests/runtime/daemon_fixture.hpp"

namespace agentd {
namespace {

const std::string kClients = AGENTD_CLIENTS_DIR;

class OpenAiClientTest : public DaemonTest {};

TEST_F(OpenAiClientTest, TheOfficialClientDoesAToolCallingRoundTripStreamedAndNot) {
  if (!std::filesystem::exists(kClients + "/node_modules/openai/package.json")) {
    FAIL() << "the openai client is not installed in " << kClients << ": run scripts/setup (npm ci there)";
  }
  auto daemon = start_daemon();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(startup_log_, m, std::regex("http: listening on (127\\.0\\.0\\.1:\\d+)"))) << startup_log_;
  auto r = testing::run_process({AGENTD_NODE_PATH, kClients + "/tool_roundtrip.mjs", "http://" + std::string(m[1]) + "/v1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok: called get_weather("), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace agentd
