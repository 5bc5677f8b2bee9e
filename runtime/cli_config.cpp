// Reading agentd.json for the commands that need it (run, submit, agents, status).
#include "runtime/cli.hpp"
#include "runtime/config.hpp"

namespace agentd::runtime {

void add_config_args(CLI::App* command, ConfigArgs& args) {
  command->add_option("--config,-c", args.config, "Settings file (default: agentd.json in the data directory, if present)");
  command->add_option("--agents", args.agents_dir, "Folder of agent definitions (default: DATA/agents.d)")
      ->envname("AGENTD_AGENTS");
}

DaemonOptions load_daemon_options(const CliGlobals& g, const ConfigArgs& args) {
  DaemonOptions o;
  o.engine.chat_template = "chatml";
  o.db_path = g.db_path();
  std::filesystem::path data_dir = o.db_path.has_parent_path() ? o.db_path.parent_path() : ".";
  std::filesystem::path config = args.config;
  if (config.empty() && std::filesystem::exists(data_dir / "agentd.json")) config = data_dir / "agentd.json";
  if (!config.empty()) apply_config_file(config, o);
  if (!args.agents_dir.empty()) o.agents.dir = std::filesystem::absolute(args.agents_dir);
  o.agents = with_defaults(o.agents, data_dir);
  return o;
}

}  // namespace agentd::runtime
