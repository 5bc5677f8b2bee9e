// The mail plugin's deterministic parts: messages parsed with GMime (each transfer encoding and
// charset exactly, RFC 2047 headers, multipart choices, malformed input), mbox splitting (HTML to
// text: common_test), the label grammar and its check, reply drafts, and the report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "agents/common/content_hash.hpp"
#include "agents/mail/mail_label.hpp"
#include "agents/mail/mime_message.hpp"
#include "agents/mail/reply_draft.hpp"
#include "agents/mail/triage_report.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using test_support::read_file;

const fs::path kSamples = fs::path(AGENTD_SOURCE_DIR) / "agents" / "mail" / "samples";

MailMessage sample(const std::string& relative) {
  std::string raw = read_file(kSamples / "Maildir" / relative);
  EXPECT_FALSE(raw.empty()) << relative;
  return parse_message(raw, 10000);
}

std::string parse_error(const std::string& raw) {
  try {
    parse_message(raw, 1000);
  } catch (const MalformedMessage& e) {
    return e.what();
  }
  return "parsed";
}

TEST(MimeMessageTest, PlainSevenBit) {
  MailMessage m = sample("new/1709625600.M101P2201.mailhost");
  EXPECT_EQ(m.message_id, "20240305080211.ops-4471@example.net");
  EXPECT_EQ(m.from, "Priya Ops <ops@example.net>");
  EXPECT_EQ(m.from_address, "ops@example.net");
  EXPECT_EQ(m.reply_to_address, "");
  EXPECT_EQ(m.subject, "Production database is down - need your approval to fail over");
  EXPECT_EQ(m.date, "2024-03-05 08:02 +00:00");
  EXPECT_EQ(m.body_type, "text/plain");
  EXPECT_EQ(m.body,
            "Sam,\n\nThe primary database (db-prod-1) stopped accepting writes at 07:48 UTC.\n"
            "Checkout is failing for every customer. The replica is healthy and 12\nseconds behind.\n\n"
            "I need your go-ahead to fail over to the replica before 09:00 UTC, when\n"
            "the European morning traffic peaks. Please reply or call me on +44 20 7946 0123.\n\nPriya");
  EXPECT_FALSE(m.body_truncated);
  EXPECT_TRUE(m.list_id.empty());
}

TEST(MimeMessageTest, QuotedPrintableLatin1WithEncodedWordHeaders) {
  MailMessage m = sample("new/1709629200.M102P2201.mailhost");
  EXPECT_EQ(m.from, "Jörg Müller <joerg.mueller@example.de>");
  EXPECT_EQ(m.subject, "Angebot für die Schulung im April");
  EXPECT_EQ(m.date, "2024-03-05 10:15 +01:00");
  EXPECT_EQ(m.body,
            "Hallo Sam,\n\nanbei unser Angebot für die zweitägige Schulung am 18. und 19. April:\n"
            "Preis 2.400 EUR zzgl. MwSt., maximal 12 Teilnehmer. Können Sie mir bis\n"
            "Freitag bestätigen, ob der Termin passt? Dann reservieren wir den Raum.\n\nViele Grüße\nJörg Müller");
}

TEST(MimeMessageTest, Base64Utf8) {
  MailMessage m = sample("new/1709632800.M103P2201.mailhost");
  EXPECT_EQ(m.body,
            "Hi Sam,\n\nThanks for the quick call yesterday. As promised, here are the numbers for\n"
            "the Q1 review: revenue 184,000 EUR (+6 % on Q4), churn 2.1 %, 37 new\n"
            "customers. The slide deck is on the shared drive under Reviews/2024-Q1.\n\n"
            "No action needed from you - just for your records. \u2713\n\nBest,\nLena");
}

TEST(MimeMessageTest, MultipartAlternativePrefersThePlainPart) {
  MailMessage m = sample("cur/1709539200.M104P2201.mailhost:2,S");
  EXPECT_EQ(m.body_type, "text/plain");
  EXPECT_EQ(m.date, "2024-03-04 09:30 -05:00");
  EXPECT_EQ(m.body,
            "Hi Sam,\n\nCould you review pull request #1312 (the new invoice export) before\n"
            "Thursday's release? It touches the billing module, so I'd like a second\npair of eyes. "
            "It's about 400 lines.\n\nThanks,\nTom");
}

