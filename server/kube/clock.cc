#include "server/kube/clock.h"

#include "absl/time/clock.h"

namespace herd::kube {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  void SleepFor(absl::Duration d) override {
    if (d > absl::ZeroDuration()) absl::SleepFor(d);
  }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock;  // stateless, never destroyed
  return clock;
}

}  // namespace herd::kube
