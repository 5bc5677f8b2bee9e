// agentd: the command line, the daemon (`agentd run`) among its commands. Wiring only: each
// command group lives in its own file (cli_*.cpp) and registers itself here.
#include <cstdio>

#include "runtime/cli.hpp"
#include "storage/database.hpp"

int main(int argc, char** argv) {
  using namespace agentd::runtime;
  CLI::App app{"agentd — a local-first agent runtime: agents share one language model through a priority scheduler",
               "agentd"};
  app.set_version_flag("--version", "agentd 0.1.0");
  app.require_subcommand(1);
  CliGlobals globals;
  app.add_option("--db", globals.db, "Database file (default: DATA/agentd.db, where DATA is $AGENTD_HOME, else $XDG_DATA_HOME/agentd, else ~/.local/share/agentd)")
      ->envname("AGENTD_DB");

  add_daemon_commands(app, globals);
  add_agents_commands(app, globals);
  add_status_command(app, globals);
  add_chat_command(app, globals);
  add_history_commands(app, globals);
  add_memory_commands(app, globals);
  add_db_commands(app, globals);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const CliError& e) {
    std::fprintf(stderr, "agentd: %s\n", e.what());
    return e.exit_code();
  } catch (const agentd::storage::DatabaseError& e) {
    std::fprintf(stderr, "agentd: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentd: %s\n", e.what());
    return 1;
  }
  return 0;
}
