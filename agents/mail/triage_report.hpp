// The mail agent's report: one Markdown table row per new message (from, subject, date, label,
// summary, draft file), then what was skipped and why. Computed facts only; the summaries are
// the model's, cut in code to one or two sentences.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents {

struct TriageEntry {
  std::string source;    // "Maildir/new/1700000000.M1.host:2," or "inbox.mbox#3"
  std::string from, subject, date;
  std::string label;
  std::string label_reason;  // "model", or the header that made it a newsletter
  std::string summary;
  std::string draft;         // path of the reply draft, relative to the write folder; "" if none
};

struct SkippedItem {
  std::string source;
  std::string reason;
};

struct TriageCounts {
  size_t already_seen = 0;
  size_t left_for_next_run = 0;  // new messages beyond max_new_per_run
};

std::string triage_report(const std::vector<TriageEntry>& entries, const std::vector<SkippedItem>& skipped,
                          const TriageCounts& counts);

// The first one or two sentences of `text` on one line, at most `max_chars` bytes (cut at a
// word, with "..."); "" when `text` has no words.
std::string one_or_two_sentences(std::string_view text, size_t max_chars);

// `text` fit for a Markdown table cell: one line, '|' escaped.
std::string table_cell(std::string_view text);

}  // namespace agentd::agents