TEST(MimeMessageTest, HtmlOnlyIsStrippedToText) {
  MailMessage m = sample("cur/1709546400.M105P2201.mailhost:2,S");
  EXPECT_EQ(m.from, "City Library <noreply@library.example.gov>");
  EXPECT_EQ(m.body_type, "text/html");
  EXPECT_EQ(m.body,
            "Your hold is ready\n\nDear Sam Rivera,\n\n\"The Pragmatic Programmer\" is waiting for you at the Central "
            "branch. Please pick it up by March 12, 2024; after that it goes to the next reader.\n\n"
            "Opening hours: Mon\u2013Sat 9 am & 6 pm.");
}

TEST(MimeMessageTest, ListHeadersAreKept) {
  MailMessage m = sample("new/1709640000.M106P2201.mailhost");
  EXPECT_EQ(m.list_id, "Weekly Dev Digest <devdigest.news.example.io>");
  EXPECT_EQ(m.list_unsubscribe, "<https://news.example.io/unsubscribe?u=8812>, <mailto:unsubscribe@news.example.io>");
}

TEST(MimeMessageTest, MultipartMixedTakesTheTextPartNotTheAttachment) {
  std::vector<std::string> messages = split_mbox(read_file(kSamples / "archive.mbox"));
  ASSERT_EQ(messages.size(), 3u);
  MailMessage m = parse_message(messages[1], 10000);
  EXPECT_EQ(m.subject, "Invoice 2024-017 attached - please confirm receipt");
  EXPECT_EQ(m.from_address, "billing@supplier.example");
  EXPECT_EQ(m.reply_to_address, "maria.santos@supplier.example");
  EXPECT_EQ(m.body_type, "text/plain");
  EXPECT_THAT(m.body, HasSubstr("invoice 2024-017 for 1,250.00 EUR, due on 5 April 2024."));
  EXPECT_THAT(m.body, Not(HasSubstr("PDF")));
  EXPECT_THAT(m.body, HasSubstr("Kind regards,\nMaria Santos"));
}

TEST(MimeMessageTest, ThreadingIdsAndAMissingMessageId) {
  MailMessage m = parse_message(
      "From: a@example.org\nSubject: Re: plan\nReferences: <one@x>\n <two@y>\nMessage-ID: <three@z>\n\nok\n", 100);
  EXPECT_EQ(m.references, (std::vector<std::string>{"one@x", "two@y"}));
  EXPECT_EQ(m.message_id, "three@z");
  MailMessage no_id = parse_message("From: a@example.org\nSubject: hi\n\nbody\n", 100);
  EXPECT_EQ(no_id.message_id, "");
  EXPECT_EQ(no_id.date, "");
}

TEST(MimeMessageTest, BytesInvalidInTheDeclaredCharsetNeverLeakOut) {
  MailMessage m = parse_message("From: a@example.org\nSubject: caf\xff\nContent-Type: text/plain; charset=utf-8\n\n"
                                "caf\xff\xfe ok\n",
                                100);
  EXPECT_EQ(m.body, "caf ok");  // GMime's charset conversion drops them
  EXPECT_TRUE(m.subject.starts_with("caf"));
  // Every string is valid UTF-8 (nlohmann's dump() throws otherwise), so it can go into the timeline.
  EXPECT_NO_THROW(nlohmann::json({m.subject, m.body, m.from}).dump());
}

TEST(MimeMessageTest, TheBodyIsCutAtTheCapWithoutSplittingACharacter) {
  MailMessage m = parse_message("From: a@example.org\nSubject: s\nContent-Type: text/plain; charset=utf-8\n\n"
                                "ab\u00e9cd\n",
                                3);  // "ab" + the first byte of é would be 3 bytes
  EXPECT_EQ(m.body, "ab");
  EXPECT_TRUE(m.body_truncated);
}

TEST(MimeMessageTest, MalformedMessagesAreRefusedWithTheReason) {
  EXPECT_THAT(parse_error(read_file(kSamples / "Maildir" / "new" / "1709643600.M107P2201.mailhost")),
              HasSubstr("no readable header block"));
  EXPECT_EQ(parse_error(""), "the message is empty");
  EXPECT_EQ(parse_error(" \n\n"), "the message is empty");
  EXPECT_THAT(parse_error(std::string("\x00\x01\x02\x03 binary", 10)), HasSubstr("no readable header block"));
  EXPECT_EQ(parse_error("X-Mailer: nothing\nX-Other: else\n\nbody\n"), "no From, Subject or Date header");
  // Broken structure inside a readable message is not fatal: the headers still triage.
  MailMessage broken = parse_message("From: a@example.org\nSubject: broken\nContent-Type: multipart/mixed; "
                                     "boundary=\"zz\"\n\n--zz\nContent-Type: text/plain\n"
                                     "Content-Transfer-Encoding: base64\n\n!!!not base64***\n",
                                     100);
  EXPECT_EQ(broken.subject, "broken");
  EXPECT_EQ(broken.body_type, "text/plain");
}

