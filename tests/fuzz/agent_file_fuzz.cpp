// An agents.d/<name>.json file, read as the daemon reads it at start and on SIGHUP:
// read_agent_file() with every shipped plugin registered, so each plugin's "settings" check runs
// too. Documented failure: ConfigError (the agent is disabled with that message); anything else
// escaping is a finding.
#include <cstddef>
#include <cstdint>

#include "agents/registry.hpp"
#include "runtime/agent_config_file.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

// The folders the shipped agent files (the seed corpus) name, relative to agents.d, so that a
// seed gets past its folder checks into its plugin's settings.
void make_seed_folders(const std::filesystem::path& root) {
  for (const char* folder : {"agents/calendar/samples", "agents/evaluator/samples", "agents/extractor/samples",
                             "agents/mail/samples", "agents/market/samples/prices", "agents/news/samples",
                             "agents/risk/samples", "agents/summarizer/samples/inbox"}) {
    std::filesystem::create_directories(root / folder);
  }
  for (const char* agent : {"calendar", "coder", "digest", "drafter", "evaluator", "extractor", "mail", "market",
                            "news", "risk", "summarizer"}) {
    std::filesystem::create_directories(root / "var" / agent);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd;
  static const agents::Registry registry = agents::builtin_plugins();
  static const runtime::AgentsOptions options = [] {
    runtime::AgentsOptions o;
    o.dir = fuzz::scratch_dir() / "agents.d";
    o.roots = {fuzz::scratch_dir()};
    make_seed_folders(fuzz::scratch_dir());
    return o;
  }();
  const auto file = options.dir / "fuzzed.json";
  fuzz::write_file(file, fuzz::as_text(data, size));
  try {
    (void)runtime::read_agent_file(file, options, registry);
  } catch (const agents::ConfigError&) {
  }
  return 0;
}
