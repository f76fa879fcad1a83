#include "sim/schema/internal/tables.h"

namespace herd::sim::schema::internal {
namespace {

constexpr Kind S = Kind::kString;
constexpr Kind B = Kind::kBool;
constexpr Kind I32 = Kind::kInt32;
constexpr Kind I64 = Kind::kInt64;
constexpr Kind Y = Kind::kBytes;
constexpr Kind T = Kind::kTime;
constexpr Kind MT = Kind::kMicroTime;
constexpr Kind IOS = Kind::kIntOrString;
constexpr Kind Q = Kind::kQuantity;
constexpr Kind RAW = Kind::kRawJson;
constexpr uint8_t R = kRepeated;
constexpr uint8_t MAP = kMap;
constexpr uint8_t K = kKeepZero;
constexpr uint8_t IN = kInline;

// apps/v1, batch/v1, policy/v1, coordination.k8s.io/v1, autoscaling/v1 and v2.
// clang-format off
const Message kMessages[] = {
    // k8s.io/api/apps/v1
    {"apps.v1.Deployment", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "apps.v1.DeploymentSpec"},
      {3, "status", "apps.v1.DeploymentStatus"}}},
    {"apps.v1.ReplicaSet", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "apps.v1.ReplicaSetSpec"},
      {3, "status", "apps.v1.ReplicaSetStatus"}}},
    {"apps.v1.StatefulSet", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "apps.v1.StatefulSetSpec"},
      {3, "status", "apps.v1.StatefulSetStatus"}}},
    {"apps.v1.ControllerRevision", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "data", RAW},
      {3, "revision", I64, K}}},
    {"apps.v1.DeploymentSpec", {{1, "replicas", I32, K}, {2, "selector", "meta.v1.LabelSelector"},
      {3, "template", "core.v1.PodTemplateSpec"}, {4, "strategy", "apps.v1.DeploymentStrategy"},
      {5, "minReadySeconds", I32}, {6, "revisionHistoryLimit", I32, K}, {7, "paused", B},
      {9, "progressDeadlineSeconds", I32, K}}},
    {"apps.v1.DeploymentStatus", {{1, "observedGeneration", I64}, {2, "replicas", I32}, {3, "updatedReplicas", I32},
      {4, "availableReplicas", I32}, {5, "unavailableReplicas", I32},
      {6, "conditions", "apps.v1.DeploymentCondition", R}, {7, "readyReplicas", I32}, {8, "collisionCount", I32, K}}},
    {"apps.v1.ReplicaSetSpec", {{1, "replicas", I32, K}, {2, "selector", "meta.v1.LabelSelector"},
      {3, "template", "core.v1.PodTemplateSpec"}, {4, "minReadySeconds", I32}}},
    {"apps.v1.ReplicaSetStatus", {{1, "replicas", I32, K}, {2, "fullyLabeledReplicas", I32},
      {3, "observedGeneration", I64}, {4, "readyReplicas", I32}, {5, "availableReplicas", I32},
      {6, "conditions", "apps.v1.ReplicaSetCondition", R}}},
    {"apps.v1.StatefulSetSpec", {{1, "replicas", I32, K}, {2, "selector", "meta.v1.LabelSelector"},
      {3, "template", "core.v1.PodTemplateSpec"}, {4, "volumeClaimTemplates", "core.v1.PersistentVolumeClaim", R},
      {5, "serviceName", S, K}, {6, "podManagementPolicy", S},
      {7, "updateStrategy", "apps.v1.StatefulSetUpdateStrategy"}, {8, "revisionHistoryLimit", I32, K},
      {9, "minReadySeconds", I32},
      {10, "persistentVolumeClaimRetentionPolicy", "apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy"},
      {11, "ordinals", "apps.v1.StatefulSetOrdinals"}}},
    {"apps.v1.StatefulSetStatus", {{1, "observedGeneration", I64}, {2, "replicas", I32, K},
      {3, "readyReplicas", I32}, {4, "currentReplicas", I32}, {5, "updatedReplicas", I32},
      {6, "currentRevision", S}, {7, "updateRevision", S}, {9, "collisionCount", I32, K},
      {10, "conditions", "apps.v1.StatefulSetCondition", R}, {11, "availableReplicas", I32, K}}},
    {"apps.v1.DeploymentStrategy", {{1, "type", S}, {2, "rollingUpdate", "apps.v1.RollingUpdateDeployment"}}},
    {"apps.v1.DeploymentCondition", {{1, "type", S, K}, {2, "status", S, K}, {4, "reason", S}, {5, "message", S},
      {6, "lastUpdateTime", T}, {7, "lastTransitionTime", T}}},
    {"apps.v1.ReplicaSetCondition", {{1, "type", S, K}, {2, "status", S, K}, {3, "lastTransitionTime", T},
      {4, "reason", S}, {5, "message", S}}},
    {"apps.v1.StatefulSetUpdateStrategy", {{1, "type", S},
      {2, "rollingUpdate", "apps.v1.RollingUpdateStatefulSetStrategy"}}},
    {"apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy", {{1, "whenDeleted", S}, {2, "whenScaled", S}}},
    {"apps.v1.StatefulSetOrdinals", {{1, "start", I32, K}}},
    {"apps.v1.StatefulSetCondition", {{1, "type", S, K}, {2, "status", S, K}, {3, "lastTransitionTime", T},
      {4, "reason", S}, {5, "message", S}}},
    {"apps.v1.RollingUpdateDeployment", {{1, "maxUnavailable", IOS}, {2, "maxSurge", IOS}}},
    {"apps.v1.RollingUpdateStatefulSetStrategy", {{1, "partition", I32, K}, {2, "maxUnavailable", IOS}}},
    // k8s.io/api/batch/v1
    {"batch.v1.Job", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "batch.v1.JobSpec"},
      {3, "status", "batch.v1.JobStatus"}}},
    {"batch.v1.CronJob", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "batch.v1.CronJobSpec"},
      {3, "status", "batch.v1.CronJobStatus"}}},
    {"batch.v1.JobSpec", {{1, "parallelism", I32, K}, {2, "completions", I32, K},
      {3, "activeDeadlineSeconds", I64, K}, {4, "selector", "meta.v1.LabelSelector"}, {5, "manualSelector", B, K},
      {6, "template", "core.v1.PodTemplateSpec"}, {7, "backoffLimit", I32, K},
      {8, "ttlSecondsAfterFinished", I32, K}, {9, "completionMode", S, K}, {10, "suspend", B, K},
      {11, "podFailurePolicy", "batch.v1.PodFailurePolicy"}, {12, "backoffLimitPerIndex", I32, K},
      {13, "maxFailedIndexes", I32, K}, {14, "podReplacementPolicy", S, K}, {15, "managedBy", S, K},
      {16, "successPolicy", "batch.v1.SuccessPolicy"}}},
    {"batch.v1.JobStatus", {{1, "conditions", "batch.v1.JobCondition", R}, {2, "startTime", T},
      {3, "completionTime", T}, {4, "active", I32}, {5, "succeeded", I32}, {6, "failed", I32},
      {7, "completedIndexes", S}, {8, "uncountedTerminatedPods", "batch.v1.UncountedTerminatedPods"},
      {9, "ready", I32, K}, {10, "failedIndexes", S, K}, {11, "terminating", I32, K}}},
    {"batch.v1.CronJobSpec", {{1, "schedule", S, K}, {2, "startingDeadlineSeconds", I64, K},
      {3, "concurrencyPolicy", S}, {4, "suspend", B, K}, {5, "jobTemplate", "batch.v1.JobTemplateSpec"},
      {6, "successfulJobsHistoryLimit", I32, K}, {7, "failedJobsHistoryLimit", I32, K}, {8, "timeZone", S, K}}},
    {"batch.v1.CronJobStatus", {{1, "active", "core.v1.ObjectReference", R}, {4, "lastScheduleTime", T},
      {5, "lastSuccessfulTime", T}}},
    {"batch.v1.PodFailurePolicy", {{1, "rules", "batch.v1.PodFailurePolicyRule", R}}},
    {"batch.v1.SuccessPolicy", {{1, "rules", "batch.v1.SuccessPolicyRule", R}}},
    {"batch.v1.JobCondition", {{1, "type", S, K}, {2, "status", S, K}, {3, "lastProbeTime", T},
      {4, "lastTransitionTime", T}, {5, "reason", S}, {6, "message", S}}},
    {"batch.v1.UncountedTerminatedPods", {{1, "succeeded", S, R}, {2, "failed", S, R}}},
    {"batch.v1.JobTemplateSpec", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "batch.v1.JobSpec"}}},
    {"batch.v1.PodFailurePolicyRule", {{1, "action", S, K},
      {2, "onExitCodes", "batch.v1.PodFailurePolicyOnExitCodesRequirement"},
      {3, "onPodConditions", "batch.v1.PodFailurePolicyOnPodConditionsPattern", R}}},
    {"batch.v1.SuccessPolicyRule", {{1, "succeededIndexes", S, K}, {2, "succeededCount", I32, K}}},
    {"batch.v1.PodFailurePolicyOnExitCodesRequirement", {{1, "containerName", S, K}, {2, "operator", S, K},
      {3, "values", I32, R}}},
    {"batch.v1.PodFailurePolicyOnPodConditionsPattern", {{1, "type", S, K}, {2, "status", S, K}}},
    // k8s.io/api/policy/v1
    {"policy.v1.PodDisruptionBudget", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "policy.v1.PodDisruptionBudgetSpec"}, {3, "status", "policy.v1.PodDisruptionBudgetStatus"}}},
    {"policy.v1.Eviction", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "deleteOptions", "meta.v1.DeleteOptions"}}},
    {"policy.v1.PodDisruptionBudgetSpec", {{1, "minAvailable", IOS}, {2, "selector", "meta.v1.LabelSelector"},
      {3, "maxUnavailable", IOS}, {4, "unhealthyPodEvictionPolicy", S, K}}},
    {"policy.v1.PodDisruptionBudgetStatus", {{1, "observedGeneration", I64}, {2, "disruptedPods", T, MAP},
      {3, "disruptionsAllowed", I32, K}, {4, "currentHealthy", I32, K}, {5, "desiredHealthy", I32, K},
      {6, "expectedPods", I32, K}, {7, "conditions", "meta.v1.Condition", R}}},
    // k8s.io/api/coordination/v1
    {"coordination.v1.Lease", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "coordination.v1.LeaseSpec"}}},
    {"coordination.v1.LeaseSpec", {{1, "holderIdentity", S, K}, {2, "leaseDurationSeconds", I32, K},
      {3, "acquireTime", MT}, {4, "renewTime", MT}, {5, "leaseTransitions", I32, K}, {6, "strategy", S, K},
      {7, "preferredHolder", S, K}}},
    // k8s.io/api/autoscaling/v1
    {"autoscaling.v1.Scale", {{1, "metadata", "meta.v1.ObjectMeta"}, {2, "spec", "autoscaling.v1.ScaleSpec"},
      {3, "status", "autoscaling.v1.ScaleStatus"}}},
    {"autoscaling.v1.ScaleSpec", {{1, "replicas", I32}}},
    {"autoscaling.v1.ScaleStatus", {{1, "replicas", I32, K}, {2, "selector", S}}},
    // k8s.io/api/autoscaling/v2
    {"autoscaling.v2.HorizontalPodAutoscaler", {{1, "metadata", "meta.v1.ObjectMeta"},
      {2, "spec", "autoscaling.v2.HorizontalPodAutoscalerSpec"},
      {3, "status", "autoscaling.v2.HorizontalPodAutoscalerStatus"}}},
    {"autoscaling.v2.HorizontalPodAutoscalerSpec", {{1, "scaleTargetRef", "autoscaling.v2.CrossVersionObjectReference"},
      {2, "minReplicas", I32, K}, {3, "maxReplicas", I32, K}, {4, "metrics", "autoscaling.v2.MetricSpec", R},
      {5, "behavior", "autoscaling.v2.HorizontalPodAutoscalerBehavior"}}},
    {"autoscaling.v2.HorizontalPodAutoscalerStatus", {{1, "observedGeneration", I64, K}, {2, "lastScaleTime", T},
      {3, "currentReplicas", I32}, {4, "desiredReplicas", I32, K},
      {5, "currentMetrics", "autoscaling.v2.MetricStatus", R},
      {6, "conditions", "autoscaling.v2.HorizontalPodAutoscalerCondition", R}}},
    {"autoscaling.v2.CrossVersionObjectReference", {{1, "kind", S, K}, {2, "name", S, K}, {3, "apiVersion", S}}},
    {"autoscaling.v2.MetricSpec", {{1, "type", S, K}, {2, "object", "autoscaling.v2.ObjectMetricSource"},
      {3, "pods", "autoscaling.v2.PodsMetricSource"}, {4, "resource", "autoscaling.v2.ResourceMetricSource"},
      {5, "external", "autoscaling.v2.ExternalMetricSource"},
      {7, "containerResource", "autoscaling.v2.ContainerResourceMetricSource"}}},
    {"autoscaling.v2.HorizontalPodAutoscalerBehavior", {{1, "scaleUp", "autoscaling.v2.HPAScalingRules"},
      {2, "scaleDown", "autoscaling.v2.HPAScalingRules"}}},
    {"autoscaling.v2.MetricStatus", {{1, "type", S, K}, {2, "object", "autoscaling.v2.ObjectMetricStatus"},
      {3, "pods", "autoscaling.v2.PodsMetricStatus"}, {4, "resource", "autoscaling.v2.ResourceMetricStatus"},
      {5, "external", "autoscaling.v2.ExternalMetricStatus"},
      {7, "containerResource", "autoscaling.v2.ContainerResourceMetricStatus"}}},
    {"autoscaling.v2.HorizontalPodAutoscalerCondition", {{1, "type", S, K}, {2, "status", S, K},
      {3, "lastTransitionTime", T}, {4, "reason", S}, {5, "message", S}}},
    {"autoscaling.v2.ObjectMetricSource", {{1, "describedObject", "autoscaling.v2.CrossVersionObjectReference"},
      {2, "target", "autoscaling.v2.MetricTarget"}, {3, "metric", "autoscaling.v2.MetricIdentifier"}}},
    {"autoscaling.v2.PodsMetricSource", {{1, "metric", "autoscaling.v2.MetricIdentifier"},
      {2, "target", "autoscaling.v2.MetricTarget"}}},
    {"autoscaling.v2.ResourceMetricSource", {{1, "name", S, K}, {2, "target", "autoscaling.v2.MetricTarget"}}},
    {"autoscaling.v2.ContainerResourceMetricSource", {{1, "name", S, K},
      {2, "target", "autoscaling.v2.MetricTarget"}, {3, "container", S, K}}},
    {"autoscaling.v2.ExternalMetricSource", {{1, "metric", "autoscaling.v2.MetricIdentifier"},
      {2, "target", "autoscaling.v2.MetricTarget"}}},
    {"autoscaling.v2.HPAScalingRules", {{1, "selectPolicy", S, K},
      {2, "policies", "autoscaling.v2.HPAScalingPolicy", R}, {3, "stabilizationWindowSeconds", I32, K}}},
    {"autoscaling.v2.ObjectMetricStatus", {{1, "metric", "autoscaling.v2.MetricIdentifier"},
      {2, "current", "autoscaling.v2.MetricValueStatus"},
      {3, "describedObject", "autoscaling.v2.CrossVersionObjectReference"}}},
    {"autoscaling.v2.PodsMetricStatus", {{1, "metric", "autoscaling.v2.MetricIdentifier"},
      {2, "current", "autoscaling.v2.MetricValueStatus"}}},
    {"autoscaling.v2.ResourceMetricStatus", {{1, "name", S, K}, {2, "current", "autoscaling.v2.MetricValueStatus"}}},
    {"autoscaling.v2.ContainerResourceMetricStatus", {{1, "name", S, K},
      {2, "current", "autoscaling.v2.MetricValueStatus"}, {3, "container", S, K}}},
    {"autoscaling.v2.ExternalMetricStatus", {{1, "metric", "autoscaling.v2.MetricIdentifier"},
      {2, "current", "autoscaling.v2.MetricValueStatus"}}},
    {"autoscaling.v2.MetricTarget", {{1, "type", S, K}, {2, "value", Q}, {3, "averageValue", Q},
      {4, "averageUtilization", I32, K}}},
    {"autoscaling.v2.MetricIdentifier", {{1, "name", S, K}, {2, "selector", "meta.v1.LabelSelector"}}},
    {"autoscaling.v2.HPAScalingPolicy", {{1, "type", S, K}, {2, "value", I32, K}, {3, "periodSeconds", I32, K}}},
    {"autoscaling.v2.MetricValueStatus", {{1, "value", Q}, {2, "averageValue", Q},
      {3, "averageUtilization", I32, K}}},
};
// clang-format on

}  // namespace

absl::Span<const Message> AppsMessages() { return kMessages; }

}  // namespace herd::sim::schema::internal
