#include "agents/coder/coder_agent.hpp"

#include <filesystem>
#include <stdexcept>

#include "agents/coder/code_fence.hpp"
#include "agents/coder/file_proposal.hpp"
#include "agents/coder/output_path.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/task_input.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace fs = std::filesystem;

namespace {

constexpr int kProposalTokens = 64;

// Where the file goes: the model's proposal if it passes every check, else the fallback name.
struct Target {
  std::string path;
  std::string language;
  std::string refused;  // the proposal and why it was refused; empty when it was taken
};

// Both model calls put their standing instruction first, then the task (and the file): the
// engine's prefix cache prefills each instruction once, whatever the task.
Target choose_target(TaskContext& ctx, const std::string& task, const std::vector<std::string>& extensions) {
  GenerateOptions options;
  options.prompt = "Propose the one file to write for the task below: a short relative path with a file name and "
                   "extension, and its language.\n\nTask: " + task;
  options.grammar = coder::proposal_grammar(extensions);
  options.max_tokens = kProposalTokens;
  const std::string answer = ctx.generate(options).text;

  auto proposal = coder::parse_proposal(answer);
  std::string why = proposal ? coder::path_refusal(proposal->path, extensions) : "the answer is not {\"path\", \"language\"}";
  if (why.empty()) {
    try {
      ctx.files().resolve_write(proposal->path);  // a symlinked folder leading out, for one
    } catch (const FileAccessError& e) {
      why = e.what();
    }
  }
  std::string language = proposal ? proposal->language : "text";
  if (why.empty()) return {proposal->path, language, ""};
  std::string shown = proposal ? text::quoted(text::one_line(proposal->path, 80)) : text::one_line(answer, 80);
  ctx.log("proposed file name refused", {{"proposal", shown}, {"error", why}});
  return {coder::fallback_name(ctx.task_id(), language, extensions), language, shown + ": " + why};
}

// Whether `path` is taken: an existing file, folder or link (a dangling link included).
bool taken(const TaskContext& ctx, const std::string& path) {
  try {
    std::error_code ec;
    return fs::exists(fs::symlink_status(ctx.files().resolve_write(path), ec));
  } catch (const FileAccessError&) {
    return true;  // e.g. a symbolic link at that name
  }
}

std::string free_name(const TaskContext& ctx, const std::string& path) {
  for (int n = 1; n <= CoderAgent::kMaxNumbered; ++n) {
    std::string candidate = coder::numbered(path, n);
    if (!taken(ctx, candidate)) return candidate;
  }
  throw std::runtime_error(path + " and its numbered names up to -" + std::to_string(CoderAgent::kMaxNumbered) +
                           " exist; set \"overwrite\": true or clear the folder");
}

struct Content {
  std::string text;
  bool cut_off = false;  // the model hit max_tokens: the file may end mid-line
};

Content write_content(TaskContext& ctx, const std::string& task, const Target& target) {
  GenerateOptions options;
  options.prompt = "Write the complete contents of the file named below for the task below. Reply with the file's "
                   "contents only, without explanations.\n\nTask: " + task + "\n\nFile: " + target.path + " (" +
                   target.language + ")";
  engine::Result answer = ctx.generate(options);
  Content content{coder::strip_code_fence(answer.text, target.language == "markdown"),
                  answer.finish == engine::FinishReason::length};
  if (content.text.empty()) throw std::runtime_error("the model wrote nothing for " + target.path + "; nothing was written");
  return content;
}

void remember_file(TaskContext& ctx, const std::string& path) {
  nlohmann::json written = ctx.recall("written").value_or(nlohmann::json::array());
  if (!written.is_array()) written = nlohmann::json::array();
  written.push_back({{"task", ctx.task_id()}, {"file", path}});
  while (written.size() > static_cast<size_t>(CoderAgent::kRememberedFiles)) written.erase(written.begin());
  ctx.remember("written", written);
}

int count_lines(const std::string& s) {
  int lines = 0;
  for (char c : s) lines += c == '\n';
  return lines;
}

}  // namespace

CoderAgent::CoderAgent(const AgentConfig& config) : extensions_(coder::default_extensions()) {
  ConfigReader s(config.file.string(), config.settings, "/settings", {"task", "extensions", "overwrite"});
  if (config.write_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/write: the coder needs a write folder for its files");
  }
  s.string("task", task_);
  if (task_.size() > kMaxTaskBytes) {
    s.fail(s.at("task"), std::to_string(task_.size()) + " bytes; at most " + std::to_string(kMaxTaskBytes));
  }
  s.strings("extensions", extensions_);
  if (extensions_.empty()) s.fail(s.at("extensions"), "an empty list; leave it out for the default list");
  for (size_t i = 0; i < extensions_.size(); ++i) {
    if (!coder::valid_extension(extensions_[i])) {
      s.fail(s.at("extensions") + "/" + std::to_string(i),
             text::quoted(extensions_[i]) + " is not an extension: 1 to 10 lower-case letters or digits, without the dot");
    }
  }
  s.boolean("overwrite", overwrite_);
}

std::string CoderAgent::task_text(const TaskContext& ctx) const {
  return agents::task_text(ctx, task_, {"task", "the task description", "task", kMaxTaskBytes});
}

std::string CoderAgent::run(TaskContext& ctx) {
  const std::string task = task_text(ctx);
  Target target = choose_target(ctx, task, extensions_);
  const Content content = write_content(ctx, task, target);

  const std::string wanted = target.path;
  if (!overwrite_) target.path = free_name(ctx, target.path);
  const fs::path written = ctx.write_file(target.path, content.text);
  remember_file(ctx, written.string());

  std::string report = "# Coder: " + target.path + "\n\n- file: " + written.string() + "\n- language: " +
                       target.language + "\n- " + std::to_string(count_lines(content.text)) + " lines, " +
                       std::to_string(content.text.size()) + " bytes\n- not executed; written without the executable bit\n";
  if (content.cut_off) report += "- the model stopped at generation.max_tokens: the file may be cut off\n";
  if (!target.refused.empty()) report += "- the proposed name was refused: " + target.refused + "\n";
  if (target.path != wanted) report += "- " + wanted + " exists (overwrite is off), so the file is " + target.path + "\n";
  return report;
}

}  // namespace agentd::agents
