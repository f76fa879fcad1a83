// The resource types kubesim serves, as discovery describes them.
//
//   const ResourceType* r = FindResource("apps", "v1", "deployments");
//   r->ApiVersion();     // "apps/v1"
//   r->GroupResource();  // "deployments.apps"
#ifndef HERD_SIM_RESOURCES_H_
#define HERD_SIM_RESOURCES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace herd::sim {

enum ResourceId {
  kNamespaces,
  kNodes,
  kPods,
  kEvents,
  kConfigMaps,
  kServices,
  kDeployments,
  kReplicaSets,
  kStatefulSets,
  kControllerRevisions,
  kJobs,
  kCronJobs,
  kPodDisruptionBudgets,
  kLeases,
  kHorizontalPodAutoscalers,
  kServiceAccounts,
  kRoles,
  kClusterRoles,
  kRoleBindings,
  kClusterRoleBindings,
  // autoscaling/v1's view of the autoscaling/v2 objects (stored as v2).
  kHorizontalPodAutoscalersV1,
  // Create-only kinds, answered and never stored.
  kTokenReviews,
  kSelfSubjectAccessReviews,
  kSelfSubjectRulesReviews,
  kSubjectAccessReviews,
  kLocalSubjectAccessReviews,
  kResourceCount,
};

struct ResourceType {
  ResourceId id;
  std::string group;  // "" for core
  std::string version;
  std::string plural;
  std::string singular;
  std::string kind;
  bool namespaced;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  // Subresources served: "status", "scale", "eviction", "binding", "token", "log".
  std::vector<std::string> subresources;
  std::string storage_version_hash;
  // Field selector labels beyond metadata.name and metadata.namespace.
  std::vector<std::string> field_labels;
  // Only POSTed, answered and never stored (reviews).
  bool create_only = false;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps", or "pods" in the core group.
  std::string GroupResource() const { return group.empty() ? plural : plural + "." + group; }
  // "Deployment.apps", or "Pod" in the core group (422 messages use it).
  std::string GroupKind() const { return group.empty() ? kind : kind + "." + group; }
  std::string ListKind() const { return kind + "List"; }
  bool HasSubresource(absl::string_view sub) const;
};

// Every served type, indexed by ResourceId.
const std::vector<ResourceType>& Resources();
inline const ResourceType& Resource(ResourceId id) { return Resources()[id]; }
// By group, version and plural; nullptr when not served.
const ResourceType* FindResource(absl::string_view group, absl::string_view version, absl::string_view plural);
// By apiVersion ("apps/v1") and kind; nullptr when not served.
const ResourceType* FindKind(absl::string_view api_version, absl::string_view kind);

}  // namespace herd::sim

#endif  // HERD_SIM_RESOURCES_H_
