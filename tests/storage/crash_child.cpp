// storage_crash_child DBPATH SEED
//
// A writer for the crash and concurrent-reader tests. Loops until killed: enqueues a task, claims
// it, adds events, then finishes, fails, cancels or leaves it running (decided by SEED). After each
// commit it writes one line to stdout, in a single write(2), so the parent knows exactly what is
// committed:
//   <id> <status>      the task is committed in that status
//   <id> event <n>     the task's n-th `log` event is committed
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <random>
#include <string>

#include "storage/schema.hpp"
#include "storage/task_store.hpp"

namespace {

using agentd::storage::TaskStatus;

void report(const std::string& line) {
  std::string out = line + "\n";
  if (write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
    std::perror("storage_crash_child: write");
    _exit(3);
  }
}

void report(int64_t id, TaskStatus status) {
  report(std::to_string(id) + " " + std::string(agentd::storage::to_string(status)));
}

[[noreturn]] void refused(const char* op, int64_t id) {
  std::fprintf(stderr, "storage_crash_child: %s of task %lld was refused\n", op, static_cast<long long>(id));
  std::exit(2);
}

void run(const char* path, uint64_t seed) {
  using namespace agentd::storage;
  auto db = open_database(path);
  TaskStore tasks(*db);
  std::mt19937_64 rng(seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  const char* agents[] = {"mail", "news", "digest", "backup"};
  for (uint64_t i = 0;; ++i) {
    NewTask t{.agent = agents[rng() % 4],
              .priority = static_cast<agentd::core::Priority>(rng() % 3),
              .input = "seed " + std::to_string(seed) + " task " + std::to_string(i)};
    int64_t id = tasks.enqueue(t);
    report(id, TaskStatus::queued);
    if (chance(10)) {
      if (!tasks.cancel(id, "changed my mind")) refused("cancel", id);
      report(id, TaskStatus::cancelled);
      continue;
    }
    if (chance(10)) continue;  // left queued
    if (!tasks.claim(id)) refused("claim", id);
    report(id, TaskStatus::running);
    const int events = static_cast<int>(rng() % 4);
    for (int n = 1; n <= events; ++n) {
      tasks.add_event(id, agentd::storage::event::log, {{"n", n}});
      report(std::to_string(id) + " event " + std::to_string(n));
    }
    const int outcome = static_cast<int>(rng() % 10);
    if (outcome < 6) {
      if (!tasks.finish(id, "output of " + t.input)) refused("finish", id);
      report(id, TaskStatus::finished);
    } else if (outcome < 8) {
      if (!tasks.fail(id, "error of " + t.input)) refused("fail", id);
      report(id, TaskStatus::failed);
    } else if (outcome == 8) {
      if (!tasks.cancel(id, "deadline")) refused("cancel", id);
      report(id, TaskStatus::cancelled);
    }  // else: left running, as a task is when the daemon dies
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: storage_crash_child DBPATH SEED\n");
    return 64;
  }
  try {
    run(argv[1], std::stoull(argv[2]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_crash_child: %s\n", e.what());
    return 1;
  }
}
