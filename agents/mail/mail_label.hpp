// The triage labels and how one is decided. A message on a mailing list (a List-Id or
// List-Unsubscribe header, RFC 2919 / RFC 2369) is a "newsletter" by that fact, in code; every
// other message is labelled by the model under a GBNF grammar that allows exactly the four
// labels, and the answer is checked again here (a backend that ignores grammars cannot slip
// another word through: anything else becomes "other").
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "agents/mail/mime_message.hpp"

namespace agentd::agents {

inline constexpr std::array<std::string_view, 4> kMailLabels = {"urgent", "needs reply", "newsletter", "other"};

// root ::= "urgent" | "needs reply" | "newsletter" | "other"
std::string mail_label_grammar();

// The label named by a model answer (surrounding spaces, case and a final '.' forgiven), if any.
std::optional<std::string> parse_mail_label(std::string_view answer);

// "newsletter" and the header that decided it, for a message on a list; nullopt otherwise.
struct ListEvidence {
  std::string label;   // "newsletter"
  std::string reason;  // "List-Id: <news.example.org>"
};
std::optional<ListEvidence> list_evidence(const MailMessage& message);

// Whether a message with this label gets a reply draft.
bool label_wants_reply(std::string_view label);

}  // namespace agentd::agents
