// A Clock for tests: time moves only when told, and sleeping advances it at
// once while recording how long each sleep was.
//
//   herd::kube::FakeClock clock;
//   options.clock = &clock;
//   ... EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Seconds(2)));
#ifndef HERD_SERVER_KUBE_TESTING_FAKE_CLOCK_H_
#define HERD_SERVER_KUBE_TESTING_FAKE_CLOCK_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/kube/clock.h"

namespace herd::kube {

// Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SleepFor(absl::Duration d) override {
    std::function<void(absl::Duration)> hook;
    {
      absl::MutexLock lock(&mu_);
      sleeps_.push_back(d);
      if (d > absl::ZeroDuration()) now_ += d;
      hook = on_sleep_;
    }
    if (hook) hook(d);
  }
  // Runs `hook` after each sleep (outside the clock's lock): a test can
  // change the world "while" the code under test waits.
  void OnSleep(std::function<void(absl::Duration)> hook) {
    absl::MutexLock lock(&mu_);
    on_sleep_ = std::move(hook);
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  std::vector<absl::Duration> sleeps() const {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
  std::function<void(absl::Duration)> on_sleep_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_TESTING_FAKE_CLOCK_H_
