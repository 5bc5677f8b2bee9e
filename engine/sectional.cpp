#include "engine/sectional.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/text.hpp"
#include "engine/repetition.hpp"
#include "engine/request_json.hpp"

namespace agentd::engine {

namespace {

// "- a", "* a", "1. a", "2) a", "## a" -> "a".
std::string strip_marker(std::string line) {
  line = core::trim(line);
  size_t i = 0;
  while (i < line.size() && (line[i] == '-' || line[i] == '*' || line[i] == '#' || line[i] == ' ')) ++i;
  size_t digits = i;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits > i && digits < line.size() && (line[digits] == '.' || line[digits] == ')' || line[digits] == ':')) {
    i = digits + 1;
  }
  return core::trim(line.substr(i));
}

std::string outline_grammar(int count) {
  // Exactly `count` lines "- heading" of 3..80 characters.
  return "root ::= line{" + std::to_string(count) + "}\nline ::= \"- \" [^\\n]{3,80} \"\\n\"\n";
}

std::string tail_of(const std::string& text, int chars) {
  if (chars <= 0 || text.empty()) return "";
  if (text.size() <= static_cast<size_t>(chars)) return text;
  size_t start = text.size() - static_cast<size_t>(chars);
  size_t space = text.find(' ', start);  // start at a word
  return "..." + text.substr(space == std::string::npos ? start : space + 1);
}

std::string document(const std::vector<SectionText>& sections) {
  std::string doc;
  for (const auto& s : sections) {
    if (!doc.empty()) doc += "\n\n";
    doc += "## " + s.title + "\n\n" + s.text;
  }
  return doc;
}

}  // namespace

std::vector<std::string> parse_outline(const std::string& text, int count) {
  std::vector<std::string> titles;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line) && static_cast<int>(titles.size()) < count) {
    std::string title = strip_marker(line);
    if (!title.empty()) titles.push_back(title);
  }
  while (static_cast<int>(titles.size()) < count) titles.push_back("Part " + std::to_string(titles.size() + 1));
  return titles;
}

std::vector<ChatMessage> section_messages(const std::string& brief, const std::vector<std::string>& outline, int idx,
                                          const std::string& previous_tail, const LongFormOptions& o) {
  // What every section of the document shares comes first, the section's own part last.
  std::string user = "Brief: " + brief + "\n\nOutline:\n";
  for (size_t i = 0; i < outline.size(); ++i) user += std::to_string(i + 1) + ". " + outline[i] + "\n";
  user += "\nYou write one section of this outline, in about " + std::to_string(o.min_tokens) + " to " +
          std::to_string(o.max_tokens) + " tokens. Write only the section's text, without its heading.\n\n";
  user += "Write section " + std::to_string(idx + 1) + " of " + std::to_string(outline.size()) + ": \"" +
          outline[static_cast<size_t>(idx)] + "\".";
  if (!previous_tail.empty()) user += "\n\nThe previous section ended:\n" + previous_tail;
  std::vector<ChatMessage> messages;
  if (!o.system_prompt.empty()) messages.push_back({"system", o.system_prompt});
  messages.push_back({"user", user});
  return messages;
}

std::string trim_to_sentence(const std::string& text) {
  size_t best = std::string::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' && i + 1 < text.size() && text[i + 1] == '\n') best = i;
    if (c != '.' && c != '!' && c != '?') continue;
    size_t end = i + 1;
    while (end < text.size() && (text[end] == '"' || text[end] == '\'' || text[end] == ')' || text[end] == ']')) ++end;
    if (end == text.size() || std::isspace(static_cast<unsigned char>(text[end]))) best = end - 1;
  }
  return best == std::string::npos ? text : core::trim(text.substr(0, best + 1));
}

SectionalGenerator::SectionalGenerator(Engine& engine, LongFormOptions options)
    : engine_(engine), options_(std::move(options)) {
  if (options_.max_attempts < 1 || options_.max_tokens < 1 || options_.sections < 1) {
    throw std::invalid_argument("LongFormOptions: sections, max_tokens and max_attempts must be at least 1");
  }
}

