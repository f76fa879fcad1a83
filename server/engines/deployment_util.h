// What the Rollout and Purge engines share about Deployments: the FAST
// technique (maxSurge 100 %, maxUnavailable 0 for the duration, the
// workload's own strategy kept in an annotation and put back after), and
// reading a rollout's progress from the informer caches.
//
//   Json patch = FastRolloutPatch(deployment, OperationId(op));
//   patch["spec"]["template"]["metadata"]["annotations"]["herd.dev/purgedAt"] = now;
//   env.kube.Patch(kube::kDeployments, ns, name, kube::PatchType::kMerge, patch.dump());
//   … AwaitCluster(… ObserveDeploymentRollout(env, *cached, now).complete() …)
//   RestoreStrategy(env, w);
#ifndef HERD_SERVER_ENGINES_DEPLOYMENT_UTIL_H_
#define HERD_SERVER_ENGINES_DEPLOYMENT_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/informer.h"
#include "server/ops/engine.h"
#include "server/ops/names.h"

namespace herd::engines {

namespace v1 = ::herd::v1;
using kube::Json;

// The workload's own strategy while herd's FAST strategy is in place.
inline constexpr char kStrategyAnnotation[] = "herd.dev/original-strategy";
inline constexpr char kRevisionAnnotation[] = "deployment.kubernetes.io/revision";

// A pod template without the pod-template-hash label the controller adds
// to ReplicaSets, so templates of a Deployment and its ReplicaSets compare.
Json StripHash(Json tmpl);
// deployment.kubernetes.io/revision of a Deployment or ReplicaSet; 0 when absent.
int64_t RevisionOf(const Json& obj);
// spec.strategy.type is Recreate.
bool IsRecreate(const Json& deployment);
// spec.strategy is the one FastRolloutPatch writes (maxSurge 100 %,
// maxUnavailable 0).
bool HasFastStrategy(const Json& deployment);
// How long a Deployment may take to progress: progressDeadlineSeconds
// (600 by default), or `fallback` for other kinds or a disabled deadline.
absl::Duration ProgressDeadline(const Json& workload, absl::Duration fallback);

// A merge patch marking `deployment` as being changed by operation `op_id`
// and, unless it uses Recreate, switching it to maxSurge 100 % and
// maxUnavailable 0, its own strategy saved in kStrategyAnnotation (kept
// when already there: an earlier operation that died before restoring it
// saved the real one). Callers add their template change.
Json FastRolloutPatch(const Json& deployment, const std::string& op_id);
// Puts back the strategy saved by FastRolloutPatch and removes herd's
// annotations. Harmless when there is nothing to restore.
absl::Status RestoreStrategy(ops::EngineEnv& env, const ops::WorkloadName& w);

// What one look at the caches says about a rollout.
struct RolloutObservation {
  bool observed = false;  // the controller has seen the change
  int32_t desired = 0;
  int32_t updated = 0;
  int32_t scheduled = 0;
  int32_t started = 0;
  int32_t ready = 0;
  int32_t available = 0;
  int32_t remaining = 0;  // pods of earlier revisions, terminating or not
  int64_t revision = 0;
  bool controller_gave_up = false;  // Progressing=False ProgressDeadlineExceeded
  std::vector<v1::PodProblem> problems;
  std::vector<std::string> not_ready;  // new pods not ready yet, "name (why)"
  bool complete() const { return observed && updated == desired && ready == desired && remaining == 0; }
};

// A Deployment's pods split by ReplicaSet: those of the ReplicaSet running
// the Deployment's template (not terminating) and all others.
struct DeploymentPods {
  std::vector<kube::ObjectPtr> current;
  std::vector<kube::ObjectPtr> old;
};
// From the informers for ReplicaSets and pods of the Deployment's
// namespace (which the caller has created and synced).
DeploymentPods SplitDeploymentPods(ops::EngineEnv& env, const Json& deployment);

// The rollout of `deployment` (as cached) judged at `now`. Right after a
// write the cache may still hold the object before it, whose old
// ReplicaSet looks current and complete: until the cached generation
// reaches `min_generation` (the one the write returned) nothing counts as
// observed.
RolloutObservation ObserveDeploymentRollout(ops::EngineEnv& env, const Json& deployment, absl::Time now,
                                            int64_t min_generation = 0);
// Fills the per-pod counts of `o` (updated, scheduled, started, ready,
// not_ready, problems) from the pods of the new revision; for workloads
// whose pods another way tells apart (StatefulSets).
void TallyNewPods(const std::vector<kube::ObjectPtr>& fresh, const ops::EngineSettings& settings, absl::Time now,
                  RolloutObservation* o);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_DEPLOYMENT_UTIL_H_
