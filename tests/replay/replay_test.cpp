// The replay benchmark's parts: the workload generator (deterministic, scaled), the statistics,
// the trace readers (a bad line refused with its number), the daemon's overhead readers (/proc
// thread CPU, /metrics memory split), and a short replay against the real daemon on the test
// model, whose threads carry their names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "core/thread_name.hpp"
#include "daemon_metrics.hpp"
#include "replay_client.hpp"
#include "replay_report.hpp"
#include "replay_trace.hpp"
#include "server_process.hpp"
#include "stats.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include "thread_cpu.hpp"
#include "workload.hpp"

namespace agentd::bench::replay {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using nlohmann::json;

std::vector<ChatTraceRow> chat_rows() {
  std::ifstream in(AGENTD_REPLAY_CHAT_TRACE);
  return read_azure_conv_csv(in, AGENTD_REPLAY_CHAT_TRACE);
}

WorkloadOptions options(uint64_t seed) {
  WorkloadOptions o;
  o.seed = seed;
  o.day_minutes = 1;
  o.source_root = AGENTD_SOURCE_DIR;
  return o;
}

std::string dump(const std::vector<ReplayRequest>& day) {
  std::ostringstream s;
  write_trace_jsonl(s, day);
  return s.str();
}

TEST(Workload, SameSeedSameDayOtherSeedOtherDay) {
  const auto rows = chat_rows();
  const std::string a = dump(generate_day(options(7), rows));
  EXPECT_EQ(a, dump(generate_day(options(7), rows)));
  EXPECT_NE(a, dump(generate_day(options(8), rows)));
}

TEST(Workload, HoldsChatsAndTheAgentsAtTheirClasses) {
  const auto day = generate_day(options(1), chat_rows());
  const OfferedLoad l = offered_load(day);
  EXPECT_GT(l.chat_requests, 0u);
  EXPECT_GT(l.tool_requests, 0u);  // extractor and evaluator, under a schema
  EXPECT_GT(l.background_requests, l.tool_requests);
  std::set<std::string> agents;
  for (const auto& r : day) {
    agents.insert(r.agent);
    if (r.klass == "tool") {
      EXPECT_TRUE(r.schema.has_value()) << r.agent;
    }
    EXPECT_LT(r.time_s, 60.0);
  }
  EXPECT_EQ(agents, (std::set<std::string>{"chat", "mail", "news", "extractor", "summarizer", "calendar", "coder", "digest",
                                           "drafter", "evaluator", "market", "risk"}));
}

TEST(Workload, FollowUpTurnsResendTheHistory) {
  auto o = options(1);
  o.max_prompt_chars = 1400;  // many sessions reach it
  const auto day = generate_day(o, chat_rows());
  std::map<int, std::vector<const ReplayRequest*>> sessions;
  for (const auto& r : day) {
    if (r.klass == "interactive") sessions[r.chain].push_back(&r);
  }
  int follow_ups = 0;
  for (auto& [id, turns] : sessions) {
    EXPECT_FALSE(turns[0]->resend_answers);
    for (size_t t = 1; t < turns.size(); ++t) {
      ++follow_ups;
      const json& now = turns[t]->messages;
      const json& before = turns[t - 1]->messages;
      ASSERT_EQ(now.size(), before.size() + 2);  // + answer + question
      // the history as it was sent before, not cut again (else a prefix cache cannot reuse it)
      for (size_t m = 0; m < before.size(); ++m) EXPECT_EQ(now[m], before[m]) << "session " << id << " turn " << t;
      EXPECT_EQ(now[before.size()]["role"], "assistant");
      EXPECT_GT(turns[t]->after_s, 0);
      EXPECT_TRUE(turns[t]->resend_answers);  // the client puts in the answer it got
    }
    size_t chars = 0;
    for (const json& m : turns.back()->messages) chars += m["content"].get_ref<const std::string&>().size();
    EXPECT_LE(chars, o.max_prompt_chars) << "session " << id;
  }
  EXPECT_GT(follow_ups, 5);
  auto recorded = o;
  recorded.answers_as_recorded = true;
  for (const auto& r : generate_day(recorded, chat_rows())) EXPECT_FALSE(r.resend_answers);
}

// The agents remember what they handled, so a day sends every mail, receipt and document once,
// though the shipped samples are few: only what one input's calls share is a prefix to reuse.
TEST(Workload, EveryInputIsNewAndAMailsCallsShareIt) {
  const auto day = generate_day(options(1), chat_rows());
  auto user = [](const ReplayRequest& r) { return r.messages.back()["content"].get<std::string>(); };
  std::set<std::string> receipts;
  std::map<std::string, std::set<int>> tasks_of_message;
  std::map<std::string, std::vector<std::string>> calls_of_message;
  for (const auto& r : day) {
    if (r.agent == "extractor") {
      EXPECT_TRUE(receipts.insert(user(r)).second) << user(r);
    } else if (r.agent == "mail") {
      const std::string text = user(r);
      const std::string id = text.substr(0, text.find('\n', text.find("Message-ID")));
      tasks_of_message[id].insert(r.task);
      calls_of_message[id].push_back(text);
    }
  }
  EXPECT_GT(receipts.size(), 3u);  // more than the three shipped receipts
  ASSERT_GT(tasks_of_message.size(), 8u);  // more than the eight shipped messages
  for (const auto& [id, tasks] : tasks_of_message) {
    EXPECT_EQ(tasks.size(), 1u) << id;
    const auto& calls = calls_of_message[id];
    ASSERT_GE(calls.size(), 2u) << id;  // a label and a summary
    const std::string shared = calls[0].substr(0, calls[0].find("Label the e-mail above"));
    EXPECT_GT(shared.size(), id.size() + 50) << id;  // the whole message, before the instruction
    for (const auto& c : calls) EXPECT_TRUE(c.starts_with(shared)) << id;
  }
}

TEST(Client, AFollowUpResendsTheAnswersItsChainGot) {
  ReplayRequest r{0, "chat", "interactive",
                  json::array({{{"role", "system"}, {"content", "s"}}, {{"role", "user"}, {"content", "q1"}},
                               {{"role", "assistant"}, {"content", "recorded 1"}}, {{"role", "user"}, {"content", "q2"}},
                               {{"role", "assistant"}, {"content", "recorded 2"}}, {{"role", "user"}, {"content", "q3"}}}),
                  8};
  r.resend_answers = true;
  const ReplayRequest sent = with_answers(r, {"the first answer", ""});  // the second request failed
  EXPECT_EQ(sent.messages[2]["content"], "the first answer");
  EXPECT_EQ(sent.messages[4]["content"], "recorded 2");  // no answer: the recorded text stays
  EXPECT_EQ(sent.messages[5]["content"], "q3");
  EXPECT_EQ(r.messages[2]["content"], "recorded 1");  // the day itself is not changed
}

TEST(Workload, ScalesWithItsKnobs) {
  const auto rows = chat_rows();
  WorkloadOptions small = options(3), big = options(3);
  big.token_scale = small.token_scale * 2;
  const OfferedLoad ls = offered_load(generate_day(small, rows)), lb = offered_load(generate_day(big, rows));
  EXPECT_NEAR(lb.background_answer_tokens / ls.background_answer_tokens, 2.0, 0.2);
  WorkloadOptions none = options(3);
  none.chat_rate = 0;
  EXPECT_EQ(offered_load(generate_day(none, rows)).chat_requests, 0u);
  WorkloadOptions twice = options(3);
  twice.agent_copies = 2;
  // Each copy draws its own runs (how many mails, which documents): about twice the work.
  const OfferedLoad l2 = offered_load(generate_day(twice, rows));
  EXPECT_NEAR(static_cast<double>(l2.background_requests) / ls.background_requests, 2.0, 0.15);
  EXPECT_NEAR(static_cast<double>(l2.tasks) / ls.tasks, 2.0, 0.15);
  WorkloadOptions longer = options(3);
  longer.day_minutes = 2;
  EXPECT_GT(offered_load(generate_day(longer, rows)).chat_requests, ls.chat_requests);  // more of the trace's hour
}

TEST(Stats, PercentilesInterpolateBetweenRanks) {
  EXPECT_DOUBLE_EQ(percentile({5, 1, 4, 2, 3}, 50), 3);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 95), 4.8);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 0), 1);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 100), 5);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7);
  EXPECT_TRUE(std::isnan(percentile({}, 50)));
}

