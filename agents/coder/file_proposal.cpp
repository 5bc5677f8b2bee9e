#include "agents/coder/file_proposal.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace agentd::agents::coder {

namespace {

std::string alternatives(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " | ") + ("\"" + w + "\"");
  return out;
}

bool allowed(const std::vector<std::string>& extensions, const std::string& ext) {
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

}  // namespace

const std::vector<Language>& languages() {
  static const std::vector<Language> list = {
      {"bash", "sh"},   {"python", "py"}, {"javascript", "js"}, {"typescript", "ts"}, {"sql", "sql"},
      {"json", "json"}, {"yaml", "yaml"}, {"toml", "toml"},     {"ini", "ini"},       {"markdown", "md"},
      {"text", "txt"},  {"csv", "csv"},   {"xml", "xml"},       {"html", "html"},     {"css", "css"},
      {"systemd", "service"}};
  return list;
}

std::string proposal_grammar(const std::vector<std::string>& extensions) {
  std::vector<std::string> names;
  for (const auto& l : languages()) names.push_back(l.name);
  // Extensions are [a-z0-9]{1,10} (checked when the settings are read), so they need no escaping.
  return "root ::= \"{\\\"path\\\": \\\"\" path \"\\\", \\\"language\\\": \\\"\" language \"\\\"}\"\n"
         "path ::= (word \"/\"){0,2} word \".\" ext\n"
         "word ::= [a-zA-Z0-9_] [a-zA-Z0-9_-]{0,31}\n"
         "ext ::= " + alternatives(extensions) + "\n"
         "language ::= " + alternatives(names) + "\n";
}

std::optional<FileProposal> parse_proposal(std::string_view answer) {
  nlohmann::json j = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("path") || !j["path"].is_string()) return std::nullopt;
  FileProposal p{j["path"].get<std::string>(), "text"};
  if (j.contains("language") && j["language"].is_string()) {
    std::string name = j["language"].get<std::string>();
    auto known = std::find_if(languages().begin(), languages().end(), [&](const Language& l) { return l.name == name; });
    if (known != languages().end()) p.language = name;
  }
  return p;
}

std::string fallback_name(int64_t task_id, const std::string& language, const std::vector<std::string>& extensions) {
  std::string ext = extensions.empty() ? "txt" : extensions.front();
  if (allowed(extensions, "txt")) ext = "txt";
  for (const auto& l : languages()) {
    if (l.name == language && allowed(extensions, l.extension)) ext = l.extension;
  }
  return "coder-" + std::to_string(task_id) + "." + ext;
}

}  // namespace agentd::agents::coder
