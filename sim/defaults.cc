#include "sim/defaults.h"

#include <string>

#include "sim/names.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

void SetDefault(Json& obj, const char* key, Json value) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = std::move(value);
}

// An image without a tag (or tagged :latest) is pulled Always, as upstream.
std::string PullPolicyFor(const std::string& image) {
  if (image.find('@') != std::string::npos) return "IfNotPresent";
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!has_tag) return "Always";
  return image.substr(colon + 1) == "latest" ? "Always" : "IfNotPresent";
}

void DefaultContainer(Json& c) {
  SetDefault(c, "resources", Json::object());
  SetDefault(c, "terminationMessagePath", "/dev/termination-log");
  SetDefault(c, "terminationMessagePolicy", "File");
  SetDefault(c, "imagePullPolicy", PullPolicyFor(c.value("image", "")));
  if (c.contains("ports") && c["ports"].is_array()) {
    for (auto& p : c["ports"]) SetDefault(p, "protocol", "TCP");
  }
  if (c.contains("env") && c["env"].is_array()) {
    for (auto& e : c["env"]) {
      if (e.contains("valueFrom") && e["valueFrom"].contains("fieldRef")) {
        SetDefault(e["valueFrom"]["fieldRef"], "apiVersion", "v1");
      }
    }
  }
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    if (!c.contains(probe) || !c[probe].is_object()) continue;
    Json& p = c[probe];
    SetDefault(p, "timeoutSeconds", 1);
    SetDefault(p, "periodSeconds", 10);
    SetDefault(p, "successThreshold", 1);
    SetDefault(p, "failureThreshold", 3);
    if (p.contains("httpGet")) SetDefault(p["httpGet"], "scheme", "HTTP");
  }
}

void DefaultTemplate(Json& tmpl) {
  if (!tmpl.is_object()) return;
  SetDefault(tmpl, "metadata", Json::object());
  // A template's metadata carries a null creationTimestamp, as Go encodes
  // the zero time.
  if (!tmpl["metadata"].contains("creationTimestamp")) tmpl["metadata"]["creationTimestamp"] = nullptr;
  SetDefault(tmpl, "spec", Json::object());
  DefaultPodSpec(tmpl["spec"]);
}

void DefaultDeployment(Json& d) {
  Json& spec = d["spec"];
  SetDefault(spec, "replicas", 1);
  SetDefault(spec, "strategy", Json::object());
  Json& strategy = spec["strategy"];
  SetDefault(strategy, "type", "RollingUpdate");
  if (strategy["type"] == "RollingUpdate") {
    SetDefault(strategy, "rollingUpdate", Json::object());
    SetDefault(strategy["rollingUpdate"], "maxUnavailable", "25%");
    SetDefault(strategy["rollingUpdate"], "maxSurge", "25%");
  }
  SetDefault(spec, "revisionHistoryLimit", 10);
  SetDefault(spec, "progressDeadlineSeconds", 600);
  if (spec.contains("template")) DefaultTemplate(spec["template"]);
}

void DefaultStatefulSet(Json& s) {
  Json& spec = s["spec"];
  SetDefault(spec, "replicas", 1);
  SetDefault(spec, "podManagementPolicy", "OrderedReady");
  SetDefault(spec, "updateStrategy", Json::object());
  Json& us = spec["updateStrategy"];
  SetDefault(us, "type", "RollingUpdate");
  if (us["type"] == "RollingUpdate") {
    SetDefault(us, "rollingUpdate", Json::object());
    SetDefault(us["rollingUpdate"], "partition", 0);
  }
  SetDefault(spec, "revisionHistoryLimit", 10);
  SetDefault(spec, "persistentVolumeClaimRetentionPolicy",
             Json{{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}});
  if (spec.contains("template")) DefaultTemplate(spec["template"]);
}

void DefaultJobSpec(Json& spec) {
  SetDefault(spec, "parallelism", 1);
  // A job with neither completions nor parallelism set runs one pod to success.
  if (!spec.contains("completions")) spec["completions"] = spec["parallelism"] == 1 ? Json(1) : Json(nullptr);
  if (spec["completions"].is_null()) spec.erase("completions");
  SetDefault(spec, "backoffLimit", 6);
  SetDefault(spec, "completionMode", "NonIndexed");
  SetDefault(spec, "suspend", false);
  if (spec.contains("template")) {
    DefaultTemplate(spec["template"]);
  }
}