TEST(Stats, CdfHasOnePointPerDistinctValue) {
  auto c = cdf({3, 1, 3, 2});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], std::make_pair(1.0, 0.25));
  EXPECT_EQ(c[1], std::make_pair(2.0, 0.5));
  EXPECT_EQ(c[2], std::make_pair(3.0, 1.0));
  EXPECT_TRUE(cdf({}).empty());
}

std::string refusal_csv(const std::string& text) {
  std::istringstream in(text);
  try {
    read_azure_conv_csv(in, "t.csv");
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}

TEST(Stats, BatchingGainBoundIsTheDecodeRatioOnlyForADayOfDecode) {
  EXPECT_DOUBLE_EQ(batching_gain_bound(0, 1000, 500, 50, 60), 60.0 / 50);   // decode only
  EXPECT_DOUBLE_EQ(batching_gain_bound(1000, 0, 500, 50, 60), 1.0);         // prefill only
  // 10 s of prefill and 10 s of decode at one sequence; decode at 1.2x: 20 / (10 + 8.33).
  EXPECT_NEAR(batching_gain_bound(5000, 500, 500, 50, 60), 20.0 / (10 + 500.0 / 60), 1e-12);
  EXPECT_EQ(batching_gain_bound(5000, 500, 0, 50, 60), 0);                  // a rate missing
}

TEST(Stats, ChatPrefillAloneTimesEachAnsweredChatsUncachedPromptAtTheRate) {
  std::vector<ReplayRequest> day(5);
  SystemSummary s;
  s.outcomes.resize(5);
  for (int i = 0; i < 4; ++i) {
    day[i].klass = "interactive";
    s.outcomes[i].prompt_tokens = 100 * (i + 1);  // 100, 200, 300, 400
    s.outcomes[i].cached_tokens = i == 3 ? 300 : -1;  // the last one had 300 cached: 100 left
  }
  day[4].klass = "background";  // not a chat: left out however long its prompt
  s.outcomes[4].prompt_tokens = 5000;
  // at 500 t/s: 200, 400, 600, 200 ms; p95 between the ranks: 400 + 0.85 * (600 - 400)
  EXPECT_NEAR(chat_prefill_alone_p95_ms(day, s, 500), 570, 1e-9);
  s.outcomes[2].prompt_tokens = -1;  // unanswered: no usage, left out
  EXPECT_NEAR(chat_prefill_alone_p95_ms(day, s, 500), 200 + 0.9 * 200, 1e-9);  // of 200, 200, 400
  EXPECT_TRUE(std::isnan(chat_prefill_alone_p95_ms(day, s, 0)));  // no rate
}

// Tasks per hour counts a one-request receipt like a three-request mail run, so the report says
// whose tasks they were: two systems can finish as many tasks with very different work.
TEST(Report, FinishedTasksAreCountedByAgent) {
  std::vector<ReplayRequest> day(4);
  day[0] = {0, "mail", "background", {}, 8};
  day[1] = {1, "mail", "background", {}, 8};
  day[2] = {2, "news", "background", {}, 8};
  day[3] = {3, "extractor", "tool", {}, 8};
  day[0].task = day[1].task = 0;
  day[2].task = 1;
  day[3].task = 2;
  DayRun run;
  run.window_s = 60;
  run.outcomes.resize(4);
  for (auto& o : run.outcomes) o.sent_s = 1, o.first_s = 2, o.done_s = 3;
  run.outcomes[2].done_s = -1;  // news: its one request cut, the task not finished
  run.outcomes[2].cut = true;
  const SystemSummary s = summarize("agentd_serial", day, run, 100);
  EXPECT_EQ(s.tasks_done, 2u);
  EXPECT_EQ(s.tasks_by_agent, (std::map<std::string, size_t>{{"extractor", 1}, {"mail", 1}}));
  EXPECT_THAT(table({s}), HasSubstr("2 tasks (extractor 1, mail 1)"));
}

TEST(Report, ALastLineIsTheMedianOfItsRoundsAndListsThemWhenThereAreSeveral) {
  EXPECT_EQ(median_line("replay_x", {0.5}), "replay_x 0.500");
  EXPECT_EQ(median_line("replay_x", {0.3, 0.1, 0.2}), "replay_x 0.200 (median of rounds: 0.300, 0.100, 0.200)");
  EXPECT_EQ(median_line("replay_x", {0.4, 0.2}), "replay_x 0.300 (median of rounds: 0.400, 0.200)");
  // a round without the figure is left out, not counted as zero
  EXPECT_EQ(median_line("replay_x", {-1, 0.25, std::nan("")}), "replay_x 0.250");
  EXPECT_EQ(median_line("replay_x", {-1}), "replay_x n/a");
  EXPECT_EQ(median_line("replay_ms", {812.4, 640.8}, "%.0f"), "replay_ms 727 (median of rounds: 812, 641)");
}

TEST(Report, ARatioComparesTwoSystemsOfTheSameRound) {
  auto summary = [](const std::string& name, int round, double p95) {
    SystemSummary s;
    s.name = name;
    s.round = round;
    s.chat_ttft_p95_ms = p95;
    return s;
  };
  const std::vector<std::vector<SystemSummary>> rounds = {
      {summary("agentd_batched", 1, 600), summary("agentd_serial", 1, 3000)},
      {summary("agentd_serial", 2, 2000), summary("agentd_batched", 2, 800)},  // order does not matter
      {summary("agentd_batched", 3, 700)},                                      // serial missing
      {summary("agentd_batched", 4, 700), summary("agentd_serial", 4, 0)}};     // nothing to divide by
  const auto r = ratios(rounds, "agentd_batched", "agentd_serial", &SystemSummary::chat_ttft_p95_ms);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_DOUBLE_EQ(r[0], 0.2);
  EXPECT_DOUBLE_EQ(r[1], 0.4);
  EXPECT_EQ(r[2], -1);
  EXPECT_EQ(r[3], -1);
  EXPECT_EQ(median_line("replay_chat_p95_ttft_vs_serial", r), "replay_chat_p95_ttft_vs_serial 0.300 (median of rounds: 0.200, 0.400)");
}

TEST(Report, AFileThatCannotBeWrittenIsAnErrorNamingIt) {
  agentd::testing::TempDir dir;
  const std::filesystem::path missing = dir.path() / "no-such-dir" / "replay.csv";
  SystemSummary s;
  s.name = "agentd_batched";
  try {
    write_csv(missing, {s});
    FAIL() << "wrote into a folder that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(missing.string()));
  }
  write_csv(dir.path() / "replay.csv", {s});
  std::ifstream written(dir.path() / "replay.csv");
  std::string header, row;
  std::getline(written, header);
  std::getline(written, row);
  EXPECT_EQ(row.substr(0, row.find(',')), "agentd_batched");
}

TEST(Readers, CsvRefusesABadLineWithItsNumber) {
  const std::string h = "TIMESTAMP,ContextTokens,GeneratedTokens\n", ok = "2023-11-16 18:15:46.6805900,374,44\n";
  EXPECT_THAT(refusal_csv("time,a,b\n"), HasSubstr("t.csv:1:"));
  EXPECT_THAT(refusal_csv(h + ok + "2023-11-16 18:15:47.1,abc,3\n"), HasSubstr("t.csv:3: token counts"));
  EXPECT_THAT(refusal_csv(h + ok + ok + "2023-11-16 18:15:48,1\n"), HasSubstr("t.csv:4: expected 3 fields"));
  EXPECT_THAT(refusal_csv(h + "yesterday,1,2\n"), HasSubstr("t.csv:2: bad TIMESTAMP"));
  EXPECT_THAT(refusal_csv(h + ok + "2023-11-16 18:15:40.0,1,2\n"), HasSubstr("t.csv:3: TIMESTAMP goes back"));
  std::istringstream good(h + ok + "2023-11-16 18:15:48.6805900,10,2\n");
  auto rows = read_azure_conv_csv(good, "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NEAR(rows[1].time_s, 2.0, 1e-6);
  EXPECT_EQ(rows[1].context_tokens, 10);
}

std::string refusal_jsonl(const std::string& text) {
  std::istringstream in(text);
  try {
    read_trace_jsonl(in, "day.jsonl");
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}

TEST(Readers, JsonlRefusesABadLineWithItsNumber) {
  const std::string ok =
      R"({"time": 1, "agent": "mail", "class": "background", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})"
      "\n";
  EXPECT_THAT(refusal_jsonl(ok + "{not json\n"), HasSubstr("day.jsonl:2: not valid JSON"));
  EXPECT_THAT(refusal_jsonl(ok + "\n" + R"({"time": 1, "agent": "a", "class": "urgent", "messages": [], "max_tokens": 8})"),
              HasSubstr("day.jsonl:3: 'class'"));
  EXPECT_THAT(refusal_jsonl(R"({"time": -1, "agent": "a", "class": "tool", "messages": [], "max_tokens": 8})"),
              HasSubstr("day.jsonl:1: 'time'"));
  EXPECT_THAT(refusal_jsonl(ok + R"({"time": 2, "agent": "a", "class": "tool", "messages": [{"role": "user"}], "max_tokens": 8})"),
              HasSubstr("day.jsonl:2: each message"));
  EXPECT_THAT(refusal_jsonl(ok + ok + R"({"time": 2, "agent": "a", "class": "tool", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0})"),
              HasSubstr("day.jsonl:3: 'max_tokens'"));
  EXPECT_THAT(refusal_jsonl(ok + R"({"time": 2, "agent": "chat", "class": "interactive", "messages": [{"role": "user", "content": "x"}], "max_tokens": 8, "resend_answers": "yes"})"),
              HasSubstr("day.jsonl:2: 'resend_answers'"));
  EXPECT_EQ(refusal_jsonl(ok + ok), "");
}

TEST(Readers, AGeneratedDayRoundTripsThroughJsonl) {
  const auto day = generate_day(options(5), chat_rows());
  ASSERT_TRUE(std::any_of(day.begin(), day.end(), [](const ReplayRequest& r) { return r.resend_answers; }));
  std::istringstream in(dump(day));
  EXPECT_EQ(dump(read_trace_jsonl(in, "day.jsonl")), dump(day));
}

TEST(Client, RecordedDaysChainEachAgentsWorkAndNotChats) {
  std::vector<ReplayRequest> day(4);
  day[0] = {0, "mail", "background", {}, 1};
  day[1] = {1, "chat", "interactive", {}, 1};
  day[2] = {2, "mail", "tool", {}, 1};
  day[3] = {3, "chat", "interactive", {}, 1};
  auto c = chains_of(day);
  EXPECT_EQ(c[0], c[2]);
  EXPECT_NE(c[1], c[3]);
  EXPECT_NE(c[0], c[1]);
}

// A thread may name itself anything: the name ends at the last ')' of the line, and utime and
// stime are the 14th and 15th fields counted from the start of the line.
TEST(ThreadCpu, ParsesAStatLineWhoseNameHasSpacesAndParentheses) {
  auto s = parse_proc_stat("4242 (w (a) b) ) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 77\n");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->comm, "w (a) b) ");
  EXPECT_EQ(s->ticks, 300u);
  EXPECT_FALSE(parse_proc_stat("4242 (agentd) S 1 2 3").has_value());        // cut short
  EXPECT_FALSE(parse_proc_stat("4242 agentd S 1 2 3 4 5 6 7 8 9 10 11 12").has_value());  // no name
  EXPECT_FALSE(parse_proc_stat("4242 (a) S 1 2 3 4 5 6 7 8 9 10 x 12").has_value());     // utime not a number
}

// Compute: the engine's thread (and ggml's workers, which inherit its name) and threads a library
// named; the main thread and the rest of ours are overhead.
TEST(ThreadCpu, ComputeIsTheEngineAndWhatALibraryNamed) {
  EXPECT_TRUE(is_compute_thread(core::thread_names::engine, false));
  EXPECT_TRUE(is_compute_thread("ggml-worker", false));
  for (const char* ours : {core::thread_names::http_worker, core::thread_names::http_accept, core::thread_names::http_idle,
                           core::thread_names::signals, core::thread_names::blocking, core::thread_names::cloud, "agentd"}) {
    EXPECT_FALSE(is_compute_thread(ours, false)) << ours;
  }
  EXPECT_FALSE(is_compute_thread("llama-server", true));  // the main thread, whatever its name
}

// Through the real /proc: a thread of this process that named itself is found under its name,
// and the process's total holds every live thread's time.
TEST(ThreadCpu, ReadsThisProcessThreadsByTheirNames) {
  std::promise<void> named, done;
  std::thread t([&] {
    core::name_this_thread("w (a) b, long enough to be cut");
    named.set_value();
    done.get_future().wait();
  });
  named.get_future().wait();
  const CpuSplit s = cpu_split(::getpid());
  done.set_value();
  t.join();
  std::set<std::string> names;
  double live = 0;
  for (const auto& th : s.threads) {
    names.insert(th.comm);
    live += th.seconds;
  }
  EXPECT_TRUE(names.count("w (a) b, long e")) << "the name, cut to 15 characters";
  EXPECT_GE(s.total_s + 0.02, live);  // one tick of rounding per reading
  EXPECT_GE(s.compute_s, 0);
}

TEST(DaemonMemory, ReadsTheSplitFromMetricsAndSaysWhatIsMissing) {
  const std::string text =
      "# TYPE agentd_memory_bytes gauge\n"
      "agentd_memory_bytes{part=\"model\"} 1000\n"
      "agentd_memory_bytes{part=\"kv_cache\"} 200\n"
      "agentd_memory_bytes{part=\"compute\"} 30\n"
      "agentd_memory_bytes{part=\"prefix_cache\"} 4\n"
      "agentd_memory_bytes{part=\"other\"} 766\n"
      "agentd_resident_bytes 2000\n"
      "agentd_resident_bytes_total 9\n";
  DaemonMemory m = parse_daemon_memory(text);
  EXPECT_EQ(m.resident, 2000u);
  EXPECT_EQ(m.model, 1000u);
  EXPECT_EQ(m.kv, 200u);
  EXPECT_EQ(m.compute, 30u);
  EXPECT_EQ(m.prefix_cache, 4u);
  EXPECT_EQ(m.other, 766u);
  EXPECT_EQ(m.beyond_model_kv(), 800u);
  try {
    parse_daemon_memory("agentd_resident_bytes 5\n");
    FAIL() << "no split, no figure";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("part=\"model\""));
  }
}

// The engine's time over a day: the counters' growth between two readings, and a line under the
// table that splits the day's wall time into steps, cut steps, waiting and the loop's own work.
TEST(DaemonMetrics, EngineTimeIsTheGrowthOverTheDayAndSplitsItsWallTime) {
  auto metrics = [](const char* step, const char* cut, const char* idle, const char* copy, int steps, int steps_cut) {
    return std::string("agentd_engine_decode_steps_total ") + std::to_string(steps) +
           "\nagentd_engine_steps_cut_total " + std::to_string(steps_cut) + "\nagentd_engine_step_seconds_total " + step +
           "\nagentd_engine_cut_step_seconds_total " + cut + "\nagentd_engine_idle_seconds_total " + idle +
           "\nagentd_engine_state_copy_seconds_total " + copy + "\n";
  };
  const EngineTime before = parse_engine_time(metrics("1.5", "0", "20.25", "0.5", 10, 0));
  const EngineTime after = parse_engine_time(metrics("81.5", "6", "22.25", "9", 1010, 50));
  const EngineTime day = after.since(before);
  EXPECT_DOUBLE_EQ(day.step_s, 80);
  EXPECT_DOUBLE_EQ(day.cut_step_s, 6);
  EXPECT_DOUBLE_EQ(day.idle_s, 2);
  EXPECT_DOUBLE_EQ(day.state_copy_s, 8.5);
  EXPECT_EQ(day.steps, 1000u);
  EXPECT_EQ(day.steps_cut, 50u);
  SystemSummary s;
  s.name = "agentd_batched";
  s.engine = day;
  s.engine_wall_s = 100;
  EXPECT_THAT(table({s}), HasSubstr("agentd_batched engine thread: 80% in steps, 6.0% in cut steps (50 of 1050), "
                                    "2% waiting for work, 12% between steps (8.5% copying KV states)"));
  s.name = "llama_server";
  s.engine_wall_s = 0;  // no /metrics of ours
  EXPECT_THAT(table({s}), Not(HasSubstr("engine thread")));
  try {
    parse_engine_time("agentd_engine_step_seconds_total 1e3\n");
    FAIL() << "a reading without the other series";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("agentd_engine_cut_step_seconds_total"));
  }
}

