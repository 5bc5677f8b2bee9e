#include "bench/engine/cpu_noise.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

namespace agentd::bench {

CpuSnapshot cpu_snapshot() {
  CpuSnapshot s;
  s.at = std::chrono::steady_clock::now();
  std::ifstream stat("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal &&
      cpu == "cpu") {
    const double tick = double(sysconf(_SC_CLK_TCK));
    s.machine_busy = double(user + nice + system + irq + softirq) / tick;
    s.steal = double(steal) / tick;
  }
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage r{};
    getrusage(who, &r);
    s.own += double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
             double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  }
  return s;
}

CpuNoise cpu_noise(const CpuSnapshot& from, const CpuSnapshot& to) {
  CpuNoise n;
  const double capacity = std::chrono::duration<double>(to.at - from.at).count() *
                          std::max(1u, std::thread::hardware_concurrency());
  if (from.machine_busy < 0 || to.machine_busy < 0 || capacity <= 0) return n;
  const double others = (to.machine_busy - from.machine_busy) - (to.own - from.own);
  n.others = std::max(0.0, others / capacity);
  n.steal = std::max(0.0, (to.steal - from.steal) / capacity);
  return n;
}

}  // namespace agentd::bench
