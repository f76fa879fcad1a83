#include "server/policies/schedule.h"

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::policies {
namespace {

using ::testing::HasSubstr;

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

ScheduleSpec Spec(const std::string& cron, const std::string& zone = "", absl::Duration window = absl::Hours(1)) {
  v1::Schedule s;
  s.set_cron(cron);
  s.set_time_zone(zone);
  s.mutable_late_window()->set_seconds(absl::ToInt64Seconds(window));
  auto spec = ParseSchedule(s);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

absl::Time At(const char* zone, int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), Zone(zone));
}

TEST(DueAtTest, NothingIsDueBeforeTheFirstRun) {
  ScheduleSpec spec = Spec("0 3 * * *", "Europe/Paris");
  Due due = DueAt(spec, At("Europe/Paris", 2026, 12, 4, 1, 0), At("Europe/Paris", 2026, 12, 4, 2, 59, 59));
  EXPECT_FALSE(due.run);
  EXPECT_EQ(due.skipped, 0);
  EXPECT_EQ(due.next, At("Europe/Paris", 2026, 12, 4, 3, 0));
}

TEST(DueAtTest, ARunIsDueAtItsTimeInItsZone) {
  ScheduleSpec spec = Spec("0 3 * * *", "America/New_York");
  absl::Time three = At("America/New_York", 2026, 12, 4, 3, 0);
  Due due = DueAt(spec, three - absl::Hours(2), three);
  ASSERT_TRUE(due.run);
  EXPECT_EQ(*due.run, three);
  EXPECT_EQ(due.next, three + absl::Hours(24));
  // Decided: nothing more is due until the next day.
  EXPECT_FALSE(DueAt(spec, three, three + absl::Hours(5)).run);
}

TEST(DueAtTest, AMissedRunRunsOnceLateWithinItsWindowElseIsSkipped) {
  ScheduleSpec spec = Spec("0 * * * *", "", absl::Minutes(30));  // hourly, 30 min late at most
  absl::Time noon = At("UTC", 2026, 12, 4, 12, 0);
  // Down from 9:30 to 12:20: 10, 11 and 12 o'clock missed; 12 runs late.
  Due due = DueAt(spec, noon - absl::Hours(2) - absl::Minutes(30), noon + absl::Minutes(20));
  ASSERT_TRUE(due.run);
  EXPECT_EQ(*due.run, noon);
  EXPECT_EQ(due.skipped, 2);
  EXPECT_EQ(due.first_skipped, noon - absl::Hours(2));
  EXPECT_EQ(due.last_skipped, noon - absl::Hours(1));
  EXPECT_EQ(due.next, noon + absl::Hours(1));
  // Found at 12:40: past the window, all three skipped.
  due = DueAt(spec, noon - absl::Hours(2) - absl::Minutes(30), noon + absl::Minutes(40));
  EXPECT_FALSE(due.run);
  EXPECT_EQ(due.skipped, 3);
  EXPECT_EQ(due.last_skipped, noon);
  // The shortest window: a run found 1 min late starts, one found later does not.
  ScheduleSpec strict = Spec("0 * * * *", "", absl::Minutes(1));
  EXPECT_TRUE(DueAt(strict, noon - absl::Minutes(1), noon + absl::Minutes(1)).run);
  EXPECT_FALSE(DueAt(strict, noon - absl::Minutes(1), noon + absl::Minutes(1) + absl::Milliseconds(1)).run);
}

TEST(DueAtTest, ManyMissedRunsAreNotWalkedOneByOne) {
  ScheduleSpec spec = Spec("@every 1s", "", absl::Minutes(1));
  absl::Time now = At("UTC", 2026, 12, 4, 12, 0);
  Due due = DueAt(spec, now - absl::Hours(24 * 30), now);
  ASSERT_TRUE(due.run);
  EXPECT_GE(*due.run, now - absl::Minutes(1));
  EXPECT_EQ(due.skipped, -1);
  EXPECT_EQ(due.first_skipped, now - absl::Hours(24 * 30) + absl::Seconds(1));
}

TEST(DueAtTest, DaylightSavingChangesRunSkippedTimesAtTheChangeAndRepeatedTimesOnce) {
  // Europe/Paris: 29 March 2026 02:00 → 03:00; 25 October 2026 03:00 → 02:00.
  ScheduleSpec spec = Spec("30 2 * * *", "Europe/Paris");
  std::vector<absl::Time> spring = NextRuns(spec, At("UTC", 2026, 3, 27, 12, 0), 3);
  ASSERT_EQ(spring.size(), 3u);
  EXPECT_EQ(spring[0], At("Europe/Paris", 2026, 3, 28, 2, 30));
  EXPECT_EQ(spring[1], At("UTC", 2026, 3, 29, 1, 0));  // 03:00 CEST: the moment of the change
  EXPECT_EQ(spring[2], At("Europe/Paris", 2026, 3, 30, 2, 30));
  std::vector<absl::Time> autumn = NextRuns(spec, At("UTC", 2026, 10, 24, 12, 0), 2);
  ASSERT_EQ(autumn.size(), 2u);
  EXPECT_EQ(autumn[0], At("UTC", 2026, 10, 25, 0, 30));  // 02:30 CEST, the first time
  EXPECT_EQ(autumn[1], At("Europe/Paris", 2026, 10, 26, 2, 30));
  // The same instant is 21:30 the day before in New York.
  EXPECT_EQ(NextRuns(Spec("30 2 * * *", "America/New_York"), At("UTC", 2026, 12, 4, 0, 0), 1)[0],
            At("UTC", 2026, 12, 4, 7, 30));
}

TEST(ParseScheduleTest, BadInputIsRefusedWithItsField) {
  auto error = [](const std::string& cron, const std::string& zone, int64_t window_s = 60) {
    v1::Schedule s;
    s.set_cron(cron);
    s.set_time_zone(zone);
    s.mutable_late_window()->set_seconds(window_s);
    return std::string(ParseSchedule(s).status().message());
  };
  EXPECT_THAT(error("", ""), HasSubstr("schedule.cron is required"));
  EXPECT_THAT(error("61 * * * *", ""), HasSubstr("schedule.cron \"61 * * * *\""));
  EXPECT_THAT(error("TZ=UTC 0 3 * * *", ""), HasSubstr("schedule.time_zone, not as a TZ= prefix"));
  EXPECT_THAT(error("0 3 * * *", "Mars/Olympus"), HasSubstr("schedule.time_zone \"Mars/Olympus\""));
  EXPECT_THAT(error("0 3 * * *", "/etc/passwd"), HasSubstr("schedule.time_zone"));
  EXPECT_THAT(error("0 3 * * *", "", -1), HasSubstr("late_window must be from 1m to 168h"));
  EXPECT_THAT(error("0 3 * * *", "", 0), HasSubstr("late_window must be from 1m to 168h"));
  EXPECT_THAT(error("0 0 30 2 *", ""), HasSubstr("never runs"));
  EXPECT_THAT(error("0 3 * * *", "", 8 * 24 * 3600), HasSubstr("late_window"));
  EXPECT_EQ(error("0 3 * * *", "Europe/Paris"), "");
}

TEST(ActionOfTest, EachActionNamesItsVerbAndTargetAndRefusesWhatARunCannotBe) {
  v1::Schedule s;
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("needs an action"));
  s.mutable_purge()->set_workload("namespaces/shop/deployments/web");
  auto a = ActionOf(s);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->verb, auth::Verb::kPurge);
  EXPECT_EQ(a->ns, "shop");
  EXPECT_EQ(a->workload, "web");
  s.mutable_purge()->mutable_options()->set_dry_run(true);
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("dry_run cannot be set"));
  s.mutable_purge()->mutable_options()->set_dry_run(false);
  s.mutable_purge()->mutable_options()->set_request_id("x");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("request_id cannot be set"));

  s.mutable_purge()->Clear();
  s.mutable_purge()->set_namespace_("shop");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("a namespace and a label selector"));
  s.mutable_purge()->set_label_selector("tier=web");
  EXPECT_EQ(ActionOf(s)->workload, "");

  s.mutable_restart()->set_workload("namespaces/shop/deployments/web");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("must set restart and no images"));
  s.mutable_restart()->set_restart(true);
  EXPECT_EQ(ActionOf(s)->verb, auth::Verb::kRollout);
  (*s.mutable_restart()->mutable_images())["web"] = "web:2";
  EXPECT_FALSE(ActionOf(s).ok());

  s.mutable_cronjob()->mutable_request()->set_cronjob("namespaces/shop/cronjobs/report");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("schedule.cronjob.kind"));
  s.mutable_cronjob()->set_kind(v1::OPERATION_KIND_CRONJOB_RUN);
  EXPECT_EQ(ActionOf(s)->verb, auth::Verb::kCronJob);
  s.mutable_cronjob()->mutable_request()->set_cronjob("namespaces/shop/deployments/web");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("schedule.cronjob.request.cronjob"));

  s.mutable_scale()->set_workload("shop/web");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("schedule.scale.workload"));
  s.mutable_kill()->add_pods("web-1");
  EXPECT_THAT(ActionOf(s).status().message(), HasSubstr("schedule.kill.namespace is required"));
}

TEST(PolicyNamesTest, IdsAreShortLowerCaseNames) {
  EXPECT_EQ(ParsePolicyName("policies/nightly-purge").value_or(""), "nightly-purge");
  for (const char* bad : {"policies/", "policies/Nightly", "policies/-a", "policies/a-", "policies/a/b", "nightly",
                          "policies/a_b", "policies/0a"}) {
    EXPECT_FALSE(ParsePolicyName(bad).ok()) << bad;
  }
  EXPECT_FALSE(CheckPolicyId(std::string(41, 'a')).ok());
  EXPECT_TRUE(CheckPolicyId(std::string(40, 'a')).ok());
  EXPECT_EQ(RunRequestId("nightly", absl::FromUnixSeconds(1764817200)), "policy-nightly-1764817200");
}

}  // namespace
}  // namespace herd::policies
