// Long-form generation on the real test model (label "model"): a 6-section document written end
// to end through TaskContext::generate_long into a real database, and a chat request that cuts
// in while a section is being decoded. Priorities are measured in engine decode steps, not time.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "agents/task_context.hpp"
#include "engine/llama_engine.hpp"
#include "storage/memory_store.hpp"
#include "storage/schema.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::agents {
namespace {

using engine::LlamaEngine;
using engine::LlamaEngineOptions;

std::string model_path() {
  const char* env = std::getenv("AGENTD_TEST_MODEL");
  return env && std::filesystem::is_regular_file(env) ? env : "";
}

LlamaEngineOptions engine_options() {
  LlamaEngineOptions o;
  o.model_path = model_path();
  o.slots = 4;
  o.n_ctx_per_seq = 1024;
  o.threads = 1;
  o.chat_template = "chatml";
  return o;
}

class LongFormModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(model_path().empty()) << "set AGENTD_TEST_MODEL to stories260K.gguf (ctest does)";
  }
  testing::TempDir dir_;
};

TEST_F(LongFormModelTest, ASixSectionDocumentIsWrittenAndStoredEndToEnd) {
  auto db = storage::open_database(dir_ / "agentd.db");
  storage::TaskStore tasks(*db);
  storage::MemoryStore memory(*db);
  LlamaEngine engine(engine_options());
  AgentConfig config;
  config.name = "drafter";
  config.generation.section_tokens = 96;
  config.generation.seed = 7;
  int64_t id = tasks.enqueue({.agent = "drafter", .input = "A story about a brave little cat."});
  ASSERT_TRUE(tasks.claim(id));
  TaskContext ctx(config, *tasks.get(id), TaskServices{engine, tasks, memory, storage::now_ms}, {});

  std::string doc = ctx.generate_long(ctx.input());  // the model writes the 6-heading outline too

  auto sections = storage::SectionStore(*db).list(id);
  ASSERT_EQ(sections.size(), 6u);
  size_t at = 0;
  for (const auto& s : sections) {
    EXPECT_EQ(s.status, storage::SectionStatus::done);
    EXPECT_FALSE(s.title.empty());
    EXPECT_GT(s.tokens, 0);
    EXPECT_LE(s.tokens, 96);
    size_t found = doc.find("## " + s.title + "\n\n" + s.text, at);
    ASSERT_NE(found, std::string::npos) << "section " << s.idx << " in order in the document";
    at = found + 1;
  }
  int outline_events = 0, done_events = 0, calls = 0;
  for (const auto& e : tasks.events(id)) {
    outline_events += e.kind == "section" && e.data.contains("outline");
    done_events += e.kind == "section" && e.data.value("status", "") == "done";
    calls += e.kind == "llm_call";
  }
  EXPECT_EQ(outline_events, 1);
  EXPECT_EQ(done_events, 6);
  EXPECT_GE(calls, 7) << "one outline call, then at least one per section";
}

// Remembers the LlamaGeneration of the last request, for its decode-step marks.
class StepRecordingEngine : public engine::Engine {
 public:
  explicit StepRecordingEngine(LlamaEngine& engine) : engine_(engine) {}
  std::unique_ptr<engine::Generation> submit(engine::Request request) override {
    auto g = engine_.submit_llama(std::move(request));
    last = g.get();
    return g;
  }
  engine::EngineInfo info() const override { return engine_.info(); }
  engine::LlamaGeneration* last = nullptr;  // valid until the caller drops it

 private:
  LlamaEngine& engine_;
};

TEST_F(LongFormModelTest, AChatGetsItsFirstTokenBeforeTheDraftsSectionFinishes) {
  // The inference thread reports each step; the test thread waits for section 2 to be decoding.
  std::mutex mutex;
  std::condition_variable stepped;
  int64_t steps_done = 0;
  LlamaEngineOptions o = engine_options();
  o.after_step = [&](int64_t steps) {
    std::lock_guard lock(mutex);
    steps_done = steps;
    stepped.notify_all();
  };
  LlamaEngine llama(o);
  StepRecordingEngine engine(llama);

  struct Journal : engine::SectionJournal {
    std::mutex* mutex;
    std::condition_variable* changed;
    StepRecordingEngine* engine;
    int started = -1;                 // GUARDED_BY(*mutex)
    engine::StepMarks section_two{};  // GUARDED_BY(*mutex)
    std::vector<std::string> outline() override { return {}; }
    void save_outline(const std::vector<std::string>&) override {}
    std::vector<engine::SectionText> finished() override { return {}; }
    void section_started(int idx, const std::string&) override {
      std::lock_guard lock(*mutex);
      started = idx;
      changed->notify_all();
    }
    void save(const engine::SectionText&, int) override {}
    void attempt(const engine::SectionAttempt&) override {}
    void call(const nlohmann::json&, const engine::Result&) override {
      std::lock_guard lock(*mutex);
      if (started == 1) section_two = engine->last->steps();
    }
  } journal;
  journal.mutex = &mutex;
  journal.changed = &stepped;
  journal.engine = &engine;

  engine::LongFormOptions options;
  options.outline = {"Morning", "Noon", "Night"};
  options.max_tokens = 300;
  options.max_attempts = 1;
  options.sampling.seed = 3;
  options.priority = scheduler::Priority::background;
  std::thread draft([&] { engine::SectionalGenerator(engine, options).generate("A story about a dog.", journal); });

  int64_t chat_sent_at = 0;
  {
    std::unique_lock lock(mutex);
    // Section 2 has started and the engine has decoded 20 more steps: it is mid-section.
    stepped.wait(lock, [&] { return journal.started == 1; });
    int64_t from = steps_done;
    stepped.wait(lock, [&] { return steps_done >= from + 20; });
    chat_sent_at = steps_done;
  }
  engine::Request chat;
  chat.messages = {{"user", "Hello!"}};
  chat.priority = scheduler::Priority::interactive;
  chat.max_tokens = 8;
  auto reply = llama.submit_llama(chat);
  engine::Result chat_result = reply->wait();
  draft.join();

  std::lock_guard lock(mutex);
  engine::StepMarks section = journal.section_two;
  engine::StepMarks marks = reply->steps();
  ASSERT_GE(section.finished, 0);
  EXPECT_GT(chat_result.completion_tokens, 0);
  EXPECT_GT(marks.submitted, section.admitted) << "the chat arrived while section 2 was being written";
  EXPECT_GE(marks.submitted, chat_sent_at);
  EXPECT_LT(marks.first_token, section.finished) << "its first token came before the section ended";
  EXPECT_LE(marks.first_token - marks.submitted, 4) << "within a few steps of arriving";
}

}  // namespace
}  // namespace agentd::agents
