// Row cells per kind, following v1.26's printers (pkg/printers/internalversion)
// as the API server runs them: always with the wide columns, since the
// client decides what to hide by priority.
#include "sim/tables/tables.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/k8s/time.h"
#include "sim/tables/internal/fields.h"

namespace herd::sim {
namespace {

using nlohmann::json;
using tables_internal::Age;
using tables_internal::Array;
using tables_internal::ContainerCells;
using tables_internal::Containers;
using tables_internal::Find;
using tables_internal::FormatLabels;
using tables_internal::FormatLabelSelector;
using tables_internal::Has;
using tables_internal::Int;
using tables_internal::OptBool;
using tables_internal::OptInt;
using tables_internal::Quantity;
using tables_internal::Since;
using tables_internal::Size;
using tables_internal::Str;
using tables_internal::Time;

std::string Name(const json& obj) { return Str(obj, {"metadata", "name"}); }

// Go's metav1.Time.Before on possibly-zero times: a zero time is before any
// set time and not before another zero time.
bool Before(const std::optional<absl::Time>& a, const std::optional<absl::Time>& b) {
  if (!b.has_value()) return false;
  if (!a.has_value()) return true;
  return *a < *b;
}

// ---- Pods ----

bool HasPodReadyCondition(const json& pod) {
  for (const json& c : Array(pod, {"status", "conditions"})) {
    if (Str(c, {"type"}) == "Ready" && Str(c, {"status"}) == "True") return true;
  }
  return false;
}

// The reason a terminated container gives when it set none.
std::string TerminatedWithoutReason(const json& terminated, absl::string_view prefix) {
  const int64_t signal = Int(terminated, {"signal"});
  if (signal != 0) return absl::StrCat(prefix, "Signal:", signal);
  return absl::StrCat(prefix, "ExitCode:", Int(terminated, {"exitCode"}));
}

json PodCells(const json& pod, absl::Time now) {
  int64_t restarts = 0;
  const int64_t total_containers = Size(pod, {"spec", "containers"});
  int64_t ready_containers = 0;
  std::optional<absl::Time> last_restart;

  std::string reason = Str(pod, {"status", "phase"});
  if (const std::string r = Str(pod, {"status", "reason"}); !r.empty()) reason = r;
  for (const json& c : Array(pod, {"status", "conditions"})) {
    if (Str(c, {"type"}) == "PodScheduled" && Str(c, {"reason"}) == "SchedulingGated") reason = "SchedulingGated";
  }

  auto note_last_termination = [&](const json& status) {
    if (!Has(status, {"lastState", "terminated"})) return;
    std::optional<absl::Time> finished = Time(status, {"lastState", "terminated", "finishedAt"});
    if (Before(last_restart, finished)) last_restart = finished;
  };

  bool initializing = false;
  const json& init_statuses = Array(pod, {"status", "initContainerStatuses"});
  for (size_t i = 0; i < init_statuses.size(); ++i) {
    const json& c = init_statuses[i];
    restarts += Int(c, {"restartCount"});
    note_last_termination(c);
    const json* terminated = Find(c, {"state", "terminated"});
    const json* waiting = Find(c, {"state", "waiting"});
    if (terminated != nullptr && Int(*terminated, {"exitCode"}) == 0) continue;
    if (terminated != nullptr) {
      const std::string r = Str(*terminated, {"reason"});
      reason = r.empty() ? TerminatedWithoutReason(*terminated, "Init:") : absl::StrCat("Init:", r);
    } else if (waiting != nullptr && !Str(*waiting, {"reason"}).empty() &&
               Str(*waiting, {"reason"}) != "PodInitializing") {
      reason = absl::StrCat("Init:", Str(*waiting, {"reason"}));
    } else {
      reason = absl::StrCat("Init:", i, "/", Size(pod, {"spec", "initContainers"}));
    }
    initializing = true;
    break;
  }

  if (!initializing) {
    // 1.26 drops init containers' restarts once they are done, but keeps
    // their last termination time as a candidate for "(… ago)".
    restarts = 0;
    bool has_running = false;
    const json& statuses = Array(pod, {"status", "containerStatuses"});
    for (size_t n = statuses.size(); n-- > 0;) {
      const json& c = statuses[n];
      restarts += Int(c, {"restartCount"});
      note_last_termination(c);
      const json* terminated = Find(c, {"state", "terminated"});
      const std::string waiting_reason = Str(c, {"state", "waiting", "reason"});
      if (!waiting_reason.empty()) {
        reason = waiting_reason;
      } else if (terminated != nullptr && !Str(*terminated, {"reason"}).empty()) {
        reason = Str(*terminated, {"reason"});
      } else if (terminated != nullptr) {
        reason = TerminatedWithoutReason(*terminated, "");
      } else if (OptBool(c, {"ready"}).value_or(false) && Has(c, {"state", "running"})) {
        has_running = true;
        ++ready_containers;
      }
    }
    // A finished sidecar-style container must not hide that others still run.
    if (reason == "Completed" && has_running) reason = HasPodReadyCondition(pod) ? "Running" : "NotReady";
  }

  if (Has(pod, {"metadata", "deletionTimestamp"})) {
    reason = Str(pod, {"status", "reason"}) == "NodeLost" ? "Unknown" : "Terminating";
  }

  std::string restarts_cell = absl::StrCat(restarts);
  if (restarts != 0 && last_restart.has_value()) {
    restarts_cell = absl::StrCat(restarts, " (", Since(last_restart, now), " ago)");
  }

  // The internal Pod type carries podIP only through podIPs; v1 objects that
  // set podIP alone are converted into a one-element podIPs.
  std::string pod_ip;
  if (const json& ips = Array(pod, {"status", "podIPs"}); !ips.empty()) {
    pod_ip = Str(ips[0], {"ip"});
  } else {
    pod_ip = Str(pod, {"status", "podIP"});
  }
  if (pod_ip.empty()) pod_ip = "<none>";
  std::string node = Str(pod, {"spec", "nodeName"});
  if (node.empty()) node = "<none>";
  std::string nominated = Str(pod, {"status", "nominatedNodeName"});
  if (nominated.empty()) nominated = "<none>";

  std::string readiness_gates = "<none>";
  if (const json& gates = Array(pod, {"spec", "readinessGates"}); !gates.empty()) {
    int64_t true_conditions = 0;
    for (const json& gate : gates) {
      const std::string type = Str(gate, {"conditionType"});
      for (const json& c : Array(pod, {"status", "conditions"})) {
        if (Str(c, {"type"}) != type) continue;
        if (Str(c, {"status"}) == "True") ++true_conditions;
        break;
      }
    }
    readiness_gates = absl::StrCat(true_conditions, "/", gates.size());
  }

  return json::array({Name(pod), absl::StrCat(ready_containers, "/", total_containers), reason, restarts_cell,
                      Age(pod, now), pod_ip, node, nominated, readiness_gates});
}

// ---- Workloads ----

// Stored apps objects went through defaulting; a replicas field still
// missing reads as the default of 1, as Go's decoder would leave it.
int64_t DesiredReplicas(const json& obj) { return Int(obj, {"spec", "replicas"}, 1); }

json DeploymentCells(const json& d, absl::Time now) {
  const ContainerCells c = Containers(Array(d, {"spec", "template", "spec", "containers"}));
  return json::array({Name(d), absl::StrCat(Int(d, {"status", "readyReplicas"}), "/", DesiredReplicas(d)),
                      Int(d, {"status", "updatedReplicas"}), Int(d, {"status", "availableReplicas"}), Age(d, now),
                      c.names, c.images, tables_internal::LabelSelectorString(Find(d, {"spec", "selector"}))});
}

json ReplicaSetCells(const json& rs, absl::Time now) {
  const ContainerCells c = Containers(Array(rs, {"spec", "template", "spec", "containers"}));
  return json::array({Name(rs), DesiredReplicas(rs), Int(rs, {"status", "replicas"}),
                      Int(rs, {"status", "readyReplicas"}), Age(rs, now), c.names, c.images,
                      FormatLabelSelector(Find(rs, {"spec", "selector"}))});
}

json StatefulSetCells(const json& ss, absl::Time now) {
  const ContainerCells c = Containers(Array(ss, {"spec", "template", "spec", "containers"}));
  return json::array({Name(ss), absl::StrCat(Int(ss, {"status", "readyReplicas"}), "/", DesiredReplicas(ss)),
                      Age(ss, now), c.names, c.images});
}

// "statefulset.apps/web" for the controlling owner, as formatResourceName
// writes a GroupKind and name.
json ControllerRevisionCells(const json& cr, absl::Time now) {
  std::string controller = "<none>";
  for (const json& ref : Array(cr, {"metadata", "ownerReferences"})) {
    if (!OptBool(ref, {"controller"}).value_or(false)) continue;
    const std::string api_version = Str(ref, {"apiVersion"});
    const std::string kind = Str(ref, {"kind"});
    const std::string name = Str(ref, {"name"});
    std::string group;
    if (const size_t slash = api_version.find('/'); slash != std::string::npos) group = api_version.substr(0, slash);
    if (group.empty() && kind.empty()) {
      controller = name;
    } else {
      controller =
          absl::StrCat(absl::AsciiStrToLower(group.empty() ? kind : absl::StrCat(kind, ".", group)), "/", name);
    }
    break;
  }
  return json::array({Name(cr), controller, Int(cr, {"revision"}), Age(cr, now)});
}

json JobCells(const json& job, absl::Time now) {
  const int64_t succeeded = Int(job, {"status", "succeeded"});
  std::string completions;
  if (std::optional<int64_t> want = OptInt(job, {"spec", "completions"}); want.has_value()) {
    completions = absl::StrCat(succeeded, "/", *want);
  } else if (const int64_t parallelism = Int(job, {"spec", "parallelism"}); parallelism > 1) {
    completions = absl::StrCat(succeeded, "/1 of ", parallelism);
  } else {
    completions = absl::StrCat(succeeded, "/1");
  }

  std::string duration;
  const std::optional<absl::Time> start = Time(job, {"status", "startTime"});
  const std::optional<absl::Time> completion = Time(job, {"status", "completionTime"});
  if (start.has_value()) duration = k8s::HumanDuration((completion.has_value() ? *completion : now) - *start);

  const ContainerCells c = Containers(Array(job, {"spec", "template", "spec", "containers"}));
  return json::array({Name(job), completions, duration, Age(job, now), c.names, c.images,
                      FormatLabelSelector(Find(job, {"spec", "selector"}))});
}

json CronJobCells(const json& cj, absl::Time now) {
  std::string suspend = "<unset>";
  if (std::optional<bool> s = OptBool(cj, {"spec", "suspend"}); s.has_value()) suspend = *s ? "True" : "False";
  std::string last_schedule = "<none>";
  if (Has(cj, {"status", "lastScheduleTime"})) last_schedule = Since(Time(cj, {"status", "lastScheduleTime"}), now);

  const ContainerCells c = Containers(Array(cj, {"spec", "jobTemplate", "spec", "template", "spec", "containers"}));
  return json::array({Name(cj), Str(cj, {"spec", "schedule"}), suspend, Size(cj, {"status", "active"}), last_schedule,
                      Age(cj, now), c.names, c.images,
                      FormatLabelSelector(Find(cj, {"spec", "jobTemplate", "spec", "selector"}))});
}

json PodDisruptionBudgetCells(const json& pdb, absl::Time now) {
  auto bound = [&](const char* field) {
    const json* v = Find(pdb, {"spec", field});
    return v != nullptr ? tables_internal::IntOrString(*v) : std::string("N/A");
  };
  return json::array({Name(pdb), bound("minAvailable"), bound("maxUnavailable"),
                      Int(pdb, {"status", "disruptionsAllowed"}), Age(pdb, now)});
}

json LeaseCells(const json& lease, absl::Time now) {
  return json::array({Name(lease), Str(lease, {"spec", "holderIdentity"}), Age(lease, now)});
}

// ---- HorizontalPodAutoscaler (autoscaling/v2 objects) ----

// "current/target" for one metric whose current value is read from the
// status entry at the same index, as formatHPAMetrics pairs them.
std::string FormatMetric(const json& spec, const json* status) {
  const std::string type = Str(spec, {"type"});
  auto status_of = [&](const char* source) -> const json* {
    return status != nullptr ? Find(*status, {source}) : nullptr;
  };
  auto value_or_average = [&](const char* source) {
    const json* cur = status_of(source);
    if (Has(spec, {source, "target", "averageValue"})) {
      std::string current = "<unknown>";
      if (cur != nullptr && Has(*cur, {"current", "averageValue"})) {
        current = Quantity(Find(*cur, {"current", "averageValue"}));
      }
      return absl::StrCat(current, "/", Quantity(Find(spec, {source, "target", "averageValue"})), " (avg)");
    }
    std::string current = "<unknown>";
    if (cur != nullptr) current = Quantity(Find(*cur, {"current", "value"}));
    return absl::StrCat(current, "/", Quantity(Find(spec, {source, "target", "value"})));
  };
  auto resource = [&](const char* source) {
    const json* cur = status_of(source);
    if (Has(spec, {source, "target", "averageValue"})) {
      std::string current = "<unknown>";
      if (cur != nullptr) current = Quantity(Find(*cur, {"current", "averageValue"}));
      return absl::StrCat(current, "/", Quantity(Find(spec, {source, "target", "averageValue"})));
    }
    std::string current = "<unknown>";
    if (cur != nullptr) {
      if (std::optional<int64_t> u = OptInt(*cur, {"current", "averageUtilization"}); u.has_value()) {
        current = absl::StrCat(*u, "%");
      }
    }
    std::string target = "<auto>";
    if (std::optional<int64_t> u = OptInt(spec, {source, "target", "averageUtilization"}); u.has_value()) {
      target = absl::StrCat(*u, "%");
    }
    return absl::StrCat(current, "/", target);
  };

  if (type == "External") return value_or_average("external");
  if (type == "Object") return value_or_average("object");
  if (type == "Pods") {
    const json* cur = status_of("pods");
    const std::string current = cur != nullptr ? Quantity(Find(*cur, {"current", "averageValue"})) : "<unknown>";
    return absl::StrCat(current, "/", Quantity(Find(spec, {"pods", "target", "averageValue"})));
  }
  if (type == "Resource") return resource("resource");
  if (type == "ContainerResource") return resource("containerResource");
  return "<unknown type>";
}

std::string FormatHpaMetrics(const json& hpa) {
  const json& specs = Array(hpa, {"spec", "metrics"});
  if (specs.empty()) return "<none>";
  const json& statuses = Array(hpa, {"status", "currentMetrics"});
  constexpr size_t kMax = 2;
  std::vector<std::string> list;
  for (size_t i = 0; i < specs.size() && i < kMax; ++i) {
    list.push_back(FormatMetric(specs[i], i < statuses.size() ? &statuses[i] : nullptr));
  }
  std::string out = absl::StrJoin(list, ", ");
  if (specs.size() > kMax) absl::StrAppend(&out, " + ", specs.size() - kMax, " more...");
  return out;
}

json HorizontalPodAutoscalerCells(const json& hpa, absl::Time now) {
  const std::string reference =
      absl::StrCat(Str(hpa, {"spec", "scaleTargetRef", "kind"}), "/", Str(hpa, {"spec", "scaleTargetRef", "name"}));
  std::string min_pods = "<unset>";
  if (std::optional<int64_t> m = OptInt(hpa, {"spec", "minReplicas"}); m.has_value()) min_pods = absl::StrCat(*m);
  return json::array({Name(hpa), reference, FormatHpaMetrics(hpa), min_pods, Int(hpa, {"spec", "maxReplicas"}),
                      Int(hpa, {"status", "currentReplicas"}), Age(hpa, now)});
}

// ---- Cluster and config ----

json NamespaceCells(const json& ns, absl::Time now) {
  return json::array({Name(ns), Str(ns, {"status", "phase"}), Age(ns, now)});
}

std::string NodeAddress(const json& node, absl::string_view type) {
  for (const json& a : Array(node, {"status", "addresses"})) {
    if (Str(a, {"type"}) == type) return Str(a, {"address"});
  }
  return "<none>";
}

json NodeCells(const json& node, absl::Time now) {
  // Only the Ready condition counts; a later duplicate overrides an earlier
  // one, as the printer's map does.
  std::optional<std::string> ready;
  for (const json& c : Array(node, {"status", "conditions"})) {
    if (Str(c, {"type"}) == "Ready") ready = Str(c, {"status"});
  }
  std::vector<std::string> status;
  if (ready.has_value()) status.push_back(*ready == "True" ? "Ready" : "NotReady");
  if (status.empty()) status.push_back("Unknown");
  if (OptBool(node, {"spec", "unschedulable"}).value_or(false)) status.push_back("SchedulingDisabled");

  std::set<std::string> roles;
  if (const json* labels = Find(node, {"metadata", "labels"}); labels != nullptr && labels->is_object()) {
    constexpr absl::string_view kRolePrefix = "node-role.kubernetes.io/";
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      const std::string& key = it.key();
      const std::string value = it.value().is_string() ? it.value().get<std::string>() : std::string();
      if (absl::StartsWith(key, kRolePrefix)) {
        if (key.size() > kRolePrefix.size()) roles.insert(key.substr(kRolePrefix.size()));
      } else if (key == "kubernetes.io/role" && !value.empty()) {
        roles.insert(value);
      }
    }
  }
  const std::string roles_cell = roles.empty() ? "<none>" : absl::StrJoin(roles, ",");

