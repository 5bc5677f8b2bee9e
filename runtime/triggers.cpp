#include "runtime/triggers.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace agentd::runtime {

namespace {

using agents::TriggerConfig;
constexpr int kMaxCatchUpRuns = 10;
constexpr int kMaxCatchUpFiles = 100;

std::string key_of(const std::string& agent, const std::string& trigger) { return agent + "\n" + trigger; }

scheduler::Schedule schedule_of(const TriggerConfig& t) {
  if (t.kind == TriggerConfig::Kind::interval) return scheduler::IntervalSchedule(t.every_ms);
  return scheduler::CronSchedule(t.cron, t.time_zone);
}

}  // namespace

TriggerRunner::TriggerRunner(storage::Database& db)
    : db_(db), tasks_(db), schedules_(db), files_(std::make_unique<scheduler::FileWatcher>(std::chrono::milliseconds(0))) {}

void TriggerRunner::fire(const LoadedAgent& agent, const std::string& trigger, const std::string& input, int64_t now_ms,
                         std::optional<int64_t> next_fire) {
  storage::Transaction tx(db_);
  storage::NewTask task;
  task.agent = agent.config.name;
  task.plugin = agent.config.plugin;
  task.priority = agent.config.priority;
  task.trigger = trigger;
  task.input = input;
  int64_t id = tasks_.enqueue(task);
  schedules_.record_fire(agent.config.name, trigger, now_ms, next_fire);
  tx.commit();
  spdlog::info("trigger {} of {} queued task {}", trigger, agent.config.name, id);
}

void TriggerRunner::add_timer(std::shared_ptr<const LoadedAgent> agent, const TriggerConfig& t, int64_t now_ms,
                              int& queued) {
  Timer timer{agent, t.text(), schedule_of(t), std::nullopt, std::nullopt};
  auto saved = schedules_.get(agent->config.name, timer.text);
  timer.last_fire = saved ? saved->last_fire_at : std::nullopt;
  if (!timer.last_fire) {  // first time: an interval runs now, a cron at its next time
    timer.next_fire = t.kind == TriggerConfig::Kind::interval ? now_ms : *scheduler::next_after(timer.schedule, now_ms);
    schedules_.set_next(agent->config.name, timer.text, timer.next_fire);
  } else {
    auto c = scheduler::catch_up(timer.schedule, timer.last_fire, now_ms, t.missed, kMaxCatchUpRuns);
    timer.next_fire = c.missed == 0 ? scheduler::next_after(timer.schedule, *timer.last_fire) : c.next_fire;
    if (c.missed > 0) {
      spdlog::info("trigger {} of {}: {} run(s) missed while down; policy {} runs {}", timer.text, agent->config.name,
                   c.missed, t.missed == scheduler::MissedRuns::skip ? "skip" : "run", c.runs_now);
    }
    for (int i = 0; i < c.runs_now; ++i) {
      fire(*agent, timer.text, "", now_ms, timer.next_fire);
      timer.last_fire = now_ms;
      ++queued;
    }
    schedules_.set_next(agent->config.name, timer.text, timer.next_fire);
  }
  timers_.emplace(key_of(agent->config.name, timer.text), std::move(timer));
}

void TriggerRunner::add_watch(std::shared_ptr<const LoadedAgent> agent, const TriggerConfig& t, int64_t now_ms,
                              int& queued) {
  std::string text = t.text();
  std::string key = key_of(agent->config.name, text);
  try {
    files_->add(key, t.folder, t.glob, t.debounce);
  } catch (const scheduler::FileWatchError& e) {
    spdlog::error("agent {}: trigger {} not watched: {}", agent->config.name, text, e.what());
    return;
  }
  Watch watch{agent, text, std::nullopt};
  auto saved = schedules_.get(agent->config.name, text);
  if (saved && saved->last_fire_at) {  // files that arrived while the daemon was down
    auto missed = files_->changed_since(key, *saved->last_fire_at);
    if (missed.size() > kMaxCatchUpFiles) missed.resize(kMaxCatchUpFiles);
    for (const auto& change : missed) {
      fire(*agent, text, change.path.string(), now_ms, std::nullopt);
      ++queued;
    }
  } else {
    schedules_.record_fire(agent->config.name, text, now_ms, std::nullopt);  // the files present are seen
  }
  watch.last_fire = now_ms;
  watches_.emplace(key, std::move(watch));
}

int TriggerRunner::sync(const AgentCatalog& catalog, int64_t now_ms) {
  std::map<std::string, Timer> old_timers = std::move(timers_);
  std::map<std::string, Watch> old_watches = std::move(watches_);
  timers_.clear();
  watches_.clear();
  int queued = 0;
  std::vector<std::pair<std::string, std::string>> keep;
  for (const std::string& name : catalog.usable_names()) {
    auto agent = catalog.find(name);
    for (const TriggerConfig& t : agent->config.triggers) {
      if (t.kind == TriggerConfig::Kind::event) continue;
      std::string text = t.text(), key = key_of(name, text);
      keep.emplace_back(name, text);
      if (auto it = old_timers.find(key); it != old_timers.end()) {  // kept across a reload
        it->second.agent = agent;
        timers_.emplace(key, std::move(it->second));
        old_timers.erase(it);
      } else if (auto w = old_watches.find(key); w != old_watches.end()) {
        w->second.agent = agent;
        watches_.emplace(key, std::move(w->second));
        old_watches.erase(w);
      } else if (t.kind == TriggerConfig::Kind::watch) {
        add_watch(agent, t, now_ms, queued);
      } else {
        add_timer(agent, t, now_ms, queued);
      }
    }
  }
  for (const auto& [key, watch] : old_watches) files_->remove(key);
  schedules_.forget_except(keep);
  return queued;
}

int TriggerRunner::tick(int64_t now_ms, std::chrono::milliseconds wait) {
  int queued = 0;
  for (auto& [key, timer] : timers_) {
    if (!timer.next_fire || *timer.next_fire > now_ms) continue;
    // Several periods may have passed (a suspended laptop): one run, then the next future time.
    timer.next_fire = scheduler::next_after(timer.schedule, now_ms);
    fire(*timer.agent, timer.text, "", now_ms, timer.next_fire);
    timer.last_fire = now_ms;
    ++queued;
  }
  files_->read_events(wait, now_ms);
  for (const auto& change : files_->due(now_ms)) {
    auto it = watches_.find(change.watch);
    if (it == watches_.end()) continue;
    fire(*it->second.agent, it->second.text, change.path.string(), now_ms, std::nullopt);
    it->second.last_fire = now_ms;
    ++queued;
  }
  return queued;
}

std::optional<int64_t> TriggerRunner::next_due() const {
  std::optional<int64_t> next = files_->next_due();
  for (const auto& [key, timer] : timers_) {
    if (timer.next_fire && (!next || *timer.next_fire < *next)) next = timer.next_fire;
  }
  return next;
}

std::vector<TriggerState> TriggerRunner::states() const {
  std::vector<TriggerState> out;
  for (const auto& [key, t] : timers_) out.push_back({t.agent->config.name, t.text, t.last_fire, t.next_fire});
  for (const auto& [key, w] : watches_) out.push_back({w.agent->config.name, w.text, w.last_fire, std::nullopt});
  return out;
}

}  // namespace agentd::runtime
