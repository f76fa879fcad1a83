// Time as the Kubernetes client sees it: what the retry backoff and the
// rate limiter read and sleep on. Tests pass a FakeClock
// (server/kube/testing/fake_clock.h) so that backoff is instant and the
// sleeps can be asserted.
//
//   RestClientOptions o;
//   o.clock = &fake_clock;   // default: Clock::Real()
#ifndef HERD_SERVER_KUBE_CLOCK_H_
#define HERD_SERVER_KUBE_CLOCK_H_

#include "absl/time/time.h"

namespace herd::kube {

// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Blocks the caller for `d` of this clock's time.
  virtual void SleepFor(absl::Duration d) = 0;

  // The wall clock. Stateless; lives for the whole process.
  static Clock* Real();
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_CLOCK_H_
