#include "agents/mail/triage_report.hpp"

#include "agents/common/plain_text.hpp"

namespace agentd::agents {

namespace {

std::string single_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    out += c;
    space = false;
  }
  return out;
}

// Where the sentence that starts at `from` ends (just past its '.', '!' or '?'), or npos.
size_t sentence_end(const std::string& s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if ((s[i] == '.' || s[i] == '!' || s[i] == '?') && (i + 1 == s.size() || s[i + 1] == ' ')) return i + 1;
  }
  return std::string::npos;
}

}  // namespace

std::string one_or_two_sentences(std::string_view text, size_t max_chars) {
  std::string s = single_line(text);
  size_t first = sentence_end(s, 0);
  if (first != std::string::npos) {
    size_t second = sentence_end(s, first);
    if (second != std::string::npos) s.resize(second);
  }
  if (s.size() <= max_chars) return s;
  size_t limit = max_chars > 3 ? max_chars - 3 : 0;
  s = text::truncate_utf8(s, limit);
  if (size_t space = s.rfind(' '); space != std::string::npos && space > limit / 2) s.resize(space);
  return s + "...";
}

std::string table_cell(std::string_view text) {
  std::string out;
  for (char c : single_line(text)) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out.empty() ? " " : out;
}

std::string triage_report(const std::vector<TriageEntry>& entries, const std::vector<SkippedItem>& skipped,
                          const TriageCounts& counts) {
  std::string out = "# Mail triage: " + std::to_string(entries.size()) + " new message(s)\n\n";
  if (!entries.empty()) {
    out += "| From | Subject | Date | Label | Summary | Draft |\n|---|---|---|---|---|---|\n";
    for (const TriageEntry& e : entries) {
      std::string label = e.label + (e.label_reason == "model" ? "" : " (" + e.label_reason + ")");
      out += "| " + table_cell(e.from) + " | " + table_cell(e.subject) + " | " + table_cell(e.date) + " | " +
             table_cell(label) + " | " + table_cell(e.summary) + " | " + table_cell(e.draft.empty() ? "-" : e.draft) +
             " |\n";
    }
    out += "\n";
  }
  out += "Already seen: " + std::to_string(counts.already_seen) + ".";
  if (counts.left_for_next_run > 0) out += " Left for the next run: " + std::to_string(counts.left_for_next_run) + ".";
  out += " Labels are the model's under a grammar, except where a List-Id or List-Unsubscribe header makes a "
         "message a newsletter. Drafts are files only; nothing was sent.\n";
  if (!skipped.empty()) {
    out += "\nSkipped:\n";
    for (const SkippedItem& s : skipped) out += "- " + s.source + ": " + s.reason + "\n";
  }
  return out;
}

}  // namespace agentd::agents
