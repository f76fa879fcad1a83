// Maximum pod age (herd.v1.MaxPodAge): which of a workload's pods are past
// their turn to be replaced, so that replacements spread evenly over the
// maximum age instead of coming all at once.
//
// With N desired pods, the k-th oldest (k = 1 … N) may be at most
// max_age × (N − k + 1) / N old. The verdict is the fewest oldest pods
// whose replacement (by pods of age 0) brings every other pod within its
// bound; when none is due, the time the first one will be.
//
//   AgeVerdict v = PodsPastTheirTurn(pods, /*desired=*/4, absl::Hours(24), now);
//   if (v.replace > 0) … purge the v.replace oldest … else look again at v.next
#ifndef HERD_SERVER_POLICIES_AGE_H_
#define HERD_SERVER_POLICIES_AGE_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace herd::policies {

inline constexpr absl::Duration kMinMaxPodAge = absl::Seconds(10);
inline constexpr absl::Duration kMaxMaxPodAge = absl::Hours(24 * 365);

struct AgedPod {
  std::string name;
  absl::Time started;
};

struct AgeVerdict {
  // How many of the oldest pods to replace now.
  int replace = 0;
  // With none to replace: when the first pod passes its bound.
  absl::Time next = absl::InfiniteFuture();
  // Why, for a person: the pod furthest past its bound, its age and bound.
  std::string why;
};

// `desired` < 1 or no pods: nothing to replace, ever.
AgeVerdict PodsPastTheirTurn(std::vector<AgedPod> pods, int desired, absl::Duration max_age, absl::Time now);

// The bound of the k-th oldest of `desired` pods (k from 1; past `desired`,
// the youngest's).
absl::Duration AgeBound(int k, int desired, absl::Duration max_age);

}  // namespace herd::policies

#endif  // HERD_SERVER_POLICIES_AGE_H_
