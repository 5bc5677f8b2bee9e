#include "agents/summarizer/summarizer_agent.hpp"

#include <vector>

#include "agents/common/content_hash.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/seen_ids.hpp"
#include "agents/config_reader.hpp"
#include "agents/file_access.hpp"
#include "agents/summarizer/document.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace fs = std::filesystem;

namespace {

const std::string kSeenKey = "summarized";  // content hashes of documents summarised or refused
constexpr int kMaxRounds = 4;               // summaries of summaries, at most

bool is_document(const fs::path& file) { return file.extension() == ".txt" || file.extension() == ".md"; }

fs::path checked_folder(const ConfigReader& s, const char* key) {
  std::string folder;
  s.string(key, folder);
  fs::path p(folder);
  for (const auto& part : p) {
    if (part == "..") s.fail(s.at(key), "'..' is not allowed");
  }
  return p;
}

struct Summary {
  std::string text;
  size_t chunks = 0;
  int calls = 0;
};

// Summarises documents chunk by chunk, then the summaries, with the agent's settings. Each prompt
// is its standing instruction first and the document's name and text after it, so the engine's
// prefix cache prefills the instruction once for every document.
class Summariser {
 public:
  Summariser(TaskContext& ctx, const SummarizerAgent::Settings& s) : ctx_(ctx), s_(s) {}

  Summary summarise(const std::string& name, const std::string& text) {
    Summary out;
    std::vector<std::string> chunks = chunk_paragraphs(text, static_cast<size_t>(s_.chunk_chars));
    out.chunks = chunks.size();
    if (chunks.size() == 1) {
      out.text = ask("Summarise the document below in one short paragraph. Keep names, numbers and dates exact.\n\n"
                     "Document \"" + name + "\":\n" + chunks[0] + "\n\nSummary:");
      out.calls = calls_;
      return out;
    }
    std::string combined = summarise_parts(name, chunks);
    for (int round = 1; combined.size() > static_cast<size_t>(s_.chunk_chars) && round < kMaxRounds; ++round) {
      combined = summarise_parts(name, chunk_paragraphs(combined, static_cast<size_t>(s_.chunk_chars)));
    }
    out.text = ask("These are summaries of consecutive parts of a document. Write one short paragraph summarising "
                   "the whole document. Keep names, numbers and dates exact.\n\nDocument \"" + name + "\"\n\n" +
                   combined + "\n\nSummary:");
    out.calls = calls_;
    return out;
  }

 private:
  // Each part summarised; the summaries joined as paragraphs, in order.
  std::string summarise_parts(const std::string& name, const std::vector<std::string>& parts) {
    std::string combined;
    for (size_t i = 0; i < parts.size(); ++i) {
      ctx_.check_cancelled();
      std::string part = "Part " + std::to_string(i + 1) + " of " + std::to_string(parts.size());
      std::string summary = ask("Summarise this part of a document in two or three sentences. Keep names, numbers "
                                "and dates exact.\n\nDocument \"" + name + "\"\n\n" + part + ":\n" + parts[i] +
                                "\n\nSummary:");
      combined += (combined.empty() ? "" : "\n\n") + part + ": " + summary;
    }
    return combined;
  }

  std::string ask(const std::string& prompt) {
    GenerateOptions o;
    o.prompt = prompt;
    o.max_tokens = s_.summary_max_tokens;
    ++calls_;
    std::string text = text::trim(ctx_.generate(o).text);
    return text.empty() ? "(no summary)" : text;
  }

