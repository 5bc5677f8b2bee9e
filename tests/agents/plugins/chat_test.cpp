// The chat plugin: requests parsed from the task input, note requests recognised in code,
// history bounded and sent back as chat messages, notes recalled into a system message next to
// the new message, each turn's request starting with the previous one (the prefix cache reuses
// it), sessions kept apart, and its settings checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/chat/chat_agent.hpp"
#include "agents/chat/chat_request.hpp"
#include "agents/chat/conversation.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"
#include "plugin_test_support.hpp"

namespace agentd::agents {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using test_support::answer_each;
using test_support::prompt_of;

// --- requests ---------------------------------------------------------------------------

TEST(ChatRequestTest, PlainTextGoesToTheDefaultSession) {
  ChatRequest r = parse_chat_request("  What is on today?\n", 100);
  EXPECT_EQ(r.session, "default");
  EXPECT_EQ(r.message, "What is on today?");
}

TEST(ChatRequestTest, JsonNamesTheSession) {
  ChatRequest r = parse_chat_request(R"({"session": "work-1", "message": "Hi"})", 100);
  EXPECT_EQ(r.session, "work-1");
  EXPECT_EQ(r.message, "Hi");
  EXPECT_EQ(parse_chat_request(R"({"message": "Hi"})", 100).session, "default");
}

TEST(ChatRequestTest, TextThatOnlyLooksLikeJsonIsPlainText) {
  EXPECT_EQ(parse_chat_request("{hello}", 100).message, "{hello}");
  EXPECT_EQ(parse_chat_request(R"({"a": 1})", 100).message, R"({"a": 1})");  // no "message": not a request
}

TEST(ChatRequestTest, RefusesBadRequestsWithTheReason) {
  auto error = [](const std::string& input, size_t max = 100) {
    try {
      parse_chat_request(input, max);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error(R"({"message": "x", "user": "me"})"), HasSubstr("unknown key \"user\""));
  EXPECT_THAT(error(R"({"message": 5})"), HasSubstr("\"message\" must be a string"));
  EXPECT_THAT(error(R"({"message": "x", "session": 3})"), HasSubstr("\"session\" must be a string"));
  EXPECT_THAT(error(R"({"message": "x", "session": "../etc"})"), HasSubstr("not a session name"));
  EXPECT_THAT(error(R"({"message": "x", "session": ""})"), HasSubstr("not a session name"));
  EXPECT_THAT(error(R"({"message": "x", "session": ")" + std::string(65, 'a') + "\"}"), HasSubstr("not a session name"));
  EXPECT_THAT(error("0123456789A", 10), HasSubstr("11 characters; the limit is 10"));
  EXPECT_EQ(error("0123456789", 10), "no error");
}

TEST(ChatRequestTest, RecognisesNoteRequestsOnlyAtTheStart) {
  EXPECT_EQ(note_request("remember that the dentist is on Tuesday"), "the dentist is on Tuesday");
  EXPECT_EQ(note_request("  Please REMEMBER THAT Bob likes tea. "), "Bob likes tea.");
  EXPECT_EQ(note_request("Remember: milk"), "milk");
  EXPECT_EQ(note_request("note: the wifi password is on the fridge"), "the wifi password is on the fridge");
  EXPECT_EQ(note_request("NOTE THAT rent is due on the 1st"), "rent is due on the 1st");
  EXPECT_EQ(note_request("/note   buy stamps"), "buy stamps");
  EXPECT_EQ(note_request("/NOTE buy stamps"), "buy stamps");
  EXPECT_EQ(note_request("/note"), "");
  EXPECT_EQ(note_request("/notebook is broken"), std::nullopt);
  EXPECT_EQ(note_request("Do you remember that film?"), std::nullopt);
  EXPECT_EQ(note_request("notes are useful"), std::nullopt);
  EXPECT_EQ(note_request("remember that"), std::nullopt);  // nothing follows: a question, not a note
  EXPECT_EQ(note_request(""), std::nullopt);
}

TEST(ChatRequestTest, RecallQueryKeepsTheWordsAQuestionIsAbout) {
  EXPECT_EQ(recall_query("When is the dentist?"), "dentist");
  EXPECT_EQ(recall_query("What did Bob say about the Müller offer, please?"), "bob say müller offer");
  EXPECT_EQ(recall_query("Is it?"), "");
  EXPECT_EQ(recall_query("a b c 42"), "42");
}

// --- history ----------------------------------------------------------------------------

Turn turn(const std::string& user, const std::string& assistant) { return {user, assistant, 0}; }

TEST(ConversationTest, KeepsTheLastTurns) {
  Conversation c;
  for (char i = '1'; i <= '5'; ++i) c.add(turn(std::string{'q', i}, std::string{'a', i}), {3, 1000});
  ASSERT_EQ(c.turns().size(), 3u);
  EXPECT_EQ(c.turns().front().user, "q3");
  EXPECT_EQ(c.turns().back().assistant, "a5");
}

TEST(ConversationTest, KeepsTheCharacterBudgetButNeverDropsTheNewestTurn) {
  Conversation c;
  c.add(turn("aaaa", "bbbb"), {10, 20});      // 8
  c.add(turn("cccc", "dddd"), {10, 20});      // 16
  c.add(turn("eeee", "ffff"), {10, 20});      // 24 > 20: the first goes
  ASSERT_EQ(c.turns().size(), 2u);
  EXPECT_EQ(c.turns().front().user, "cccc");
  EXPECT_EQ(c.chars(), 16u);
  c.add(turn(std::string(30, 'x'), "y"), {10, 20});  // alone over budget: kept alone
  ASSERT_EQ(c.turns().size(), 1u);
  EXPECT_EQ(c.turns().front().assistant, "y");
}

TEST(ConversationTest, RoundTripsThroughJsonAndIgnoresDamagedValues) {
  Conversation c;
  c.add({"hi", "hello", 42}, {});
  c.add({"and?", "and so on", 43}, {});
  Conversation back = Conversation::from_json(c.to_json());
  ASSERT_EQ(back.turns().size(), 2u);
  EXPECT_EQ(back.turns()[1].user, "and?");
  EXPECT_EQ(back.turns()[1].at_ms, 43);
  ASSERT_EQ(back.messages().size(), 4u);
  EXPECT_EQ(back.messages()[0].role, "user");
  EXPECT_EQ(back.messages()[1].role, "assistant");
  EXPECT_EQ(back.messages()[3].content, "and so on");

  Conversation with_notes;
  with_notes.add({"tea?", "green", 44, "Notes: Bob likes tea", {7}}, {});
  Conversation read = Conversation::from_json(with_notes.to_json());
  ASSERT_EQ(read.turns().size(), 1u);
  EXPECT_EQ(read.turns()[0].notes, "Notes: Bob likes tea");
  EXPECT_EQ(read.turns()[0].note_ids, std::vector<int64_t>{7});
  EXPECT_TRUE(read.shows_note(7));
  EXPECT_FALSE(read.shows_note(8));
  EXPECT_EQ(read.chars(), 4u + 5u + 20u);  // the notes count against the budget too
  ASSERT_EQ(read.messages().size(), 3u);   // the turn as it was sent: its notes, then the exchange
  EXPECT_EQ(read.messages()[0].role, "system");
  EXPECT_EQ(read.messages()[0].content, "Notes: Bob likes tea");
  EXPECT_EQ(read.messages()[1].content, "tea?");
  EXPECT_FALSE(c.to_json()["turns"][0].contains("notes"));  // a turn without notes stores none

  EXPECT_TRUE(Conversation::from_json(nullptr).turns().empty());
  EXPECT_TRUE(Conversation::from_json("text").turns().empty());
  nlohmann::json partly = {{"turns", {{{"user", "ok"}, {"assistant", "fine"}}, {{"user", 1}}, "x"}}};
  EXPECT_EQ(Conversation::from_json(partly).turns().size(), 1u);
}

TEST(SessionIndexTest, MovesTheUsedSessionLastAndDropsTheLeastRecentlyUsed) {
  SessionIndex index;
  EXPECT_TRUE(index.touch("a", 2).empty());
  EXPECT_TRUE(index.touch("b", 2).empty());
  EXPECT_TRUE(index.touch("a", 2).empty());
  EXPECT_EQ(index.names, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(index.touch("c", 2), std::vector<std::string>{"b"});
  EXPECT_EQ(index.names, (std::vector<std::string>{"a", "c"}));
}

TEST(NotesContextTest, ListsTheNotesOrSaysNothing) {
  EXPECT_EQ(notes_context({}), "");
  std::vector<Note> notes = {{1, "chat", 0, "dentist on Tuesday"}, {2, "chat", 0, "Bob likes tea"}};
  EXPECT_EQ(notes_context(notes),
            "Notes the user asked you to remember (use them if they are relevant):\n- dentist on Tuesday\n- Bob likes tea");
}

// --- the agent --------------------------------------------------------------------------

class ChatAgentTest : public test_support::AgentsTest {
 protected:
  ChatAgentTest() {
    config.name = "chat";
    config.plugin = "chat";
    config.system_prompt = "Be brief.";
  }

  std::string run(ChatAgent& agent, const std::string& input) {
    TaskContext ctx(config, make_task(input), services(), std::stop_source().get_token());
    return agent.run(ctx);
  }

  // Runs one message; the model answers `reply`. Returns the request it was sent.
  engine::Request ask(ChatAgent& agent, const std::string& input, const std::string& reply, std::string* output = nullptr) {
    engine::Request request;
    answer_with(reply, &request);
    std::string out = run(agent, input);
    if (output) *output = out;
    ::testing::Mock::VerifyAndClearExpectations(&engine);
    return request;
  }

  std::string config_error() {
    try {
      ChatAgent agent(config);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
};

std::vector<std::pair<std::string, std::string>> roles(const engine::Request& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : r.messages) out.emplace_back(m.role, m.content);
  return out;
}

TEST_F(ChatAgentTest, TheReplyIsTheOutputAndTheHistoryComesBackNextTime) {
  ChatAgent agent(config);
  std::string output;
  engine::Request first = ask(agent, "Hello, I am Sam.", "  Hi Sam!  \n", &output);
  EXPECT_EQ(output, "Hi Sam!");
  EXPECT_EQ(roles(first), (std::vector<std::pair<std::string, std::string>>{{"system", "Be brief."},
                                                                            {"user", "Hello, I am Sam."}}));
  engine::Request second = ask(agent, "What is my name?", "Sam.");
  EXPECT_EQ(roles(second), (std::vector<std::pair<std::string, std::string>>{{"system", "Be brief."},
                                                                             {"user", "Hello, I am Sam."},
                                                                             {"assistant", "Hi Sam!"},
                                                                             {"user", "What is my name?"}}));
  auto stored = memory.get("chat", "session:default");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(Conversation::from_json(*stored).turns().size(), 2u);
  EXPECT_EQ(memory.get("chat", "sessions"), nlohmann::json({"default"}));
}

TEST_F(ChatAgentTest, SendsOnlyTheLastTurnsWithinTheBounds) {
  config.settings = {{"max_turns", 2}};
  ChatAgent agent(config);
  for (int i = 1; i <= 3; ++i) ask(agent, "q" + std::to_string(i), "a" + std::to_string(i));
  engine::Request fourth = ask(agent, "q4", "a4");
  EXPECT_EQ(roles(fourth), (std::vector<std::pair<std::string, std::string>>{
                               {"system", "Be brief."}, {"user", "q2"}, {"assistant", "a2"}, {"user", "q3"},
                               {"assistant", "a3"}, {"user", "q4"}}));

  config.settings = {{"max_turns", 10}, {"max_history_chars", 100}};
  ChatAgent small(config);
  engine::Request r = ask(small, std::string(62, 'm'), std::string(32, 'r'));
  // History q3/a3 and q4/a4 (8 chars) is sent; the new 94-char turn then pushes the total over
  // 100 and the oldest turn goes.
  EXPECT_EQ(r.messages.size(), 6u);
  engine::Request after = ask(small, "next", "ok");
  EXPECT_EQ(roles(after), (std::vector<std::pair<std::string, std::string>>{{"system", "Be brief."},
                                                                            {"user", "q4"},
                                                                            {"assistant", "a4"},
                                                                            {"user", std::string(62, 'm')},
                                                                            {"assistant", std::string(32, 'r')},
                                                                            {"user", "next"}}));
}

TEST_F(ChatAgentTest, RecallsTheMostRelevantNotesIntoTheSystemContext) {
  memory.add_note("chat", "The dentist appointment is on Tuesday at 9.");
  memory.add_note("chat", "Bob prefers green tea.");
  memory.add_note("chat", "The car needs new tyres.");
  memory.add_note("someone_else", "The dentist is secretly a spy.");
  ChatAgent agent(config);
  TaskContext ctx(config, make_task("When is the dentist?"), services(), std::stop_source().get_token());
  engine::Request r;
  answer_with("Tuesday at 9.", &r);
  EXPECT_EQ(agent.run(ctx), "Tuesday at 9.");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[1].role, "system");
  EXPECT_EQ(r.messages[1].content,
            "Notes the user asked you to remember (use them if they are relevant):\n"
            "- The dentist appointment is on Tuesday at 9.");
  auto logs = events_of(ctx.task_id(), storage::event::log);
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs[0].data["message"], "recalled 1 note(s), 0 turn(s) of history");
  // The notes are kept with the turn, so the next request re-sends this one unchanged.
  auto stored = Conversation::from_json(*memory.get("chat", "session:default"));
  ASSERT_EQ(stored.turns().size(), 1u);
  EXPECT_EQ(stored.turns()[0].notes, r.messages[1].content);
}

// The engine reuses the KV cache of the longest prompt prefix it has seen. So each turn's request
// starts with the previous turn's request, message for message, then the previous reply; this
// turn's notes come after the history, just before the new message.
TEST_F(ChatAgentTest, EachTurnStartsWithThePreviousRequestAndReply) {
  memory.add_note("chat", "The dentist appointment is on Tuesday at 9.");
  memory.add_note("chat", "Bob prefers green tea.");
  ChatAgent agent(config);
  std::vector<std::pair<std::string, std::string>> turns = {
      {"When is the dentist?", "Tuesday."}, {"Thanks.", "You are welcome."}, {"Which tea does Bob like?", "Green."}};
  std::vector<engine::Request> sent;
  for (const auto& [message, reply] : turns) sent.push_back(ask(agent, message, reply));

  for (size_t t = 1; t < sent.size(); ++t) {
    auto previous = roles(sent[t - 1]);
    auto next = roles(sent[t]);
    ASSERT_GT(next.size(), previous.size()) << "turn " << t + 1;
    EXPECT_EQ(std::vector(next.begin(), next.begin() + static_cast<long>(previous.size())), previous) << "turn " << t + 1;
    EXPECT_EQ(next[previous.size()], (std::pair<std::string, std::string>{"assistant", turns[t - 1].second}));
  }
  auto third = roles(sent[2]);
  ASSERT_EQ(third.size(), 8u);  // system, notes, user, assistant, user, assistant, notes, user
  EXPECT_EQ(third[6].first, "system");
  EXPECT_THAT(third[6].second, HasSubstr("Bob prefers green tea."));
  EXPECT_THAT(third[6].second, Not(HasSubstr("dentist")));
  EXPECT_EQ(third[7], (std::pair<std::string, std::string>{"user", "Which tea does Bob like?"}));
}

TEST_F(ChatAgentTest, ANoteTheHistoryAlreadyShowsIsNotRepeated) {
  memory.add_note("chat", "Bob prefers green tea.");
  ChatAgent agent(config);
  engine::Request first = ask(agent, "Which tea for Bob?", "Green.");
  engine::Request second = ask(agent, "Is green tea good for Bob?", "Yes.");
  ASSERT_EQ(first.messages.size(), 3u);
  EXPECT_EQ(roles(second), (std::vector<std::pair<std::string, std::string>>{
                               {"system", "Be brief."}, {"system", first.messages[1].content},
                               {"user", "Which tea for Bob?"}, {"assistant", "Green."},
                               {"user", "Is green tea good for Bob?"}}));
  auto stored = Conversation::from_json(*memory.get("chat", "session:default"));
  ASSERT_EQ(stored.turns().size(), 2u);
  EXPECT_FALSE(stored.turns()[0].notes.empty());
  EXPECT_TRUE(stored.turns()[1].notes.empty());
}

TEST_F(ChatAgentTest, RecallsAtMostTheConfiguredNumberOfNotes) {
  for (int i = 0; i < 5; ++i) memory.add_note("chat", "tea note " + std::to_string(i));
  ChatAgent agent(config);
  engine::Request r = ask(agent, "tea?", "yes");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(std::count(r.messages[1].content.begin(), r.messages[1].content.end(), '\n'), 3);  // header + 3 notes

  config.settings = {{"recall_notes", 0}};
  ChatAgent none(config);
  // System prompt, the history (its turn kept with the notes it was answered with), user; no new notes.
  EXPECT_EQ(ask(none, "tea?", "yes").messages.size(), 5u);
}

TEST_F(ChatAgentTest, SavesANoteWhenAskedWithoutCallingTheModel) {
  ChatAgent agent(config);
  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  EXPECT_EQ(run(agent, "Remember that the boiler service is on 3 May."), "Noted: the boiler service is on 3 May.");
  EXPECT_EQ(run(agent, R"({"session": "home", "message": "/note spare key under the pot"})"),
            "Noted: spare key under the pot");
  auto found = memory.search_notes("chat", "boiler");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].text, "the boiler service is on 3 May.");
  EXPECT_EQ(memory.search_notes("chat", "key").size(), 1u);
  EXPECT_THAT(run(agent, "/note"), HasSubstr("nothing to note"));
  EXPECT_EQ(memory.recent_notes("chat", 10).size(), 2u);
  // The exchange is part of the conversation.
  auto home = Conversation::from_json(*memory.get("chat", "session:home"));
  ASSERT_EQ(home.turns().size(), 1u);
  EXPECT_EQ(home.turns()[0].assistant, "Noted: spare key under the pot");
}

