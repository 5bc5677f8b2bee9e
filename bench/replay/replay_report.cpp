#include "replay_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "stats.hpp"

namespace agentd::bench::replay {

SystemSummary summarize(const std::string& name, const std::vector<ReplayRequest>& day, const DayRun& run, double peak_rss_mib) {
  SystemSummary s;
  s.name = name;
  s.peak_rss_mib = peak_rss_mib;
  s.waiting = run.waiting;
  s.outcomes = run.outcomes;
  std::vector<double> tpot, tool;
  std::map<int, bool> task_ok;  // task -> every request of it finished
  std::map<int, std::string> task_agent;
  long long tokens = 0;
  for (size_t i = 0; i < day.size(); ++i) {
    const ReplayRequest& r = day[i];
    const Outcome& o = run.outcomes[i];
    if (o.sent_s >= 0) tokens += o.tokens();
    if (o.failed) {
      ++s.failed;
      if (s.first_error.empty()) s.first_error = o.error;
    }
    if (o.cut) ++s.requests_cut;
    if (o.done_s >= 0) {
      ++s.requests_done;
      if (o.prompt_tokens >= 0) {
        s.prompt_tokens_sent += o.prompt_tokens;
        s.prompt_tokens_prefilled += o.prompt_tokens - std::max(0, o.cached_tokens);
      }
    }
    if (r.task >= 0) {
      task_agent.emplace(r.task, r.agent);
      task_ok[r.task] = task_ok.count(r.task) ? task_ok[r.task] && o.done_s >= 0 : o.done_s >= 0;
    }
    if (r.klass == "interactive" && o.sent_s >= 0 && !o.failed) {
      ++s.chats;
      if (o.first_s >= 0) {
        s.chat_ttft_ms.push_back((o.first_s - o.sent_s) * 1000);
      } else {
        ++s.chats_unanswered;
        s.chat_ttft_ms.push_back((run.window_s - o.sent_s) * 1000);
      }
      if (o.done_s >= 0 && o.tokens() > 1) tpot.push_back((o.done_s - o.first_s) * 1000 / (o.tokens() - 1));
    }
    if (r.klass == "tool" && o.done_s >= 0) tool.push_back((o.done_s - o.sent_s) * 1000);
  }
  for (auto& [t, ok] : task_ok) {
    s.tasks_done += ok;
    if (ok) ++s.tasks_by_agent[task_agent[t]];
  }
  s.chat_ttft_p50_ms = percentile(s.chat_ttft_ms, 50);
  s.chat_ttft_p95_ms = percentile(s.chat_ttft_ms, 95);
  s.chat_ttft_p99_ms = percentile(s.chat_ttft_ms, 99);
  s.chat_tpot_p50_ms = percentile(tpot, 50);
  s.chat_tpot_p95_ms = percentile(tpot, 95);
  s.tool_latency_p95_ms = percentile(tool, 95);
  s.tasks_per_hour = static_cast<double>(s.tasks_done) / (run.window_s / 3600);
  s.decode_tokens_per_s = static_cast<double>(tokens) / run.window_s;
  return s;
}

double batching_gain_bound(double prefilled, double decoded, double pp_per_s, double tg1_per_s, double tgn_per_s) {
  if (pp_per_s <= 0 || tg1_per_s <= 0 || tgn_per_s <= 0 || prefilled + decoded <= 0) return 0;
  const double prefill_s = prefilled / pp_per_s;
  return (prefill_s + decoded / tg1_per_s) / (prefill_s + decoded / tgn_per_s);
}

double chat_prefill_alone_p95_ms(const std::vector<ReplayRequest>& day, const SystemSummary& s, double pp_per_s) {
  std::vector<double> alone;
  for (size_t i = 0; i < day.size() && i < s.outcomes.size(); ++i) {
    const Outcome& o = s.outcomes[i];
    if (day[i].klass != "interactive" || o.failed || o.prompt_tokens < 0 || pp_per_s <= 0) continue;
    alone.push_back((o.prompt_tokens - std::max(0, o.cached_tokens)) / pp_per_s * 1000);
  }
  return percentile(alone, 95);
}

std::string median_line(const std::string& name, std::vector<double> per_round, const char* format) {
  std::erase_if(per_round, [](double v) { return !(v >= 0); });
  if (per_round.empty()) return name + " n/a";
  char buf[64];
  auto text = [&](double v) {
    std::snprintf(buf, sizeof buf, format, v);
    return std::string(buf);
  };
  std::string line = name + " " + text(percentile(per_round, 50));
  if (per_round.size() > 1) {
    line += " (median of rounds:";
    for (size_t i = 0; i < per_round.size(); ++i) line += (i == 0 ? " " : ", ") + text(per_round[i]);
    line += ")";
  }
  return line;
}

const SystemSummary* find_system(const std::vector<SystemSummary>& systems, const std::string& name) {
  for (const auto& s : systems) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<double> ratios(const std::vector<std::vector<SystemSummary>>& rounds, const std::string& a,
                           const std::string& b, double SystemSummary::*field) {
  std::vector<double> out;
  for (const auto& round : rounds) {
    const SystemSummary *x = find_system(round, a), *y = find_system(round, b);
    out.push_back(x && y && y->*field > 0 ? x->*field / y->*field : -1);
  }
  return out;
}

std::string table(const std::vector<SystemSummary>& systems) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-16s %8s %8s %8s %7s %7s %8s %9s %6s %6s %8s %17s %8s\n", "system", "ttft50", "ttft95",
                "ttft99", "tpot50", "tpot95", "tool95", "tasks/h", "fail", "cut", "tok/s", "prefilled/sent", "rss_MiB");
  out << line;
  for (const auto& s : systems) {
    std::snprintf(line, sizeof line, "%-16s %8.0f %8.0f %8.0f %7.1f %7.1f %8.0f %9.0f %6zu %6zu %8.1f %8lld/%-8lld %8.0f\n",
                  s.name.c_str(), s.chat_ttft_p50_ms, s.chat_ttft_p95_ms, s.chat_ttft_p99_ms, s.chat_tpot_p50_ms,
                  s.chat_tpot_p95_ms, s.tool_latency_p95_ms, s.tasks_per_hour, s.failed, s.requests_cut,
                  s.decode_tokens_per_s, s.prompt_tokens_prefilled, s.prompt_tokens_sent, s.peak_rss_mib);
    out << line;
  }
  out << "(ms; ttft = chat time to first token, tpot = chat time per output token after the first, tool95 = tool-class "
         "request latency p95; tasks/h = background tasks finished per hour of replay; cut = open at the window's end)\n";
  for (const auto& s : systems) {
    out << s.name << ": " << s.chats << " chats (" << s.chats_unanswered << " unanswered by the end), " << s.tasks_done
        << " tasks (";
    for (auto it = s.tasks_by_agent.begin(); it != s.tasks_by_agent.end(); ++it) {
      out << (it == s.tasks_by_agent.begin() ? "" : ", ") << it->first << ' ' << it->second;
    }
    out << "), " << s.requests_done << " requests finished";
    if (!s.first_error.empty()) out << "; first failure: " << s.first_error;
    out << "\n";
  }
  for (const auto& s : systems) {
    if (s.engine_wall_s <= 0) continue;
    const EngineTime& e = s.engine;
    const double w = s.engine_wall_s / 100;
    std::snprintf(line, sizeof line,
                  "%s engine thread: %.0f%% in steps, %.1f%% in cut steps (%llu of %llu), %.0f%% waiting for work, "
                  "%.0f%% between steps (%.1f%% copying KV states)\n",
                  s.name.c_str(), e.step_s / w, e.cut_step_s / w, static_cast<unsigned long long>(e.steps_cut),
                  static_cast<unsigned long long>(e.steps + e.steps_cut), e.idle_s / w,
                  std::max(0.0, s.engine_wall_s - e.step_s - e.cut_step_s - e.idle_s) / w, e.state_copy_s / w);
    out << line;
  }
  return out.str();
}

