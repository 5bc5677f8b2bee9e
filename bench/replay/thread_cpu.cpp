#include "thread_cpu.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "core/thread_name.hpp"

namespace agentd::bench::replay {

namespace {

double ticks_to_seconds(uint64_t ticks) { return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK)); }

std::optional<ProcStat> read_stat(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_proc_stat(text);
}

// The next space-separated field of `rest`, consumed.
std::string_view next_field(std::string_view& rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const size_t end = std::min(rest.find(' '), rest.size());
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat s;
  s.comm = std::string(line.substr(open + 1, close - open - 1));
  std::string_view rest = line.substr(close + 1);
  uint64_t utime = 0, stime = 0;
  for (int field = 3; field <= 15; ++field) {  // 3: state ... 14: utime, 15: stime
    std::string_view f = next_field(rest);
    if (f.empty()) return std::nullopt;
    if (field < 14) continue;
    uint64_t& out = field == 14 ? utime : stime;
    if (std::from_chars(f.data(), f.data() + f.size(), out).ec != std::errc{}) return std::nullopt;
  }
  s.ticks = utime + stime;
  return s;
}

std::vector<ThreadCpu> thread_cpu(pid_t pid) {
  std::vector<ThreadCpu> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    auto stat = read_stat(entry.path() / "stat");  // nullopt: the thread ended since the listing
    if (!stat) continue;
    out.push_back({static_cast<pid_t>(std::stol(entry.path().filename().string())), stat->comm, ticks_to_seconds(stat->ticks)});
  }
  return out;
}

double process_cpu_seconds(pid_t pid) {
  auto stat = read_stat("/proc/" + std::to_string(pid) + "/stat");
  return stat ? ticks_to_seconds(stat->ticks) : -1;
}

bool is_compute_thread(std::string_view comm, bool main_thread) {
  if (main_thread) return false;
  if (comm == core::thread_names::engine) return true;
  return !comm.starts_with(core::thread_names::ours);  // ours, or inherited from one of ours
}

namespace {

CpuSplit classify(std::vector<ThreadCpu> threads, double total_s, pid_t pid) {
  CpuSplit s;
  s.total_s = total_s;
  s.threads = std::move(threads);
  for (const auto& t : s.threads) {
    if (is_compute_thread(t.comm, t.tid == pid)) s.compute_s += t.seconds;
  }
  s.noncompute_s = std::max(0.0, s.total_s - s.compute_s);
  return s;
}

}  // namespace

CpuSplit cpu_split(pid_t pid) {
  // The threads first: a thread ending in between is then in the total, not missing from both.
  std::vector<ThreadCpu> threads = thread_cpu(pid);
  return classify(std::move(threads), process_cpu_seconds(pid), pid);
}

CpuSplit cpu_between(const CpuSplit& before, const CpuSplit& after, pid_t pid) {
  std::vector<ThreadCpu> spent;
  for (const auto& t : after.threads) {
    double earlier = 0;
    for (const auto& b : before.threads) {
      if (b.tid == t.tid) earlier = b.seconds;
    }
    spent.push_back({t.tid, t.comm, std::max(0.0, t.seconds - earlier)});
  }
  return classify(std::move(spent), std::max(0.0, after.total_s - before.total_s), pid);
}

}  // namespace agentd::bench::replay
