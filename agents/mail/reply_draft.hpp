// A reply draft for a triaged message, as the text of an .eml file written with GMime (headers
// encoded per RFC 2047 where needed, the body in a transfer encoding fit for 7-bit transport):
//
//   From: <reply_from, if configured>
//   To: <Reply-To of the original, else its From>
//   Subject: Re: <subject>            (no second "Re:")
//   Date: <now>
//   In-Reply-To: <original Message-ID>
//   References: <original References, last 10> <original Message-ID>
//   X-Agentd-Draft: not sent
//
// A draft is only ever a file: agentd has no code that sends mail. Ids that are not plain
// printable ASCII are left out of the threading headers rather than copied into them.
#pragma once

#include <cstdint>
#include <string>

#include "agents/mail/mime_message.hpp"

namespace agentd::agents {

struct DraftInput {
  const MailMessage& original;
  std::string body;        // the reply text (from the model)
  std::string reply_from;  // "Name <me@example.org>" or ""; a From header when set
  int64_t now_ms = 0;
};

std::string reply_draft(const DraftInput& input);

// "Re: <subject>", or the subject itself when it already starts with "Re:" (any case).
std::string reply_subject(const std::string& subject);

// The draft's file name: "re-<subject slug, at most 40 chars>-<8 hex of the message identity>.eml",
// only [a-z0-9.-], so no subject or id can steer the path.
std::string draft_file_name(const std::string& subject, const std::string& identity);

}  // namespace agentd::agents
