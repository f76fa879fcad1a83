#include "common/event_loop/event_loop.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

TEST(EventLoopTest, RunsPostedTasksInOrderOnTheLoopThread) {
  EventLoop loop;
  loop.Start();
  absl::Mutex mu;
  std::vector<int> seen;
  absl::Notification done;
  for (int i = 0; i < 100; ++i) {
    loop.Post([&, i] {
      EXPECT_TRUE(loop.InLoop());
      absl::MutexLock lock(&mu);
      seen.push_back(i);
      if (i == 99) done.Notify();
    });
  }
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(loop.InLoop());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCancelledOnesNever) {
  EventLoop loop;
  loop.Start();
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  loop.PostAfter(absl::Milliseconds(30), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
    done.Notify();
  });
  auto cancelled = loop.PostAfter(absl::Milliseconds(10), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(99);
  });
  loop.PostAfter(absl::Milliseconds(1), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  EXPECT_TRUE(loop.Cancel(cancelled));
  EXPECT_FALSE(loop.Cancel(cancelled));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, StopDropsPendingTimers) {
  std::atomic<int> ran{0};
  {
    EventLoop loop;
    loop.Start();
    loop.PostAfter(absl::Hours(1), [&] { ran++; });
    loop.Stop();
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace herd