  TaskContext& ctx_;
  const SummarizerAgent::Settings& s_;
  int calls_ = 0;
};

std::string summary_file_text(const std::string& name, const Summary& summary, const DocumentFacts& facts,
                              const std::string& hash) {
  std::string out = "# Summary of " + name + "\n\n" + summary.text + "\n\n## Facts\n\n";
  out += "- Source: " + name + " (" + std::to_string(facts.bytes) + " bytes, " + std::to_string(facts.words) +
         " words, " + std::to_string(facts.paragraphs) + " paragraphs)\n";
  if (!facts.headings.empty()) {
    out += "- Headings:";
    for (size_t i = 0; i < facts.headings.size(); ++i) out += (i ? "; " : " ") + facts.headings[i];
    out += "\n";
  }
  out += "- Summarised in " + std::to_string(summary.chunks) + " chunk(s) with " + std::to_string(summary.calls) +
         " model call(s); content hash " + hash + "\n";
  return out;
}

// One task: which documents, what became of each.
class SummarizerRun {
 public:
  SummarizerRun(TaskContext& ctx, const SummarizerAgent::Settings& s)
      : ctx_(ctx), s_(s), seen_(SeenIds::recall(ctx, kSeenKey, s.max_seen)) {}

  std::vector<fs::path> candidates() {
    std::string input = text::trim(ctx_.input());
    if (!input.empty()) return {fs::path(input)};
    std::vector<fs::path> files = ctx_.list_files(inbox());  // sorted
    std::erase_if(files, [](const fs::path& file) { return !is_document(file); });
    return files;
  }

  void handle(const fs::path& file) {
    std::string name = file.filename().string();
    if (!is_document(file)) return refuse(file, "not a .txt or .md document");
    std::string text;
    try {
      text = ctx_.read_file(file);
    } catch (const FileAccessError& e) {
      return refuse(file, e.what());
    }
    std::string hash = content_hash(text);
    if (text.size() > static_cast<size_t>(s_.max_document_bytes)) {
      return refuse_once(file, "refused:" + hash + ":" + std::to_string(s_.max_document_bytes),
                         std::to_string(text.size()) + " bytes is more than max_document_bytes (" +
                             std::to_string(s_.max_document_bytes) + ")");
    }
    if (text::trim(text).empty()) return refuse_once(file, "refused:" + hash, "the document is empty");
    if (seen_.contains(hash)) {
      lines_.push_back("- " + name + ": already summarised (same content)");
      ++already_;
      return;
    }
    if (done_ >= s_.max_documents_per_run) {
      ++left_;
      return;
    }
    summarise(file, text, hash);
  }

  std::string report() const {
    std::string out = "# Summarizer: " + std::to_string(done_) + " document(s) summarised\n\n";
    for (const std::string& line : lines_) out += line + "\n";
    if (lines_.empty()) out += "Nothing new in the inbox.\n";
    if (left_ > 0) out += "\nLeft for the next run: " + std::to_string(left_) + " document(s).\n";
    return out;
  }
  bool nothing_usable() const { return refused_ > 0 && done_ == 0 && already_ == 0 && left_ == 0; }
  std::string failure() const { return "no document could be summarised: " + first_refusal_; }

 private:
  void summarise(const fs::path& file, const std::string& text, const std::string& hash) {
    std::string name = file.filename().string();
    Summary summary = Summariser(ctx_, s_).summarise(name, text);
    DocumentFacts facts = document_facts(text);
    fs::path out = summary_path(file);
    fs::path written = ctx_.write_file(out, summary_file_text(name, summary, facts, hash));
    seen_.add(hash);
    seen_.remember(ctx_, kSeenKey);  // per document: a later failure must not redo this one
    ++done_;
    ctx_.log("summarised " + name, {{"file", file.string()}, {"chunks", summary.chunks}, {"summary", written.string()}});
    std::string indented = summary.text;  // a Markdown list item continues on indented lines
    for (size_t pos = 0; (pos = indented.find('\n', pos)) != std::string::npos; pos += 3) indented.replace(pos, 1, "\n  ");
    lines_.push_back("- " + name + " (" + std::to_string(facts.words) + " words, " + std::to_string(summary.chunks) +
                     " chunk(s)) -> " + out.string() + "\n  " + indented);
  }

