// What a replay measured on one system, and the report: a table on stdout, a CSV, and an SVG
// chart (chat TTFT distribution per system; requests waiting for a first token over time).
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "daemon_metrics.hpp"
#include "replay_client.hpp"
#include "replay_trace.hpp"

namespace agentd::bench::replay {

struct SystemSummary {
  std::string name;
  int round = 1;  // with --rounds: which round of the run
  double chat_ttft_p50_ms = 0, chat_ttft_p95_ms = 0, chat_ttft_p99_ms = 0;
  double chat_tpot_p50_ms = 0, chat_tpot_p95_ms = 0;
  double tool_latency_p95_ms = 0;
  double tasks_per_hour = 0;
  std::map<std::string, size_t> tasks_by_agent;  // the tasks_done by the agent whose task it was
  size_t tasks_done = 0, chats = 0, chats_unanswered = 0, requests_done = 0, requests_cut = 0, failed = 0;
  double decode_tokens_per_s = 0;
  long long prompt_tokens_sent = 0, prompt_tokens_prefilled = 0;
  double peak_rss_mib = 0;
  // agentd only: where its engine thread's time went over the day (wall seconds of the day in
  // engine_wall_s; 0 for a system without the daemon's /metrics).
  EngineTime engine;
  double engine_wall_s = 0;
  std::vector<double> chat_ttft_ms;                  // for the CDF (unanswered chats: their wait so far)
  std::vector<std::pair<double, int>> waiting;       // from the run
  std::vector<Outcome> outcomes;                     // one per request of the day (requests.csv)
  std::string first_error;
};

// A chat that got no first token before the window ended counts with the time it had waited:
// a lower bound, so a system that starves chats cannot look good by dropping them.
SystemSummary summarize(const std::string& name, const std::vector<ReplayRequest>& day, const DayRun& run, double peak_rss_mib);

// The most batching can buy on a day's work, from llama-batched-bench's rates on this host: the
// work (prompt tokens prefilled, tokens decoded) timed with prefill at one sequence's rate either
// way (a compute-bound prefill gains nothing from company) and decode at 1 vs N sequences' rates:
// (P/pp + D/tg1) / (P/pp + D/tgN). It is tgN/tg1 for a day of decode only and 1 for a day of
// prefill only; 0 when a rate is missing. The goal (0.9 x tgN/tg1) assumes the former.
double batching_gain_bound(double prefilled, double decoded, double pp_per_s, double tg1_per_s, double tgn_per_s);

// A run's chats each timed as their own prefill alone: the prompt tokens the server did not have
// cached (usage prompt - cached) at `pp_per_s`, llama-batched-bench's one-sequence prefill rate,
// as if each chat found the engine idle the moment it was sent (no wait, no other work, no
// HTTP). The p95 of that is the lowest chat TTFT p95 any scheduling could give on this day with
// the prefixes this run reused. Chats without usage (unanswered, failed) are left out; NaN when
// no chat is left or the rate is missing.
double chat_prefill_alone_p95_ms(const std::vector<ReplayRequest>& day, const SystemSummary& s, double pp_per_s);

// One figure of the report's last lines, per round of a run: "name median", and with several
// rounds every round's value after it, "(median of rounds: a, b, c)". Values that are negative or
// NaN (a system missing, a figure n/a) are left out; "name n/a" when none is left.
std::string median_line(const std::string& name, std::vector<double> per_round, const char* format = "%.3f");
// The system of that name in a run's (or a round's) summaries; null if it did not run.
const SystemSummary* find_system(const std::vector<SystemSummary>& systems, const std::string& name);
// a's field / b's, per round (both from the same round, so a ratio carries minutes of drift, not
// the run's); -1 for a round without either system or where b's figure is not positive.
std::vector<double> ratios(const std::vector<std::vector<SystemSummary>>& rounds, const std::string& a,
                           const std::string& b, double SystemSummary::*field);

std::string table(const std::vector<SystemSummary>& systems);
// A file the report goes to, opened for writing, and its end: each throws naming the file when it
// cannot be written (a run of a quarter of an hour must not end with "written" and nothing there).
std::ofstream open_output(const std::filesystem::path& file);
void close_output(std::ofstream& out, const std::filesystem::path& file);
void write_csv(const std::filesystem::path& file, const std::vector<SystemSummary>& systems);
// Every request of the day on every system, one row each: what it was (agent, class, chain, task)
// and what happened to it (times, tokens prompted, cached and completed, cut or failed), so two
// systems can be compared request by request.
void write_requests_csv(const std::filesystem::path& file, const std::vector<ReplayRequest>& day,
                        const std::vector<SystemSummary>& systems);
void write_svg(const std::filesystem::path& file, const std::vector<SystemSummary>& systems, double window_s);

}  // namespace agentd::bench::replay
