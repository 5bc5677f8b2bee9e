// How much of the machine other processes (and the hypervisor) took during a benchmark run. On a
// 2-core host llama.cpp's threads wait for each other at every operation, so a busy neighbour
// skews figures far more than its share: a run is only worth reading when these are near zero.
#pragma once

#include <chrono>

namespace agentd::bench {

struct CpuSnapshot {
  double machine_busy = -1;  // CPU seconds all processes used since boot (/proc/stat), -1 = n/a
  double steal = -1;         // CPU seconds the hypervisor ran something else instead of us
  double own = 0;            // CPU seconds of this process and its waited-for children
  std::chrono::steady_clock::time_point at;
};
CpuSnapshot cpu_snapshot();

struct CpuNoise {
  double others = -1;  // share of all cores used by other processes between two snapshots
  double steal = -1;   // share of all cores stolen by the hypervisor
  bool noisy() const { return others > 0.05 || steal > 0.05; }
};
CpuNoise cpu_noise(const CpuSnapshot& from, const CpuSnapshot& to);

}  // namespace agentd::bench
