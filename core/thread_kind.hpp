// Whether the calling thread runs fibers. A thread that runs none (an HTTP worker) marks itself
// once; code that waits for another thread may then block the whole thread on a
// std::condition_variable. Every other thread (the agent thread, the engine's, a test's) waits
// fiber-aware, as a thread running fibers must: blocking it would stop its other fibers.
//
// Why it matters (engine/generation_stream.hpp): a boost::fibers condition variable wakes a plain
// thread while holding its spinlock. On a machine with as many compute threads as cores the woken
// reader preempted the engine's thread inside that wake, then spun on the same spinlock when it
// came back to wait for the next token; the engine lost ~1 ms per token streamed over HTTP.
#pragma once

namespace agentd::core {

inline thread_local bool thread_runs_no_fibers = false;

inline void mark_thread_without_fibers() { thread_runs_no_fibers = true; }

}  // namespace agentd::core