Result SectionalGenerator::call(Request request, SectionJournal& journal, std::stop_token stop) {
  if (stop.stop_requested()) throw std::runtime_error("cancelled");
  const int quarter = request.max_tokens / 4, half = request.max_tokens / 2;
  request.reasoning_budget = options_.reasoning_budget < 0 ? quarter : std::min(options_.reasoning_budget, half);
  request.priority = options_.priority;
  request.task_id = options_.task_id;
  const auto sent_at = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::json asked = request_record(request, sent_at);
  auto generation = engine_.submit(std::move(request));
  Result result;
  {
    std::stop_callback cancel_on_stop(stop, [&] { generation->cancel(); });
    result = generation->wait();
  }
  journal.call(asked, result);
  if (stop.stop_requested()) throw std::runtime_error("cancelled");
  if (result.finish == FinishReason::error) throw std::runtime_error("model call failed: " + result.error);
  if (result.finish == FinishReason::cancelled || result.finish == FinishReason::deadline) {
    throw std::runtime_error(std::string("model call ended early: ") + to_string(result.finish));
  }
  return result;
}

std::vector<std::string> SectionalGenerator::make_outline(const std::string& brief, SectionJournal& journal,
                                                          std::stop_token stop) {
  if (auto stored = journal.outline(); !stored.empty()) return stored;
  std::vector<std::string> outline = options_.outline;
  if (outline.empty()) {
    Request r;
    if (!options_.system_prompt.empty()) r.messages.push_back({"system", options_.system_prompt});
    r.messages.push_back({"user", "Brief: " + brief + "\n\nWrite an outline of exactly " +
                                      std::to_string(options_.sections) +
                                      " section headings, one per line, each starting with \"- \"."});
    r.grammar = outline_grammar(options_.sections);
    r.sampling = options_.sampling;
    r.max_tokens = options_.sections * 32;
    outline = parse_outline(call(std::move(r), journal, stop).text, options_.sections);
  }
  journal.save_outline(outline);
  return outline;
}

SectionText SectionalGenerator::write_section(const std::string& brief, const std::vector<std::string>& outline,
                                              int idx, const std::string& previous, const std::string& so_far,
                                              SectionJournal& journal, std::stop_token stop) {
  const std::string& title = outline[static_cast<size_t>(idx)];
  journal.section_started(idx, title);
  std::optional<SectionText> best;
  double best_distinct = -1;
  int attempts = 0;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    Request r;
    r.messages = section_messages(brief, outline, idx, tail_of(previous, options_.tail_chars), options_);
    r.sampling = options_.sampling;
    if (r.sampling.seed != 0xFFFFFFFF) r.sampling.seed += static_cast<uint32_t>(idx * 1000 + (attempt - 1));
    else if (attempt > 1) r.sampling.seed = static_cast<uint32_t>(std::random_device{}());
    r.sampling.repeat_penalty += options_.repeat_penalty_step * static_cast<float>(attempt - 1);
    r.max_tokens = options_.max_tokens;
    Result result = call(r, journal, stop);
    std::string text = result.finish == FinishReason::length ? trim_to_sentence(result.text) : core::trim(result.text);
    double distinct = novel_ngram_ratio(text, so_far, 4);
    bool accepted = distinct >= options_.min_distinct4;
    attempts = attempt;
    journal.attempt({idx, attempt, distinct, r.sampling.seed, r.sampling.repeat_penalty, accepted, result.completion_tokens});
    if (distinct > best_distinct) {
      best_distinct = distinct;
      best = SectionText{idx, title, text, result.completion_tokens};
    }
    if (accepted) break;
  }
  journal.save(*best, attempts);
  return *best;
}

std::string SectionalGenerator::generate(const std::string& brief, SectionJournal& journal, std::stop_token stop) {
  std::vector<std::string> outline = make_outline(brief, journal, stop);
  std::vector<std::optional<SectionText>> sections(outline.size());
  for (auto& s : journal.finished()) {
    if (s.idx >= 0 && s.idx < static_cast<int>(outline.size())) sections[static_cast<size_t>(s.idx)] = std::move(s);
  }
  std::string previous, so_far;
  for (size_t i = 0; i < outline.size(); ++i) {
    if (!sections[i]) sections[i] = write_section(brief, outline, static_cast<int>(i), previous, so_far, journal, stop);
    previous = sections[i]->text;
    so_far += previous + "\n";
  }
  std::vector<SectionText> done;
  for (auto& s : sections) done.push_back(std::move(*s));
  return document(done);
}

}  // namespace agentd::engine
