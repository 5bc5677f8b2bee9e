// The `extractor` plugin: structured JSON from documents (text files) under a JSON schema.
//
// Which documents: a task whose input names a file (a watch trigger, or `agentd submit extractor
// --input receipt.txt`) handles that file; a task with an empty input (an "every" trigger, a
// plain submit) scans every read folder for files matching "glob" that it has not handled yet.
// Documents are known by content hash (agents/extractor/processed_documents), remembered in the
// agent's memory ("processed", the newest "remember" entries), so a watch and a scan never
// handle one document twice and a renamed copy is skipped.
//
// Each document is sent to the model (one larger than "max_document_bytes" is refused; at most
// "max_documents" per task, the rest next time) with the instruction, under the schema as a
// grammar (GenerateOptions::json_schema; the grammar states a `minimum` only as "no minus sign");
// the answer is parsed and validated in code against the schema (engine/json_schema_validator;
// agents/extractor/extractor_schema says which schemas an agent file may give). Invalid output gets one retry with a new seed (the configured seed + 1, or
// one from the content hash; temperature at least 0.5 so the retry can differ); still invalid,
// the document is logged as failed with the reasons and the agent goes on. A valid answer is appended as one line to the
// JSON-lines file "output" in the first write folder:
//   {"file":"receipt-1.txt","task":12,"hash":"9f3c...","data":{...}}
// The task's output is a Markdown list of what happened to each document. Documents the model
// answered badly are failures of those documents, not of the task; the task fails only when
// there were new documents and none could be read and sent to the model.
//
//   "folders": { "read": ["../agents/extractor/samples"], "write": ["../var/extractor"] },
//   "settings": {
//     "schema": { ... },              // default: a receipt (agents/extractor/receipt_schema.hpp)
//     "instruction": "Extract ...",   // default: one naming the schema's top-level members
//     "glob": "*.txt",
//     "output": "extracted.jsonl",
//     "max_documents": 20,            // per task
//     "max_document_bytes": 16384,
//     "remember": 1000                // content hashes kept
//   }
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"

namespace agentd::agents {

class ProcessedDocuments;

class ExtractorAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting (a schema outside the
  // supported subset included).
  explicit ExtractorAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  struct Document {
    std::filesystem::path path;
    std::string name, text, hash;
  };
  struct Outcome {
    std::string file;
    std::string result;  // "extracted", "failed", "unreadable", "too large"
    std::string detail;
  };
  std::vector<std::filesystem::path> candidates(TaskContext& ctx) const;
  std::optional<nlohmann::json> extract(TaskContext& ctx, const Document& doc, std::string& error) const;
  Outcome handle(TaskContext& ctx, const Document& doc, ProcessedDocuments& processed) const;
  Outcome too_large(TaskContext& ctx, const Document& doc, ProcessedDocuments& processed) const;

  nlohmann::json schema_;
  std::string instruction_;
  std::string glob_ = "*.txt";
  std::string output_ = "extracted.jsonl";
  int max_documents_ = 20;
  int max_document_bytes_ = 16384;
  int remember_ = 1000;
  std::vector<std::filesystem::path> read_folders_;
  std::optional<uint32_t> seed_;
  float temperature_ = 0.7f;
};

}  // namespace agentd::agents
