// The names agentd gives its threads, as `top -H`, `ps -L -p PID` and /proc/PID/task/*/comm show
// them, so a user (and bench/replay) can tell where CPU time goes: the engine's compute thread
// apart from the daemon's own overhead. Linux keeps 15 characters of a name.
//
// The agent thread (the fibers: dispatcher, tasks, triggers) is the main thread and keeps the
// process's name, "agentd", so `pgrep agentd` and the service manager see the daemon as before.
// A thread inherits the name of the thread that started it (Linux copies it at clone): the ggml
// workers (OpenMP) that llama.cpp starts from the engine's thread are named agentd-engine too, and
// spdlog's log flusher, started from the main thread, shows as "agentd".
#pragma once

namespace agentd::core {

namespace thread_names {
inline constexpr char ours[] = "agentd";  // every name starts with it (the main thread's too)
inline constexpr char engine[] = "agentd-engine";      // engine/inference_loop: every llama.cpp call
inline constexpr char http_accept[] = "agentd-accept";  // runtime/http_server: accepts connections
inline constexpr char http_worker[] = "agentd-http";    // runtime/http_workers: serves a request
inline constexpr char http_idle[] = "agentd-httpidle";  // runtime/http_connections: keep-alive epoll
inline constexpr char signals[] = "agentd-signals";     // runtime/daemon: SIGTERM, SIGINT, SIGHUP
inline constexpr char blocking[] = "agentd-blocking";   // scheduler/blocking_pool: agents' blocking calls
inline constexpr char cloud[] = "agentd-cloud";         // engine/openai_engine: one remote request
}  // namespace thread_names

// Names the calling thread (cut to 15 characters). Best effort: a name is for people and tools,
// so a platform without thread names leaves it as it was.
void name_this_thread(const char* name);

}  // namespace agentd::core
