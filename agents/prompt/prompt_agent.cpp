#include "agents/prompt/prompt_agent.hpp"

#include <algorithm>

#include "agents/common/agent_tools.hpp"
#include "agents/config_reader.hpp"
#include "agents/event_name.hpp"
#include "agents/file_access.hpp"
#include "agents/task_context.hpp"
#include "core/text.hpp"
#include "core/time_text.hpp"
#include "engine/json_schema_grammar.hpp"

namespace agentd::agents {

namespace {

using Kind = PromptTemplate::Kind;

PromptTemplate checked_template(const AgentConfig& config, const std::string& text, const std::string& where,
                                const std::vector<Kind>& allowed = {}) {
  try {
    return PromptTemplate(text, allowed);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(config.file.string() + ": " + where + ": " + e.what());
  }
}

std::string local_time(int64_t ms, const char* format) { return core::format_time(ms, format, core::TimeBase::local); }

std::string as_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The event's data (the task input of an event trigger) at a dotted path; "" if absent.
std::string event_field(const std::string& input, const std::string& path) {
  nlohmann::json data = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (data.is_discarded()) return "";
  const nlohmann::json* v = &data;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!v->is_object() || !v->contains(key)) return "";
    v = &(*v)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return as_text(*v);
}

}  // namespace

PromptAgent::PromptAgent(const AgentConfig& config)
    : prompt_(checked_template(config, config.prompt, "/prompt")) {
  if (config.prompt.empty()) throw ConfigError(config.file.string() + ": /prompt: the prompt plugin needs a prompt");
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"output_file", "append", "memory_key", "note", "emit", "json_schema", "stop", "long_form", "tools"});
  std::string output_file;
  s.string("output_file", output_file);
  if (!output_file.empty()) {
    if (config.write_folders.empty()) {
      s.fail(s.at("output_file"), "needs a write folder (\"folders\": {\"write\": [...]})");
    }
    output_file_ = checked_template(config, output_file, s.at("output_file"),
                                    {Kind::date, Kind::time, Kind::datetime, Kind::weekday, Kind::agent, Kind::task});
    // Refused now, not at the first run: ".." or a path outside the write folders. Placeholders
    // fill in dates, names and numbers, never a folder, so the text as written is what is checked.
    try {
      FileAccess(config.read_folders, config.write_folders, 0).resolve_write(output_file);
    } catch (const FileAccessError& e) {
      s.fail(s.at("output_file"), e.what());
    }
  }
  s.boolean("append", append_);
  s.string("memory_key", memory_key_);
  s.boolean("note", note_);
  s.string("emit", emit_);
  if (auto problem = emitted_event_problem(emit_); problem && !emit_.empty()) s.fail(s.at("emit"), *problem);
  if (const nlohmann::json* schema = s.raw("json_schema")) {
    if (!schema->is_object()) s.fail(s.at("json_schema"), "expected a JSON schema object");
    json_schema_ = schema->dump();
    try {  // the grammar is made per call; a schema it cannot take would fail every task instead
      engine::json_schema_to_gbnf(json_schema_);
    } catch (const engine::SchemaError& e) {
      s.fail(s.at("json_schema") + e.pointer(), e.reason());
    } catch (const std::invalid_argument& e) {  // past the size or depth limits
      s.fail(s.at("json_schema"), e.what());
    }
  }
  s.strings("stop", stop_);
  s.strings("tools", tools_);
  for (size_t i = 0; i < tools_.size(); ++i) {
    const auto& known = agent_tool_names();
    if (std::find(known.begin(), known.end(), tools_[i]) == known.end()) {
      s.fail(s.at("tools") + "/" + std::to_string(i),
             "no tool named '" + tools_[i] + "'; known: " + core::joined(known, ", "));
    }
  }
  if (!tools_.empty() && !json_schema_.empty()) {
    s.fail(s.at("tools"), "tools and json_schema cannot be combined (a tool call is not the schema's JSON)");
  }
  // Every stop string is matched against every generated piece: a config must not be able to make
  // each token cost thousands of comparisons.
  if (stop_.size() > 64) s.fail(s.at("stop"), "at most 64 stop strings, got " + std::to_string(stop_.size()));
  for (size_t i = 0; i < stop_.size(); ++i) {
    if (stop_[i].size() > 256) s.fail(s.at("stop") + "/" + std::to_string(i), "at most 256 bytes");
  }
  if (auto l = s.object("long_form", {"sections", "outline", "tail_chars", "min_distinct4", "max_attempts"})) {
    engine::LongFormOptions o;
    l->integer("sections", o.sections, 1, 50);
    l->strings("outline", o.outline);
    if (l->has("outline") && o.outline.empty()) l->fail(l->at("outline"), "an empty outline; leave it out to let the model write one");
    l->integer("tail_chars", o.tail_chars, 0, 10000);
    l->number("min_distinct4", o.min_distinct4, 0.0, 1.0);
    l->integer("max_attempts", o.max_attempts, 1, 10);
    if (!json_schema_.empty()) l->fail(l->path(), "cannot be combined with json_schema");
    if (!tools_.empty()) l->fail(l->path(), "cannot be combined with tools");
    long_form_ = o;
  }
}

