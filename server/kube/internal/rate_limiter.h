// A token bucket in front of the API server: at most `qps` requests a
// second on average, `burst` at once. Callers reserve a token and sleep
// outside the lock until it is theirs, so waiting callers do not serialise
// each other.
#ifndef HERD_SERVER_KUBE_INTERNAL_RATE_LIMITER_H_
#define HERD_SERVER_KUBE_INTERNAL_RATE_LIMITER_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/kube/clock.h"

namespace herd::kube::internal {

class RateLimiter {
 public:
  // qps <= 0: unlimited. `clock` must outlive the limiter.
  RateLimiter(double qps, int burst, Clock* clock);

  // Takes a token, sleeping (on the clock) until it is available. Returns
  // how long the caller waited. Thread-safe.
  absl::Duration Wait();

  // Takes a token and returns how long the caller must wait before using
  // it, without sleeping. Thread-safe.
  absl::Duration Reserve();

 private:
  const double qps_;
  const double burst_;
  Clock* const clock_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);  // negative: tokens promised ahead
  absl::Time last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::kube::internal

#endif  // HERD_SERVER_KUBE_INTERNAL_RATE_LIMITER_H_
