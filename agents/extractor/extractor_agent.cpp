#include "agents/extractor/extractor_agent.hpp"

#include <algorithm>

#include "agents/common/plain_text.hpp"
#include "agents/config_reader.hpp"
#include "agents/extractor/processed_documents.hpp"
#include "agents/extractor/receipt_schema.hpp"
#include "agents/extractor/extractor_schema.hpp"
#include "agents/task_context.hpp"
#include "core/text.hpp"
#include "engine/json_schema_validator.hpp"

namespace agentd::agents {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kMemoryKey = "processed";
constexpr size_t kShownChars = 200;

std::string generic_instruction(const json& schema) {
  const json properties = schema.value("properties", json::object());
  std::string members;
  for (const auto& [key, _] : properties.items()) members += (members.empty() ? "" : ", ") + key;
  return "Extract the data of the document below as JSON" + (members.empty() ? std::string(".") : " with: " + members + ".");
}

std::string clipped(std::string text) {
  if (text.size() > kShownChars) text = text.substr(0, kShownChars - 3) + "...";
  return text;
}

// What is wrong with one answer, or "" when it is a valid instance of the schema.
std::string answer_problem(const engine::Result& answer, const json& schema, json& value) {
  value = json::parse(answer.text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return answer.finish == engine::FinishReason::length ? "not JSON: the answer was cut at max_tokens" : "not JSON";
  }
  return core::joined(engine::validate_json(value, schema), "; ");
}

}  // namespace

ExtractorAgent::ExtractorAgent(const AgentConfig& config)
    : seed_(config.generation.seed), temperature_(config.generation.temperature) {
  for (const auto& folder : config.read_folders) {  // a watched folder is also a read folder: once is enough
    if (std::find(read_folders_.begin(), read_folders_.end(), folder) == read_folders_.end()) read_folders_.push_back(folder);
  }
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"schema", "instruction", "glob", "output", "max_documents", "max_document_bytes", "remember"});
  if (config.read_folders.empty()) s.fail("/folders/read", "the extractor needs a read folder with the documents");
  if (config.write_folders.empty()) s.fail("/folders/write", "the extractor needs a write folder for its JSON-lines file");
  if (const json* schema = s.raw("schema")) {
    schema_ = *schema;
    instruction_ = generic_instruction(schema_);
  } else {
    schema_ = json::parse(kReceiptSchema);
    instruction_ = kReceiptInstruction;
  }
  try {
    check_supported_schema(schema_);
  } catch (const SchemaError& e) {
    s.fail(s.at("schema") + e.pointer(), e.reason());
  }
  s.string("instruction", instruction_);
  if (instruction_.empty()) s.fail(s.at("instruction"), "an empty instruction");
  s.string("glob", glob_);
  if (glob_.empty()) s.fail(s.at("glob"), "an empty pattern");
  s.string("output", output_);
  if (output_.empty()) s.fail(s.at("output"), "an empty file name");
  try {  // ".." or outside the write folders: refused by `agentd agents validate`, not at the first run
    FileAccess(config.read_folders, config.write_folders, 0).resolve_write(output_);
  } catch (const FileAccessError& e) {
    s.fail(s.at("output"), e.what());
  }
  s.integer("max_documents", max_documents_, 1, 1000);
  s.integer("max_document_bytes", max_document_bytes_, 64, 1 << 20);
  s.integer("remember", remember_, 10, 100000);
}

std::vector<fs::path> ExtractorAgent::candidates(TaskContext& ctx) const {
  const std::string input = text::trim(ctx.input());
  if (!input.empty()) {
    if (ctx.trigger().starts_with("watch ")) {  // a watch also fires when a file goes away
      std::error_code ec;
      if (!fs::exists(ctx.files().resolve_read(input), ec)) {
        ctx.log("document gone", {{"file", input}});
        return {};
      }
    }
    return {input};
  }
  std::vector<fs::path> found;
  for (const fs::path& folder : read_folders_) {
    try {
      for (auto& path : ctx.list_files(folder, glob_)) found.push_back(std::move(path));
    } catch (const FileAccessError& e) {
      ctx.log("cannot list documents", {{"file", folder.string()}, {"error", e.what()}});
    }
  }
  return found;
}

