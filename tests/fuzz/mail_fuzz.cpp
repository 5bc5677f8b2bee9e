// A mail file as the mail agent reads one: a Maildir message through parse_message(), and the
// same bytes as an mbox through split_mbox(), each message parsed (GMime underneath).
// Documented failure: MalformedMessage (the message is skipped and logged).
#include <cstddef>
#include <cstdint>
#include <string>

#include "agents/mail/mime_message.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

constexpr size_t kMaxBodyChars = 4000;  // the mail agent's default max_body_chars

void parse(std::string_view raw) {
  try {
    (void)agentd::agents::parse_message(raw, kMaxBodyChars);
  } catch (const agentd::agents::MalformedMessage&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw = agentd::fuzz::as_text(data, size);
  parse(raw);
  for (const std::string& message : agentd::agents::split_mbox(raw)) parse(message);
  return 0;
}