std::ofstream open_output(const std::filesystem::path& file) {
  std::ofstream out(file);
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return out;
}

void close_output(std::ofstream& out, const std::filesystem::path& file) {
  out.close();
  if (!out) throw std::runtime_error("writing " + file.string() + " failed");
}

void write_csv(const std::filesystem::path& file, const std::vector<SystemSummary>& systems) {
  std::ofstream out = open_output(file);
  out << "system,round,chat_ttft_p50_ms,chat_ttft_p95_ms,chat_ttft_p99_ms,chat_tpot_p50_ms,chat_tpot_p95_ms,tool_latency_p95_ms,"
         "tasks_per_hour,tasks_done,chats,chats_unanswered,requests_done,requests_cut,failed,decode_tokens_per_s,"
         "prompt_tokens_sent,prompt_tokens_prefilled,peak_rss_mib,engine_step_s,engine_cut_step_s,engine_idle_s,"
         "engine_state_copy_s,engine_wall_s\n";
  for (const auto& s : systems) {
    out << s.name << ',' << s.round << ',' << s.chat_ttft_p50_ms << ',' << s.chat_ttft_p95_ms << ',' << s.chat_ttft_p99_ms << ','
        << s.chat_tpot_p50_ms << ',' << s.chat_tpot_p95_ms << ',' << s.tool_latency_p95_ms << ',' << s.tasks_per_hour << ','
        << s.tasks_done << ',' << s.chats << ',' << s.chats_unanswered << ',' << s.requests_done << ',' << s.requests_cut
        << ',' << s.failed << ',' << s.decode_tokens_per_s << ',' << s.prompt_tokens_sent << ',' << s.prompt_tokens_prefilled
        << ',' << s.peak_rss_mib << ',' << s.engine.step_s << ',' << s.engine.cut_step_s << ',' << s.engine.idle_s << ','
        << s.engine.state_copy_s << ',' << s.engine_wall_s << '\n';
  }
  close_output(out, file);
}

