#include "sim/resources.h"

#include <algorithm>

namespace herd::sim {

bool ResourceType::HasSubresource(absl::string_view sub) const {
  return std::find(subresources.begin(), subresources.end(), sub) != subresources.end();
}

const std::vector<ResourceType>& Resources() {
  // Discovery data (short names, categories, storage hashes, selectable
  // fields) as a v1.26 API server reports it.
  static const auto* kAll = new std::vector<ResourceType>{
      {kNamespaces, "", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, {}, {"status"},
       "Q3oi5N2YM8M=", {"status.phase"}},
      {kNodes, "", "v1", "nodes", "node", "Node", false, {"no"}, {}, {"status"}, "XwShjMxG9Fs=",
       {"spec.unschedulable"}},
      {kPods, "", "v1", "pods", "pod", "Pod", true, {"po"}, {"all"}, {"status", "eviction", "binding", "log"},
       "xPOwRZ+Yhw8=",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"}},
      {kEvents, "", "v1", "events", "event", "Event", true, {"ev"}, {}, {}, "r2yiGXH7wu8=",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "source", "type"}},
      {kConfigMaps, "", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, {}, {}, "qFsyl6wFWjQ=", {}},
      {kServices, "", "v1", "services", "service", "Service", true, {"svc"}, {"all"}, {"status"},
       "0/CO1lhkEBI=", {}},
      {kDeployments, "apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, {"all"},
       {"status", "scale"}, "8aSe+NMegvE=", {}},
      {kReplicaSets, "apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, {"all"},
       {"status", "scale"}, "P1RzHs8/mWQ=", {"status.replicas"}},
      {kStatefulSets, "apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, {"all"},
       {"status", "scale"}, "H+vl74LkKdo=", {}},
      {kControllerRevisions, "apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision",
       true, {}, {}, {}, "85nkx63pcBU=", {}},
      {kJobs, "batch", "v1", "jobs", "job", "Job", true, {}, {"all"}, {"status"}, "mudhfqk/qZY=",
       {"status.successful"}},
      {kCronJobs, "batch", "v1", "cronjobs", "cronjob", "CronJob", true, {"cj"}, {"all"}, {"status"},
       "sd5LIXh4Fjs=", {}},
      {kPodDisruptionBudgets, "policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
       "PodDisruptionBudget", true, {"pdb"}, {}, {"status"}, "6BGBu0kpHtk=", {}},
      {kLeases, "coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {}, {}, {}, "gqkMMb/YqFM=", {}},
      {kHorizontalPodAutoscalers, "autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
       "HorizontalPodAutoscaler", true, {"hpa"}, {"all"}, {"status"}, "oQlkt7f5j/A=", {}},
      {kServiceAccounts, "", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"}, {},
       {"token"}, "pbx9ZvyFpBE=", {}},
      {kRoles, "rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, {}, {}, {}, "7FuwZcIIItM=", {}},
      {kClusterRoles, "rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, {},
       {}, {}, "bFVvEm+3B6E=", {}},
      {kRoleBindings, "rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, {}, {},
       {}, "eGsCzGH6b1g=", {}},
      {kClusterRoleBindings, "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding",
       "ClusterRoleBinding", false, {}, {}, {}, "48tpQ8gZHFc=", {}},
      {kHorizontalPodAutoscalersV1, "autoscaling", "v1", "horizontalpodautoscalers", "horizontalpodautoscaler",
       "HorizontalPodAutoscaler", true, {"hpa"}, {"all"}, {"status"}, "oQlkt7f5j/A=", {}},
      {kTokenReviews, "authentication.k8s.io", "v1", "tokenreviews", "tokenreview", "TokenReview", false, {}, {}, {},
       "", {}, true},
      {kSelfSubjectAccessReviews, "authorization.k8s.io", "v1", "selfsubjectaccessreviews",
       "selfsubjectaccessreview", "SelfSubjectAccessReview", false, {}, {}, {}, "", {}, true},
      {kSelfSubjectRulesReviews, "authorization.k8s.io", "v1", "selfsubjectrulesreviews", "selfsubjectrulesreview",
       "SelfSubjectRulesReview", false, {}, {}, {}, "", {}, true},
      {kSubjectAccessReviews, "authorization.k8s.io", "v1", "subjectaccessreviews", "subjectaccessreview",
       "SubjectAccessReview", false, {}, {}, {}, "", {}, true},
      {kLocalSubjectAccessReviews, "authorization.k8s.io", "v1", "localsubjectaccessreviews",
       "localsubjectaccessreview", "LocalSubjectAccessReview", true, {}, {}, {}, "", {}, true},
  };
  return *kAll;
}

const ResourceType* FindResource(absl::string_view group, absl::string_view version, absl::string_view plural) {
  for (const auto& r : Resources()) {
    if (r.group == group && r.version == version && r.plural == plural) return &r;
  }
  return nullptr;
}

const ResourceType* FindKind(absl::string_view api_version, absl::string_view kind) {
  for (const auto& r : Resources()) {
    if (r.kind == kind && r.ApiVersion() == api_version) return &r;
  }
  return nullptr;
}

}  // namespace herd::sim
