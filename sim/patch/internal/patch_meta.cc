#include "sim/patch/internal/patch_meta.h"

#include <deque>
#include <string>
#include <utility>

namespace herd::sim::patch_internal {
namespace {

// Owns every TypeMeta; the kinds point into it.
class Registry {
 public:
  Registry() { Build(); }

  const TypeMeta* Kind(absl::string_view kind) const {
    auto it = kinds_.find(kind);
    return it == kinds_.end() ? nullptr : it->second;
  }

 private:
  TypeMeta* NewType(std::string name) {
    types_.emplace_back();
    types_.back().name = std::move(name);
    return &types_.back();
  }

  // A struct-typed field without a strategy of its own.
  static void Struct(TypeMeta* parent, const std::string& field, const TypeMeta* type) {
    parent->fields[field].type = type;
  }
  // A list with patchStrategy "merge" (and patchMergeKey when its elements
  // are objects).
  static FieldMeta& MergeList(TypeMeta* parent, const std::string& field, std::string merge_key,
                              const TypeMeta* element = nullptr) {
    FieldMeta& f = parent->fields[field];
    f.merge = true;
    f.merge_key = std::move(merge_key);
    f.type = element;
    return f;
  }

  // The tags below are copied from k8s.io/api v0.26 (core/v1, apps/v1,
  // batch/v1, policy/v1, autoscaling/v2) and k8s.io/apimachinery's
  // metav1.ObjectMeta. Lists not named here (tolerations, envFrom,
  // matchExpressions, taints, …) are atomic: a patch replaces them.
  void Build() {
    TypeMeta* object_meta = NewType("ObjectMeta");
    MergeList(object_meta, "ownerReferences", "uid");
    MergeList(object_meta, "finalizers", "");

    TypeMeta* label_selector = NewType("LabelSelector");

    TypeMeta* container = NewType("Container");
    MergeList(container, "ports", "containerPort");
    MergeList(container, "env", "name");
    MergeList(container, "volumeMounts", "mountPath");
    MergeList(container, "volumeDevices", "devicePath");
    // EphemeralContainer inlines EphemeralContainerCommon, whose tags are
    // Container's.
    const TypeMeta* ephemeral_container = container;

    TypeMeta* pod_spec = NewType("PodSpec");
    MergeList(pod_spec, "volumes", "name").retain_keys = true;
    MergeList(pod_spec, "initContainers", "name", container);
    MergeList(pod_spec, "containers", "name", container);
    MergeList(pod_spec, "ephemeralContainers", "name", ephemeral_container);
    MergeList(pod_spec, "imagePullSecrets", "name");
    MergeList(pod_spec, "hostAliases", "ip");
    MergeList(pod_spec, "topologySpreadConstraints", "topologyKey");
    MergeList(pod_spec, "schedulingGates", "name");
    MergeList(pod_spec, "resourceClaims", "name").retain_keys = true;

    TypeMeta* pod_status = NewType("PodStatus");
    MergeList(pod_status, "conditions", "type");
    MergeList(pod_status, "podIPs", "ip");

    TypeMeta* pod = NewType("Pod");
    Struct(pod, "metadata", object_meta);
    Struct(pod, "spec", pod_spec);
    Struct(pod, "status", pod_status);

    TypeMeta* pod_template = NewType("PodTemplateSpec");
    Struct(pod_template, "metadata", object_meta);
    Struct(pod_template, "spec", pod_spec);

    // Workload status types differ only in their names here: conditions
    // merge by type.
    auto status_with_conditions = [&](std::string name) {
      TypeMeta* t = NewType(std::move(name));
      MergeList(t, "conditions", "type");
      return t;
    };
    auto workload = [&](const std::string& kind, TypeMeta* spec) {
      TypeMeta* t = NewType(kind);
      Struct(t, "metadata", object_meta);
      Struct(t, "spec", spec);
      Struct(t, "status", status_with_conditions(kind + "Status"));
      kinds_.emplace(kind, t);
      return t;
    };
    kinds_.emplace("Pod", pod);

    TypeMeta* deployment_strategy = NewType("DeploymentStrategy");
    TypeMeta* deployment_spec = NewType("DeploymentSpec");
    Struct(deployment_spec, "selector", label_selector);
    Struct(deployment_spec, "template", pod_template);
    FieldMeta& strategy = deployment_spec->fields["strategy"];
    strategy.retain_keys = true;
    strategy.type = deployment_strategy;
    workload("Deployment", deployment_spec);

    TypeMeta* replica_set_spec = NewType("ReplicaSetSpec");
    Struct(replica_set_spec, "selector", label_selector);
    Struct(replica_set_spec, "template", pod_template);
    workload("ReplicaSet", replica_set_spec);

    TypeMeta* stateful_set_spec = NewType("StatefulSetSpec");
    Struct(stateful_set_spec, "selector", label_selector);
    Struct(stateful_set_spec, "template", pod_template);
    workload("StatefulSet", stateful_set_spec);

    TypeMeta* job_spec = NewType("JobSpec");
    Struct(job_spec, "selector", label_selector);
    Struct(job_spec, "template", pod_template);
    workload("Job", job_spec);

    TypeMeta* job_template = NewType("JobTemplateSpec");
    Struct(job_template, "metadata", object_meta);
    Struct(job_template, "spec", job_spec);
    TypeMeta* cron_job_spec = NewType("CronJobSpec");
    Struct(cron_job_spec, "jobTemplate", job_template);
    TypeMeta* cron_job = NewType("CronJob");
    Struct(cron_job, "metadata", object_meta);
    Struct(cron_job, "spec", cron_job_spec);
    Struct(cron_job, "status", NewType("CronJobStatus"));  // active is atomic
    kinds_.emplace("CronJob", cron_job);

    TypeMeta* node_spec = NewType("NodeSpec");
    MergeList(node_spec, "podCIDRs", "");
    TypeMeta* node_status = NewType("NodeStatus");
    MergeList(node_status, "conditions", "type");
    MergeList(node_status, "addresses", "type");
    TypeMeta* node = NewType("Node");
    Struct(node, "metadata", object_meta);
    Struct(node, "spec", node_spec);
    Struct(node, "status", node_status);
    kinds_.emplace("Node", node);

    TypeMeta* namespace_spec = NewType("NamespaceSpec");  // finalizers is atomic here
    TypeMeta* ns = NewType("Namespace");
    Struct(ns, "metadata", object_meta);
    Struct(ns, "spec", namespace_spec);
    Struct(ns, "status", status_with_conditions("NamespaceStatus"));
    kinds_.emplace("Namespace", ns);

    TypeMeta* pdb_spec = NewType("PodDisruptionBudgetSpec");
    FieldMeta& pdb_selector = pdb_spec->fields["selector"];
    pdb_selector.replace = true;
    pdb_selector.type = label_selector;
    TypeMeta* pdb = NewType("PodDisruptionBudget");
    Struct(pdb, "metadata", object_meta);
    Struct(pdb, "spec", pdb_spec);
    Struct(pdb, "status", status_with_conditions("PodDisruptionBudgetStatus"));
    kinds_.emplace("PodDisruptionBudget", pdb);

    TypeMeta* hpa = NewType("HorizontalPodAutoscaler");
    Struct(hpa, "metadata", object_meta);
    Struct(hpa, "spec", NewType("HorizontalPodAutoscalerSpec"));  // metrics is atomic
    Struct(hpa, "status", status_with_conditions("HorizontalPodAutoscalerStatus"));
    kinds_.emplace("HorizontalPodAutoscaler", hpa);

    // Kinds whose only patch metadata is in ObjectMeta.
    for (const char* kind : {"ConfigMap", "Event", "Lease", "Scale"}) {
      TypeMeta* t = NewType(kind);
      Struct(t, "metadata", object_meta);
      kinds_.emplace(kind, t);
    }
  }

  std::deque<TypeMeta> types_;  // a deque keeps the addresses stable
  std::map<std::string, const TypeMeta*, std::less<>> kinds_;
};

}  // namespace

const FieldMeta* TypeMeta::Field(absl::string_view field) const {
  auto it = fields.find(field);
  return it == fields.end() ? nullptr : &it->second;
}

const TypeMeta* TypeMetaForKind(absl::string_view kind) {
  // Built on first use and never destroyed, so no destructor runs at exit
  // while another thread might still be patching.
  static const Registry* const registry = new Registry();
  return registry->Kind(kind);
}

}  // namespace herd::sim::patch_internal