std::string PromptAgent::input_file_path(TaskContext& ctx) const {
  if (ctx.trigger().starts_with("on ")) {
    std::string file = event_field(ctx.input(), "file");
    if (file.empty()) throw std::runtime_error("{{input_file}}: the event has no \"file\" field");
    return file;
  }
  if (ctx.input().empty()) throw std::runtime_error("{{input_file}}: the task has no input naming a file");
  return ctx.input();
}

std::string PromptAgent::fill(const PromptTemplate& t, TaskContext& ctx) const {
  int64_t now = ctx.now_ms();
  return t.render([&](const PromptTemplate::Part& p) -> std::string {
    switch (p.kind) {
      case Kind::text: return p.arg;
      case Kind::input: return ctx.input();
      case Kind::input_file: return ctx.read_file(input_file_path(ctx));  // recorded in the timeline
      case Kind::file: return ctx.read_file(p.arg);
      case Kind::memory: {
        auto v = ctx.recall(p.arg);
        return v ? as_text(*v) : "";
      }
      case Kind::event: return event_field(ctx.input(), p.arg);
      case Kind::date: return local_time(now, "%Y-%m-%d");
      case Kind::time: return local_time(now, "%H:%M");
      case Kind::datetime: return local_time(now, "%Y-%m-%d %H:%M");
      case Kind::weekday: return local_time(now, "%A");
      case Kind::agent: return ctx.agent();
      case Kind::task: return std::to_string(ctx.task_id());
    }
    return "";
  });
}

std::string PromptAgent::run(TaskContext& ctx) {
  std::string answer;
  if (long_form_) {
    engine::LongFormOptions o = ctx.long_form_defaults();
    o.sections = long_form_->sections;
    o.outline = long_form_->outline;
    o.tail_chars = long_form_->tail_chars;
    o.min_distinct4 = long_form_->min_distinct4;
    o.max_attempts = long_form_->max_attempts;
    answer = ctx.generate_long(fill(prompt_, ctx), o);
  } else {
    GenerateOptions options;
    options.prompt = fill(prompt_, ctx);
    options.json_schema = json_schema_;
    options.stop = stop_;
    answer = tools_.empty() ? ctx.generate(options).text
                            : ctx.generate_with_tools(options, agent_tools(ctx, tools_)).text;
  }

  nlohmann::json event = {{"task", ctx.task_id()}, {"agent", ctx.agent()}, {"output", answer}};
  if (output_file_) {
    std::string name = fill(*output_file_, ctx);
    auto path = append_ ? ctx.append_file(name, answer + "\n") : ctx.write_file(name, answer);  // a "wrote" event
    event["file"] = path.string();
  }
  if (!memory_key_.empty()) ctx.remember(memory_key_, answer);
  if (note_) ctx.note(answer);
  if (!emit_.empty()) ctx.emit(emit_, event);
  return answer;
}

}  // namespace agentd::agents