void DefaultCronJob(Json& c) {
  Json& spec = c["spec"];
  SetDefault(spec, "concurrencyPolicy", "Allow");
  SetDefault(spec, "suspend", false);
  SetDefault(spec, "successfulJobsHistoryLimit", 3);
  SetDefault(spec, "failedJobsHistoryLimit", 1);
  if (spec.contains("jobTemplate")) {
    Json& jt = spec["jobTemplate"];
    SetDefault(jt, "metadata", Json::object());
    if (!jt["metadata"].contains("creationTimestamp")) jt["metadata"]["creationTimestamp"] = nullptr;
    SetDefault(jt, "spec", Json::object());
    Json& js = jt["spec"];
    // The CronJob's job template is defaulted like a Job, minus the fields
    // the Job controller fills in per Job.
    if (js.contains("template")) DefaultTemplate(js["template"]);
  }
}

void DefaultHorizontalPodAutoscaler(Json& h) {
  SetDefault(h, "spec", Json::object());
  Json& spec = h["spec"];
  SetDefault(spec, "minReplicas", 1);
  if (!spec.contains("metrics") || !spec["metrics"].is_array() || spec["metrics"].empty()) {
    spec["metrics"] = Json::array({{{"type", "Resource"},
                                    {"resource",
                                     {{"name", "cpu"},
                                      {"target", {{"type", "Utilization"}, {"averageUtilization", 80}}}}}}});
  }
}

}  // namespace

void PrepareJobForCreate(Json& job) {
  Json& meta = job["metadata"];
  const std::string uid = meta.value("uid", "");
  Json& spec = job["spec"];
  if (!spec.value("manualSelector", false)) {
    Json& tmpl = spec["template"];
    if (!tmpl.is_object()) tmpl = Json::object();
    if (!tmpl.contains("metadata") || !tmpl["metadata"].is_object()) tmpl["metadata"] = Json::object();
    Json& labels = tmpl["metadata"]["labels"];
    if (!labels.is_object()) labels = Json::object();
    if (!labels.contains("job-name")) labels["job-name"] = meta.value("name", "");
    if (!labels.contains("controller-uid")) labels["controller-uid"] = uid;
    Json& selector = spec["selector"];
    if (!selector.is_object()) selector = Json::object();
    if (!selector.contains("matchLabels") || !selector["matchLabels"].is_object()) {
      selector["matchLabels"] = Json::object();
    }
    if (!selector["matchLabels"].contains("controller-uid")) selector["matchLabels"]["controller-uid"] = uid;
  }
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) meta["annotations"] = Json::object();
  meta["annotations"]["batch.kubernetes.io/job-tracking"] = "";
  const Json tmpl_labels = spec["template"]["metadata"].value("labels", Json::object());
  if ((!meta.contains("labels") || !meta["labels"].is_object() || meta["labels"].empty()) && !tmpl_labels.empty()) {
    meta["labels"] = tmpl_labels;
  }
}

void DefaultPodSpec(Json& spec) {
  if (!spec.is_object()) return;
  for (const char* list : {"containers", "initContainers"}) {
    if (spec.contains(list) && spec[list].is_array()) {
      for (auto& c : spec[list]) DefaultContainer(c);
    }
  }
  SetDefault(spec, "restartPolicy", "Always");
  SetDefault(spec, "terminationGracePeriodSeconds", 30);
  SetDefault(spec, "dnsPolicy", "ClusterFirst");
  SetDefault(spec, "securityContext", Json::object());
  SetDefault(spec, "schedulerName", "default-scheduler");
}