  auto or_unknown = [](std::string s) { return s.empty() ? std::string("<unknown>") : s; };
  return json::array({Name(node), absl::StrJoin(status, ","), roles_cell, Age(node, now),
                      Str(node, {"status", "nodeInfo", "kubeletVersion"}), NodeAddress(node, "InternalIP"),
                      NodeAddress(node, "ExternalIP"), or_unknown(Str(node, {"status", "nodeInfo", "osImage"})),
                      or_unknown(Str(node, {"status", "nodeInfo", "kernelVersion"})),
                      or_unknown(Str(node, {"status", "nodeInfo", "containerRuntimeVersion"}))});
}

json EventCells(const json& ev, absl::Time now) {
  const std::optional<absl::Time> first = Time(ev, {"firstTimestamp"});
  const std::string first_seen = Since(first.has_value() ? first : Time(ev, {"eventTime"}), now);
  const std::optional<absl::Time> last = Time(ev, {"lastTimestamp"});
  std::string last_seen = last.has_value() ? Since(last, now) : first_seen;
  int64_t count = Int(ev, {"count"});
  if (Has(ev, {"series"})) {
    last_seen = Since(Time(ev, {"series", "lastObservedTime"}), now);
    count = Int(ev, {"series", "count"});
  } else if (count == 0) {
    // Events written through events.k8s.io leave count unset when single.
    count = 1;
  }

  const std::string kind = absl::AsciiStrToLower(Str(ev, {"involvedObject", "kind"}));
  const std::string involved_name = Str(ev, {"involvedObject", "name"});
  const std::string object = involved_name.empty() ? kind : absl::StrCat(kind, "/", involved_name);

  std::string source = Str(ev, {"source", "component"});
  if (const std::string host = Str(ev, {"source", "host"}); !host.empty()) absl::StrAppend(&source, ", ", host);

  return json::array({last_seen, Str(ev, {"type"}), Str(ev, {"reason"}), object,
                      Str(ev, {"involvedObject", "fieldPath"}), source,
                      std::string(absl::StripAsciiWhitespace(Str(ev, {"message"}))), first_seen, count, Name(ev)});
}

json ConfigMapCells(const json& cm, absl::Time now) {
  return json::array({Name(cm), Size(cm, {"data"}) + Size(cm, {"binaryData"}), Age(cm, now)});
}

// ---- Services ----

std::string ServiceType(const json& svc) {
  std::string type = Str(svc, {"spec", "type"});
  // Defaulting makes an unset type ClusterIP before any printer sees it.
  return type.empty() ? "ClusterIP" : type;
}

std::string ServiceExternalIp(const json& svc, const std::string& type) {
  std::vector<std::string> external_ips;
  for (const json& ip : Array(svc, {"spec", "externalIPs"})) {
    if (ip.is_string()) external_ips.push_back(ip.get<std::string>());
  }
  if (type == "ClusterIP" || type == "NodePort") {
    return external_ips.empty() ? "<none>" : absl::StrJoin(external_ips, ",");
  }
  if (type == "LoadBalancer") {
    // A sorted set, as loadBalancerStatusStringer builds it; the server
    // renders wide, so it is never clipped.
    std::set<std::string> ingress;
    for (const json& in : Array(svc, {"status", "loadBalancer", "ingress"})) {
      if (std::string ip = Str(in, {"ip"}); !ip.empty()) {
        ingress.insert(ip);
      } else if (std::string host = Str(in, {"hostname"}); !host.empty()) {
        ingress.insert(host);
      }
    }
    std::vector<std::string> results(ingress.begin(), ingress.end());
    if (!external_ips.empty()) {
      results.insert(results.end(), external_ips.begin(), external_ips.end());
      return absl::StrJoin(results, ",");
    }
    return results.empty() ? "<pending>" : absl::StrJoin(results, ",");
  }
  if (type == "ExternalName") return Str(svc, {"spec", "externalName"});
  return "<unknown>";
}

json ServiceCells(const json& svc, absl::Time now) {
  const std::string type = ServiceType(svc);
  std::string cluster_ip = "<none>";
  if (const json& ips = Array(svc, {"spec", "clusterIPs"}); !ips.empty() && ips[0].is_string()) {
    cluster_ip = ips[0].get<std::string>();
  } else if (std::string ip = Str(svc, {"spec", "clusterIP"}); !ip.empty()) {
    cluster_ip = ip;
  }

  std::vector<std::string> ports;
  for (const json& p : Array(svc, {"spec", "ports"})) {
    std::string protocol = Str(p, {"protocol"});
    if (protocol.empty()) protocol = "TCP";
    const int64_t node_port = Int(p, {"nodePort"});
    if (node_port > 0) {
      ports.push_back(absl::StrCat(Int(p, {"port"}), ":", node_port, "/", protocol));
    } else {
      ports.push_back(absl::StrCat(Int(p, {"port"}), "/", protocol));
    }
  }
  std::string ports_cell = absl::StrJoin(ports, ",");
  if (ports_cell.empty()) ports_cell = "<none>";

  return json::array({Name(svc), type, cluster_ip, ServiceExternalIp(svc, type), ports_cell, Age(svc, now),
                      FormatLabels(Find(svc, {"spec", "selector"}))});
}

json ServiceAccountCells(const json& sa, absl::Time now) {
  int64_t secrets = sa.contains("secrets") && sa["secrets"].is_array() ? static_cast<int64_t>(sa["secrets"].size()) : 0;
  return json::array({Name(sa), secrets, Age(sa, now)});
}

json RoleCells(const json& role) { return json::array({Name(role), Str(role, {"metadata", "creationTimestamp"})}); }

json BindingCells(const json& b, absl::Time now) {
  std::vector<std::string> users, groups, sas;
  const json* subjects = Find(b, {"subjects"});
  if (subjects != nullptr && subjects->is_array()) {
    for (const auto& s : *subjects) {
      std::string kind = s.value("kind", ""), who = s.value("name", "");
      if (kind == "User") users.push_back(who);
      if (kind == "Group") groups.push_back(who);
      if (kind == "ServiceAccount") sas.push_back(absl::StrCat(s.value("namespace", ""), "/", who));
    }
  }
  return json::array({Name(b),
                      absl::StrCat(Str(b, {"roleRef", "kind"}), "/", Str(b, {"roleRef", "name"})), Age(b, now),
                      absl::StrJoin(users, ", "), absl::StrJoin(groups, ", "), absl::StrJoin(sas, ", ")});
}

}  // namespace