TEST(MboxTest, SplitsAtFromLinesAndIgnoresTextBeforeTheFirst) {
  std::string mbox =
      "stray text\n\n"
      "From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\nSubject: one\n\nbody one\n>From the escaped line\n\n"
      "From c@d Mon Jan  1 00:00:01 2024\nFrom: c@d\nSubject: two\n\nbody two\n";
  std::vector<std::string> messages = split_mbox(mbox);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].substr(0, 26), "From: a@b\nSubject: one\n\nbo");
  EXPECT_THAT(messages[0], HasSubstr(">From the escaped line"));
  EXPECT_THAT(messages[0], Not(HasSubstr("two")));
  EXPECT_EQ(parse_message(messages[1], 100).body, "body two");
  EXPECT_TRUE(split_mbox("").empty());
  EXPECT_TRUE(split_mbox("no from line here\njust text\n").empty());
}

TEST(MailLabelTest, GrammarAllowsExactlyTheFourLabels) {
  EXPECT_EQ(mail_label_grammar(), "root ::= \"urgent\" | \"needs reply\" | \"newsletter\" | \"other\"\n");
}

TEST(MailLabelTest, ChecksTheAnswerAgain) {
  EXPECT_EQ(parse_mail_label("urgent"), "urgent");
  EXPECT_EQ(parse_mail_label(" Needs Reply.\n"), "needs reply");
  EXPECT_EQ(parse_mail_label("\"newsletter\""), "newsletter");
  EXPECT_EQ(parse_mail_label("other"), "other");
  EXPECT_EQ(parse_mail_label("urgent!!"), std::nullopt);
  EXPECT_EQ(parse_mail_label("needs"), std::nullopt);
  EXPECT_EQ(parse_mail_label("."), std::nullopt);
  EXPECT_EQ(parse_mail_label(""), std::nullopt);
}

TEST(MailLabelTest, ListHeadersMakeANewsletterInCode) {
  MailMessage m;
  EXPECT_FALSE(list_evidence(m).has_value());
  m.list_unsubscribe = "<mailto:u@x>";
  EXPECT_EQ(list_evidence(m)->reason, "List-Unsubscribe: <mailto:u@x>");
  m.list_id = "<news.x>";
  EXPECT_EQ(list_evidence(m)->label, "newsletter");
  EXPECT_EQ(list_evidence(m)->reason, "List-Id: <news.x>");
  EXPECT_TRUE(label_wants_reply("urgent"));
  EXPECT_TRUE(label_wants_reply("needs reply"));
  EXPECT_FALSE(label_wants_reply("newsletter"));
  EXPECT_FALSE(label_wants_reply("other"));
}

TEST(ReplyDraftTest, ThreadsTheReplyAndEncodesHeaders) {
  MailMessage original = parse_message(read_file(kSamples / "Maildir" / "new" / "1709629200.M102P2201.mailhost"), 1000);
  original.references = {"older@x"};
  std::string eml = reply_draft({original, "Hallo Jörg,\nder Termin passt.\n", "Sam Rivera <sam@example.org>",
                                 1709650000000});
  EXPECT_THAT(eml, HasSubstr("To: joerg.mueller@example.de\n"));
  EXPECT_THAT(eml, HasSubstr("From: Sam Rivera <sam@example.org>\n"));
  EXPECT_THAT(eml, HasSubstr("In-Reply-To: <4f1c2a@mail.example.de>\n"));
  EXPECT_THAT(eml, HasSubstr("References: <older@x> <4f1c2a@mail.example.de>\n"));
  EXPECT_THAT(eml, HasSubstr("X-Agentd-Draft: not sent\n"));
  EXPECT_THAT(eml, HasSubstr("Subject: Re: Angebot =?UTF-8?B?"));  // the word that is not ASCII is encoded
  // Read back with the same parser, it says what was written.
  MailMessage back = parse_message(eml, 1000);
  EXPECT_EQ(back.subject, "Re: Angebot für die Schulung im April");
  EXPECT_EQ(back.date, "2024-03-05 14:46 +00:00");
  EXPECT_EQ(back.body, "Hallo Jörg,\nder Termin passt.");
  EXPECT_EQ(back.references, (std::vector<std::string>{"older@x", "4f1c2a@mail.example.de"}));
}

