// The mail agent end to end on real folders with a mock engine: the shipped samples triaged
// (labels under the grammar, newsletters by header, summaries, drafts), seen messages remembered
// across runs, the per-run budget, malformed and oversized input, confinement of drafts, and
// its settings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <stop_token>

#include "agents/config_reader.hpp"
#include "agents/mail/mail_agent.hpp"
#include "agents/mail/mail_label.hpp"
#include "agents/mail/mime_message.hpp"
#include "agents/task_context.hpp"
#include "plugin_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using test_support::answer_each;
using test_support::prompt_of;
using test_support::read_file;
using test_support::write_file;

const fs::path kSamples = fs::path(AGENTD_SOURCE_DIR) / "agents" / "mail" / "samples";

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A model that labels the sample messages as a sensible reader would.
std::string sample_model(const engine::Request& r) {
  std::string p = prompt_of(r);
  if (!r.grammar.empty()) {
    if (has(p, "Production database")) return "urgent";
    for (const char* s : {"Angebot", "pull request #1312", "Invoice 2024-017", "Lunch on Friday"}) {
      if (has(p, s)) return "needs reply";
    }
    return "other";
  }
  if (has(p, "\nSummarise the e-mail above")) return "Someone wants something. By a date. Not this third sentence.";
  if (has(p, "\nWrite a short, polite reply to the e-mail above")) return "Thank you, I will come back to you by [day].";
  return "unexpected prompt";
}

class MailAgentTest : public test_support::AgentsTest {
 protected:
  MailAgentTest() {
    mail = agent_folders("mail", "mail");
    config.settings = {{"maildirs", {"Maildir"}}, {"mboxes", {"archive.mbox"}}};
  }

  void copy_samples() { fs::copy(kSamples, mail, fs::copy_options::recursive); }

