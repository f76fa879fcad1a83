#include "sim/schema/internal/tables.h"

namespace herd::sim::schema::internal {
namespace {

// k8s.io/apimachinery/pkg/apis/meta/v1.
// clang-format off
const Message kMessages[] = {
    // k8s.io/apimachinery/pkg/apis/meta/v1
    {"meta.v1.DeleteOptions", {{1, "gracePeriodSeconds", I64, K}, {2, "preconditions", "meta.v1.Preconditions"},
      {3, "orphanDependents", B, K}, {4, "propagationPolicy", S, K}, {5, "dryRun", S, R},
      {6, "ignoreStoreReadErrorWithClusterBreakingPotential", B, K}}},
    {"meta.v1.ObjectMeta", {{1, "name", S}, {2, "generateName", S}, {3, "namespace", S}, {4, "selfLink", S},
      {5, "uid", S}, {6, "resourceVersion", S}, {7, "generation", I64}, {8, "creationTimestamp", T},
      {9, "deletionTimestamp", T}, {10, "deletionGracePeriodSeconds", I64, K}, {11, "labels", S, MAP},
      {12, "annotations", S, MAP}, {13, "ownerReferences", "meta.v1.OwnerReference", R}, {14, "finalizers", S, R},
      {17, "managedFields", "meta.v1.ManagedFieldsEntry", R}}},
    {"meta.v1.Preconditions", {{1, "uid", S, K}, {2, "resourceVersion", S, K}}},
    {"meta.v1.OwnerReference", {{1, "kind", S, K}, {3, "name", S, K}, {4, "uid", S, K}, {5, "apiVersion", S, K},
      {6, "controller", B, K}, {7, "blockOwnerDeletion", B, K}}},
    {"meta.v1.ManagedFieldsEntry", {{1, "manager", S}, {2, "operation", S}, {3, "apiVersion", S}, {4, "time", T},
      {6, "fieldsType", S}, {7, "fieldsV1", RAW}, {8, "subresource", S}}},
    {"meta.v1.Condition", {{1, "type", S, K}, {2, "status", S, K}, {3, "observedGeneration", I64},
      {4, "lastTransitionTime", T}, {5, "reason", S, K}, {6, "message", S, K}}},
    {"meta.v1.LabelSelector", {{1, "matchLabels", S, MAP},
      {2, "matchExpressions", "meta.v1.LabelSelectorRequirement", R}}},
    {"meta.v1.ListMeta", {{1, "selfLink", S}, {2, "resourceVersion", S}, {3, "continue", S},
      {4, "remainingItemCount", I64, K}}},
    {"meta.v1.Status", {{1, "metadata", "meta.v1.ListMeta"}, {2, "status", S}, {3, "message", S}, {4, "reason", S},
      {5, "details", "meta.v1.StatusDetails"}, {6, "code", I32}}},
    {"meta.v1.StatusDetails", {{1, "name", S}, {2, "group", S}, {3, "kind", S}, {4, "causes", "meta.v1.StatusCause", R},
      {5, "retryAfterSeconds", I32}, {6, "uid", S}}},
    {"meta.v1.StatusCause", {{1, "reason", S}, {2, "message", S}, {3, "field", S}}},
    {"meta.v1.LabelSelectorRequirement", {{1, "key", S, K}, {2, "operator", S, K}, {3, "values", S, R}}},
};
// clang-format on

}  // namespace

absl::Span<const Message> MetaMessages() { return kMessages; }

}  // namespace herd::sim::schema::internal
