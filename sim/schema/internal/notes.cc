// What the OpenAPI documents say about fields beyond their shape: list and
// map semantics (from k8s.io/api's listType / patchStrategy markers, which
// server-side apply and strategic merge patch follow), enums, required
// fields, and kubesim's own short descriptions for the types people explain.
#include "sim/schema/internal/tables.h"

namespace herd::sim::schema::internal {
namespace {

constexpr ListType kMapList = ListType::kAssociative;
constexpr ListType kSetList = ListType::kSet;

// A list merged by key (patchStrategy merge, patchMergeKey `merge_key`,
// listType map with `keys`).
constexpr FieldSemantics Keyed(const char* keys, const char* merge_key, const char* description = "",
                               const char* strategy = "merge") {
  return {.description = description, .list_type = kMapList, .map_keys = keys, .patch_strategy = strategy,
          .merge_key = merge_key};
}
constexpr FieldSemantics Set(const char* description = "") {
  return {.description = description, .list_type = kSetList, .patch_strategy = "merge"};
}
constexpr FieldSemantics Doc(const char* description) { return {.description = description}; }
constexpr FieldSemantics Enum(const char* values, const char* description) {
  return {.description = description, .enum_values = values};
}
constexpr FieldSemantics Required(const char* description) { return {.description = description, .required = true}; }

// clang-format off
const FieldNote kFields[] = {
    // metadata
    {"meta.v1.ObjectMeta", "name", Doc("Name of the object, unique within its namespace (or the cluster, for cluster-scoped kinds). Cannot be changed.")},
    {"meta.v1.ObjectMeta", "generateName", Doc("A prefix the server completes with a random suffix when name is empty.")},
    {"meta.v1.ObjectMeta", "namespace", Doc("The namespace the object lives in; empty for cluster-scoped kinds.")},
    {"meta.v1.ObjectMeta", "labels", Doc("Key/value pairs that selectors (of Services, ReplicaSets, Deployments, ...) match on.")},
    {"meta.v1.ObjectMeta", "annotations", Doc("Key/value pairs for tools and people; not used for selection.")},
    {"meta.v1.ObjectMeta", "uid", Doc("Unique in time and space; set by the server.")},
    {"meta.v1.ObjectMeta", "resourceVersion", Doc("The version of the object clients send back on update for optimistic concurrency; opaque.")},
    {"meta.v1.ObjectMeta", "generation", Doc("A sequence number of changes to the desired state, set by the server.")},
    {"meta.v1.ObjectMeta", "creationTimestamp", Doc("When the server created the object.")},
    {"meta.v1.ObjectMeta", "deletionTimestamp", Doc("When the object will be (or started being) deleted; set by the server on a graceful delete.")},
    {"meta.v1.ObjectMeta", "ownerReferences", Keyed("uid", "uid", "Objects this one depends on; when all are gone it is garbage collected.")},
    {"meta.v1.ObjectMeta", "finalizers", Set("Entries that must be removed before a deleted object goes away.")},
    {"meta.v1.ObjectMeta", "managedFields", Doc("Which field manager owns which fields, for server-side apply.")},
    {"meta.v1.LabelSelector", "matchLabels", Doc("Labels an object must carry, all of them.")},
    {"meta.v1.LabelSelector", "matchExpressions", Doc("Requirements on labels, all of which must hold.")},
    // pods
    {"core.v1.PodTemplateSpec", "metadata", Doc("Metadata of the pods made from this template.")},
    {"core.v1.PodTemplateSpec", "spec", Doc("What the pods made from this template run.")},
    {"core.v1.PodSpec", "containers", Keyed("name", "name", "The containers of the pod; at least one.")},
    {"core.v1.PodSpec", "initContainers", Keyed("name", "name", "Containers run to completion, in order, before the others start.")},
    {"core.v1.PodSpec", "ephemeralContainers", Keyed("name", "name", "Containers added to a running pod for debugging.")},
    {"core.v1.PodSpec", "volumes", Keyed("name", "name", "Volumes the pod's containers may mount.", "merge,retainKeys")},
    {"core.v1.PodSpec", "imagePullSecrets", Keyed("name", "name", "Secrets with credentials for pulling the images.")},
    {"core.v1.PodSpec", "hostAliases", Keyed("ip", "ip", "Entries added to the pod's /etc/hosts.")},
    {"core.v1.PodSpec", "topologySpreadConstraints", Keyed("topologyKey,whenUnsatisfiable", "topologyKey", "How the pods of a group spread over topology domains.")},
    {"core.v1.PodSpec", "schedulingGates", Keyed("name", "name", "Gates that keep the pod from being scheduled while present.")},
    {"core.v1.PodSpec", "resourceClaims", Keyed("name", "name", "Resource claims the pod uses.", "merge,retainKeys")},
    {"core.v1.PodSpec", "restartPolicy", Enum("Always,Never,OnFailure", "When the kubelet restarts the pod's containers: Always (the default), OnFailure or Never.")},
    {"core.v1.PodSpec", "dnsPolicy", Enum("ClusterFirst,ClusterFirstWithHostNet,Default,None", "How the pod resolves names.")},
    {"core.v1.PodSpec", "terminationGracePeriodSeconds", Doc("Seconds a container gets between SIGTERM and SIGKILL when the pod is deleted. Default 30.")},
    {"core.v1.PodSpec", "nodeName", Doc("The node the pod runs on; set by the scheduler.")},
    {"core.v1.PodSpec", "nodeSelector", Doc("Labels a node must carry for the pod to be scheduled on it.")},
    {"core.v1.PodSpec", "serviceAccountName", Doc("The ServiceAccount the pod runs as.")},
    {"core.v1.PodSpec", "tolerations", Doc("Taints the pod tolerates.")},
    {"core.v1.PodSpec", "affinity", Doc("Scheduling constraints relative to nodes and other pods.")},
    {"core.v1.PodStatus", "conditions", Keyed("type", "type", "Conditions of the pod: PodScheduled, Initialized, ContainersReady, Ready.")},
    {"core.v1.PodStatus", "podIPs", Keyed("ip", "ip", "The pod's IP addresses.")},
    {"core.v1.PodStatus", "hostIPs", Keyed("ip", "ip", "The node's IP addresses.")},
    {"core.v1.PodStatus", "phase", Enum("Failed,Pending,Running,Succeeded,Unknown", "Where the pod is in its life: Pending, Running, Succeeded, Failed or Unknown.")},
    {"core.v1.PodStatus", "containerStatuses", Doc("The state of each container, as the kubelet last reported it.")},
    {"core.v1.Container", "name", Required("Name of the container, a DNS label unique within the pod.")},
    {"core.v1.Container", "image", Doc("The container image to run.")},
    {"core.v1.Container", "command", Doc("The entrypoint; the image's ENTRYPOINT when empty.")},
    {"core.v1.Container", "args", Doc("Arguments to the entrypoint; the image's CMD when empty.")},
    {"core.v1.Container", "imagePullPolicy", Enum("Always,IfNotPresent,Never", "When the kubelet pulls the image: Always, IfNotPresent or Never. Defaults to Always for the :latest tag, else IfNotPresent.")},
    {"core.v1.Container", "ports", Keyed("containerPort,protocol", "containerPort", "Ports the container exposes (informational).")},
    {"core.v1.Container", "env", Keyed("name", "name", "Environment variables set in the container.")},
    {"core.v1.Container", "volumeMounts", Keyed("mountPath", "mountPath", "Volumes mounted into the container's filesystem.")},
    {"core.v1.Container", "volumeDevices", Keyed("devicePath", "devicePath", "Block devices the container uses.")},
    {"core.v1.Container", "resources", Doc("CPU and memory the container requests and may use at most.")},
    {"core.v1.Container", "readinessProbe", Doc("When the container is ready for traffic.")},
    {"core.v1.Container", "livenessProbe", Doc("When the container is alive; failing it restarts the container.")},
    {"core.v1.Container", "terminationMessagePolicy", Enum("FallbackToLogsOnError,File", "Where the termination message comes from.")},
    {"core.v1.EphemeralContainerCommon", "ports", Keyed("containerPort,protocol", "containerPort")},
    {"core.v1.EphemeralContainerCommon", "env", Keyed("name", "name")},
    {"core.v1.EphemeralContainerCommon", "volumeMounts", Keyed("mountPath", "mountPath")},
    {"core.v1.EphemeralContainerCommon", "volumeDevices", Keyed("devicePath", "devicePath")},
    {"core.v1.ContainerPort", "containerPort", Required("The port number, 1-65535.")},
    {"core.v1.ContainerPort", "protocol", Enum("SCTP,TCP,UDP", "TCP (the default), UDP or SCTP.")},
    {"core.v1.EnvVar", "name", Required("The variable's name.")},
    {"core.v1.VolumeMount", "name", Required("The volume's name.")},
    {"core.v1.VolumeMount", "mountPath", Required("Where the volume appears in the container.")},
    {"core.v1.Volume", "name", Required("The volume's name, which mounts refer to.")},
    {"core.v1.NodeSpec", "podCIDRs", Set("The pod IP ranges of the node.")},
    {"core.v1.NodeStatus", "conditions", Keyed("type", "type", "Conditions of the node: Ready, MemoryPressure, DiskPressure, PIDPressure.")},
    {"core.v1.NodeStatus", "addresses", Keyed("type", "type", "Addresses the node is reached at.")},
    {"core.v1.NamespaceStatus", "conditions", Keyed("type", "type")},
    {"core.v1.NamespaceStatus", "phase", Enum("Active,Terminating", "Active or Terminating.")},
    {"core.v1.ServiceSpec", "ports", Keyed("port,protocol", "port", "The ports the service exposes.")},
    {"core.v1.ServiceSpec", "selector", Doc("Pods with these labels receive the service's traffic.")},
    {"core.v1.ServiceSpec", "type", Enum("ClusterIP,ExternalName,LoadBalancer,NodePort", "How the service is exposed: ClusterIP (the default), NodePort, LoadBalancer or ExternalName.")},
    {"core.v1.ServicePort", "port", Required("The port the service serves on.")},
    {"core.v1.ConfigMap", "data", Doc("The configuration, as UTF-8 strings.")},
    {"core.v1.ConfigMap", "binaryData", Doc("Binary configuration, base64 in JSON.")},
    // apps
    {"apps.v1.DeploymentSpec", "replicas", Doc("How many pods to run. Defaults to 1.")},
    {"apps.v1.DeploymentSpec", "selector", Required("Which pods belong to the Deployment; must match the template's labels and cannot change once set.")},
    {"apps.v1.DeploymentSpec", "template", Required("The pods to run; a change to it starts a rollout.")},
    {"apps.v1.DeploymentSpec", "strategy", {.description = "How a rollout replaces the old pods with new ones.", .patch_strategy = "retainKeys"}},
    {"apps.v1.DeploymentSpec", "minReadySeconds", Doc("How long a new pod must be Ready, without a container crashing, to count as available. Defaults to 0.")},
    {"apps.v1.DeploymentSpec", "revisionHistoryLimit", Doc("How many old ReplicaSets to keep for rollbacks. Defaults to 10.")},
    {"apps.v1.DeploymentSpec", "paused", Doc("A paused Deployment does not roll out changes to its template.")},
    {"apps.v1.DeploymentSpec", "progressDeadlineSeconds", Doc("Seconds a rollout may make no progress before its Progressing condition turns False with ProgressDeadlineExceeded. Defaults to 600.")},
    {"apps.v1.DeploymentStrategy", "type", Enum("Recreate,RollingUpdate", "Recreate (remove every old pod, then start the new ones) or RollingUpdate (replace them a few at a time; the default).")},
    {"apps.v1.DeploymentStrategy", "rollingUpdate", Doc("Limits of a RollingUpdate; only with type RollingUpdate.")},
    {"apps.v1.RollingUpdateDeployment", "maxUnavailable", Doc("How many pods (a number, or a percentage of the desired count, rounded down) may be unavailable during the rollout. Defaults to 25%.")},
    {"apps.v1.RollingUpdateDeployment", "maxSurge", Doc("How many pods (a number, or a percentage of the desired count, rounded up) may run above the desired count during the rollout. Defaults to 25%.")},
    {"apps.v1.DeploymentStatus", "conditions", Keyed("type", "type", "Conditions of the Deployment: Available, Progressing, ReplicaFailure.")},
    {"apps.v1.ReplicaSetSpec", "selector", Required("Which pods the ReplicaSet counts; must match the template's labels.")},
    {"apps.v1.ReplicaSetStatus", "conditions", Keyed("type", "type")},
    {"apps.v1.StatefulSetSpec", "selector", Required("Which pods belong to the StatefulSet; must match the template's labels.")},
    {"apps.v1.StatefulSetSpec", "template", Required("The pods to run, one per ordinal.")},
    {"apps.v1.StatefulSetSpec", "podManagementPolicy", Enum("OrderedReady,Parallel", "OrderedReady (one pod at a time, in ordinal order; the default) or Parallel.")},
    {"apps.v1.StatefulSetUpdateStrategy", "type", Enum("OnDelete,RollingUpdate", "RollingUpdate (the default) or OnDelete.")},
    {"apps.v1.StatefulSetStatus", "conditions", Keyed("type", "type")},
    // batch
    {"batch.v1.JobSpec", "template", Required("The pods the Job runs to completion.")},
    {"batch.v1.JobSpec", "backoffLimit", Doc("Retries before the Job is marked failed. Defaults to 6.")},
    {"batch.v1.JobSpec", "completions", Doc("How many pods must succeed.")},
    {"batch.v1.JobSpec", "parallelism", Doc("How many pods may run at once.")},
    {"batch.v1.JobStatus", "conditions", {.description = "Conditions of the Job: Complete, Failed, Suspended.", .list_type = ListType::kAtomic, .patch_strategy = "merge", .merge_key = "type"}},
    {"batch.v1.CronJobSpec", "schedule", Required("When to run, in cron syntax (\"*/5 * * * *\").")},
    {"batch.v1.CronJobSpec", "jobTemplate", Required("The Job to create at each scheduled time.")},
    {"batch.v1.CronJobSpec", "concurrencyPolicy", Enum("Allow,Forbid,Replace", "What to do when a run is due while the last still runs: Allow (the default), Forbid or Replace.")},
    {"batch.v1.CronJobSpec", "suspend", Doc("A suspended CronJob starts no new Jobs.")},
    // policy
    {"policy.v1.PodDisruptionBudgetSpec", "selector", {.description = "The pods the budget protects.", .patch_strategy = "replace"}},
    {"policy.v1.PodDisruptionBudgetSpec", "minAvailable", Doc("Pods (a number or a percentage) that must stay available during voluntary disruptions.")},
    {"policy.v1.PodDisruptionBudgetSpec", "maxUnavailable", Doc("Pods (a number or a percentage) that may be unavailable during voluntary disruptions.")},
    {"policy.v1.PodDisruptionBudgetStatus", "conditions", Keyed("type", "type")},
    // autoscaling
    {"autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef", Required("The workload whose replicas the autoscaler sets.")},
    {"autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas", Required("The most replicas the autoscaler sets.")},
    {"autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics", {.description = "What the replica count follows.", .list_type = ListType::kAtomic}},
    {"autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", Keyed("type", "type")},
    {"autoscaling.v1.HorizontalPodAutoscalerSpec", "scaleTargetRef", Required("The workload whose replicas the autoscaler sets.")},
    {"autoscaling.v1.HorizontalPodAutoscalerSpec", "maxReplicas", Required("The most replicas the autoscaler sets.")},
    {"autoscaling.v1.HorizontalPodAutoscalerSpec", "targetCPUUtilizationPercentage", Doc("The average CPU use, in percent of the requests, to keep the pods at.")},
    // rbac
    {"rbac.v1.PolicyRule", "verbs", Required("Verbs the rule allows (get, list, watch, create, update, patch, delete, deletecollection, impersonate, ...; * for all).")},
    {"rbac.v1.RoleBinding", "roleRef", Required("The Role or ClusterRole granted; cannot change.")},
    {"rbac.v1.ClusterRoleBinding", "roleRef", Required("The ClusterRole granted; cannot change.")},
    {"rbac.v1.Subject", "kind", Required("User, Group or ServiceAccount.")},
    {"rbac.v1.Subject", "name", Required("The subject's name.")},
    {"rbac.v1.RoleRef", "apiGroup", Required("rbac.authorization.k8s.io")},
    {"rbac.v1.RoleRef", "kind", Required("Role or ClusterRole.")},
    {"rbac.v1.RoleRef", "name", Required("The role's name.")},
};

const MessageNote kMessageNotes[] = {
    {"meta.v1.LabelSelector", {.description = "A query over labels; an empty selector matches everything, a null one nothing.", .atomic = true}},
    {"meta.v1.OwnerReference", {.description = "An object this one belongs to.", .atomic = true}},
    {"meta.v1.ObjectMeta", {.description = "Metadata every persisted object has."}},
    {"core.v1.LocalObjectReference", {.atomic = true}},
    {"core.v1.ObjectReference", {.atomic = true}},
    {"core.v1.ConfigMapKeySelector", {.atomic = true}},
    {"core.v1.SecretKeySelector", {.atomic = true}},
    {"core.v1.ObjectFieldSelector", {.atomic = true}},
    {"core.v1.ResourceFieldSelector", {.atomic = true}},
    {"core.v1.NodeSelector", {.atomic = true}},
    {"core.v1.NodeSelectorTerm", {.atomic = true}},
    {"core.v1.Pod", {.description = "A group of containers that run together on one node."}},
    {"core.v1.PodSpec", {.description = "What a pod runs and how."}},
    {"core.v1.Container", {.description = "One container of a pod."}},
    {"core.v1.ConfigMap", {.description = "Configuration data for pods to read."}},
    {"core.v1.Namespace", {.description = "A scope for names, policies and quotas."}},
    {"core.v1.Node", {.description = "A machine that runs pods."}},
    {"core.v1.Service", {.description = "A stable name and address for a set of pods."}},
    {"core.v1.ServiceAccount", {.description = "An identity for processes that run in pods."}},
    {"core.v1.Event", {.description = "A report of something that happened to an object."}},
    {"apps.v1.Deployment", {.description = "Runs a set of identical pods and rolls out changes to them through ReplicaSets."}},
    {"apps.v1.DeploymentSpec", {.description = "The desired state of a Deployment."}},
    {"apps.v1.DeploymentStrategy", {.description = "How a Deployment replaces its old pods."}},
    {"apps.v1.RollingUpdateDeployment", {.description = "The limits of a rolling update."}},
    {"apps.v1.ReplicaSet", {.description = "Keeps a number of identical pods running."}},
    {"apps.v1.StatefulSet", {.description = "Runs pods with stable names and storage, one per ordinal."}},
    {"apps.v1.ControllerRevision", {.description = "An immutable snapshot of a StatefulSet's template."}},
    {"batch.v1.Job", {.description = "Runs pods until a number of them succeed."}},
    {"batch.v1.CronJob", {.description = "Creates Jobs on a schedule."}},
    {"policy.v1.PodDisruptionBudget", {.description = "Limits how many pods of a set voluntary disruptions (evictions) may take down at once."}},
    {"coordination.v1.Lease", {.description = "A lock with a holder and an expiry, for leader election and heartbeats."}},
    {"autoscaling.v2.HorizontalPodAutoscaler", {.description = "Sets a workload's replicas from metrics."}},
    {"autoscaling.v1.HorizontalPodAutoscaler", {.description = "Sets a workload's replicas from its pods' CPU use."}},
    {"autoscaling.v1.CrossVersionObjectReference", {.atomic = true}},
    {"autoscaling.v2.CrossVersionObjectReference", {.atomic = true}},
    {"rbac.v1.Role", {.description = "Rules granting access to resources in one namespace."}},
    {"rbac.v1.ClusterRole", {.description = "Rules granting access cluster-wide, or in one namespace through a RoleBinding."}},
    {"rbac.v1.RoleBinding", {.description = "Grants a Role's or ClusterRole's rules to subjects in one namespace."}},
    {"rbac.v1.ClusterRoleBinding", {.description = "Grants a ClusterRole's rules to subjects in every namespace."}},
    {"rbac.v1.RoleRef", {.atomic = true}},
    {"rbac.v1.Subject", {.atomic = true}},
};
// clang-format on

}  // namespace

absl::Span<const FieldNote> FieldNotes() { return kFields; }
absl::Span<const MessageNote> MessageNotes() { return kMessageNotes; }

}  // namespace herd::sim::schema::internal
