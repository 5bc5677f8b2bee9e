#include "agent_work.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace agentd::bench::replay {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("replay: cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The receipt fields the extractor asks for, and the evaluator's verdict: small schemas both
// servers turn into a grammar.
json receipt_schema() {
  return json::parse(R"({"type":"object","properties":{"merchant":{"type":"string"},"date":{"type":"string"},
    "total":{"type":"number"},"currency":{"type":"string"},"payment":{"type":"string"},
    "items":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"price":{"type":"number"}},
    "required":["name","price"]}}},"required":["merchant","date","total","currency"]})");
}
json verdict_schema() {
  return json::parse(R"({"type":"object","properties":{"verdict":{"type":"string","enum":["supported","contradicted","absent"]},
    "fact":{"type":"integer"},"reason":{"type":"string"}},"required":["verdict","fact","reason"]})");
}

struct RunBuilder {
  const AgentSources& src;
  const WorkloadOptions& o;
  std::mt19937_64& rng;
  std::string agent;  // with the copy's suffix
  std::string config_name;
  double time_s;
  int chain, task;
  std::vector<ReplayRequest>& day;

  // Answer budgets scale with --token-scale; a label's does not (it must fit the label).
  int scaled(int tokens) const {
    return tokens <= 32 ? tokens : std::max(1, static_cast<int>(std::lround(tokens * o.token_scale)));
  }
  const std::string& pick(const std::string& agent_samples) {
    const auto& all = src.samples(agent_samples);
    return all[std::uniform_int_distribution<size_t>(0, all.size() - 1)(rng)];
  }
  // The agents remember what they handled, so a day never sends the same mail, receipt or
  // document twice; the shipped samples are few, so each pick gets a name of its own, where the
  // plugin's prompt names its input (a prefix cache then shares the instruction, not the input).
  std::string new_name(const std::string& stem, const std::string& extension) {
    return stem + "-" + std::to_string(task) + "-" + std::to_string(++named) + extension;
  }
  int named = 0;
  void call(const std::string& user, int max_tokens, const char* klass = "background",
            std::optional<json> schema = std::nullopt, const std::string& as_agent = "") {
    ReplayRequest r;
    r.time_s = time_s;
    r.agent = as_agent.empty() ? agent : as_agent;
    r.klass = klass;
    const std::string sys = src.system_prompt(config_name);
    if (!sys.empty()) r.messages.push_back({{"role", "system"}, {"content", sys}});
    r.messages.push_back({{"role", "user"}, {"content", user}});
    r.max_tokens = scaled(max_tokens);
    r.schema = std::move(schema);
    r.chain = chain;
    r.task = task;
    day.push_back(std::move(r));
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
  int between(int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); }
};

// As agents/mail: the message first, each call's instruction after it (the calls on one message
// share it as a prefix). The message is cut so that the instruction stays within
// --max-prompt-chars' default, which keeps a request's start.
void mail_run(RunBuilder& b) {
  for (int n = b.between(1, 3); n > 0; --n) {
    const std::string message = "E-mail:\nMessage-ID: <" + b.new_name("m", "@replay") + ">\n" + b.pick("mail").substr(0, 1450) + "\n";
    b.call(message + "Label the e-mail above with exactly one of: urgent (needs action today), needs reply (the sender "
                     "expects an answer), newsletter (bulk or marketing mail), other.\nLabel:", 24);
    b.call(message + "Summarise the e-mail above in one or two sentences: who wants what, and by when.\nSummary:", 96);
    if (b.chance(0.4)) {
      b.call(message + "Write a short, polite reply to the e-mail above. Do not promise anything or invent facts; put what "
                       "the user must fill in between [brackets]. Write only the body of the reply.\nReply:", 200);
    }
  }
}

void news_run(RunBuilder& b) {
  for (int n = b.between(1, 3); n > 0; --n) {
    const std::string& feed = b.pick("news");
    const size_t at = std::uniform_int_distribution<size_t>(0, feed.size() > 600 ? feed.size() - 600 : 0)(b.rng);
    b.call("Summarise this news item in one sentence.\nFeed: feed\nTitle: item\nText: " + feed.substr(at, 600) + "\n", 60);
  }
}