// A round or a size of the scale run starts its server cold: a prefix cache left on disk by an
// earlier start of the same system would let agentd skip prefill the others do (seen: a second
// round prefilled 30k prompt tokens where the first prefilled 51k).
TEST(Server, EveryStartOfASystemIsCold) {
  const char* model = std::getenv("AGENTD_TEST_MODEL");
  ASSERT_TRUE(model && *model) << "AGENTD_TEST_MODEL";
  agentd::testing::TempDir dir;
  ServerSetup s;
  s.model = model;
  s.threads = 1;
  s.work_dir = dir.path();
  const auto left = dir.path() / "agentd_batched" / "left-by-an-earlier-round";
  std::filesystem::create_directories(left.parent_path());
  std::ofstream(left) << "x";
  ServerProcess agentd(ServerKind::agentd_batched, AGENTD_BINARY_PATH, s);
  EXPECT_FALSE(std::filesystem::exists(left));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "agentd_batched" / "server.log"));
  agentd.stop();
}

// A short replay (a day in 12 s) against the real daemon on the test model: every request is
// answered or cut at the end, none fails, chats get their first token, and the report has them.
TEST(Smoke, ReplaysADayAgainstAgentd) {
  const char* model = std::getenv("AGENTD_TEST_MODEL");
  ASSERT_TRUE(model && *model) << "AGENTD_TEST_MODEL";
  agentd::testing::TempDir dir;
  WorkloadOptions o = options(11);
  o.day_minutes = 0.2;
  o.chat_rate = 0.3;
  o.max_prompt_chars = 1200;  // stories260K's 512-token vocabulary spends more tokens per character
  const auto day = generate_day(o, chat_rows());
  ServerSetup s;
  s.model = model;
  s.threads = 1;
  s.work_dir = dir.path();
  ServerProcess agentd(ServerKind::agentd_batched, AGENTD_BINARY_PATH, s);
  const CpuSplit loaded = agentd.cpu_split();
  DayRun run = run_day(day, {"agentd_batched", "127.0.0.1", agentd.port(), true}, o.day_minutes * 60);
  SystemSummary sum = summarize("agentd_batched", day, run, agentd.peak_rss_mib());
  const CpuSplit spent = cpu_between(loaded, agentd.cpu_split(), agentd.pid());
  const std::string metrics = read_daemon_metrics(agentd.port());
  const DaemonMemory mem = parse_daemon_memory(metrics);
  const EngineTime engine = parse_engine_time(metrics);
  agentd.stop();
  // The daemon's threads carry their names (core/thread_name.hpp), so its overhead can be told
  // from its compute: the engine's thread did the decoding.
  std::set<std::string> names;
  for (const auto& t : spent.threads) names.insert(t.comm);
  namespace tn = core::thread_names;
  EXPECT_THAT(names, IsSupersetOf(std::vector<std::string>{"agentd", tn::engine, tn::http_accept, tn::http_worker,
                                                           tn::http_idle, tn::signals, tn::blocking}));
  EXPECT_GT(spent.compute_s, 0);
  EXPECT_GT(mem.model, 0u);
  EXPECT_GT(mem.kv, 0u);
  EXPECT_GT(mem.resident, mem.model + mem.kv);
  EXPECT_GT(engine.steps, 0u);
  EXPECT_GT(engine.step_s, 0);
  EXPECT_GT(engine.idle_s, 0) << "the daemon waited for its first request";
  EXPECT_EQ(sum.failed, 0u) << sum.first_error;
  EXPECT_GT(sum.requests_done, 0u);
  EXPECT_GT(sum.chats, 0u);
  EXPECT_EQ(sum.chat_ttft_ms.size(), sum.chats);
  EXPECT_GT(sum.prompt_tokens_sent, 0);
  EXPECT_GT(sum.peak_rss_mib, 0);
  EXPECT_FALSE(run.waiting.empty());
  EXPECT_THAT(table({sum}), HasSubstr("agentd_batched"));

  // The day as the daemon recorded it, exported and read back: every answered request is there
  // with what was sent (agent, class, messages, budget, schema), in the order it was sent.
  const std::string db = (dir.path() / "agentd_batched" / "agentd.db").string();
  const std::string trace = (dir.path() / "day.jsonl").string();
  auto exported = agentd::testing::run_process({AGENTD_BINARY_PATH, "--db", db, "tasks", "--since", "1h", "--export-trace", trace});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::ifstream in(trace);
  const auto recorded = read_trace_jsonl(in, trace);
  auto key = [](const ReplayRequest& r) {
    return r.agent + "|" + r.klass + "|" + std::to_string(r.max_tokens) + "|" + r.messages.dump() + "|" +
           (r.schema ? r.schema->dump() : "");
  };
  std::multiset<std::string> sent;
  for (const auto& r : recorded) sent.insert(key(r));
  size_t answered = 0;
  for (size_t i = 0; i < day.size(); ++i) {
    const Outcome& out = run.outcomes[i];
    if (out.done_s < 0 || out.cut || out.failed) continue;
    ++answered;
    // The daemon's own account of the request fits inside what the client saw.
    EXPECT_GE(out.server_queue_ms, 0) << "request " << i;
    EXPECT_GE(out.server_ttft_ms, out.server_queue_ms) << "request " << i;
    if (out.first_s >= 0) {
      EXPECT_LE(out.server_ttft_ms, (out.first_s - out.sent_s) * 1000 + 1) << "request " << i;
    }
    ReplayRequest as_sent = day[i];  // a follow-up went with the answers its session got
    if (!out.sent_messages.is_null()) as_sent.messages = out.sent_messages;
    auto found = sent.find(key(as_sent));
    EXPECT_NE(found, sent.end()) << "request " << i << " of agent " << day[i].agent << " is not in the export";
    if (found != sent.end()) sent.erase(found);
  }
  EXPECT_GT(answered, 0u);
  EXPECT_GE(recorded.size(), answered);
  ASSERT_FALSE(recorded.empty());
  EXPECT_EQ(recorded.front().time_s, 0.0);
  EXPECT_THAT(exported.err, HasSubstr("wrote " + std::to_string(recorded.size()) + " model call(s)"));
}

}  // namespace
}  // namespace agentd::bench::replay
