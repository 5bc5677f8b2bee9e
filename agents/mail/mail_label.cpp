#include "agents/mail/mail_label.hpp"

#include <algorithm>
#include <cctype>

namespace agentd::agents {

std::string mail_label_grammar() {
  std::string rule = "root ::=";
  for (size_t i = 0; i < kMailLabels.size(); ++i) {
    rule += (i ? " | \"" : " \"") + std::string(kMailLabels[i]) + "\"";
  }
  return rule + "\n";
}

std::optional<std::string> parse_mail_label(std::string_view answer) {
  std::string s;
  for (char c : answer) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t begin = s.find_first_not_of(" \t\r\n\"'");
  if (begin == std::string::npos) return std::nullopt;
  s = s.substr(begin, s.find_last_not_of(" \t\r\n\"'.") - begin + 1);
  for (std::string_view label : kMailLabels) {
    if (s == label) return std::string(label);
  }
  return std::nullopt;
}

std::optional<ListEvidence> list_evidence(const MailMessage& message) {
  if (!message.list_id.empty()) return ListEvidence{"newsletter", "List-Id: " + message.list_id};
  if (!message.list_unsubscribe.empty()) return ListEvidence{"newsletter", "List-Unsubscribe: " + message.list_unsubscribe};
  return std::nullopt;
}

bool label_wants_reply(std::string_view label) { return label == "urgent" || label == "needs reply"; }

}  // namespace agentd::agents
