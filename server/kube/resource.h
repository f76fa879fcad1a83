// The Kubernetes resource types herd talks to, and how their REST paths are
// built.
//
//   const herd::kube::Resource& r = herd::kube::kDeployments;
//   r.Path("shop", "web", "scale")  // "/apis/apps/v1/namespaces/shop/deployments/web/scale"
#ifndef HERD_SERVER_KUBE_RESOURCE_H_
#define HERD_SERVER_KUBE_RESOURCE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace herd::kube {

struct Resource {
  absl::string_view group;    // "" for the core group
  absl::string_view version;  // "v1"
  absl::string_view plural;   // "deployments"
  absl::string_view kind;     // "Deployment"
  bool namespaced;

  // "apps/v1", or "v1" for the core group.
  std::string ApiVersion() const;
  // "deployments.apps", or "pods" for the core group (as in error messages).
  std::string GroupResource() const;
  // The collection path, or the object path when `name` is set, with an
  // optional subresource. An empty `ns` on a namespaced resource means all
  // namespaces (collection paths only).
  std::string Path(absl::string_view ns, absl::string_view name = "",
                   absl::string_view subresource = "") const;
};

inline constexpr Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline constexpr Resource kNodes{"", "v1", "nodes", "Node", false};
inline constexpr Resource kPods{"", "v1", "pods", "Pod", true};
inline constexpr Resource kEvents{"", "v1", "events", "Event", true};
inline constexpr Resource kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
inline constexpr Resource kDeployments{"apps", "v1", "deployments", "Deployment", true};
inline constexpr Resource kReplicaSets{"apps", "v1", "replicasets", "ReplicaSet", true};
inline constexpr Resource kStatefulSets{"apps", "v1", "statefulsets", "StatefulSet", true};
inline constexpr Resource kControllerRevisions{"apps", "v1", "controllerrevisions", "ControllerRevision", true};
inline constexpr Resource kJobs{"batch", "v1", "jobs", "Job", true};
inline constexpr Resource kCronJobs{"batch", "v1", "cronjobs", "CronJob", true};
inline constexpr Resource kPodDisruptionBudgets{"policy", "v1", "poddisruptionbudgets",
                                                "PodDisruptionBudget", true};
inline constexpr Resource kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline constexpr Resource kHorizontalPodAutoscalers{"autoscaling", "v2", "horizontalpodautoscalers",
                                                    "HorizontalPodAutoscaler", true};
inline constexpr Resource kSelfSubjectAccessReviews{"authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                                    "SelfSubjectAccessReview", false};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_RESOURCE_H_