void extractor_run(RunBuilder& b) {
  if (!b.chance(0.5)) return;  // no new document at this scan
  b.call("Extract the receipt below as JSON.\n\nDocument \"" + b.new_name("receipt", ".txt") + "\":\n" + b.pick("extractor"), 384,
         "tool", receipt_schema());
}

void summarizer_run(RunBuilder& b) {
  if (!b.chance(0.5)) return;
  const std::string& doc = b.pick("summarizer");
  const std::string name = b.new_name("document", ".txt");
  for (size_t at = 0; at < doc.size(); at += 2000) {
    b.call("Summarise this part of a document in a few sentences.\n\nDocument \"" + name + "\"\n\n" + doc.substr(at, 2000), 160);
  }
}

void calendar_run(RunBuilder& b) {
  std::string all;
  for (const auto& s : b.src.samples("calendar")) all += s.substr(0, 1200);
  b.call("Write a short brief of the user's agenda for today and tomorrow from these events; mention conflicts.\n\n" + all, 160);
}

void coder_run(RunBuilder& b) {
  b.call("Propose the one file to write for the task below: a short relative path with a file name and extension.\n\n"
         "Task: A bash script that copies ~/Documents into a dated .tar.gz archive in ~/Backups and deletes all but the 7 "
         "newest archives.", 32);
  b.call("Write the complete contents of the file named below for the task below. Reply with the file's contents only.\n\n"
         "File: backup.sh\nTask: A bash script that copies ~/Documents into a dated .tar.gz archive in ~/Backups and "
         "deletes all but the 7 newest archives.", 384);
}

void digest_run(RunBuilder& b) {
  for (const char* a : {"mail", "news", "extractor", "summarizer", "calendar", "coder", "drafter", "evaluator", "market", "risk"}) {
    b.call(std::string("In one or two sentences, tell the user what the agent below did today and what matters. Use only the "
                       "text below.\n\nHere is what the agent '") + a + "' did today (5 tasks, 3 notes):\n" +
               b.src.filler(b.rng, 1200), 80);
  }
}

// The drafter's long form as sections (each sees the brief, the outline and the text so far),
// then the evaluator's verdict per claim at the tool class under a schema: a follow-up task on
// drafter.done, in the same chain because it needs the draft.
void drafter_run(RunBuilder& b) {
  const std::string brief = "A short guide to the Eiffel Tower in Paris for a first-time visitor: why and when it was built, how it "
                            "was made and how tall it is, and what a visitor can see and do there today. Plain, factual sentences.";
  std::string so_far;
  for (const char* heading : {"Why it was built", "How it was made", "Visiting today"}) {
    b.call("Brief: " + brief + "\nOutline: Why it was built; How it was made; Visiting today\n\nText so far:\n" + so_far +
               "\n\nWrite the section \"" + heading + "\".", b.src.max_tokens("drafter", 200));
    so_far += std::string("## ") + heading + "\n" + b.src.filler(b.rng, 700) + "\n";
  }
  ++b.task;
  const std::string facts = b.src.samples("evaluator").front();
  for (int claim = 0; claim < 6; ++claim) {
    b.call("Facts:\n" + facts + "\nDoes one of the facts support the claim below, contradict it, or is the claim absent from the "
           "facts? Answer with the verdict, the number of the fact in brackets (-1 if none) and a short reason.\n\nClaim: \"" +
               b.src.filler(b.rng, 120) + "\"", 96, "tool", verdict_schema(), "evaluator" + b.agent.substr(7));
  }
}

void market_run(RunBuilder& b) {
  std::string table;
  for (const auto& s : b.src.samples("market")) table += s.substr(s.size() > 400 ? s.size() - 400 : 0);
  b.call("Write a short note on what moved in the watch list below (last sessions, returns, breakouts, volume spikes).\n\n" + table, 160);
}

void risk_run(RunBuilder& b) {
  b.call("Write a short risk memo on this portfolio: exposure, the largest positions, drawdown, concentration.\n\n" +
         b.src.samples("risk").front(), 200);
}

