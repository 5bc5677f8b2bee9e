// The `summarizer` plugin: summaries of documents dropped into a watched folder.
//
// - A task whose input names a file (a "watch" trigger on the inbox, or `agentd submit
//   summarizer --input FILE`) summarises that file; a task without input (an "every" trigger)
//   scans the inbox for *.txt and *.md files whose content has not been summarised yet (content
//   hashes remembered across runs, at most max_seen), at most max_documents_per_run at a time.
// - Documents larger than max_document_bytes, empty ones and other file types are refused with
//   the file and the reason in the timeline and the report; refused content is remembered too,
//   so a scan reports it once rather than failing every time (raising the limit retries it).
// - A document longer than chunk_chars is split in code at paragraph boundaries (document.hpp),
//   each chunk is summarised, then the summaries are summarised (again in chunks if they are
//   still too long). chunk_chars must fit the model's context with the instructions.
// - The summary goes to <output_folder>/<name>.summary.md in the first write folder ("notes.md" ->
//   "notes.md.summary.md": the full name, so two documents never share a summary; a document
//   below the inbox keeps its subfolders, one in another read folder is put under that folder's
//   name), with facts counted in code (bytes, words, paragraphs, Markdown headings, chunks).
//
//   "settings": {
//     "inbox": "",                   // folder scanned when there is no input; default: the first read folder
//     "output_folder": "",           // inside the first write folder; default: its top
//     "max_document_bytes": 262144,
//     "chunk_chars": 3000,
//     "summary_max_tokens": 160,
//     "max_documents_per_run": 10,
//     "max_seen": 2000
//   }
#pragma once

#include <filesystem>
#include <string>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"

namespace agentd::agents {

class SummarizerAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit SummarizerAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

  struct Settings {
    std::filesystem::path inbox;
    std::filesystem::path output_folder;
    int max_document_bytes = 256 * 1024;
    int chunk_chars = 3000;
    int summary_max_tokens = 160;
    int max_documents_per_run = 10;
    int max_seen = 2000;
  };

 private:
  Settings settings_;
};

}  // namespace agentd::agents