TEST_F(ChatAgentTest, KeepsSessionsApart) {
  ChatAgent agent(config);
  ask(agent, R"({"session": "work", "message": "The deadline is Friday."})", "Understood.");
  engine::Request home = ask(agent, R"({"session": "home", "message": "What is for dinner?"})", "Pasta.");
  EXPECT_EQ(roles(home), (std::vector<std::pair<std::string, std::string>>{{"system", "Be brief."},
                                                                           {"user", "What is for dinner?"}}));
  engine::Request work = ask(agent, R"({"session": "work", "message": "When is the deadline?"})", "Friday.");
  ASSERT_EQ(work.messages.size(), 4u);
  EXPECT_EQ(work.messages[1].content, "The deadline is Friday.");
  EXPECT_EQ(memory.get("chat", "sessions"), nlohmann::json({"home", "work"}));
}

TEST_F(ChatAgentTest, ForgetsTheLeastRecentlyUsedSessionPastTheLimit) {
  config.settings = {{"max_sessions", 2}};
  ChatAgent agent(config);
  ask(agent, R"({"session": "a", "message": "one"})", "1");
  ask(agent, R"({"session": "b", "message": "two"})", "2");
  ask(agent, R"({"session": "c", "message": "three"})", "3");
  EXPECT_EQ(memory.get("chat", "sessions"), nlohmann::json({"b", "c"}));
  EXPECT_TRUE(Conversation::from_json(*memory.get("chat", "session:a")).turns().empty());
  engine::Request a = ask(agent, R"({"session": "a", "message": "again"})", "4");
  EXPECT_EQ(a.messages.size(), 2u);  // system + user: the old history is gone
}

