// Scaling with load (herd.v1.LoadScaling): what a policy asks, checked,
// and the decision of one evaluation: the query's value, as replicas,
// through the policy's bounds, stabilization windows, step limits and
// cool-down.
//
//   auto spec = ParseLoadScaling(policy.load_scaling());   // INVALID_ARGUMENT naming the field
//   ScalingMemory memory;                                  // the leader's, between evaluations
//   ScalingVerdict v = DecideScale(*spec, memory, current, value, now, last_scaled);
//   if (v.replicas != current) … scale to v.replicas, saying v.why …
#ifndef HERD_SERVER_POLICIES_SCALING_H_
#define HERD_SERVER_POLICIES_SCALING_H_

#include <deque>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"

namespace herd::policies {

namespace v1 = ::herd::v1;

inline constexpr int kMaxScalingReplicas = 1000;

struct ScalingSpec {
  std::string query;
  double target = 1;
  int min = 1;
  int max = 1;
  int step_up = 0;    // 0: no limit
  int step_down = 0;  // 0: no limit
  absl::Duration up_window = absl::ZeroDuration();
  absl::Duration down_window = absl::Minutes(5);
  absl::Duration cooldown = absl::Minutes(1);
  absl::Duration interval = absl::Seconds(30);
  bool dry_run = false;
};

absl::StatusOr<ScalingSpec> ParseLoadScaling(const v1::LoadScaling& s);

// What the leader remembers of a policy between its evaluations (a new
// leader starts afresh, and waits out the windows before acting on them).
struct ScalingMemory {
  absl::Time watching_since = absl::InfinitePast();
  std::deque<std::pair<absl::Time, int>> recommendations;
};

struct ScalingVerdict {
  // ceil(value / target) within min … max.
  int recommended = 0;
  // What to scale to: `current` when nothing is to be done now.
  int replicas = 0;
  // The inputs and the rules that applied, for a person.
  std::string why;
};

// One evaluation at `now`, with `current` replicas, the query's `value`,
// and the last scaling this policy made (InfinitePast when none).
ScalingVerdict DecideScale(const ScalingSpec& spec, ScalingMemory& memory, int current, double value, absl::Time now,
                           absl::Time last_scaled);

// The Scale request a load-scaling policy makes.
v1::ScaleRequest LoadScalingScale(const v1::Policy& policy, int replicas, const std::string& request_id);

}  // namespace herd::policies

#endif  // HERD_SERVER_POLICIES_SCALING_H_
