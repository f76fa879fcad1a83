#include "sim/schema/internal/tables.h"

namespace herd::sim::schema::internal {
namespace {

// rbac.authorization.k8s.io/v1, authorization.k8s.io/v1,
// authentication.k8s.io/v1 and autoscaling/v1's HorizontalPodAutoscaler.
// clang-format off
const Message kMessages[] = {
    // k8s.io/api/rbac/v1
    {"rbac.v1.Role", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "rules", "rbac.v1.PolicyRule", R}}},
    {"rbac.v1.ClusterRole", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "rules", "rbac.v1.PolicyRule", R},
      {3, "aggregationRule", "rbac.v1.AggregationRule"}}},
    {"rbac.v1.RoleBinding", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "subjects", "rbac.v1.Subject", R},
      {3, "roleRef", "rbac.v1.RoleRef"}}},
    {"rbac.v1.ClusterRoleBinding", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "subjects", "rbac.v1.Subject", R},
      {3, "roleRef", "rbac.v1.RoleRef"}}},
    {"rbac.v1.PolicyRule", {{1, "verbs", S, R}, {2, "apiGroups", S, R}, {3, "resources", S, R},
      {4, "resourceNames", S, R}, {5, "nonResourceURLs", S, R}}},
    {"rbac.v1.AggregationRule", {{1, "clusterRoleSelectors", "meta.v1.LabelSelector", R}}},
    {"rbac.v1.Subject", {{1, "kind", S, K}, {2, "apiGroup", S}, {3, "name", S, K}, {4, "namespace", S}}},
    {"rbac.v1.RoleRef", {{1, "apiGroup", S, K}, {2, "kind", S, K}, {3, "name", S, K}}},
    // k8s.io/api/authorization/v1
    {"authorization.v1.SelfSubjectAccessReview", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "authorization.v1.SelfSubjectAccessReviewSpec"},
      {3, "status", "authorization.v1.SubjectAccessReviewStatus"}}},
    {"authorization.v1.SelfSubjectAccessReviewSpec", {
      {1, "resourceAttributes", "authorization.v1.ResourceAttributes"},
      {2, "nonResourceAttributes", "authorization.v1.NonResourceAttributes"}}},
    {"authorization.v1.SubjectAccessReview", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "authorization.v1.SubjectAccessReviewSpec"},
      {3, "status", "authorization.v1.SubjectAccessReviewStatus"}}},
    {"authorization.v1.LocalSubjectAccessReview", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "authorization.v1.SubjectAccessReviewSpec"},
      {3, "status", "authorization.v1.SubjectAccessReviewStatus"}}},
    {"authorization.v1.SubjectAccessReviewSpec", {
      {1, "resourceAttributes", "authorization.v1.ResourceAttributes"},
      {2, "nonResourceAttributes", "authorization.v1.NonResourceAttributes"}, {3, "user", S},
      {4, "groups", S, R}, {5, "extra", "authorization.v1.ExtraValue", MAP}, {6, "uid", S}}},
    {"authorization.v1.ExtraValue", {{1, "items", S, R}}},
    {"authorization.v1.ResourceAttributes", {{1, "namespace", S}, {2, "verb", S}, {3, "group", S},
      {4, "version", S}, {5, "resource", S}, {6, "subresource", S}, {7, "name", S}}},
    {"authorization.v1.NonResourceAttributes", {{1, "path", S}, {2, "verb", S}}},
    {"authorization.v1.SubjectAccessReviewStatus", {{1, "allowed", B, K}, {2, "reason", S},
      {3, "evaluationError", S}, {4, "denied", B}}},
    {"authorization.v1.SelfSubjectRulesReview", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "authorization.v1.SelfSubjectRulesReviewSpec"},
      {3, "status", "authorization.v1.SubjectRulesReviewStatus"}}},
    {"authorization.v1.SelfSubjectRulesReviewSpec", {{1, "namespace", S}}},
    {"authorization.v1.SubjectRulesReviewStatus", {{1, "resourceRules", "authorization.v1.ResourceRule", R},
      {2, "nonResourceRules", "authorization.v1.NonResourceRule", R}, {3, "incomplete", B, K},
      {4, "evaluationError", S}}},
    {"authorization.v1.ResourceRule", {{1, "verbs", S, R}, {2, "apiGroups", S, R}, {3, "resources", S, R},
      {4, "resourceNames", S, R}}},
    {"authorization.v1.NonResourceRule", {{1, "verbs", S, R}, {2, "nonResourceURLs", S, R}}},
    // k8s.io/api/authentication/v1
    {"authentication.v1.TokenRequest", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "authentication.v1.TokenRequestSpec"}, {3, "status", "authentication.v1.TokenRequestStatus"}}},
    {"authentication.v1.TokenRequestSpec", {{1, "audiences", S, R | K},
      {3, "boundObjectRef", "authentication.v1.BoundObjectReference"}, {4, "expirationSeconds", I64}}},
    {"authentication.v1.TokenRequestStatus", {{1, "token", S, K}, {2, "expirationTimestamp", T}}},
    {"authentication.v1.BoundObjectReference", {{1, "kind", S}, {2, "apiVersion", S}, {3, "name", S},
      {4, "uid", S}}},
    {"authentication.v1.TokenReview", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "authentication.v1.TokenReviewSpec"}, {3, "status", "authentication.v1.TokenReviewStatus"}}},
    {"authentication.v1.TokenReviewSpec", {{1, "token", S}, {2, "audiences", S, R}}},
    {"authentication.v1.TokenReviewStatus", {{1, "authenticated", B}, {2, "user", "authentication.v1.UserInfo"},
      {3, "error", S}, {4, "audiences", S, R}}},
    {"authentication.v1.UserInfo", {{1, "username", S}, {2, "uid", S}, {3, "groups", S, R},
      {4, "extra", "authentication.v1.ExtraValue", MAP}}},
    {"authentication.v1.ExtraValue", {{1, "items", S, R}}},
    // k8s.io/api/autoscaling/v1
    {"autoscaling.v1.HorizontalPodAutoscaler", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "autoscaling.v1.HorizontalPodAutoscalerSpec"},
      {3, "status", "autoscaling.v1.HorizontalPodAutoscalerStatus"}}},
    {"autoscaling.v1.HorizontalPodAutoscalerSpec", {
      {1, "scaleTargetRef", "autoscaling.v1.CrossVersionObjectReference"}, {2, "minReplicas", I32, K},
      {3, "maxReplicas", I32, K}, {4, "targetCPUUtilizationPercentage", I32, K}}},
    {"autoscaling.v1.HorizontalPodAutoscalerStatus", {{1, "observedGeneration", I64, K}, {2, "lastScaleTime", T},
      {3, "currentReplicas", I32, K}, {4, "desiredReplicas", I32, K},
      {5, "currentCPUUtilizationPercentage", I32, K}}},
    {"autoscaling.v1.CrossVersionObjectReference", {{1, "kind", S, K}, {2, "name", S, K}, {3, "apiVersion", S}}},
};
// clang-format on

}  // namespace

absl::Span<const Message> AuthMessages() { return kMessages; }

}  // namespace herd::sim::schema::internal
