// Column definitions per kind, as v1.26's AddHandlers registers them. The
// descriptions are the API documentation strings upstream attaches (most of
// them its types' SwaggerDoc text), so a table from kubesim differs from a
// real server's in nothing a client can see.
#include <array>

#include "nlohmann/json.hpp"
#include "sim/tables/tables.h"

namespace herd::sim {
namespace {

using nlohmann::json;

constexpr char kNameDoc[] =
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended for "
    "creation idempotence and configuration definition. Cannot be updated. More info: "
    "http://kubernetes.io/docs/user-guide/identifiers#names";
constexpr char kAgeDoc[] =
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is "
    "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
constexpr char kContainersDoc[] = "Names of each container in the template.";
constexpr char kImagesDoc[] = "Images referenced by each container in the template.";
constexpr char kReadyPodsDoc[] = "Number of the pod with ready state";
constexpr char kJobSelectorDoc[] =
    "A label query over pods that should match the pod count. Normally, the system sets this field for you. More "
    "info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr char kNodeAddressesDoc[] =
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: "
    "https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This field is declared as mergeable, but the "
    "merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should "
    "instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example.";

json Col(const char* name, const char* description, int priority = 0, const char* type = "string",
         const char* format = "") {
  return json{{"name", name}, {"type", type}, {"format", format}, {"description", description}, {"priority", priority}};
}
json NameCol() { return Col("Name", kNameDoc, 0, "string", "name"); }
json AgeCol() { return Col("Age", kAgeDoc); }

json Columns(ResourceId r) {
  switch (r) {
    case kPods:
      return json::array({
          NameCol(),
          Col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
          Col("Status", "The aggregate status of the containers in this pod."),
          Col("Restarts",
              "The number of times the containers in this pod have been restarted and when the last container in "
              "this pod has restarted."),
          AgeCol(),
          Col("IP",
              "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
          Col("Node",
              "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler "
              "simply schedules this pod onto that node, assuming that it fits resource requirements.",
              1),
          Col("Nominated Node",
              "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be "
              "scheduled right away as preemption victims receive their graceful termination periods. This field "
              "does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod "
              "elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on "
              "this node to a higher priority pod that is created after preemption. As a result, this field may be "
              "different than PodSpec.nodeName when the pod is scheduled.",
              1),
          Col("Readiness Gates",
              "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its "
              "containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" "
              "More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
              1),
      });
    case kDeployments:
      return json::array({
          NameCol(),
          Col("Ready", kReadyPodsDoc),
          Col("Up-to-date",
              "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
          Col("Available",
              "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
          AgeCol(),
          Col("Containers", kContainersDoc, 1),
          Col("Images", kImagesDoc, 1),
          Col("Selector",
              "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones "
              "affected by this deployment.",
              1),
      });
    case kReplicaSets:
      return json::array({
          NameCol(),
          Col("Desired",
              "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero "
              "and unspecified. Defaults to 1. More info: "
              "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/"
              "#what-is-a-replicationcontroller",
              0, "integer"),
          Col("Current",
              "Replicas is the most recently observed number of replicas. More info: "
              "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/"
              "#what-is-a-replicationcontroller",
              0, "integer"),
          Col("Ready", "The number of ready replicas for this replica set.", 0, "integer"),
          AgeCol(),
          Col("Containers", kContainersDoc, 1),
          Col("Images", kImagesDoc, 1),
          Col("Selector",
              "Selector is a label query over pods that should match the replica count. If the selector is empty, it "
              "is defaulted to the labels present on the pod template. Label keys and values that must match in "
              "order to be controlled by this replica set. More info: "
              "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
              1),
      });
    case kStatefulSets:
      return json::array({
          NameCol(),
          Col("Ready", kReadyPodsDoc),
          AgeCol(),
          Col("Containers", kContainersDoc, 1),
          Col("Images", kImagesDoc, 1),
      });
    case kControllerRevisions:
      return json::array({
          NameCol(),
          Col("Controller", "Controller of the object"),
          Col("Revision", "Revision indicates the revision of the state represented by Data."),
          AgeCol(),
      });
    case kJobs:
      return json::array({
          NameCol(),
          Col("Completions", "The number of pods which reached phase Succeeded."),
          Col("Duration", "Time required to complete the job."),
          AgeCol(),
          Col("Containers", kContainersDoc, 1),
          Col("Images", kImagesDoc, 1),
          Col("Selector", kJobSelectorDoc, 1),
      });
    case kCronJobs:
      return json::array({
          NameCol(),
          Col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
          Col("Suspend",
              "This flag tells the controller to suspend subsequent executions, it does not apply to already started "
              "executions.  Defaults to false.",
              0, "boolean"),
          Col("Active", "A list of pointers to currently running jobs.", 0, "integer"),
          Col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
          AgeCol(),
          Col("Containers", kContainersDoc, 1),
          Col("Images", kImagesDoc, 1),
          Col("Selector", kJobSelectorDoc, 1),
      });
    case kPodDisruptionBudgets:
      return json::array({
          NameCol(),
          Col("Min Available", "The minimum number of pods that must be available."),
          Col("Max Unavailable", "The maximum number of pods that may be unavailable."),
          Col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", 0, "integer"),
          AgeCol(),
      });
    case kLeases:
      return json::array({
          NameCol(),
          Col("Holder", "holderIdentity contains the identity of the holder of a current lease."),
          AgeCol(),
      });
    case kHorizontalPodAutoscalers:
    case kHorizontalPodAutoscalersV1:
      return json::array({
          NameCol(),
          Col("Reference",
              "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics "
              "should be collected, as well as to actually change the replica count."),
          Col("Targets",
              "metrics contains the specifications for which to use to calculate the desired replica count (the "
              "maximum replica count across all metrics will be used).  The desired replica count is calculated "
              "multiplying the ratio between the target value and the current value by the current number of pods.  "
              "Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual "
              "metric source types for more information about how each type of metric must respond."),
          Col("MinPods",
              "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It "
              "defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled "
              "and at least one Object or External metric is configured.  Scaling is active as long as at least one "
              "metric value is available."),
          Col("MaxPods",
              "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It "
              "cannot be less that minReplicas."),
          Col("Replicas",
              "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the "
              "autoscaler."),
          AgeCol(),
      });
    case kNamespaces:
      return json::array({NameCol(), Col("Status", "The status of the namespace"), AgeCol()});
    case kNodes:
      return json::array({
          NameCol(),
          Col("Status", "The status of the node"),
          Col("Roles", "The roles of the node"),
          AgeCol(),
          Col("Version", "Kubelet Version reported by the node."),
          Col("Internal-IP", kNodeAddressesDoc, 1),
          Col("External-IP", kNodeAddressesDoc, 1),
          Col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
          Col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
          Col("Container-Runtime",
              "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
      });
    case kEvents:
      return json::array({
          Col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
          Col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
          Col("Reason",
              "This should be a short, machine understandable string that gives the reason for the transition into "
              "the object's current status."),
          Col("Object", "The object that this event is about."),
          Col("Subobject",
              "If referring to a piece of an object instead of an entire object, this string should contain a valid "
              "JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the "
              "object reference is to a container within a pod, this would take on a value like: "
              "\"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the "
              "event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this "
              "pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
              1),
          Col("Source", "The component reporting this event. Should be a short machine understandable string.", 1),
          Col("Message", "A human-readable description of the status of this operation."),
          Col("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
              1),
          Col("Count", "The number of times this event has occurred.", 1),
          Col("Name", kNameDoc, 1, "string", "name"),
      });
    case kConfigMaps:
      return json::array({
          NameCol(),
          Col("Data",
              "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or "
              "'.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must "
              "not overlap with the keys in the BinaryData field, this is enforced during validation process."),
          AgeCol(),
      });
    case kServices:
      return json::array({
          NameCol(),
          Col("Type",
              "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, "
              "ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for "
              "load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by "
              "manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no "
              "virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual "
              "IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same "
              "endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer "
              "(if supported in the current cloud) which routes to the same endpoints as the clusterIP. "
              "\"ExternalName\" aliases this service to the specified externalName. Several other fields do not "
              "apply to ExternalName services. More info: "
              "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"),
          Col("Cluster-IP",
              "clusterIP is the IP address of the service and is usually assigned randomly. If an address is "
              "specified manually, is in-range (as per system configuration), and is not in use, it will be allocated "
              "to the service; otherwise creation of the service will fail. This field may not be changed through "
              "updates unless the type field is also being changed to ExternalName (which requires this field to be "
              "blank) or the type field is being changed from ExternalName (in which case this field may optionally "
              "be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP "
              "address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when "
              "direct endpoint connections are preferred and proxying is not required.  Only applies to types "
              "ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type "
              "ExternalName, creation will fail. This field will be wiped when updating a Service to type "
              "ExternalName. More info: "
              "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"),
          Col("External-IP",
              "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for "
              "this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that "
              "traffic arrives at a node with this IP.  A common example is external load-balancers that are not "
              "part of the Kubernetes system."),
          Col("Port(s)",
              "The list of ports that are exposed by this service. More info: "
              "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"),
          AgeCol(),
          Col("Selector",
              "Route service traffic to pods with label keys and values matching this selector. If empty or not "
              "present, the service is assumed to have an external process managing its endpoints, which Kubernetes "
              "will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is "
              "ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
              1),
      });
    case kServiceAccounts:
      return json::array({
          NameCol(),
          Col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this "
                         "ServiceAccount are allowed to use.", 0, "integer"),
          AgeCol(),
      });
    case kRoles:
    case kClusterRoles:
      return json::array({NameCol(), Col("Created At", kAgeDoc, 0, "string", "date")});
    case kRoleBindings:
    case kClusterRoleBindings:
      return json::array({
          NameCol(),
          Col("Role", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global "
                      "namespace. If the RoleRef cannot be resolved, the Authorizer must return an error."),
          AgeCol(),
          Col("Users", "Users in the binding", 1),
          Col("Groups", "Groups in the binding", 1),
          Col("ServiceAccounts", "ServiceAccounts in the binding", 1),
      });
    case kTokenReviews:
    case kSelfSubjectAccessReviews:
    case kSelfSubjectRulesReviews:
    case kSubjectAccessReviews:
    case kLocalSubjectAccessReviews:
    case kResourceCount:
      break;
  }
  return json::array();
}

}  // namespace

const json& TableColumns(ResourceId r) {
  // Built once and never destroyed, so references stay valid during exit.
  static const auto* const kAll = [] {
    auto* all = new std::array<json, kResourceCount + 1>();
    for (int i = 0; i < kResourceCount; ++i) (*all)[i] = Columns(static_cast<ResourceId>(i));
    (*all)[kResourceCount] = json::array();
    return all;
  }();
  if (r < 0 || r >= kResourceCount) return (*kAll)[kResourceCount];
  return (*kAll)[r];
}

}  // namespace herd::sim
