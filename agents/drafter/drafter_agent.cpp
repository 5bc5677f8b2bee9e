#include "agents/drafter/drafter_agent.hpp"

#include <stdexcept>

#include "agents/common/plain_text.hpp"
#include "agents/common/task_input.hpp"
#include "agents/config_reader.hpp"
#include "agents/drafter/draft_document.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace {

std::string report(const std::string& title, const std::string& file, const std::vector<draft::Section>& sections) {
  int total = 0;
  std::string rows;
  for (size_t i = 0; i < sections.size(); ++i) {
    int words = draft::count_words(sections[i].text);
    total += words;
    rows += "| " + std::to_string(i + 1) + " | " + sections[i].heading + " | " + std::to_string(words) + " |\n";
  }
  return "# Draft: " + title + "\n\n- file: " + file + "\n- sections: " + std::to_string(sections.size()) +
         "\n- words: " + std::to_string(total) + "\n\n| # | heading | words |\n|---|---|---|\n" + rows;
}

}  // namespace

DrafterAgent::DrafterAgent(const AgentConfig& config) {
  ConfigReader s(config.file.string(), config.settings, "/settings", {"brief", "title", "sections", "outline"});
  if (config.write_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/write: the drafter needs a write folder for its drafts");
  }
  s.string("brief", brief_);
  if (brief_.size() > kMaxBriefBytes) {
    s.fail(s.at("brief"), std::to_string(brief_.size()) + " bytes; at most " + std::to_string(kMaxBriefBytes));
  }
  s.string("title", title_);
  if (title_.find('\n') != std::string::npos) s.fail(s.at("title"), "must be one line");
  s.integer("sections", sections_, 1, kMaxSections);
  s.strings("outline", outline_);
  if (s.has("outline")) {
    if (outline_.empty() || outline_.size() > static_cast<size_t>(kMaxSections)) {
      s.fail(s.at("outline"), "give 1 to " + std::to_string(kMaxSections) + " headings, or leave it out");
    }
    for (size_t i = 0; i < outline_.size(); ++i) {
      const std::string& h = outline_[i];
      if (text::trim(h).empty() || h.find('\n') != std::string::npos || h.size() > 80) {
        s.fail(s.at("outline") + "/" + std::to_string(i), "a heading is one non-empty line of at most 80 bytes");
      }
    }
    if (s.has("sections") && sections_ != static_cast<int>(outline_.size())) {
      s.fail(s.at("sections"), std::to_string(sections_) + " sections but the outline has " +
                                   std::to_string(outline_.size()) + " headings; leave one out");
    }
    sections_ = static_cast<int>(outline_.size());
  }
}

std::string DrafterAgent::brief_of(const TaskContext& ctx) const {
  return task_text(ctx, brief_, {"brief", "the brief", "brief", kMaxBriefBytes});
}

std::string DrafterAgent::run(TaskContext& ctx) {
  const std::string brief = brief_of(ctx);
  const std::string title = title_.empty() ? draft::title_from_brief(brief) : text::one_line(title_, 200);

  engine::LongFormOptions options = ctx.long_form_defaults();
  options.sections = sections_;
  options.outline = outline_;
  std::string document = ctx.generate_long("Title: " + title + "\n" + brief, options);

  std::vector<draft::Section> sections = draft::split_sections(document);
  if (sections.size() != static_cast<size_t>(sections_)) {
    ctx.log("the document has " + std::to_string(sections.size()) + " headings, " + std::to_string(sections_) +
            " expected (a section's text has a heading of its own); kept as written");
  }
  const std::string name = "draft-" + std::to_string(ctx.task_id()) + ".md";
  const std::string file = ctx.write_file(name, draft::assemble_draft(title, sections)).string();

  ctx.remember("last_draft", {{"task", ctx.task_id()}, {"file", file}, {"title", title}});
  ctx.emit("done", {{"task", ctx.task_id()}, {"agent", ctx.agent()}, {"file", file}, {"title", title}});
  return report(title, file, sections);
}

}  // namespace agentd::agents
