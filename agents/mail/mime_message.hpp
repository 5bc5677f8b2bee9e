// One e-mail message, parsed with GMime 3 into what triage needs: decoded headers (RFC 2047
// encoded words in From and Subject), the Date in a fixed form, threading ids, list headers, and
// one body as UTF-8 text.
//
// Body choice: the first text/plain part that is not an attachment, depth first through
// multipart/alternative and multipart/mixed; else the first text/html part, stripped to text
// (html_text); else none. Transfer encodings (quoted-printable, base64) and charsets are
// decoded by GMime; invalid UTF-8 left over is replaced, so every string here is valid UTF-8.
// Attached messages (message/rfc822) are not searched for a body.
//
// Malformed: GMime cannot read a header block at all (garbage, binary, an empty file), or the
// message has none of From, Subject and Date. parse_message() then throws MalformedMessage
// with the reason; the mail agent logs it with the file and goes on.
//
// mbox: split_mbox() cuts a mailbox file into its messages with GMime's mbox parser (a message
// starts at a "From " line); each is then parsed like a Maildir file.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents {

class MalformedMessage : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MailMessage {
  std::string message_id;              // without < >; "" when absent
  std::string from;                    // decoded for display: "Jörg Müller <joerg@example.de>"
  std::string from_address;            // "joerg@example.de"; "" when none
  std::string reply_to_address;        // the Reply-To mailbox; "" when none
  std::string subject;                 // decoded; "" when absent
  std::string date;                    // "2024-03-05 09:12 +01:00"; "" when absent or unreadable
  std::vector<std::string> references;  // References ids (without < >), oldest first
  std::string list_id;                 // List-Id header as given; "" when absent
  std::string list_unsubscribe;        // List-Unsubscribe header as given; "" when absent
  std::string body;                    // UTF-8 text, normalised line ends, at most max_body_chars
  std::string body_type;               // "text/plain", "text/html" (stripped) or "" (no text part)
  bool body_truncated = false;
};

// Throws MalformedMessage.
MailMessage parse_message(std::string_view raw, size_t max_body_chars);

// The messages of an mbox file, raw (without their "From " separator lines), in order. Text
// before the first "From " line is not a message and is ignored; an empty file has none.
std::vector<std::string> split_mbox(std::string_view mbox);

}  // namespace agentd::agents