void run_of(const std::string& name, RunBuilder& b) {
  if (name == "mail") mail_run(b);
  else if (name == "news") news_run(b);
  else if (name == "extractor") extractor_run(b);
  else if (name == "summarizer") summarizer_run(b);
  else if (name == "calendar") calendar_run(b);
  else if (name == "coder") coder_run(b);
  else if (name == "digest") digest_run(b);
  else if (name == "drafter") drafter_run(b);
  else if (name == "market") market_run(b);
  else if (name == "risk") risk_run(b);
}

}  // namespace

AgentSources::AgentSources(const fs::path& root) {
  for (const auto& e : fs::directory_iterator(root / "agents.d")) {
    if (e.path().extension() != ".json") continue;
    json j = json::parse(read_file(e.path()), nullptr, false, /*ignore_comments=*/true);
    if (j.is_discarded()) throw std::runtime_error("replay: " + e.path().string() + " is not valid JSON");
    config_[e.path().stem().string()] = j;
  }
  for (const char* agent : {"mail", "news", "extractor", "summarizer", "calendar", "evaluator", "market", "risk"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(root / "agents" / agent / "samples")) {
      if (e.is_regular_file() && e.path().extension() != ".py") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());  // directory order is not deterministic
    for (const auto& f : files) samples_[agent].push_back(read_file(f));
    if (samples_[agent].empty()) throw std::runtime_error(std::string("replay: no samples for ") + agent);
  }
  std::istringstream words(samples_.at("summarizer").front() + " " + samples_.at("mail").front() + " " + samples_.at("evaluator").front());
  for (std::string w; words >> w;) {
    if (w.size() < 16 && std::all_of(w.begin(), w.end(), [](unsigned char c) { return std::isalpha(c) || c == ',' || c == '.'; })) {
      words_.push_back(w);
    }
  }
}

std::string AgentSources::system_prompt(const std::string& agent) const {
  auto it = config_.find(agent);
  return it == config_.end() ? "" : it->second.value("system_prompt", "");
}

int AgentSources::max_tokens(const std::string& agent, int fallback) const {
  auto it = config_.find(agent);
  if (it == config_.end() || !it->second.contains("generation")) return fallback;
  const json& g = it->second["generation"];
  return g.value("max_tokens", g.value("section_tokens", fallback));
}

const std::vector<std::string>& AgentSources::samples(const std::string& agent) const { return samples_.at(agent); }

std::string AgentSources::filler(std::mt19937_64& rng, size_t chars) const {
  std::string out;
  std::uniform_int_distribution<size_t> pick(0, words_.size() - 1);
  while (out.size() < chars) out += words_[pick(rng)] + " ";
  return out;
}

const std::vector<AgentWork>& twelve_agents() {
  // agents.d: chat is the interactive side (the trace's sessions); evaluator runs on drafter.done
  // (inside the drafter's runs); the other ten fire on their own triggers.
  static const std::vector<AgentWork> agents = {
      {"mail", {0.25}, {}},       {"news", {0.5}, {}},        {"extractor", {1.0 / 6}, {}}, {"summarizer", {0.5}, {}},
      {"calendar", {6}, {7}},     {"coder", {24}, {}},        {"digest", {24}, {18}},       {"drafter", {24}, {}},
      {"market", {24}, {}},       {"risk", {24}, {}},
  };
  return agents;
}

void add_agent_day(const AgentWork& work, const AgentSources& src, const WorkloadOptions& o, std::mt19937_64& rng,
                   const std::string& suffix, int chain, int& task, std::vector<ReplayRequest>& day) {
  const double window_s = o.day_minutes * 60;
  std::set<double> fires;  // day fractions
  for (double h : work.every_h) {
    for (double t = 0; t < 24; t += h) fires.insert(t / 24);
  }
  for (double h : work.cron_h) fires.insert(h / 24);
  for (double f : fires) {
    RunBuilder b{src, o, rng, work.name + suffix, work.name, f * window_s, chain, task, day};
    run_of(work.name, b);
    task = b.task + 1;
  }
}

}  // namespace agentd::bench::replay
