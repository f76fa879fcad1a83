// The summary of a workload a person wants to see: containers and images,
// replica counts, revision, pods (phase, readiness, restarts, node, why not
// ready), pod ages, the HorizontalPodAutoscaler that manages it, and for
// CronJobs the schedule, suspension, last run and running Jobs.
//
//   auto w = DescribeWorkload(env, *ops::ParseWorkloadName("namespaces/shop/deployments/web"));
//   auto page = ListWorkloads(env, request);   // deployments, statefulsets, cronjobs
//
// Both read herdd's shared cache (env.informers), never the API server:
// the dashboard's and the on-call person's most frequent calls cost no
// request to the cluster, keep answering while it is unreachable, and show
// a change as soon as its watch event has arrived. Each workload's summary
// costs its own objects, found through the owner index (a Deployment's
// ReplicaSets, their pods), not a scan of its namespace.
//
// Workload.running_operation is left empty: the service knows which
// operation holds the workload's lock and fills it in.
#ifndef HERD_SERVER_ENGINES_WORKLOADS_H_
#define HERD_SERVER_ENGINES_WORKLOADS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"
#include "server/ops/names.h"

namespace herd::engines {

// The resources the reads (and the engines) keep cached: herdd covers them
// at boot so that /readyz waits for them.
const std::vector<const kube::Resource*>& CachedResources();

// FAILED_PRECONDITION when herdd was told to keep to some namespaces
// (--namespaces) and `ns` is not one of them: it neither reads nor acts
// there.
absl::Status CheckCovered(ops::EngineEnv& env, const std::string& ns);

// NOT_FOUND naming the workload when it does not exist; `w` must be a
// Deployment, StatefulSet or CronJob (INVALID_ARGUMENT otherwise).
absl::StatusOr<v1::Workload> DescribeWorkload(ops::EngineEnv& env, const ops::WorkloadName& w);

// The workloads of a namespace (or all), of one kind or all three, that
// match the label selector, ordered by namespace, kind (Deployment,
// StatefulSet, CronJob) and name. page_size defaults to 100 (at most
// 1000); next_page_token continues after the last one returned and stays
// valid while workloads come and go. INVALID_ARGUMENT for an unknown kind,
// a bad selector or a page token not from this call. Both: FAILED_PRECONDITION
// for a namespace herdd does not cache (--namespaces), UNAVAILABLE while
// the cache has not synced.
absl::StatusOr<v1::ListWorkloadsResponse> ListWorkloads(ops::EngineEnv& env, const v1::ListWorkloadsRequest& request);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_WORKLOADS_H_
