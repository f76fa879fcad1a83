#include "server/policies/age.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::policies {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

std::vector<AgedPod> Pods(const std::vector<absl::Duration>& ages, absl::Time now) {
  std::vector<AgedPod> out;
  for (size_t i = 0; i < ages.size(); ++i) out.push_back({"web-" + std::to_string(i), now - ages[i]});
  return out;
}

TEST(AgeBound, SpreadsTheMaximumOverTheRanks) {
  EXPECT_EQ(AgeBound(1, 4, absl::Hours(24)), absl::Hours(24));
  EXPECT_EQ(AgeBound(2, 4, absl::Hours(24)), absl::Hours(18));
  EXPECT_EQ(AgeBound(4, 4, absl::Hours(24)), absl::Hours(6));
  EXPECT_EQ(AgeBound(7, 4, absl::Hours(24)), absl::Hours(6));  // beyond the desired: the youngest's
}

TEST(PodsPastTheirTurn, NothingIsDueWhileEveryPodIsWithinItsBound) {
  const absl::Time now = kT0;
  AgeVerdict v = PodsPastTheirTurn(Pods({absl::Hours(23), absl::Hours(17), absl::Hours(11), absl::Hours(5)}, now), 4,
                                   absl::Hours(24), now);
  EXPECT_EQ(v.replace, 0);
  // The first to pass its bound: each is an hour short of it.
  EXPECT_EQ(v.next, now + absl::Hours(1));
  EXPECT_TRUE(v.why.empty());
}

TEST(PodsPastTheirTurn, PodsOfOneAgeAreReplacedOneAtATimeEvenlyNotAllAtOnce) {
  // A rollout made four pods at once. Stepping time to each `next`, one
  // pod is due at a time, every max_age/4, and none ever passes max_age.
  const absl::Duration max_age = absl::Hours(24);
  std::vector<AgedPod> pods = Pods({absl::ZeroDuration(), absl::ZeroDuration(), absl::ZeroDuration(), absl::ZeroDuration()}, kT0);
  absl::Time now = kT0;
  std::vector<absl::Time> replaced_at;
  for (int step = 0; step < 12; ++step) {
    AgeVerdict v = PodsPastTheirTurn(pods, 4, max_age, now);
    if (v.replace == 0) {
      ASSERT_LT(v.next, absl::InfiniteFuture());
      now = v.next + absl::Seconds(1);
      continue;
    }
    EXPECT_EQ(v.replace, 1) << v.why;
    // Replace the oldest (ties by name), as a purge of `oldest` does.
    std::sort(pods.begin(), pods.end(), [](const AgedPod& a, const AgedPod& b) {
      return a.started != b.started ? a.started < b.started : a.name < b.name;
    });
    EXPECT_LE(now - pods[0].started, max_age + absl::Seconds(1));
    pods[0] = {"new-" + std::to_string(step), now};
    replaced_at.push_back(now);
  }
  ASSERT_GE(replaced_at.size(), 5u);
  for (size_t i = 1; i < replaced_at.size(); ++i) {
    // Each step looks a second after a pod comes due.
    EXPECT_GE(replaced_at[i] - replaced_at[i - 1], absl::Hours(6)) << i;
    EXPECT_LE(replaced_at[i] - replaced_at[i - 1], absl::Hours(6) + absl::Seconds(1)) << i;
  }
  EXPECT_EQ(replaced_at[0] - kT0, absl::Hours(6) + absl::Seconds(1));
}

TEST(PodsPastTheirTurn, AfterAnOutageTheFewestOldestAreReplacedAndTheWhyNamesTheWorst) {
  const absl::Time now = kT0;
  // 30 h, 29 h, 2 h, 1 h of 4 with 24 h: the two oldest are past; once
  // they are replaced the others (now 1st and 2nd oldest) are within.
  AgeVerdict v = PodsPastTheirTurn(Pods({absl::Hours(2), absl::Hours(30), absl::Hours(1), absl::Hours(29)}, now), 4,
                                   absl::Hours(24), now);
  EXPECT_EQ(v.replace, 2);
  EXPECT_THAT(v.why, HasSubstr("web-3 is 29h old, past 18h (the bound of the 2nd oldest of 4 pods"));
  // A younger pod past its bound is cured by replacing the oldest: 13 h
  // is past the 2nd oldest's 12 h, and within the oldest's 24 h once the
  // 20 h one has gone.
  v = PodsPastTheirTurn(Pods({absl::Hours(20), absl::Hours(13)}, now), 2, absl::Hours(24), now);
  EXPECT_EQ(v.replace, 1);
  EXPECT_THAT(v.why, HasSubstr("web-1 is 13h old, past 12h"));
}

TEST(PodsPastTheirTurn, NoPodsOrNoneDesiredIsNeverDue) {
  EXPECT_EQ(PodsPastTheirTurn({}, 3, absl::Hours(1), kT0).next, absl::InfiniteFuture());
  AgeVerdict v = PodsPastTheirTurn(Pods({absl::Hours(5)}, kT0), 0, absl::Hours(1), kT0);
  EXPECT_EQ(v.replace, 0);
  EXPECT_EQ(v.next, absl::InfiniteFuture());
}

}  // namespace
}  // namespace herd::policies
