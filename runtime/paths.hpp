// Where agentd keeps its files when the user does not say.
#pragma once

#include <filesystem>

namespace agentd::runtime {

// $AGENTD_HOME, else $XDG_DATA_HOME/agentd, else ~/.local/share/agentd.
std::filesystem::path default_data_dir();
// <data dir>/agentd.db
std::filesystem::path default_db_path();

}  // namespace agentd::runtime
