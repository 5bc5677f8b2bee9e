// Trigger and time texts from agent files and the CLI: a cron expression and its time zone
// (CronSchedule, then next_after and catch_up as the trigger loop calls them), a duration
// ("every", "timeout": parse_duration_ms) and a time spec (`agentd history --since`).
// Input: "<cron>\n<time zone>"; the whole text is also tried as a duration and a time spec.
// Documented failure: ScheduleError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/time_spec.hpp"
#include "scheduler/duration.hpp"
#include "scheduler/schedule.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

constexpr int64_t kNow = 1709539200000;  // 2024-03-04 08:00 UTC

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd;
  const std::string_view text = fuzz::as_text(data, size);
  (void)scheduler::parse_duration_ms(text);
  (void)runtime::parse_time_spec(text, kNow);
  const size_t newline = text.find('\n');
  const std::string_view expression = text.substr(0, newline);
  const std::string_view zone = newline == std::string_view::npos ? "UTC" : text.substr(newline + 1);
  try {
    scheduler::Schedule schedule = scheduler::CronSchedule(expression, zone);
    if (auto next = scheduler::next_after(schedule, kNow)) (void)scheduler::next_after(schedule, *next);
    (void)scheduler::catch_up(schedule, kNow - 3 * 86'400'000LL, kNow, scheduler::MissedRuns::run_each);
  } catch (const scheduler::ScheduleError&) {
  }
  return 0;
}
