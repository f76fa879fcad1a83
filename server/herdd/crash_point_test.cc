#include "server/herdd/crash_point.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::herdd {
namespace {

using ::testing::HasSubstr;

TEST(CrashPointTest, ParsesPointMomentAndCount) {
  auto p = ParseCrashPoint("purge.burn-delete:after@2");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->point, "purge.burn-delete");
  EXPECT_EQ(p->moment, ops::WriteMoment::kAfter);
  EXPECT_EQ(p->nth, 2);
  auto q = ParseCrashPoint("rollout.template:before");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->moment, ops::WriteMoment::kBefore);
  EXPECT_EQ(q->nth, 1);
}

TEST(CrashPointTest, RefusesWhatIsNotAWritePoint) {
  EXPECT_THAT(ParseCrashPoint("rollout.nope:after").status().message(), HasSubstr("unknown write point"));
  EXPECT_THAT(ParseCrashPoint("rollout.template").status().message(), HasSubstr("POINT:before or POINT:after"));
  EXPECT_THAT(ParseCrashPoint("rollout.template:during").status().message(), HasSubstr("neither before nor after"));
  EXPECT_THAT(ParseCrashPoint("rollout.template:after@0").status().message(), HasSubstr("1 or more"));
}

TEST(CrashPointTest, HookIgnoresOtherPointsAndEarlierHits) {
  auto p = ParseCrashPoint("kill.pod:after@3");
  ASSERT_TRUE(p.ok());
  ops::WriteHook hook = CrashHook(*p);
  // Neither another point, the other moment, nor the first two hits kill
  // the process (reaching the third would, and ends the test binary).
  hook("kill.pod", ops::WriteMoment::kBefore);
  hook("scale.replicas", ops::WriteMoment::kAfter);
  hook("kill.pod", ops::WriteMoment::kAfter);
  hook("kill.pod", ops::WriteMoment::kAfter);
  EXPECT_DEATH(hook("kill.pod", ops::WriteMoment::kAfter), "");
}

}  // namespace
}  // namespace herd::herdd
