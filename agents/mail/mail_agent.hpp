// The `mail` plugin: triage of local mail. Reads Maildir folders (new/ and cur/) and mbox files,
// parses each message with GMime (mime_message), and for every message not seen before:
//   - labels it urgent / needs reply / newsletter / other: a List-Id or List-Unsubscribe header
//     makes it a newsletter in code; otherwise the model picks under a GBNF grammar (mail_label);
//   - summarises it in one or two sentences (model; cut to two sentences in code);
//   - for urgent and needs reply, drafts a reply into the drafts folder of its write folder as
//     an .eml file (reply_draft). It never sends anything: there is no SMTP code in agentd.
// Output: a triage report (from, subject, date, label, summary, draft file), also written to
// triage/<date>-task<id>.md. Seen messages are remembered across runs by Message-ID (else a
// hash of the raw message), at most max_seen; Maildir files already read are skipped by their
// unique name without being read again. Malformed or oversized messages are logged with their
// file and reason and skipped; only when no mailbox can be read, or nothing new is usable, does
// the task fail.
//
//   "settings": {
//     "maildirs": ["Maildir"],        // relative to the first read folder (or absolute inside it)
//     "mboxes": ["archive.mbox"],
//     "drafts_folder": "drafts",      // inside the first write folder
//     "reply_from": "Me <me@example.org>",  // From of the drafts; none when empty
//     "max_message_bytes": 262144,    // a larger message is skipped
//     "max_body_chars": 3000,         // of the body put in a prompt
//     "max_new_per_run": 20,          // the rest waits for the next run
//     "max_seen": 5000,               // ids remembered
//     "summary_max_tokens": 96,
//     "draft_max_tokens": 256
//   }
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/mail/mime_message.hpp"
#include "agents/mail/triage_report.hpp"

namespace agentd::agents {

class MailAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit MailAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

  struct Settings {
    std::vector<std::string> maildirs, mboxes;
    std::string drafts_folder = "drafts";
    std::string reply_from;
    int max_message_bytes = 256 * 1024;
    int max_body_chars = 3000;
    int max_new_per_run = 20;
    int max_seen = 5000;
    int summary_max_tokens = 96;
    int draft_max_tokens = 256;
  };

 private:
  std::string label(TaskContext& ctx, const MailMessage& m, const std::string& facts, std::string& reason) const;
  std::string summarise(TaskContext& ctx, const std::string& facts) const;
  std::string draft(TaskContext& ctx, const MailMessage& m, const std::string& facts, const std::string& identity) const;
  TriageEntry triage(TaskContext& ctx, const MailMessage& m, const std::string& source, const std::string& identity) const;

  Settings settings_;
};

}  // namespace agentd::agents