void write_requests_csv(const std::filesystem::path& file, const std::vector<ReplayRequest>& day,
                        const std::vector<SystemSummary>& systems) {
  std::ofstream out = open_output(file);
  out << "system,round,request,agent,class,chain,task,max_tokens,sent_s,first_s,done_s,prompt_tokens,cached_tokens,"
         "completion_tokens,cut,failed,server_queue_ms,server_ttft_ms\n";
  for (const auto& s : systems) {
    for (size_t i = 0; i < day.size() && i < s.outcomes.size(); ++i) {
      const ReplayRequest& r = day[i];
      const Outcome& o = s.outcomes[i];
      out << s.name << ',' << s.round << ',' << i << ',' << r.agent << ',' << r.klass << ',' << r.chain << ',' << r.task << ','
          << r.max_tokens << ',' << o.sent_s << ',' << o.first_s << ',' << o.done_s << ',' << o.prompt_tokens << ','
          << o.cached_tokens << ',' << o.completion_tokens << ',' << o.cut << ',' << o.failed << ','
          << o.server_queue_ms << ',' << o.server_ttft_ms << '\n';
    }
  }
  close_output(out, file);
}

namespace {

const char* kColors[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b"};

// Left panel: chat TTFT CDF on a log-10 time axis; right panel: waiting requests over time.
void svg_panel_frame(std::ostream& o, double x0, const char* title, const char* xlabel, const char* ylabel) {
  o << "<rect x='" << x0 << "' y='40' width='400' height='300' fill='none' stroke='#333'/>\n"
    << "<text x='" << x0 + 200 << "' y='30' text-anchor='middle' font-size='14'>" << title << "</text>\n"
    << "<text x='" << x0 + 200 << "' y='375' text-anchor='middle' font-size='12'>" << xlabel << "</text>\n"
    << "<text x='" << x0 - 45 << "' y='190' font-size='12' transform='rotate(-90 " << x0 - 45 << " 190)' text-anchor='middle'>"
    << ylabel << "</text>\n";
}

}  // namespace

void write_svg(const std::filesystem::path& file, const std::vector<SystemSummary>& systems, double window_s) {
  std::ofstream o = open_output(file);
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='960' height='440' font-family='sans-serif'>\n"
    << "<rect width='960' height='440' fill='white'/>\n";
  svg_panel_frame(o, 60, "Chat time to first token (CDF)", "TTFT, ms (log scale)", "share of chats");
  svg_panel_frame(o, 540, "Requests waiting for a first token", "seconds into the replay", "requests");
  double lo = 1e9, hi = 1, qmax = 1;
  for (const auto& s : systems) {
    for (double v : s.chat_ttft_ms) lo = std::min(lo, std::max(v, 1.0)), hi = std::max(hi, v);
    for (auto& [t, n] : s.waiting) qmax = std::max(qmax, static_cast<double>(n));
  }
  const double l0 = std::floor(std::log10(std::min(lo, hi))), l1 = std::max(l0 + 1, std::ceil(std::log10(hi)));
  for (double d = l0; d <= l1; ++d) {
    const double x = 60 + (d - l0) / (l1 - l0) * 400;
    o << "<text x='" << x << "' y='356' text-anchor='middle' font-size='10'>" << std::pow(10, d) << "</text>\n";
  }
  for (int i = 0; i <= 4; ++i) {
    o << "<text x='55' y='" << 340 - i * 75 + 4 << "' text-anchor='end' font-size='10'>" << i * 0.25 << "</text>\n";
    o << "<text x='535' y='" << 340 - i * 75 + 4 << "' text-anchor='end' font-size='10'>" << std::lround(qmax * i / 4) << "</text>\n";
    o << "<text x='" << 540 + i * 100 << "' y='356' text-anchor='middle' font-size='10'>" << std::lround(window_s * i / 4) << "</text>\n";
  }
  // One colour per system; with --rounds, every round's lines in it and the legend once.
  std::vector<std::string> names;
  for (const auto& s : systems) {
    const auto at = std::find(names.begin(), names.end(), s.name);
    const size_t k = static_cast<size_t>(at - names.begin());
    const bool first = at == names.end();
    if (first) names.push_back(s.name);
    const char* c = kColors[k % 6];
    o << "<polyline fill='none' stroke='" << c << "' stroke-width='1.5' points='";
    double prev_y = 340;
    for (auto& [v, share] : cdf(s.chat_ttft_ms)) {
      const double x = 60 + (std::log10(std::max(v, 1.0)) - l0) / (l1 - l0) * 400, y = 340 - share * 300;
      o << x << ',' << prev_y << ' ' << x << ',' << y << ' ';
      prev_y = y;
    }
    o << "'/>\n<polyline fill='none' stroke='" << c << "' stroke-width='1' points='";
    for (auto& [t, n] : s.waiting) o << 540 + t / window_s * 400 << ',' << 340 - n / qmax * 300 << ' ';
    o << "'/>\n";
    if (first) o << "<text x='" << 60 + k * 210 << "' y='420' font-size='12' fill='" << c << "'>&#9632; " << s.name << "</text>\n";
  }
  o << "</svg>\n";
  close_output(o, file);
}

}  // namespace agentd::bench::replay