void AdmitNewPod(Json& pod) {
  Json& spec = pod["spec"];
  SetDefault(spec, "serviceAccountName", "default");
  spec["serviceAccount"] = spec["serviceAccountName"];
  SetDefault(spec, "priority", 0);
  SetDefault(spec, "enableServiceLinks", true);
  SetDefault(spec, "preemptionPolicy", "PreemptLowerPriority");
  // The DefaultTolerationSeconds admission plugin.
  if (!spec.contains("tolerations")) spec["tolerations"] = Json::array();
  for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    bool present = false;
    for (const auto& t : spec["tolerations"]) {
      if (t.value("key", "") == key) present = true;
    }
    if (!present) {
      spec["tolerations"].push_back(
          {{"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}});
    }
  }
  // The ServiceAccount admission plugin mounts a projected token volume.
  bool automount = spec.value("automountServiceAccountToken", true);
  if (automount) {
    std::string vol = "kube-api-access-" + RandomSuffix(5);
    Json volume = {{"name", vol},
                   {"projected",
                    {{"sources",
                      Json::array({{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
                                   {{"configMap",
                                     {{"name", "kube-root-ca.crt"},
                                      {"items", Json::array({{{"key", "ca.crt"}, {"path", "ca.crt"}}})}}}},
                                   {{"downwardAPI",
                                     {{"items", Json::array({{{"path", "namespace"},
                                                              {"fieldRef",
                                                               {{"apiVersion", "v1"},
                                                                {"fieldPath", "metadata.namespace"}}}}})}}}}})},
                     {"defaultMode", 420}}}};
    if (!spec.contains("volumes")) spec["volumes"] = Json::array();
    spec["volumes"].insert(spec["volumes"].begin(), volume);
    for (const char* list : {"containers", "initContainers"}) {
      if (!spec.contains(list)) continue;
      for (auto& c : spec[list]) {
        if (!c.contains("volumeMounts")) c["volumeMounts"] = Json::array();
        c["volumeMounts"].push_back({{"name", vol},
                                     {"readOnly", true},
                                     {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}});
      }
    }
  }
  // QoS: BestEffort without requests/limits, Guaranteed when every
  // container's requests equal its limits for cpu and memory.
  bool any = false, guaranteed = true;
  for (const auto& c : spec.value("containers", Json::array())) {
    Json res = c.value("resources", Json::object());
    Json req = res.value("requests", Json::object()), lim = res.value("limits", Json::object());
    if (!req.empty() || !lim.empty()) any = true;
    for (const char* k : {"cpu", "memory"}) {
      if (!lim.contains(k) || (req.contains(k) && req[k] != lim[k])) guaranteed = false;
    }
  }
  if (!pod.contains("status") || !pod["status"].is_object()) pod["status"] = Json::object();
  pod["status"]["qosClass"] = !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

namespace {

// What Go's encoding/json leaves out (ObjectMeta's omitempty fields): an
// emptied map or list of any metadata in the object, e.g. a pod template's
// annotations after a merge patch removed the last one, is stored and
// served without the field, and so compares equal to a template that
// never had it.
void DropEmptyMetadataFields(Json& node) {
  if (node.is_array()) {
    for (auto& item : node) DropEmptyMetadataFields(item);
    return;
  }
  if (!node.is_object()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == "metadata" && it.value().is_object()) {
      Json& meta = it.value();
      for (const char* field : {"labels", "annotations", "ownerReferences", "finalizers"}) {
        auto f = meta.find(field);
        if (f != meta.end() && (f->is_null() || ((f->is_object() || f->is_array()) && f->empty()))) meta.erase(f);
      }
    }
    if (it.value().is_structured()) DropEmptyMetadataFields(it.value());
  }
}

}  // namespace

void ApplyDefaults(ResourceId r, Json& obj) {
  DropEmptyMetadataFields(obj);
  if (!obj.contains("spec") || !obj["spec"].is_object()) {
    switch (r) {
      case kDeployments:
      case kReplicaSets:
      case kStatefulSets:
      case kJobs:
      case kCronJobs:
      case kPods:
        obj["spec"] = Json::object();
        break;
      default:
        break;
    }
  }
  switch (r) {
    case kPods:
      DefaultPodSpec(obj["spec"]);
      break;
    case kDeployments:
      DefaultDeployment(obj);
      break;
    case kReplicaSets:
      SetDefault(obj["spec"], "replicas", 1);
      if (obj["spec"].contains("template")) DefaultTemplate(obj["spec"]["template"]);
      break;
    case kStatefulSets:
      DefaultStatefulSet(obj);
      break;
    case kJobs:
      DefaultJobSpec(obj["spec"]);
      break;
    case kCronJobs:
      DefaultCronJob(obj);
      break;
    case kHorizontalPodAutoscalers:
      DefaultHorizontalPodAutoscaler(obj);
      break;
    case kNamespaces:
      SetDefault(obj, "spec", Json::object());
      SetDefault(obj["spec"], "finalizers", Json::array({"kubernetes"}));
      obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"].value("name", "");
      break;
    case kServices: {
      SetDefault(obj, "spec", Json::object());
      Json& spec = obj["spec"];
      SetDefault(spec, "type", "ClusterIP");
      SetDefault(spec, "sessionAffinity", "None");
      SetDefault(spec, "ipFamilyPolicy", "SingleStack");
      SetDefault(spec, "ipFamilies", Json::array({"IPv4"}));
      SetDefault(spec, "internalTrafficPolicy", "Cluster");
      if (spec.contains("ports")) {
        for (auto& p : spec["ports"]) {
          SetDefault(p, "protocol", "TCP");
          SetDefault(p, "targetPort", p.value("port", 0));
        }
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace herd::sim
