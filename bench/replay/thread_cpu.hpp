// CPU time of a running process split by thread, from /proc/PID/stat and /proc/PID/task/*/stat:
// what the daemon's compute took (the engine's thread and the ggml workers it started) and what
// the rest of the daemon took (its overhead: fibers, HTTP, storage, signals). Linux only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::bench::replay {

// One stat line: "TID (COMM) STATE PPID ..." with utime and stime (fields 14 and 15) in ticks.
// COMM may hold spaces and parentheses (a thread names itself freely): it runs from the first
// '(' to the last ')'. nullopt for a line that is not of that shape.
struct ProcStat {
  std::string comm;
  uint64_t ticks = 0;  // utime + stime
};
std::optional<ProcStat> parse_proc_stat(std::string_view line);

struct ThreadCpu {
  pid_t tid = 0;
  std::string comm;
  double seconds = 0;
};
// The live threads of `pid` (a thread that ended is in none of them, only in the process's total).
std::vector<ThreadCpu> thread_cpu(pid_t pid);
// User + system time of the whole process so far, ended threads included; -1 if unreadable.
double process_cpu_seconds(pid_t pid);

// The rule (see core/thread_name.hpp): compute is the thread named agentd-engine, which the
// ggml workers started from it share by inheriting its name, and any thread named by a library
// rather than by agentd (a ggml threadpool naming its workers would still count as compute).
// The main thread (the agent thread, named after the executable) and every other thread whose
// name starts with "agentd" (ours, or started by one of ours and inheriting its name) are the
// daemon's overhead.
bool is_compute_thread(std::string_view comm, bool main_thread);

struct CpuSplit {
  double total_s = 0;       // the process, ended threads included
  double compute_s = 0;     // live compute threads
  double noncompute_s = 0;  // total minus compute: threads that ended count here
  std::vector<ThreadCpu> threads;  // live ones; for a difference, what each took in between
};
CpuSplit cpu_split(pid_t pid);
// What was spent between two readings of the same process (a thread absent from `before` started
// in between). Taken after the model is loaded, it leaves out loading, which runs on the main thread.
CpuSplit cpu_between(const CpuSplit& before, const CpuSplit& after, pid_t pid);

}  // namespace agentd::bench::replay
