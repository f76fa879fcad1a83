// Scale: set the replica count of a Deployment or StatefulSet, absolutely
// or relatively, within optional bounds, through the scale subresource.
//
// A HorizontalPodAutoscaler that targets the workload would undo the change
// on its next sync, so its minReplicas and maxReplicas are first moved to
// the new count for `hpa_hold` (EngineSettings::default_hpa_hold unless
// given); the original bounds and the time to restore them are kept in
// annotations on the HPA itself (kHpaOriginalAnnotation,
// kHpaRestoreAtAnnotation), and RestoreExpiredHpaHolds puts them back.
// (Scaling to 0 leaves the HPA alone: an HPA does nothing to a target at
// zero replicas.)
//
// Done means: scaling up, the desired number of pods Ready (for a
// Deployment, pods of its current ReplicaSet), as both the workload's
// status and the pods say; scaling down, the removed pods gone from the
// API. New pods that crash loop, cannot pull their image or cannot be
// scheduled fail the operation, as does the deadline (the Deployment's
// progressDeadlineSeconds, else EngineSettings::default_deadline). The
// count is not put back on failure or cancellation.
//
//   auto engine = NewScaleEngine(request);   // INVALID_ARGUMENT for a bad request
//   auto plan = (*engine)->Prepare(env);     // the dry run; NOT_FOUND, INVALID_ARGUMENT (bounds)
//   (*engine)->Run(env, op, /*resumed=*/false);
//   …
//   RestoreExpiredHpaHolds(env, absl::Now());  // periodically, on any replica
#ifndef HERD_SERVER_ENGINES_SCALE_H_
#define HERD_SERVER_ENGINES_SCALE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"

namespace herd::engines {

// {"min":2,"max":10}: the bounds the HPA had before herd moved them.
inline constexpr char kHpaOriginalAnnotation[] = "herd.dev/hpa-original";
// RFC 3339: when RestoreExpiredHpaHolds puts them back.
inline constexpr char kHpaRestoreAtAnnotation[] = "herd.dev/hpa-restore-at";

// INVALID_ARGUMENT when the request names no workload of the right kind,
// no change, or bad bounds.
absl::StatusOr<std::unique_ptr<ops::Engine>> NewScaleEngine(const v1::ScaleRequest& request);

// Puts back the bounds of every HPA (in every namespace herd may list)
// whose hold ended at or before `now`, and removes herd's annotations.
// Idempotent and safe to run on several replicas at once: each change is
// a conditional update, and an HPA someone else restored first is skipped.
// Returns how many HPAs this call restored.
absl::StatusOr<int> RestoreExpiredHpaHolds(ops::EngineEnv& env, absl::Time now);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_SCALE_H_
