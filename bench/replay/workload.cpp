#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "agent_work.hpp"

namespace agentd::bench::replay {

using nlohmann::json;

namespace {

constexpr double kCharsPerToken = 4.0;  // English on a 32k SentencePiece vocabulary, roughly

// Interactive sessions: every kept trace row opens a session; its follow-ups resend the history
// after a think time, as a chat client does: exactly as it was sent before (only a new question is
// cut to the prompt limit, and a session with no room left for one ends), with each earlier answer
// the one the system gave (`resend_answers`: the client puts it in at send time; here it is text
// of the recorded size, which is what every system gets with `answers_as_recorded`).
void add_chats(const WorkloadOptions& o, const std::vector<ChatTraceRow>& rows, const AgentSources& src, int& chain,
               std::vector<ReplayRequest>& day) {
  constexpr size_t kMinAskChars = 16;  // the trace's smallest question: 4 tokens
  const double window_s = o.day_minutes * 60;
  std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ull + 1);
  std::uniform_real_distribution<double> u(0, 1);
  const std::string system = src.system_prompt("chat");
  for (size_t i = 0; i < rows.size() && rows[i].time_s < window_s; ++i) {
    if (u(rng) >= o.chat_rate) continue;
    const int turns = 1 + static_cast<int>(u(rng) * 3);  // 1-3 turns
    json history = json::array({{{"role", "system"}, {"content", system}}});
    size_t used = system.size();  // characters of the history, as cap_prompts counts them
    const int id = chain++;
    for (int t = 0; t < turns; ++t) {
      const ChatTraceRow& row = rows[(i + static_cast<size_t>(t) * 7) % rows.size()];
      const int ask_tokens = std::max(4, static_cast<int>(row.context_tokens * o.token_scale / (t == 0 ? 1 : 4)));
      const int answer_tokens = std::max(1, static_cast<int>(row.generated_tokens * o.token_scale));
      if (used + kMinAskChars > o.max_prompt_chars) break;
      std::string ask = src.filler(rng, static_cast<size_t>(ask_tokens * kCharsPerToken));
      ask.resize(std::min(ask.size(), o.max_prompt_chars - used));
      used += ask.size();
      history.push_back({{"role", "user"}, {"content", std::move(ask)}});
      ReplayRequest r;
      r.time_s = rows[i].time_s;
      r.agent = "chat";
      r.klass = "interactive";
      r.messages = history;
      r.max_tokens = answer_tokens;
      r.chain = id;
      r.after_s = t == 0 ? 0 : 2 + u(rng) * 8;  // reading the answer, typing the next question
      r.resend_answers = t > 0 && !o.answers_as_recorded;
      day.push_back(std::move(r));
      std::string answer = src.filler(rng, static_cast<size_t>(answer_tokens * kCharsPerToken));
      used += answer.size();
      history.push_back({{"role", "assistant"}, {"content", std::move(answer)}});
    }
  }
}

// Cuts every message of the day to the prompt limit (the start kept: that is what prefix
// caches share).
void cap_prompts(std::vector<ReplayRequest>& day, size_t max_chars) {
  for (auto& r : day) {
    size_t total = 0;
    for (auto& m : r.messages) total += m["content"].get_ref<const std::string&>().size();
    while (total > max_chars) {
      // shorten the longest message
      auto longest = std::max_element(r.messages.begin(), r.messages.end(), [](const json& a, const json& b) {
        return a["content"].get_ref<const std::string&>().size() < b["content"].get_ref<const std::string&>().size();
      });
      std::string& s = (*longest)["content"].get_ref<std::string&>();
      const size_t cut = std::min(s.size() - 1, total - max_chars);
      s.resize(s.size() - cut);
      total -= cut;
      if (s.size() <= 1) break;
    }
  }
}

}  // namespace

std::vector<ReplayRequest> generate_day(const WorkloadOptions& o, const std::vector<ChatTraceRow>& chat_rows) {
  AgentSources src(o.source_root);
  std::vector<ReplayRequest> day;
  int chain = 0, task = 0;
  add_chats(o, chat_rows, src, chain, day);
  for (int copy = 0; copy < o.agent_copies; ++copy) {
    for (const AgentWork& work : twelve_agents()) {
      std::mt19937_64 rng(o.seed ^ (std::hash<std::string>{}(work.name) + 0x51ED2701ull * static_cast<uint64_t>(copy + 1)));
      std::string suffix;  // (built in two steps: GCC 12 warns falsely (-Wrestrict) on "#" + std::string)
      if (copy > 0) suffix.append("#").append(std::to_string(copy + 1));
      add_agent_day(work, src, o, rng, suffix, chain++, task, day);
    }
  }
  cap_prompts(day, o.max_prompt_chars);
  std::stable_sort(day.begin(), day.end(), [](const auto& a, const auto& b) { return a.time_s < b.time_s; });
  return day;
}

OfferedLoad offered_load(const std::vector<ReplayRequest>& day) {
  OfferedLoad l;
  std::map<int, bool> sessions, tasks;
  for (const auto& r : day) {
    ++l.requests;
    for (const auto& m : r.messages) l.prompt_chars += static_cast<double>(m["content"].get_ref<const std::string&>().size());
    l.answer_tokens += r.max_tokens;
    if (r.klass == "interactive") {
      ++l.chat_requests;
      sessions[r.chain] = true;
    } else {
      (r.klass == "tool" ? l.tool_requests : l.background_requests)++;
      l.background_answer_tokens += r.max_tokens;
    }
    if (r.task >= 0) tasks[r.task] = true;
  }
  l.chat_sessions = sessions.size();
  l.tasks = tasks.size();
  return l;
}

std::string describe(const OfferedLoad& l, double window_s) {
  std::ostringstream s;
  const double min = window_s / 60;
  s << "offered load over " << window_s << " s: " << l.requests << " requests (" << l.chat_requests << " chat in "
    << l.chat_sessions << " sessions, " << l.tool_requests << " tool, " << l.background_requests << " background in "
    << l.tasks << " tasks); " << std::lround(l.prompt_chars / kCharsPerToken / min) << " prompt tokens/min (~"
    << std::lround(l.prompt_chars / kCharsPerToken) << " total), " << std::lround(l.answer_tokens / min)
    << " answer tokens/min (" << std::lround(l.answer_tokens / window_s) << "/s; background+tool "
    << std::lround(l.background_answer_tokens / window_s) << "/s)";
  return s.str();
}

}  // namespace agentd::bench::replay
