// ScheduleStore: last and next fire time per agent trigger.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/schedule_store.hpp"
#include "storage_test_support.hpp"

namespace agentd::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> keys_of(const std::vector<ScheduleState>& states) {
  std::vector<std::string> keys;
  for (const auto& s : states) keys.push_back(s.agent + "/" + s.trigger);
  return keys;
}

class ScheduleStoreTest : public test_support::StorageTest {
 protected:
  std::unique_ptr<Database> db = open();
  ScheduleStore schedules{*db};
};

TEST_F(ScheduleStoreTest, RecordFireCreatesThenUpdates) {
  EXPECT_EQ(schedules.get("digest", "every 1h"), std::nullopt);
  schedules.record_fire("digest", "every 1h", 1000, 3601000);
  auto s = schedules.get("digest", "every 1h");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->agent, "digest");
  EXPECT_EQ(s->trigger, "every 1h");
  EXPECT_EQ(s->last_fire_at, 1000);
  EXPECT_EQ(s->next_fire_at, 3601000);
  schedules.record_fire("digest", "every 1h", 3601000, std::nullopt);  // e.g. a one-shot trigger
  s = schedules.get("digest", "every 1h");
  EXPECT_EQ(s->last_fire_at, 3601000);
  EXPECT_EQ(s->next_fire_at, std::nullopt);
  EXPECT_EQ(schedules.list().size(), 1u);
}

TEST_F(ScheduleStoreTest, SetNextKeepsTheLastFire) {
  schedules.set_next("mail", "cron 0 7 * * * Europe/Paris", 5000);
  auto s = schedules.get("mail", "cron 0 7 * * * Europe/Paris");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_fire_at, std::nullopt) << "never fired yet";
  EXPECT_EQ(s->next_fire_at, 5000);
  schedules.record_fire("mail", "cron 0 7 * * * Europe/Paris", 5000, 9000);
  schedules.set_next("mail", "cron 0 7 * * * Europe/Paris", 12000);
  s = schedules.get("mail", "cron 0 7 * * * Europe/Paris");
  EXPECT_EQ(s->last_fire_at, 5000);
  EXPECT_EQ(s->next_fire_at, 12000);
  schedules.set_next("mail", "cron 0 7 * * * Europe/Paris", std::nullopt);
  EXPECT_EQ(schedules.get("mail", "cron 0 7 * * * Europe/Paris")->next_fire_at, std::nullopt);
}

TEST_F(ScheduleStoreTest, TriggersAreKeyedByAgentAndTrigger) {
  schedules.record_fire("b", "every 5m", 1, 2);
  schedules.record_fire("a", "every 5m", 3, 4);
  schedules.record_fire("a", "cron 0 * * * *", 5, 6);
  EXPECT_THAT(keys_of(schedules.list()), ElementsAre("a/cron 0 * * * *", "a/every 5m", "b/every 5m"));
  EXPECT_EQ(schedules.get("a", "every 5m")->last_fire_at, 3);
  EXPECT_EQ(schedules.get("b", "every 5m")->last_fire_at, 1);
  EXPECT_EQ(schedules.get("b", "cron 0 * * * *"), std::nullopt);
}

TEST_F(ScheduleStoreTest, ForgetExceptRemovesTriggersNoLongerConfigured) {
  schedules.record_fire("a", "every 5m", 1, 2);
  schedules.record_fire("a", "every 1h", 1, 2);
  schedules.record_fire("b", "every 5m", 1, 2);
  schedules.record_fire("c", "watch ~/inbox", 1, 2);
  int removed = schedules.forget_except({{"a", "every 5m"}, {"c", "watch ~/inbox"}, {"d", "never recorded"}});
  EXPECT_EQ(removed, 2);
  EXPECT_THAT(keys_of(schedules.list()), ElementsAre("a/every 5m", "c/watch ~/inbox"));
  EXPECT_EQ(schedules.forget_except({{"a", "every 5m"}, {"c", "watch ~/inbox"}}), 0);
  EXPECT_EQ(schedules.forget_except({}), 2);
  EXPECT_THAT(schedules.list(), IsEmpty());
}

}  // namespace
}  // namespace agentd::storage
