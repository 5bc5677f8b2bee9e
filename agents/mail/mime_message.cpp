#include "agents/mail/mime_message.hpp"

#include <gmime/gmime.h>

#include <memory>

#include "agents/common/gmime_init.hpp"
#include "agents/common/html_text.hpp"
#include "agents/common/plain_text.hpp"

namespace agentd::agents {

namespace {

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};
using GString = std::unique_ptr<char, GFree>;

// Valid UTF-8 from whatever a header or part held; null reads as "".
std::string valid_utf8(const char* text) {
  if (text == nullptr) return "";
  GString valid(g_utf8_make_valid(text, -1));
  return valid.get();
}

// A header value on one line: CR and LF (folding left over) become spaces, outer spaces go.
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  size_t begin = s.find_first_not_of(' ');
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(' ') - begin + 1);
}

std::string header(GMimeObject* object, const char* name) {
  return one_line(valid_utf8(g_mime_object_get_header(object, name)));
}

std::string first_mailbox(InternetAddressList* list) {
  if (list == nullptr) return "";
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) return one_line(valid_utf8(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))));
  }
  return "";
}

std::string display(InternetAddressList* list) {
  if (list == nullptr || internet_address_list_length(list) == 0) return "";
  GString text(internet_address_list_to_string(list, nullptr, FALSE));
  return one_line(valid_utf8(text.get()));
}

std::string formatted_date(GMimeMessage* message) {
  GDateTime* date = g_mime_message_get_date(message);  // owned by the message
  if (date == nullptr) return "";
  GString text(g_date_time_format(date, "%Y-%m-%d %H:%M %:z"));
  return text ? text.get() : "";
}

std::vector<std::string> reference_ids(GMimeObject* object) {
  std::vector<std::string> ids;
  const char* value = g_mime_object_get_header(object, "References");
  if (value == nullptr) return ids;
  GMimeReferences* refs = g_mime_references_parse(nullptr, value);
  if (refs == nullptr) return ids;
  for (int i = 0; i < g_mime_references_length(refs); ++i) ids.push_back(valid_utf8(g_mime_references_get_message_id(refs, i)));
  g_mime_references_free(refs);
  return ids;
}

// Line ends to "\n", trailing spaces of lines and runs of blank lines removed, outer blank lines
// trimmed. A loop, not std::regex: untrusted bodies may hold very long runs.
std::string normalise_text(const std::string& text) {
  std::string out;
  int blank_lines = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    size_t last = line.find_last_not_of(" \t\r");
    if (last == std::string_view::npos) {
      ++blank_lines;
    } else {
      if (!out.empty()) out += blank_lines > 0 ? "\n\n" : "\n";
      out += line.substr(0, last + 1);
      blank_lines = 0;
    }
    pos = end + 1;
  }
  return out;
}

struct BodyParts {
  GMimeTextPart* plain = nullptr;
  GMimeTextPart* html = nullptr;
};

void find_text_parts(GMimeObject* object, BodyParts& found) {
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* multipart = GMIME_MULTIPART(object);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
      find_text_parts(g_mime_multipart_get_part(multipart, i), found);
    }
    return;
  }
  if (!GMIME_IS_TEXT_PART(object) || g_mime_part_is_attachment(GMIME_PART(object))) return;
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (g_mime_content_type_is_type(type, "text", "plain") && found.plain == nullptr) found.plain = GMIME_TEXT_PART(object);
  if (g_mime_content_type_is_type(type, "text", "html") && found.html == nullptr) found.html = GMIME_TEXT_PART(object);
}

void read_body(GMimeMessage* message, size_t max_body_chars, MailMessage& out) {
  GMimeObject* root = g_mime_message_get_mime_part(message);
  if (root == nullptr) return;
  BodyParts parts;
  find_text_parts(root, parts);
  GMimeTextPart* part = parts.plain ? parts.plain : parts.html;
  if (part == nullptr) return;
  GString text(g_mime_text_part_get_text(part));  // transfer encoding and charset decoded
  std::string body = valid_utf8(text.get());
  out.body_type = parts.plain ? "text/plain" : "text/html";
  out.body = normalise_text(parts.plain ? body : html_to_text(body));
  out.body_truncated = out.body.size() > max_body_chars;
  out.body = text::truncate_utf8(out.body, max_body_chars);
}

GObjectPtr<GMimeStream> memory_stream(std::string_view bytes) {
  // The stream copies the bytes, so `bytes` need not outlive it.
  return GObjectPtr<GMimeStream>(
      g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
}

}  // namespace

MailMessage parse_message(std::string_view raw, size_t max_body_chars) {
  init_gmime();
  if (raw.find_first_not_of(" \t\r\n") == std::string_view::npos) throw MalformedMessage("the message is empty");
  auto stream = memory_stream(raw);
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) throw MalformedMessage("no readable header block (GMime could not parse the message)");
  GMimeObject* object = GMIME_OBJECT(message.get());

  MailMessage m;
  m.message_id = one_line(valid_utf8(g_mime_message_get_message_id(message.get())));
  m.from = display(g_mime_message_get_from(message.get()));
  m.from_address = first_mailbox(g_mime_message_get_from(message.get()));
  m.reply_to_address = first_mailbox(g_mime_message_get_reply_to(message.get()));
  m.subject = one_line(valid_utf8(g_mime_message_get_subject(message.get())));
  m.date = formatted_date(message.get());
  bool has_date_header = g_mime_object_get_header(object, "Date") != nullptr;
  if (m.from.empty() && m.subject.empty() && !has_date_header) {
    throw MalformedMessage("no From, Subject or Date header");
  }
  m.references = reference_ids(object);
  m.list_id = header(object, "List-Id");
  m.list_unsubscribe = header(object, "List-Unsubscribe");
  read_body(message.get(), max_body_chars, m);
  return m;
}

std::vector<std::string> split_mbox(std::string_view mbox) {
  init_gmime();
  std::vector<std::string> messages;
  auto stream = memory_stream(mbox);
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MBOX);
  while (!g_mime_parser_eos(parser.get())) {
    GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!message) break;  // no further "From " line, or nothing readable after it
    auto marker = static_cast<size_t>(g_mime_parser_get_mbox_marker_offset(parser.get()));
    auto end = std::min(static_cast<size_t>(g_mime_parser_tell(parser.get())), mbox.size());
    size_t start = mbox.find('\n', marker);
    start = start == std::string_view::npos ? end : std::min(start + 1, end);
    messages.emplace_back(mbox.substr(start, end - start));
  }
  return messages;
}

}  // namespace agentd::agents
