// Rollout and Undo of Deployments and StatefulSets.
//
// FAST (Deployments): the new template goes in with maxSurge 100 % and
// maxUnavailable 0 for the duration, so every new pod starts at once and
// old pods go only when all new ones are Ready; the workload's own strategy
// is restored at the end. ROLLING keeps the workload's strategy, as kubectl.
// StatefulSets always roll by ordinal (their ordering rules stay).
//
// Done means: every new pod Ready and every old pod gone. A new pod that
// crash loops, cannot pull its image or cannot be scheduled, or a deadline
// passing, fails the rollout; unless `no_rollback` it is then rolled back
// to the previous revision (state ROLLED_BACK).
#ifndef HERD_SERVER_ENGINES_ROLLOUT_H_
#define HERD_SERVER_ENGINES_ROLLOUT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"
#include "server/ops/names.h"

namespace herd::engines {

// The Rollout engine for a validated request (its workload parsed).
absl::StatusOr<std::unique_ptr<ops::Engine>> NewRolloutEngine(const v1::RolloutRequest& request);
absl::StatusOr<std::unique_ptr<ops::Engine>> NewUndoEngine(const v1::UndoRequest& request);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_ROLLOUT_H_
