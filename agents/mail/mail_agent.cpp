#include "agents/mail/mail_agent.hpp"

#include <ctime>
#include <functional>

#include "agents/common/content_hash.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/seen_ids.hpp"
#include "agents/config_reader.hpp"
#include "agents/file_access.hpp"
#include "agents/mail/mail_label.hpp"
#include "agents/mail/reply_draft.hpp"
#include "agents/task_context.hpp"
#include "core/time_text.hpp"

namespace agentd::agents {

namespace fs = std::filesystem;

namespace {

const std::string kSeenKey = "seen";              // message identities
const std::string kSeenFilesKey = "seen_files";  // Maildir unique names already read

// A Maildir file's unique name: its name without the ":2,FLAGS" info, which changes when the
// message moves from new/ to cur/ or is flagged.
std::string maildir_unique(const fs::path& file) {
  std::string name = file.filename().string();
  return name.substr(0, name.find(':'));
}

// The message as the model sees it: the computed facts, then the body.
std::string message_facts(const MailMessage& m) {
  std::string facts = "From: " + m.from + "\nSubject: " + m.subject + "\nDate: " + (m.date.empty() ? "unknown" : m.date) + "\n";
  if (m.body.empty()) return facts + "\n(no text body)\n";
  facts += "\n" + m.body + "\n";
  if (m.body_truncated) facts += "[... body cut here]\n";
  return facts;
}

// A prompt about one message: the message first, the instruction after it. A message's label,
// summary and reply prompts then share everything up to the instruction, so the engine's prefix
// cache prefills the message once, not once per call (the instructions are a few dozen tokens,
// a message hundreds to thousands).
std::string about_message(const std::string& facts, const std::string& instruction) {
  return "E-mail:\n" + facts + "\n" + instruction;
}

void check_relative_folder(const ConfigReader& s, const char* key, const std::string& folder) {
  fs::path p(folder);
  if (folder.empty() || p.is_absolute()) s.fail(s.at(key), "expected a folder name inside the write folder");
  for (const auto& part : p) {
    if (part == "..") s.fail(s.at(key), "'..' is not allowed");
  }
}

// One run over the mailboxes: what was found, what was done, what is remembered.
class MailRun {
 public:
  using Triage = std::function<TriageEntry(const MailMessage&, const std::string& source, const std::string& identity)>;

  MailRun(TaskContext& ctx, const MailAgent::Settings& s, Triage triage)
      : ctx_(ctx), s_(s), triage_(std::move(triage)), seen_(SeenIds::recall(ctx, kSeenKey, s.max_seen)),
        seen_files_(SeenIds::recall(ctx, kSeenFilesKey, s.max_seen)) {}

  void read_sources() {
    for (const std::string& maildir : s_.maildirs) {
      for (const char* sub : {"new", "cur"}) read_maildir(fs::path(maildir) / sub);
    }
    for (const std::string& mbox : s_.mboxes) read_mbox(mbox);
  }

  void remember() {
    seen_.remember(ctx_, kSeenKey);
    seen_files_.remember(ctx_, kSeenFilesKey);
  }

  std::string report() const { return triage_report(entries_, skipped_, counts_); }
  bool nothing_usable() const {
    return sources_read_ == 0 ||
           (entries_.empty() && bad_messages_ > 0 && counts_.already_seen == 0 && counts_.left_for_next_run == 0);
  }
  std::string failure() const {
    if (sources_read_ == 0) return "no mailbox could be read: " + (skipped_.empty() ? "none configured" : skipped_.front().reason);
    return "no usable new message: " + std::to_string(bad_messages_) + " skipped (" + skipped_.back().source + ": " +
           skipped_.back().reason + ")";
  }
  const std::vector<TriageEntry>& entries() const { return entries_; }
  const std::vector<SkippedItem>& skipped() const { return skipped_; }

 private:
  void read_maildir(const fs::path& folder) {
    std::vector<fs::path> files;
    try {
      files = ctx_.list_files(folder);
    } catch (const FileAccessError& e) {
      skip(folder.string(), e.what());
      return;
    }
    ++sources_read_;
    for (const fs::path& file : files) {
      ctx_.check_cancelled();
      std::string source = (folder / file.filename()).string();
      if (seen_files_.contains(maildir_unique(file))) {
        ++counts_.already_seen;
        continue;
      }
      if (budget_spent()) {
        ++counts_.left_for_next_run;
        continue;
      }
      std::string raw;
      try {
        raw = ctx_.read_file(file);
      } catch (const FileAccessError& e) {  // too large for the agent's limit, unreadable: reported once
        skip(source, e.what());
        ++bad_messages_;
        seen_files_.add(maildir_unique(file));
        continue;
      }
      if (handle(source, raw)) seen_files_.add(maildir_unique(file));
    }
  }