std::optional<json> ExtractorAgent::extract(TaskContext& ctx, const Document& doc, std::string& error) const {
  GenerateOptions options;
  options.prompt = instruction_ + "\n\nDocument \"" + doc.name + "\":\n" + doc.text;
  options.json_schema = schema_.dump();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    if (attempt == 2) {  // a new seed, and enough temperature for it to matter
      uint32_t seed = seed_ ? *seed_ + 1 : static_cast<uint32_t>(std::stoull(doc.hash.substr(8), nullptr, 16));
      options.seed = seed == 0xFFFFFFFFu ? 1 : seed;
      options.temperature = std::max(temperature_, 0.5f);
    }
    json value;
    error = answer_problem(ctx.generate(options), schema_, value);
    if (error.empty()) return value;
    ctx.log("invalid output", {{"file", doc.path.string()}, {"attempt", attempt}, {"error", error}});
  }
  return std::nullopt;
}

ExtractorAgent::Outcome ExtractorAgent::too_large(TaskContext& ctx, const Document& doc, ProcessedDocuments& processed) const {
  std::string why = std::to_string(doc.text.size()) + " bytes, more than max_document_bytes " + std::to_string(max_document_bytes_);
  ctx.log("document too large", {{"file", doc.path.string()}, {"error", why}});
  processed.add(doc.hash, doc.name, "too large");
  return {doc.name, "too large", why};
}

ExtractorAgent::Outcome ExtractorAgent::handle(TaskContext& ctx, const Document& doc, ProcessedDocuments& processed) const {
  std::string error;
  auto data = extract(ctx, doc, error);
  if (!data) {
    ctx.log("extraction failed", {{"file", doc.path.string()}, {"error", error}});
    processed.add(doc.hash, doc.name, "failed");
    return {doc.name, "failed", error};
  }
  json line = {{"file", doc.name}, {"task", ctx.task_id()}, {"hash", doc.hash}, {"data", *data}};
  ctx.append_file(output_, line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  processed.add(doc.hash, doc.name, "extracted");
  return {doc.name, "extracted", data->dump(-1, ' ', false, json::error_handler_t::replace)};
}

std::string ExtractorAgent::run(TaskContext& ctx) {
  ProcessedDocuments processed = ProcessedDocuments::from_json(ctx.recall(kMemoryKey).value_or(json::array()), remember_);
  std::vector<Outcome> outcomes;
  int already = 0, left = 0, sent = 0;  // sent: documents given to the model, at most max_documents_
  for (const fs::path& path : candidates(ctx)) {
    ctx.check_cancelled();
    Document doc{path, path.filename().string(), "", ""};
    try {
      doc.text = ctx.read_file(path);
    } catch (const FileAccessError& e) {
      ctx.log("cannot read document", {{"file", path.string()}, {"error", e.what()}});
      outcomes.push_back({doc.name, "unreadable", e.what()});
      continue;
    }
    doc.hash = content_hash(doc.text);
    if (processed.contains(doc.hash)) {
      ++already;
      continue;
    }
    if (doc.text.size() > static_cast<size_t>(max_document_bytes_)) {
      outcomes.push_back(too_large(ctx, doc, processed));
    } else if (sent == max_documents_) {
      ++left;
      continue;
    } else {
      ++sent;
      outcomes.push_back(handle(ctx, doc, processed));
    }
    ctx.remember(kMemoryKey, processed.to_json());  // after each document: a crash redoes none
  }
  if (left > 0) ctx.log("documents left for the next run", {{"count", left}});

  const auto extracted = std::count_if(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.result == "extracted"; });
  if (!outcomes.empty() && sent == 0) {  // new documents, and not one could be given to the model
    throw std::runtime_error("extractor: no document could be read: " + outcomes.front().file + ": " + outcomes.front().detail);
  }
  std::string report = "# Extractor, task " + std::to_string(ctx.task_id()) + "\n\n" + std::to_string(extracted) + " extracted, " +
                       std::to_string(outcomes.size() - extracted) + " not; " + std::to_string(already) +
                       " already processed; " + std::to_string(left) + " left for the next run.\n";
  if (extracted > 0) report += "Appended to " + ctx.files().resolve_write(output_).string() + ".\n";
  if (!outcomes.empty()) report += "\n";
  for (const auto& o : outcomes) report += "- " + o.file + ": " + o.result + ": " + clipped(o.detail) + "\n";
  return report;
}

}  // namespace agentd::agents