TEST_F(ChatAgentTest, ATimerTickReportsSessionsAndNotesWithoutTheModel) {
  ChatAgent agent(config);
  ask(agent, R"({"session": "work", "message": "hi"})", "hello");
  memory.add_note("chat", "water the plants");
  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  std::string status = run(agent, "");
  EXPECT_THAT(status, HasSubstr("Sessions: 1 (most recent last: work 1 turn(s))"));
  EXPECT_THAT(status, HasSubstr("- water the plants"));
}

TEST_F(ChatAgentTest, ABadRequestFailsTheTaskWithTheReason) {
  ChatAgent agent(config);
  config.settings = {{"max_message_chars", 5}};
  ChatAgent strict(config);
  EXPECT_CALL(engine, submit(::testing::_)).Times(0);
  EXPECT_THAT([&] { run(agent, R"({"message": "x", "session": "no spaces allowed"})"); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("not a session name")));
  EXPECT_THAT([&] { run(strict, "too long message"); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("the limit is 5")));
}

TEST_F(ChatAgentTest, AnEmptyModelAnswerIsSaidPlainly) {
  ChatAgent agent(config);
  std::string output;
  ask(agent, "Hello?", " \n ", &output);
  EXPECT_EQ(output, "(the model gave no answer)");
}

TEST_F(ChatAgentTest, RejectsBadSettingsNamingThePath) {
  config.settings = {{"max_turn", 3}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/max_turn: unknown key (did you mean 'max_turns'?)"));
  config.settings = {{"max_turns", 0}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/max_turns"));
  config.settings = {{"recall_notes", "three"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/recall_notes"));
  config.settings = {{"max_turns", 4}, {"recall_notes", 2}};
  EXPECT_EQ(config_error(), "no error");
}

}  // namespace
}  // namespace agentd::agents