json TableCells(ResourceId r, const json& object, absl::Time now) {
  switch (r) {
    case kPods:
      return PodCells(object, now);
    case kDeployments:
      return DeploymentCells(object, now);
    case kReplicaSets:
      return ReplicaSetCells(object, now);
    case kStatefulSets:
      return StatefulSetCells(object, now);
    case kControllerRevisions:
      return ControllerRevisionCells(object, now);
    case kJobs:
      return JobCells(object, now);
    case kCronJobs:
      return CronJobCells(object, now);
    case kPodDisruptionBudgets:
      return PodDisruptionBudgetCells(object, now);
    case kLeases:
      return LeaseCells(object, now);
    case kHorizontalPodAutoscalers:
    case kHorizontalPodAutoscalersV1:
      return HorizontalPodAutoscalerCells(object, now);
    case kNamespaces:
      return NamespaceCells(object, now);
    case kNodes:
      return NodeCells(object, now);
    case kEvents:
      return EventCells(object, now);
    case kConfigMaps:
      return ConfigMapCells(object, now);
    case kServices:
      return ServiceCells(object, now);
    case kServiceAccounts:
      return ServiceAccountCells(object, now);
    case kRoles:
    case kClusterRoles:
      return RoleCells(object);
    case kRoleBindings:
    case kClusterRoleBindings:
      return BindingCells(object, now);
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

}  // namespace herd::sim