  struct Run {
    std::string output;
    int64_t task = 0;
  };
  Run run() {
    MailAgent agent(config);
    TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
    Run r;
    r.task = ctx.task_id();
    r.output = agent.run(ctx);
    return r;
  }
  std::string run_error() {
    try {
      run();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  }
  std::string config_error() { return config_error_of<MailAgent>(); }

  std::vector<std::string> files_in(const fs::path& folder) {
    std::vector<std::string> names;
    if (!fs::exists(folder)) return names;
    for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path mail;
};

TEST_F(MailAgentTest, TriagesTheShippedSamples) {
  copy_samples();
  std::vector<engine::Request> requests;
  // 8 new messages: 7 labels (the newsletter is decided by its List-Id), 8 summaries, 5 drafts.
  answer_each(engine, 20, sample_model, &requests);
  Run r = run();

  EXPECT_THAT(r.output, HasSubstr("# Mail triage: 8 new message(s)"));
  EXPECT_THAT(r.output, HasSubstr("| Priya Ops <ops@example.net> | Production database is down - need your approval to "
                                  "fail over | 2024-03-05 08:02 +00:00 | urgent | Someone wants something. By a date. |"));
  EXPECT_THAT(r.output, HasSubstr("| Jörg Müller <joerg.mueller@example.de> | Angebot für die Schulung im April | "
                                  "2024-03-05 10:15 +01:00 | needs reply |"));
  EXPECT_THAT(r.output, HasSubstr("| newsletter (List-Id: Weekly Dev Digest <devdigest.news.example.io>) |"));
  EXPECT_THAT(r.output, HasSubstr("| Lena Park <lena.park@example.com> | Q1 numbers for your records | "
                                  "2024-03-05 11:20 +00:00 | other | Someone wants something. By a date. | - |"));
  EXPECT_THAT(r.output, HasSubstr("Already seen: 1."));  // the archive's copy of the database message
  EXPECT_THAT(r.output, HasSubstr("- Maildir/new/1709643600.M107P2201.mailhost: malformed: no readable header block"));

  // Labels: under the grammar, greedy, with the facts and the decoded body in the prompt.
  int labels = 0;
  for (const engine::Request& q : requests) {
    if (q.grammar.empty()) continue;
    ++labels;
    EXPECT_EQ(q.grammar, mail_label_grammar());
    EXPECT_EQ(q.sampling.temperature, 0.0f);
    EXPECT_THAT(prompt_of(q), Not(HasSubstr("Dev Digest")));
  }
  EXPECT_EQ(labels, 7);
  auto qp = std::find_if(requests.begin(), requests.end(), [](const auto& q) { return has(prompt_of(q), "Angebot"); });
  ASSERT_NE(qp, requests.end());
  EXPECT_THAT(prompt_of(*qp), HasSubstr("From: Jörg Müller <joerg.mueller@example.de>\nSubject: Angebot für die "
                                        "Schulung im April\nDate: 2024-03-05 10:15 +01:00\n\nHallo Sam,"));

  // The message first, each call's instruction after it: the label, summary and reply prompts of
  // one message share the whole message, so the engine's prefix cache prefills it once.
  std::vector<std::string> angebot;
  for (const engine::Request& q : requests) {
    if (has(prompt_of(q), "Angebot")) angebot.push_back(prompt_of(q));
  }
  ASSERT_EQ(angebot.size(), 3u);  // label, summary, reply
  const std::string message = angebot[0].substr(0, angebot[0].find("Label the e-mail above"));
  EXPECT_THAT(message, ::testing::StartsWith("E-mail:\nFrom: Jörg Müller"));
  EXPECT_THAT(message, HasSubstr("Hallo Sam,"));
  EXPECT_THAT(angebot[1], ::testing::StartsWith(message + "Summarise the e-mail above"));
  EXPECT_THAT(angebot[2], ::testing::StartsWith(message + "Write a short, polite reply to the e-mail above"));

  // Drafts for urgent and needs reply only, threaded to the original.
  std::vector<std::string> drafts = files_in(out / "drafts");
  ASSERT_EQ(drafts.size(), 5u);
  auto invoice = std::find_if(drafts.begin(), drafts.end(), [](const auto& n) { return n.starts_with("re-invoice"); });
  ASSERT_NE(invoice, drafts.end());
  MailMessage draft = parse_message(read_file(out / "drafts" / *invoice), 10000);
  EXPECT_EQ(draft.subject, "Re: Invoice 2024-017 attached - please confirm receipt");
  EXPECT_EQ(draft.references, std::vector<std::string>{"inv-2024-017@supplier.example"});
  EXPECT_EQ(draft.body, "Thank you, I will come back to you by [day].");
  EXPECT_THAT(read_file(out / "drafts" / *invoice), HasSubstr("To: maria.santos@supplier.example\n"));
  EXPECT_THAT(r.output, HasSubstr("drafts/" + *invoice));

  // The report is also a file; the timeline names what was read, written and skipped.
  EXPECT_EQ(read_file(out / "triage" / ("2023-11-14-task" + std::to_string(r.task) + ".md")), r.output);
  EXPECT_EQ(events_of(r.task, "wrote").size(), 6u);
  bool logged_malformed = false;
  for (const auto& e : events_of(r.task, storage::event::log)) {
    if (e.data.value("file", "") == "Maildir/new/1709643600.M107P2201.mailhost") {
      logged_malformed = true;
      EXPECT_THAT(e.data["error"].get<std::string>(), HasSubstr("malformed"));
    }
  }
  EXPECT_TRUE(logged_malformed);
  EXPECT_EQ(events_of(r.task, "read").size(), 2u + 7u + 1u);  // new/ and cur/ listed, 7 files, 1 mbox
}

TEST_F(MailAgentTest, RemembersSeenMessagesAcrossRuns) {
  copy_samples();
  answer_each(engine, 20, sample_model);
  run();
  ::testing::Mock::VerifyAndClearExpectations(&engine);

  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  Run second = run();
  EXPECT_TRUE(second.output.starts_with("# Mail triage: 0 new message(s)\n\nAlready seen: ")) << second.output;
  EXPECT_THAT(second.output, HasSubstr("Already seen: 10."));  // 7 Maildir files, 3 mbox messages
  EXPECT_THAT(second.output, Not(HasSubstr("Skipped")));      // the malformed file was reported once
  EXPECT_EQ(events_of(second.task, "read").size(), 3u);      // Maildir files are not read again
  EXPECT_EQ(files_in(out / "triage").size(), 1u);            // nothing new, no new report file
  ::testing::Mock::VerifyAndClearExpectations(&engine);

  // A message moved from new/ to cur/ with flags is still the same message.
  fs::rename(mail / "Maildir/new/1709625600.M101P2201.mailhost", mail / "Maildir/cur/1709625600.M101P2201.mailhost:2,RS");
  // A new one arrives: only it is triaged.
  write_file(mail / "Maildir/new/1709700000.M200P1.mailhost",
             "From: Ana <ana@example.org>\nSubject: Tickets for Saturday\nMessage-ID: <tickets@example.org>\n\n"
             "I bought the tickets, can you pay me back 24 EUR?\n");
  std::vector<engine::Request> requests;
  answer_each(engine, 2, sample_model, &requests);  // label (other), summary; no draft
  Run third = run();
  EXPECT_THAT(third.output, HasSubstr("# Mail triage: 1 new message(s)"));
  EXPECT_THAT(third.output, HasSubstr("| Ana <ana@example.org> | Tickets for Saturday |"));
  EXPECT_THAT(prompt_of(requests[0]), HasSubstr("pay me back 24 EUR"));
  EXPECT_EQ(events_of(third.task, "read").size(), 3u + 1u);
  ASSERT_TRUE(memory.get("mail", "seen").has_value());
  EXPECT_THAT(memory.get("mail", "seen")->dump(), HasSubstr("\"id:tickets@example.org\""));
}

TEST_F(MailAgentTest, TriagesAtMostTheBudgetPerRunAndTheRestNextTime) {
  copy_samples();
  config.settings["max_new_per_run"] = 3;
  std::vector<engine::Request> requests;
  answer_each(engine, ::testing::AnyNumber(), sample_model, &requests);
  Run first = run();
  EXPECT_THAT(first.output, HasSubstr("# Mail triage: 3 new message(s)"));
  EXPECT_THAT(first.output, HasSubstr("Left for the next run: 6."));
  Run second = run();
  EXPECT_THAT(second.output, HasSubstr("# Mail triage: 3 new message(s)"));
  EXPECT_THAT(second.output, HasSubstr("Dev Digest"));
  EXPECT_THAT(second.output, Not(HasSubstr("Production database")));
  Run third = run();
  EXPECT_THAT(third.output, HasSubstr("# Mail triage: 2 new message(s)"));
  EXPECT_THAT(third.output, HasSubstr("Lunch on Friday?"));
  EXPECT_THAT(third.output, Not(HasSubstr("Left for the next run")));
  EXPECT_THAT(run().output, HasSubstr("# Mail triage: 0 new message(s)"));
}

TEST_F(MailAgentTest, AnAnswerThatIsNotALabelBecomesOther) {
  write_file(mail / "Maildir/new/1", "From: a@example.org\nSubject: Hello\nMessage-ID: <h@x>\n\nHi\n");
  fs::create_directories(mail / "Maildir/cur");
  config.settings = {{"maildirs", {"Maildir"}}};
  answer_each(engine, 2, [](const engine::Request& r) { return r.grammar.empty() ? "A greeting." : "banana"; });
  Run r = run();
  EXPECT_THAT(r.output, HasSubstr("| other (fallback: the model's answer was not a label) | A greeting. | - |"));
  bool logged = false;
  for (const auto& e : events_of(r.task, storage::event::log)) logged |= has(e.data["message"].get<std::string>(), "not one of the labels");
  EXPECT_TRUE(logged);
}

TEST_F(MailAgentTest, DraftsStayInsideTheWriteFolder) {
  write_file(mail / "Maildir/new/1",
             "From: x@example.org\nSubject: ../../../etc/passwd\nMessage-ID: <../../escape>\n\nurgent: Production database\n");
  fs::create_directories(mail / "Maildir/cur");
  config.settings = {{"maildirs", {"Maildir"}}};
  answer_each(engine, 3, sample_model);
  run();
  std::vector<std::string> drafts = files_in(out / "drafts");
  ASSERT_EQ(drafts.size(), 1u);
  EXPECT_TRUE(drafts[0].starts_with("re-etc-passwd-")) << drafts[0];
  EXPECT_FALSE(fs::exists(root / "etc"));
}

TEST_F(MailAgentTest, ADraftsFolderLeadingOutsideIsRefused) {
  fs::create_directories(root / "elsewhere");
  fs::create_directory_symlink(root / "elsewhere", out / "drafts");
  write_file(mail / "Maildir/new/1", "From: x@example.org\nSubject: DB\nMessage-ID: <db@x>\n\nProduction database\n");
  fs::create_directories(mail / "Maildir/cur");
  config.settings = {{"maildirs", {"Maildir"}}};
  answer_each(engine, 3, sample_model);
  EXPECT_THAT(run_error(), HasSubstr("drafts"));
  EXPECT_TRUE(fs::is_empty(root / "elsewhere"));
  // Not triaged, so not remembered: the next run tries again.
  EXPECT_THAT(memory.get("mail", "seen").value_or(nlohmann::json()).dump(), Not(HasSubstr("db@x")));
}

TEST_F(MailAgentTest, FailsOnlyWhenNothingIsUsable) {
  write_file(mail / "Maildir/new/bad", "garbage without headers\n");
  fs::create_directories(mail / "Maildir/cur");
  config.settings = {{"maildirs", {"Maildir"}}};
  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  EXPECT_THAT(run_error(), HasSubstr("no usable new message: 1 skipped (Maildir/new/bad: malformed"));
  EXPECT_THAT(run().output, HasSubstr("# Mail triage: 0 new message(s)\n\nAlready seen: 1."));  // reported once

  config.settings = {{"maildirs", {"missing"}}, {"mboxes", {"none.mbox"}}};
  EXPECT_THAT(run_error(), HasSubstr("no mailbox could be read"));
}

TEST_F(MailAgentTest, AnOversizedMessageIsSkippedWithTheReason) {
  write_file(mail / "box.mbox", "From a@b Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: big\n\n" +
                                    std::string(2000, 'x') + "\n\nFrom c@d Mon Jan  1 00:00:00 2024\nFrom: "
                                    "c@example.org\nSubject: small\nMessage-ID: <s@x>\n\nfine\n");
  config.settings = {{"mboxes", {"box.mbox"}}, {"max_message_bytes", 1024}};
  answer_each(engine, 2, sample_model);
  Run r = run();
  EXPECT_THAT(r.output, HasSubstr("# Mail triage: 1 new message(s)"));
  EXPECT_THAT(r.output, HasSubstr("- box.mbox#1: 20"));
  EXPECT_THAT(r.output, HasSubstr(" bytes is more than max_message_bytes (1024)"));
}

TEST_F(MailAgentTest, RejectsBadSettingsNamingThePath) {
  config.settings = {{"maildir", {"Maildir"}}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/maildir: unknown key (did you mean 'maildirs'?)"));
  config.settings = nlohmann::json::object();
  EXPECT_THAT(config_error(), HasSubstr("name at least one mailbox"));
  config.settings = {{"maildirs", {"M"}}, {"drafts_folder", "../out"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/drafts_folder: '..' is not allowed"));
  config.settings = {{"maildirs", {"M"}}, {"drafts_folder", "/tmp/drafts"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/drafts_folder"));
  config.settings = {{"maildirs", {"M"}}, {"max_new_per_run", 0}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/max_new_per_run"));
  config.settings = {{"maildirs", {"M"}}};
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr("needs a write folder"));
}

}  // namespace
}  // namespace agentd::agents
