#include "server/kube/internal/rate_limiter.h"

#include "gtest/gtest.h"
#include "server/kube/testing/fake_clock.h"

namespace herd::kube::internal {
namespace {

TEST(RateLimiterTest, BurstIsFreeThenOneTokenPerInterval) {
  FakeClock clock;
  RateLimiter limiter(/*qps=*/10, /*burst=*/3, &clock);
  EXPECT_EQ(limiter.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(limiter.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(limiter.Reserve(), absl::ZeroDuration());
  // Reservations queue up behind each other.
  EXPECT_EQ(limiter.Reserve(), absl::Milliseconds(100));
  EXPECT_EQ(limiter.Reserve(), absl::Milliseconds(200));
  clock.Advance(absl::Milliseconds(200));
  EXPECT_EQ(limiter.Reserve(), absl::Milliseconds(100));
}

TEST(RateLimiterTest, WaitSleepsOnTheClock) {
  FakeClock clock;
  RateLimiter limiter(2, 1, &clock);
  EXPECT_EQ(limiter.Wait(), absl::ZeroDuration());
  EXPECT_EQ(limiter.Wait(), absl::Milliseconds(500));
  EXPECT_EQ(clock.sleeps().size(), 1u);
  // The sleep paid for the token: the next one is another interval away.
  EXPECT_EQ(limiter.Wait(), absl::Milliseconds(500));
}

TEST(RateLimiterTest, RefillIsCappedAtBurst) {
  FakeClock clock;
  RateLimiter limiter(100, 2, &clock);
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(limiter.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(limiter.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(limiter.Reserve(), absl::Milliseconds(10));
}

TEST(RateLimiterTest, ZeroQpsIsUnlimited) {
  FakeClock clock;
  RateLimiter limiter(0, 0, &clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Reserve(), absl::ZeroDuration());
}

}  // namespace
}  // namespace herd::kube::internal
