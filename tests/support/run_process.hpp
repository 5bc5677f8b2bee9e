// Runs a program to completion and captures its exit code, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace agentd::testing {

struct ProcessResult {
  int exit_code = -1;  // or 128 + signal when killed by one
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});

}  // namespace agentd::testing
