#include "server/kube/internal/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace herd::kube::internal {

RateLimiter::RateLimiter(double qps, int burst, Clock* clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(clock), tokens_(burst_), last_(clock->Now()) {}

absl::Duration RateLimiter::Reserve() {
  if (qps_ <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_->Now();
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return absl::ZeroDuration();
  // Whole microseconds: waits compare and log without float noise.
  return absl::Microseconds(std::llround(-tokens_ / qps_ * 1e6));
}

absl::Duration RateLimiter::Wait() {
  absl::Duration wait = Reserve();
  if (wait > absl::ZeroDuration()) clock_->SleepFor(wait);
  return wait;
}

}  // namespace herd::kube::internal
