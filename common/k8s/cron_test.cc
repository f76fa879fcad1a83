#include "common/k8s/cron.h"

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace herd::k8s {
namespace {

// Found by fuzzing (test/fuzz/corpus/cron/tz-libc-localtime): absl's own
// zone forms went straight to absl::LoadTimeZone, so "TZ=libc:localtime"
// (the C library's idea of local time) was a zone, and Next() went
// backwards in it. The CronJob API only takes IANA names.
TEST(CronTimeZoneTest, TakesOnlyIanaNamesAsKubernetesValidatesThem) {
  absl::TimeZone tz;
  EXPECT_TRUE(LoadCronTimeZone("Europe/Berlin", &tz));
  EXPECT_TRUE(LoadCronTimeZone("UTC", &tz));
  EXPECT_TRUE(LoadCronTimeZone("Etc/GMT+5", &tz));
  for (const char* bad : {"libc:localtime", "file:/etc/localtime", "/usr/share/zoneinfo/UTC", "../zoneinfo/UTC",
                          "Europe/../UTC", "", "Europe/", "-UTC", "Nowhere/Atlantis", "America/Argentina_Buenos_Aires_X"}) {
    EXPECT_FALSE(LoadCronTimeZone(bad, &tz)) << bad;
  }
  auto s = CronSchedule::Parse("TZ=libc:localtime @daily");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "provided bad location libc:localtime: unknown time zone libc:localtime");
}

// Found with the same target: in the hour New York repeats when its clocks
// go back (01:00-02:00 on 2026-11-01), a minute of the second pass was
// mapped to the first, which had passed, so Next() answered a time before
// the one it was asked about.
TEST(CronScheduleTest, NextComesAfterTheTimeAskedAboutInARepeatedHour) {
  absl::TimeZone ny;
  ASSERT_TRUE(LoadCronTimeZone("America/New_York", &ny));
  auto s = CronSchedule::Parse("31 1 * * *");
  ASSERT_TRUE(s.ok()) << s.status();
  const absl::Time first_pass = absl::FromUnixSeconds(1793511000);   // 01:30 EDT
  const absl::Time second_pass = absl::FromUnixSeconds(1793514600);  // 01:30 EST
  EXPECT_EQ(s->Next(first_pass, ny), first_pass + absl::Minutes(1));
  const absl::Time next = s->Next(second_pass, ny);
  EXPECT_GT(next, second_pass);
  EXPECT_EQ(absl::ToCivilMinute(next, ny), absl::CivilMinute(2026, 11, 2, 1, 31));
}

}  // namespace
}  // namespace herd::k8s