  void read_mbox(const std::string& path) {
    std::string text;
    try {
      text = ctx_.read_file(path);
    } catch (const FileAccessError& e) {
      skip(path, e.what());
      return;
    }
    ++sources_read_;
    std::vector<std::string> messages = split_mbox(text);
    if (messages.empty() && !text.empty()) skip(path, "no message found (an mbox message starts with a \"From \" line)");
    for (size_t i = 0; i < messages.size(); ++i) {
      ctx_.check_cancelled();
      handle(path + "#" + std::to_string(i + 1), messages[i]);
    }
  }

  // Parses, de-duplicates and triages one message, or records why not. False when it was left
  // for the next run.
  bool handle(const std::string& source, const std::string& raw) {
    std::string fallback_identity = "sha:" + content_hash(raw);
    if (raw.size() > static_cast<size_t>(s_.max_message_bytes)) {
      skip_once(source, fallback_identity,
                std::to_string(raw.size()) + " bytes is more than max_message_bytes (" +
                    std::to_string(s_.max_message_bytes) + ")");
      return true;
    }
    MailMessage message;
    try {
      message = parse_message(raw, static_cast<size_t>(s_.max_body_chars));
    } catch (const MalformedMessage& e) {
      skip_once(source, fallback_identity, std::string("malformed: ") + e.what());
      return true;
    }
    std::string identity = message.message_id.empty() ? fallback_identity : "id:" + message.message_id;
    if (seen_.contains(identity)) {
      ++counts_.already_seen;
      return true;
    }
    if (budget_spent()) {
      ++counts_.left_for_next_run;
      return false;
    }
    entries_.push_back(triage_(message, source, identity));
    seen_.add(identity);
    return true;
  }

  bool budget_spent() const { return entries_.size() >= static_cast<size_t>(s_.max_new_per_run); }

  void skip(const std::string& source, const std::string& reason) {
    ctx_.log("skipped " + source, {{"file", source}, {"error", reason}});
    skipped_.push_back({source, reason});
  }
  // A bad message is reported once, then remembered like a triaged one.
  void skip_once(const std::string& source, const std::string& identity, const std::string& reason) {
    if (seen_.contains(identity)) {
      ++counts_.already_seen;
      return;
    }
    skip(source, reason);
    seen_.add(identity);
    ++bad_messages_;
  }

