// Purge: replace the pods of a Deployment or StatefulSet, or the pods a
// label selector picks in a namespace (grouped by the workload that
// controls them: ReplicaSet → Deployment, StatefulSet), optionally only
// those older than `older_than` (the daily refresh).
//
// ROLLING (the default) keeps availability:
//  - every pod of a Deployment, no older_than nor batch: a FAST restart,
//    the Rollout engine's technique (maxSurge 100 %, maxUnavailable 0 for
//    the duration, restored after) with the template annotation
//    herd.dev/purgedAt; on failure the annotation is put back, so the old
//    pods (never removed) keep serving;
//  - some pods of a Deployment (older_than, a batch size, a selector
//    picking part of it), or a Deployment using Recreate: in batches, the
//    Deployment scaled up by the batch through the scale subresource, the
//    new pods awaited Ready, the batch's old pods annotated
//    controller.kubernetes.io/pod-deletion-cost=-1000000 so the ReplicaSet
//    controller removes them first, the Deployment scaled back and the old
//    pods awaited gone. Should the controller remove other pods instead
//    (one that ignores pod-deletion-cost), herd notices and replaces the
//    rest by scaling up, evicting the old pods and scaling back;
//  - a StatefulSet: one pod at a time from the highest ordinal, evicted
//    (a budget's refusal is retried until the deadline, then fails the
//    operation with FAILURE_REASON_DISRUPTION_BUDGET naming the budget),
//    its replacement awaited Ready before the next;
//  - pods no Deployment or StatefulSet controls are reported and skipped.
// BURN deletes every selected pod at once (their own grace periods), then
// waits until the controllers' replacements are Ready (pods nothing
// replaces: until they are gone).
//
// Progress: desired (pods to replace), ready (replacements Ready),
// remaining (old pods still present), killed (old pods taken down).
//
//   auto engine = NewPurgeEngine(request);   // INVALID_ARGUMENT for a bad request
//   auto plan = (*engine)->Prepare(env);     // the dry run: pods, technique, budget verdicts
//   (*engine)->Run(env, op, /*resumed=*/false);
#ifndef HERD_SERVER_ENGINES_PURGE_H_
#define HERD_SERVER_ENGINES_PURGE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"

namespace herd::engines {

// INVALID_ARGUMENT unless the request names a Deployment or StatefulSet,
// or a namespace and a non-empty label selector (not both); negative
// older_than or batch_size are refused too.
absl::StatusOr<std::unique_ptr<ops::Engine>> NewPurgeEngine(const v1::PurgeRequest& request);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_PURGE_H_