  fs::path inbox() const { return s_.inbox.empty() ? ctx_.files().read_folders().front() : s_.inbox; }

  // <output_folder>/<the document's path below the inbox>.summary.md ("notes.md.summary.md"): the
  // full name, so notes.md and notes.txt keep a summary each. A document elsewhere (an input in
  // another read folder) is named after that folder too: "<folder>/<path below it>.summary.md".
  // Paths are compared with their folders' links resolved (as FileAccess stores them), not the
  // document's own name, so a link in the inbox is named as it appears there.
  fs::path summary_path(const fs::path& file) const {
    const FileAccess& files = ctx_.files();
    fs::path absolute = file.is_absolute() ? file : files.read_folders().front() / file;
    fs::path document = real_path_or_given(absolute.parent_path()) / absolute.filename();
    fs::path inbox_real = files.resolve_read(inbox());
    fs::path below = document.filename();
    if (path_inside(document, inbox_real)) {
      below = document.lexically_relative(inbox_real);
    } else {
      for (const fs::path& folder : files.read_folders()) {
        if (path_inside(document, folder)) {
          below = folder.filename() / document.lexically_relative(folder);
          break;
        }
      }
    }
    return s_.output_folder / (below.string() + ".summary.md");
  }

  // Content refused once is not reported again (a scan every few minutes would fail each time);
  // the key holds the size limit, so raising it gives the document another chance.
  void refuse_once(const fs::path& file, const std::string& key, const std::string& reason) {
    if (seen_.contains(key)) {
      lines_.push_back("- " + file.filename().string() + ": refused before (same content)");
      ++already_;
      return;
    }
    refuse(file, reason);
    seen_.add(key);
    seen_.remember(ctx_, kSeenKey);
  }

  void refuse(const fs::path& file, const std::string& reason) {
    ctx_.log("refused " + file.filename().string(), {{"file", file.string()}, {"error", reason}});
    lines_.push_back("- " + file.filename().string() + ": refused: " + reason);
    if (refused_++ == 0) first_refusal_ = file.filename().string() + ": " + reason;
  }

  TaskContext& ctx_;
  const SummarizerAgent::Settings& s_;
  SeenIds seen_;
  std::vector<std::string> lines_;
  int done_ = 0, already_ = 0, left_ = 0, refused_ = 0;
  std::string first_refusal_;
};

}  // namespace

SummarizerAgent::SummarizerAgent(const AgentConfig& config) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"inbox", "output_folder", "max_document_bytes", "chunk_chars", "summary_max_tokens",
                  "max_documents_per_run", "max_seen"});
  settings_.inbox = checked_folder(s, "inbox");
  settings_.output_folder = checked_folder(s, "output_folder");
  if (settings_.output_folder.is_absolute()) s.fail(s.at("output_folder"), "expected a folder inside the write folder");
  if (config.write_folders.empty()) s.fail("/folders", "the summarizer needs a write folder for its summaries");
  if (config.read_folders.empty() && settings_.inbox.empty()) {
    s.fail(s.at("inbox"), "no inbox: set \"inbox\", a read folder or a \"watch\" trigger");
  }
  s.integer("max_document_bytes", settings_.max_document_bytes, 1, 64 << 20);
  s.integer("chunk_chars", settings_.chunk_chars, 200, 1'000'000);
  s.integer("summary_max_tokens", settings_.summary_max_tokens, 16, 4096);
  s.integer("max_documents_per_run", settings_.max_documents_per_run, 1, 1000);
  s.integer("max_seen", settings_.max_seen, 10, 1'000'000);
}

std::string SummarizerAgent::run(TaskContext& ctx) {
  SummarizerRun run(ctx, settings_);
  for (const fs::path& file : run.candidates()) {
    ctx.check_cancelled();
    run.handle(file);
  }
  if (run.nothing_usable()) throw std::runtime_error(run.failure());
  return run.report();
}

}  // namespace agentd::agents