TEST(ReplyDraftTest, RepliesToReplyToAndLeavesOutUnsafeIds) {
  MailMessage m;
  m.from_address = "billing@x";
  m.reply_to_address = "maria@x";
  m.subject = "RE: invoice";
  m.message_id = "bad id\twith spaces";
  std::string eml = reply_draft({m, "ok\n", "", 0});
  EXPECT_THAT(eml, HasSubstr("To: maria@x\n"));
  EXPECT_THAT(eml, HasSubstr("Subject: RE: invoice\n"));
  EXPECT_THAT(eml, Not(HasSubstr("In-Reply-To")));
  EXPECT_THAT(eml, Not(HasSubstr("References")));
  EXPECT_THAT(eml, Not(HasSubstr("From:")));
}

TEST(ReplyDraftTest, SubjectsAndFileNames) {
  EXPECT_EQ(reply_subject("Lunch?"), "Re: Lunch?");
  EXPECT_EQ(reply_subject("re: Lunch?"), "re: Lunch?");
  EXPECT_EQ(reply_subject(""), "Re: ");
  EXPECT_EQ(draft_file_name("Lunch on Friday?", "id:x"), "re-lunch-on-friday-" + content_hash("id:x").substr(0, 8) + ".eml");
  EXPECT_EQ(draft_file_name("", "id:x"), "re-message-" + content_hash("id:x").substr(0, 8) + ".eml");
  EXPECT_EQ(draft_file_name("Grüße!", "id:x"), "re-gr-e-" + content_hash("id:x").substr(0, 8) + ".eml");
  std::string evil = draft_file_name("../../../etc/passwd", "id:../../x");
  EXPECT_TRUE(evil.starts_with("re-etc-passwd-")) << evil;
  EXPECT_EQ(evil.find('/'), std::string::npos);
  EXPECT_EQ(evil.find(".."), std::string::npos);
  EXPECT_EQ(draft_file_name(std::string(100, 'a'), "id:y").size(), 3 + 40 + 1 + 8 + 4);
  EXPECT_NE(draft_file_name("same", "id:1"), draft_file_name("same", "id:2"));
}

TEST(TriageReportTest, CutsSummariesToTwoSentences) {
  EXPECT_EQ(one_or_two_sentences("One. Two! Three? Four.", 300), "One. Two!");
  EXPECT_EQ(one_or_two_sentences("  Only\n one  line ", 300), "Only one line");
  EXPECT_EQ(one_or_two_sentences("Version 2.1 is out. It is fast.", 300), "Version 2.1 is out. It is fast.");
  EXPECT_EQ(one_or_two_sentences("a bb ccc dddd eeeee", 12), "a bb ccc...");
  EXPECT_EQ(one_or_two_sentences("   ", 300), "");
}

TEST(TriageReportTest, ATableRowPerMessageThenTheSkipped) {
  std::vector<TriageEntry> entries = {
      {"Maildir/new/1", "Ann <a@x>", "Help | now", "2024-03-05 08:02 +00:00", "urgent", "model", "Ann needs help.",
       "drafts/re-help-now-1234abcd.eml"},
      {"archive.mbox#2", "News <n@x>", "Digest", "", "newsletter", "List-Id: <n.x>", "Links.", ""}};
  std::string report = triage_report(entries, {{"Maildir/new/7", "malformed: no From, Subject or Date header"}},
                                     {3, 1});
  EXPECT_EQ(report,
            "# Mail triage: 2 new message(s)\n\n"
            "| From | Subject | Date | Label | Summary | Draft |\n|---|---|---|---|---|---|\n"
            "| Ann <a@x> | Help \\| now | 2024-03-05 08:02 +00:00 | urgent | Ann needs help. | "
            "drafts/re-help-now-1234abcd.eml |\n"
            "| News <n@x> | Digest |   | newsletter (List-Id: <n.x>) | Links. | - |\n\n"
            "Already seen: 3. Left for the next run: 1. Labels are the model's under a grammar, except where a "
            "List-Id or List-Unsubscribe header makes a message a newsletter. Drafts are files only; nothing was "
            "sent.\n\nSkipped:\n- Maildir/new/7: malformed: no From, Subject or Date header\n");
}

}  // namespace
}  // namespace agentd::agents
