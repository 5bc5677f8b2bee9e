#include "agents/mail/reply_draft.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "agents/common/content_hash.hpp"
#include "agents/common/gmime_init.hpp"

namespace agentd::agents {

namespace {

bool plain_id(const std::string& id) {
  if (id.empty() || id.size() > 250) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F && c != '<' && c != '>'; });
}

std::string threading_references(const MailMessage& m) {
  std::vector<std::string> ids;
  for (const std::string& id : m.references) {
    if (plain_id(id)) ids.push_back(id);
  }
  if (ids.size() > 10) ids.erase(ids.begin(), ids.end() - 10);
  if (plain_id(m.message_id)) ids.push_back(m.message_id);
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "<" : " <") + id + ">";
  return out;
}

void add_from(GMimeMessage* message, const std::string& reply_from) {
  if (reply_from.empty()) return;
  InternetAddressList* list = internet_address_list_parse(nullptr, reply_from.c_str());
  if (list == nullptr) return;
  internet_address_list_append(g_mime_message_get_from(message), list);
  g_object_unref(list);
}

void set_body(GMimeMessage* message, const std::string& body) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype("plain");
  g_mime_text_part_set_text(part, body.c_str());
  g_mime_part_set_content_encoding(GMIME_PART(part),
                                   g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
  g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
  g_object_unref(part);
}

}  // namespace

std::string reply_subject(const std::string& subject) {
  std::string head = subject.substr(0, 3);
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return head == "re:" ? subject : "Re: " + subject;
}

std::string reply_draft(const DraftInput& input) {
  init_gmime();
  const MailMessage& m = input.original;
  GMimeMessage* message = g_mime_message_new(TRUE);
  add_from(message, input.reply_from);
  std::string to = m.reply_to_address.empty() ? m.from_address : m.reply_to_address;
  if (!to.empty()) g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, nullptr, to.c_str());
  g_mime_message_set_subject(message, reply_subject(m.subject).c_str(), "utf-8");
  GDateTime* now = g_date_time_new_from_unix_utc(input.now_ms / 1000);
  g_mime_message_set_date(message, now);
  g_date_time_unref(now);
  GMimeObject* object = GMIME_OBJECT(message);
  if (plain_id(m.message_id)) g_mime_object_set_header(object, "In-Reply-To", ("<" + m.message_id + ">").c_str(), nullptr);
  if (std::string refs = threading_references(m); !refs.empty()) g_mime_object_set_header(object, "References", refs.c_str(), nullptr);
  g_mime_object_set_header(object, "X-Agentd-Draft", "not sent", nullptr);
  set_body(message, input.body);
  char* text = g_mime_object_to_string(object, nullptr);
  std::string out = text ? text : "";
  g_free(text);
  g_object_unref(message);
  return out;
}

std::string draft_file_name(const std::string& subject, const std::string& identity) {
  std::string slug;
  for (unsigned char c : subject) {
    if (std::isalnum(c) && c < 0x80) {
      slug += static_cast<char>(std::tolower(c));
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "message";
  return "re-" + slug + "-" + content_hash(identity).substr(0, 8) + ".eml";
}

}  // namespace agentd::agents
