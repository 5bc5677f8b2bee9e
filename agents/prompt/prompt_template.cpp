#include "agents/prompt/prompt_template.hpp"

#include <algorithm>
#include <map>

#include "core/text.hpp"

namespace agentd::agents {

namespace {

PromptTemplate::Part parse_placeholder(const std::string& inner) {
  using Kind = PromptTemplate::Kind;
  static const std::map<std::string, Kind> plain = {
      {"input", Kind::input}, {"input_file", Kind::input_file}, {"date", Kind::date},   {"time", Kind::time},
      {"datetime", Kind::datetime}, {"weekday", Kind::weekday}, {"agent", Kind::agent}, {"task", Kind::task}};
  if (auto it = plain.find(inner); it != plain.end()) return {it->second, ""};
  auto with_arg = [&](const std::string& prefix, Kind kind) -> std::optional<PromptTemplate::Part> {
    if (!inner.starts_with(prefix)) return std::nullopt;
    std::string arg = core::trim(inner.substr(prefix.size()));
    if (arg.empty()) throw std::invalid_argument("{{" + inner + "}}: missing the name after '" + prefix + "'");
    return PromptTemplate::Part{kind, arg};
  };
  if (auto p = with_arg("file:", Kind::file)) return *p;
  if (auto p = with_arg("memory:", Kind::memory)) return *p;
  if (auto p = with_arg("event.", Kind::event)) return *p;
  throw std::invalid_argument("{{" + inner +
                              "}}: unknown placeholder (known: input, input_file, file:PATH, memory:KEY, "
                              "event.FIELD, date, time, datetime, weekday, agent, task)");
}

}  // namespace

PromptTemplate::PromptTemplate(const std::string& text, const std::vector<Kind>& allowed) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      parts_.push_back({Kind::text, text.substr(pos)});
      break;
    }
    if (open > pos) parts_.push_back({Kind::text, text.substr(pos, open - pos)});
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      throw std::invalid_argument("'{{' at offset " + std::to_string(open) + " is never closed with '}}'");
    }
    Part part = parse_placeholder(core::trim(text.substr(open + 2, close - open - 2)));
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), part.kind) == allowed.end()) {
      throw std::invalid_argument("{{" + core::trim(text.substr(open + 2, close - open - 2)) + "}} is not allowed here");
    }
    parts_.push_back(std::move(part));
    pos = close + 2;
  }
}

std::string PromptTemplate::render(const std::function<std::string(const Part&)>& value) const {
  std::string out;
  for (const Part& p : parts_) out += p.kind == Kind::text ? p.arg : value(p);
  return out;
}

bool PromptTemplate::uses(Kind kind) const {
  return std::any_of(parts_.begin(), parts_.end(), [&](const Part& p) { return p.kind == kind; });
}

}  // namespace agentd::agents