  TaskContext& ctx_;
  const MailAgent::Settings& s_;
  Triage triage_;
  SeenIds seen_, seen_files_;
  std::vector<TriageEntry> entries_;
  std::vector<SkippedItem> skipped_;
  TriageCounts counts_;
  int sources_read_ = 0;
  int bad_messages_ = 0;
};

}  // namespace

MailAgent::MailAgent(const AgentConfig& config) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"maildirs", "mboxes", "drafts_folder", "reply_from", "max_message_bytes", "max_body_chars",
                  "max_new_per_run", "max_seen", "summary_max_tokens", "draft_max_tokens"});
  s.strings("maildirs", settings_.maildirs);
  s.strings("mboxes", settings_.mboxes);
  if (settings_.maildirs.empty() && settings_.mboxes.empty()) {
    s.fail(s.path().empty() ? "/settings" : s.path(), "name at least one mailbox in \"maildirs\" or \"mboxes\"");
  }
  FileAccess files(config.read_folders, config.write_folders, 0);
  for (const char* key : {"maildirs", "mboxes"}) {
    const auto& paths = std::string_view(key) == "maildirs" ? settings_.maildirs : settings_.mboxes;
    for (size_t i = 0; i < paths.size(); ++i) {
      if (auto why = files.read_refusal(paths[i])) s.fail(s.at(key) + "/" + std::to_string(i), *why);
    }
  }
  s.string("drafts_folder", settings_.drafts_folder);
  check_relative_folder(s, "drafts_folder", settings_.drafts_folder);
  if (config.write_folders.empty()) s.fail("/folders", "the mail agent needs a write folder for its drafts and reports");
  s.string("reply_from", settings_.reply_from);
  s.integer("max_message_bytes", settings_.max_message_bytes, 1024, 64 << 20);
  s.integer("max_body_chars", settings_.max_body_chars, 100, 100'000);
  s.integer("max_new_per_run", settings_.max_new_per_run, 1, 10'000);
  s.integer("max_seen", settings_.max_seen, 10, 1'000'000);
  s.integer("summary_max_tokens", settings_.summary_max_tokens, 8, 4096);
  s.integer("draft_max_tokens", settings_.draft_max_tokens, 16, 8192);
}

std::string MailAgent::run(TaskContext& ctx) {
  MailRun mail(ctx, settings_, [&](const MailMessage& m, const std::string& source, const std::string& identity) {
    return triage(ctx, m, source, identity);
  });
  try {
    mail.read_sources();
  } catch (...) {
    mail.remember();  // what was triaged before a failure or a cancel stays triaged
    throw;
  }
  mail.remember();
  if (mail.nothing_usable()) throw std::runtime_error(mail.failure());
  std::string report = mail.report();
  if (!mail.entries().empty() || !mail.skipped().empty()) {
    std::string name = "triage/" + core::format_time(ctx.now_ms(), "%Y-%m-%d", core::TimeBase::utc) + "-task" + std::to_string(ctx.task_id()) + ".md";
    ctx.write_file(name, report);
  }
  return report;
}

TriageEntry MailAgent::triage(TaskContext& ctx, const MailMessage& m, const std::string& source,
                              const std::string& identity) const {
  TriageEntry e{source, m.from, m.subject, m.date, "", "model", "", ""};
  std::string facts = message_facts(m);
  e.label = label(ctx, m, facts, e.label_reason);
  e.summary = summarise(ctx, facts);
  if (label_wants_reply(e.label)) e.draft = draft(ctx, m, facts, identity);
  return e;
}

std::string MailAgent::label(TaskContext& ctx, const MailMessage& m, const std::string& facts,
                             std::string& reason) const {
  if (auto list = list_evidence(m)) {
    reason = list->reason;
    ctx.log("labelled newsletter by header", {{"subject", m.subject}, {"header", list->reason}});
    return list->label;
  }
  GenerateOptions o;
  o.prompt = about_message(facts, "Label the e-mail above with exactly one of: urgent (needs action today), needs "
                                  "reply (the sender expects an answer), newsletter (bulk or marketing mail), other.\nLabel:");
  o.grammar = mail_label_grammar();
  o.temperature = 0.0f;
  o.max_tokens = 24;  // "needs reply" is up to a dozen tokens in a small vocabulary
  std::string answer = ctx.generate(o).text;
  if (auto parsed = parse_mail_label(answer)) return *parsed;
  ctx.log("label answer not one of the labels; using \"other\"", {{"subject", m.subject}, {"answer", answer.substr(0, 80)}});
  reason = "fallback: the model's answer was not a label";
  return "other";
}

std::string MailAgent::summarise(TaskContext& ctx, const std::string& facts) const {
  GenerateOptions o;
  o.prompt = about_message(facts, "Summarise the e-mail above in one or two sentences: who wants what, and by when.\nSummary:");
  o.max_tokens = settings_.summary_max_tokens;
  std::string summary = one_or_two_sentences(ctx.generate(o).text, 300);
  return summary.empty() ? "(no summary)" : summary;
}

std::string MailAgent::draft(TaskContext& ctx, const MailMessage& m, const std::string& facts,
                             const std::string& identity) const {
  GenerateOptions o;
  o.prompt = about_message(facts, "Write a short, polite reply to the e-mail above. Do not promise anything or invent "
                                  "facts; put what the user must fill in between [brackets]. Write only the body of the "
                                  "reply.\nReply:");
  o.max_tokens = settings_.draft_max_tokens;
  std::string body = text::trim(ctx.generate(o).text);
  if (body.empty()) body = "[Write your reply here.]";
  std::string text = reply_draft({m, body + "\n", settings_.reply_from, ctx.now_ms()});
  fs::path relative = fs::path(settings_.drafts_folder) / draft_file_name(m.subject, identity);
  ctx.write_file(relative, text);
  return relative.string();
}

}  // namespace agentd::agents
