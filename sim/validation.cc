#include "sim/validation.h"

#include <regex>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/selector.h"
#include "sim/errors.h"
#include "sim/json_text.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

// Go's %v of a value in 422 messages: numbers bare, strings quoted.
std::string GoValue(const Json& v) {
  if (v.is_string()) return absl::StrCat("\"", v.get<std::string>(), "\"");
  if (v.is_null()) return "null";
  return JsonText(v);
}

class Errors {
 public:
  void Required(const std::string& field, const std::string& detail = "") {
    causes_.push_back(Cause("FieldValueRequired", field, detail.empty() ? "Required value" : "Required value: " + detail));
  }
  void Invalid(const std::string& field, const Json& value, const std::string& detail) {
    causes_.push_back(Cause("FieldValueInvalid", field, absl::StrCat("Invalid value: ", GoValue(value), ": ", detail)));
  }
  void NotSupported(const std::string& field, const Json& value, const std::vector<std::string>& supported) {
    std::vector<std::string> quoted;
    for (const auto& s : supported) quoted.push_back(absl::StrCat("\"", s, "\""));
    causes_.push_back(Cause("FieldValueNotSupported", field,
                            absl::StrCat("Unsupported value: ", GoValue(value),
                                         ": supported values: ", absl::StrJoin(quoted, ", "))));
  }
  void Duplicate(const std::string& field, const Json& value) {
    causes_.push_back(Cause("FieldValueDuplicate", field, absl::StrCat("Duplicate value: ", GoValue(value))));
  }
  void Forbidden(const std::string& field, const std::string& detail) {
    causes_.push_back(Cause("FieldValueForbidden", field, absl::StrCat("Forbidden: ", detail)));
  }
  bool empty() const { return causes_.empty(); }
  absl::Status ToStatus(const ResourceType& r, const Json& obj) const {
    if (causes_.empty()) return absl::OkStatus();
    return sim::Invalid(r, obj["metadata"].value("name", obj["metadata"].value("generateName", "")), causes_);
  }

 private:
  Json causes_ = Json::array();
};

const std::regex& DnsLabelRe() {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return re;
}
const std::regex& DnsSubdomainRe() {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return re;
}

void ValidateMeta(const ResourceType& r, const Json& obj, Errors& errs) {
  const Json& meta = obj["metadata"];
  std::string name = meta.value("name", "");
  if (name.empty()) {
    if (meta.value("generateName", "").empty()) errs.Required("metadata.name", "name or generateName is required");
  } else {
    std::string msg;
    if (r.id == kRoles || r.id == kClusterRoles || r.id == kRoleBindings || r.id == kClusterRoleBindings) {
      // RBAC names are path segments ("system:basic-user").
      if (name == "." || name == "..") {
        msg = absl::StrCat("may not be '", name, "'");
      } else if (name.find_first_of("/%") != std::string::npos) {
        msg = absl::StrCat("may not contain '", name.find('/') != std::string::npos ? "/" : "%", "'");
      }
    } else {
      msg = (r.id == kNamespaces || r.id == kServices) ? CheckDnsLabel(name) : CheckDnsSubdomain(name);
    }
    if (!msg.empty()) errs.Invalid("metadata.name", name, msg);
  }
  if (meta.contains("labels") && !meta["labels"].is_null()) {
    if (!meta["labels"].is_object()) {
      errs.Invalid("metadata.labels", meta["labels"], "must be a map of strings");
    } else {
      for (const auto& [k, v] : meta["labels"].items()) {
        if (!v.is_string()) {
          errs.Invalid(absl::StrCat("metadata.labels"), v, "label values must be strings");
          continue;
        }
        auto sel = k8s::LabelSelector::Parse(absl::StrCat(k, "=", v.get<std::string>()));
        if (!sel.ok()) errs.Invalid("metadata.labels", v, std::string(sel.status().message()));
      }
    }
  }
}

void ValidateContainers(const Json& spec, const std::string& path, Errors& errs, bool require_image) {
  if (!spec.contains("containers") || !spec["containers"].is_array() || spec["containers"].empty()) {
    errs.Required(path + ".containers");
    return;
  }
  std::set<std::string> names;
  for (const char* list : {"initContainers", "containers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (size_t i = 0; i < spec[list].size(); ++i) {
      const Json& c = spec[list][i];
      std::string p = absl::StrCat(path, ".", list, "[", i, "]");
      std::string name = c.value("name", "");
      if (name.empty()) {
        errs.Required(p + ".name");
      } else {
        std::string msg = CheckDnsLabel(name);
        if (!msg.empty()) errs.Invalid(p + ".name", name, msg);
        if (!names.insert(name).second) errs.Duplicate(p + ".name", name);
      }
      if (require_image && c.value("image", "").empty()) errs.Required(p + ".image");
      std::string pull = c.value("imagePullPolicy", "IfNotPresent");
      if (pull != "Always" && pull != "IfNotPresent" && pull != "Never") {
        errs.NotSupported(p + ".imagePullPolicy", pull, {"Always", "IfNotPresent", "Never"});
      }
    }
  }
}

void ValidatePodSpec(const Json& spec, const std::string& path, Errors& errs,
                     const std::vector<std::string>& restart_policies) {
  if (!spec.is_object()) {
    errs.Required(path);
    return;
  }
  ValidateContainers(spec, path, errs, true);
  std::string rp = spec.value("restartPolicy", "Always");
  if (std::find(restart_policies.begin(), restart_policies.end(), rp) == restart_policies.end()) {
    errs.NotSupported(path + ".restartPolicy", rp, restart_policies);
  }
  if (spec.contains("terminationGracePeriodSeconds") && spec["terminationGracePeriodSeconds"].is_number() &&
      spec["terminationGracePeriodSeconds"].get<int64_t>() < 0) {
    errs.Invalid(path + ".terminationGracePeriodSeconds", spec["terminationGracePeriodSeconds"],
                 "must be greater than or equal to 0");
  }
}

void NonNegative(const Json& spec, const char* field, const std::string& path, Errors& errs) {
  if (!spec.contains(field) || spec[field].is_null()) return;
  if (!spec[field].is_number_integer()) {
    errs.Invalid(path, spec[field], "must be an integer");
  } else if (spec[field].get<int64_t>() < 0) {
    errs.Invalid(path, spec[field], "must be greater than or equal to 0");
  }
}

// Selector present, valid, non-empty and matching the template's labels.
void ValidateSelectorAndTemplate(const Json& spec, Errors& errs, const std::vector<std::string>& restart_policies) {
  if (!spec.contains("selector") || spec["selector"].is_null()) {
    errs.Required("spec.selector");
  } else {
    auto sel = k8s::LabelSelector::FromJson(spec["selector"]);
    if (!sel.ok()) {
      errs.Invalid("spec.selector", spec["selector"], std::string(sel.status().message()));
    } else if (sel->Empty()) {
      errs.Invalid("spec.selector", spec["selector"], "empty selector is invalid for deployment");
    } else if (spec.contains("template")) {
      Json labels = spec["template"]["metadata"].value("labels", Json::object());
      if (!sel->Matches(labels)) {
        errs.Invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`");
      }
    }
  }
  if (!spec.contains("template") || !spec["template"].is_object()) {
    errs.Required("spec.template");
    return;
  }
  ValidatePodSpec(spec["template"].value("spec", Json()), "spec.template.spec", errs, restart_policies);
}

void ValidateIntOrPercent(const Json& v, const std::string& path, Errors& errs) {
  if (v.is_null()) return;
  int64_t out;
  if (!ScaledValue(v, 100, true, &out)) {
    errs.Invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%'");
  } else if (out < 0) {
    errs.Invalid(path, v, "must be greater than or equal to 0");
  }
}

void ValidateDeploymentSpec(const Json& spec, Errors& errs) {
  NonNegative(spec, "replicas", "spec.replicas", errs);
  ValidateSelectorAndTemplate(spec, errs, {"Always"});
  const Json strategy = spec.value("strategy", Json::object());
  std::string type = strategy.value("type", "RollingUpdate");
  if (type != "RollingUpdate" && type != "Recreate") {
    errs.NotSupported("spec.strategy.type", type, {"Recreate", "RollingUpdate"});
  }
  if (type == "Recreate" && strategy.contains("rollingUpdate")) {
    errs.Forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
  }
  if (type == "RollingUpdate" && strategy.contains("rollingUpdate")) {
    const Json& ru = strategy["rollingUpdate"];
    Json surge = ru.value("maxSurge", Json("25%")), unavail = ru.value("maxUnavailable", Json("25%"));
    ValidateIntOrPercent(surge, "spec.strategy.rollingUpdate.maxSurge", errs);
    ValidateIntOrPercent(unavail, "spec.strategy.rollingUpdate.maxUnavailable", errs);
    int64_t s = 0, u = 0;
    if (ScaledValue(surge, 100, true, &s) && ScaledValue(unavail, 100, false, &u) && s == 0 && u == 0) {
      errs.Invalid("spec.strategy.rollingUpdate.maxUnavailable", unavail, "may not be 0 when `maxSurge` is 0");
    }
    if (unavail.is_string() && ScaledValue(unavail, 100, false, &u) && u > 100) {
      errs.Invalid("spec.strategy.rollingUpdate.maxUnavailable", unavail, "must not be greater than 100%");
    }
  }
  NonNegative(spec, "minReadySeconds", "spec.minReadySeconds", errs);
  NonNegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", errs);
  if (spec.contains("progressDeadlineSeconds") && spec["progressDeadlineSeconds"].is_number_integer()) {
    int64_t pd = spec["progressDeadlineSeconds"].get<int64_t>();
    if (pd < 0) {
      errs.Invalid("spec.progressDeadlineSeconds", pd, "must be greater than or equal to 0");
    } else if (pd <= spec.value("minReadySeconds", 0)) {
      errs.Invalid("spec.progressDeadlineSeconds", pd, "must be greater than minReadySeconds");
    }
  }
}

}  // namespace

std::string CheckDnsSubdomain(const std::string& value) {
  if (value.size() > 253) return "must be no more than 253 characters";
  if (!std::regex_match(value, DnsSubdomainRe())) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
           "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
           "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return "";
}

std::string CheckDnsLabel(const std::string& value) {
  if (value.size() > 63) return "must be no more than 63 characters";
  if (!std::regex_match(value, DnsLabelRe())) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
           "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
           "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return "";
}

bool ScaledValue(const Json& v, int64_t total, bool round_up, int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (!v.is_string()) return false;
  std::string s = v.get<std::string>();
  if (s.empty()) return false;
  if (s.back() != '%') {
    // A string without '%' must still be a whole number.
    return absl::SimpleAtoi(s, out) && false;
  }
  int64_t pct;
  if (!absl::SimpleAtoi(s.substr(0, s.size() - 1), &pct)) return false;
  if (round_up) {
    *out = (pct * total + 99) / 100;
  } else {
    *out = (pct * total) / 100;
  }
  return true;
}

absl::Status ValidateCreate(const ResourceType& r, const Json& obj) {
  Errors errs;
  ValidateMeta(r, obj, errs);
  const Json spec = obj.value("spec", Json::object());
  switch (r.id) {
    case kPods:
      ValidatePodSpec(spec, "spec", errs, {"Always", "OnFailure", "Never"});
      break;
    case kDeployments:
      ValidateDeploymentSpec(spec, errs);
      break;
    case kReplicaSets:
      NonNegative(spec, "replicas", "spec.replicas", errs);
      ValidateSelectorAndTemplate(spec, errs, {"Always"});
      break;
    case kStatefulSets: {
      NonNegative(spec, "replicas", "spec.replicas", errs);
      ValidateSelectorAndTemplate(spec, errs, {"Always"});
      std::string pmp = spec.value("podManagementPolicy", "OrderedReady");
      if (pmp != "OrderedReady" && pmp != "Parallel") {
        errs.NotSupported("spec.podManagementPolicy", pmp, {"OrderedReady", "Parallel"});
      }
      std::string ust = spec.value("updateStrategy", Json::object()).value("type", "RollingUpdate");
      if (ust != "RollingUpdate" && ust != "OnDelete") {
        errs.NotSupported("spec.updateStrategy.type", ust, {"OnDelete", "RollingUpdate"});
      }
      break;
    }
    case kJobs: {
      NonNegative(spec, "parallelism", "spec.parallelism", errs);
      NonNegative(spec, "completions", "spec.completions", errs);
      NonNegative(spec, "backoffLimit", "spec.backoffLimit", errs);
      if (!spec.contains("template")) {
        errs.Required("spec.template");
      } else {
        ValidatePodSpec(spec["template"].value("spec", Json()), "spec.template.spec", errs, {"OnFailure", "Never"});
      }
      break;
    }
    case kCronJobs: {
      std::string schedule = spec.value("schedule", "");
      if (schedule.empty()) errs.Required("spec.schedule");
      std::string cp = spec.value("concurrencyPolicy", "Allow");
      if (cp != "Allow" && cp != "Forbid" && cp != "Replace") {
        errs.NotSupported("spec.concurrencyPolicy", cp, {"Allow", "Forbid", "Replace"});
      }
      const Json jt = spec.value("jobTemplate", Json::object());
      if (!jt.contains("spec") || !jt["spec"].contains("template")) {
        errs.Required("spec.jobTemplate.spec.template");
      } else {
        ValidatePodSpec(jt["spec"]["template"].value("spec", Json()), "spec.jobTemplate.spec.template.spec", errs,
                        {"OnFailure", "Never"});
      }
      break;
    }
    case kPodDisruptionBudgets: {
      if (spec.contains("minAvailable") && spec.contains("maxUnavailable")) {
        errs.Invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set");
      }
      for (const char* f : {"minAvailable", "maxUnavailable"}) {
        if (spec.contains(f)) ValidateIntOrPercent(spec[f], absl::StrCat("spec.", f), errs);
      }
      break;
    }
    case kHorizontalPodAutoscalers: {
      int64_t max = spec.value("maxReplicas", 0);
      if (max < 1) errs.Invalid("spec.maxReplicas", max, "must be greater than 0");
      if (spec.contains("minReplicas") && spec["minReplicas"].get<int64_t>() > max) {
        errs.Invalid("spec.minReplicas", spec["minReplicas"], "must be less than or equal to maxReplicas");
      }
      if (!spec.contains("scaleTargetRef")) errs.Required("spec.scaleTargetRef");
      break;
    }
    default:
      break;
  }
  return errs.ToStatus(r, obj);
}

absl::Status ValidateUpdate(const ResourceType& r, const Json& obj, const Json& old) {
  if (auto st = ValidateCreate(r, obj); !st.ok()) return st;
  Errors errs;
  const Json spec = obj.value("spec", Json::object());
  const Json old_spec = old.value("spec", Json::object());
  switch (r.id) {
    case kDeployments:
    case kReplicaSets:
    case kStatefulSets:
      if (spec.value("selector", Json()) != old_spec.value("selector", Json())) {
        errs.Invalid("spec.selector", spec.value("selector", Json()), "field is immutable");
      }
      if (r.id == kStatefulSets) {
        Json a = spec, b = old_spec;
        for (const char* f : {"replicas", "ordinals", "template", "updateStrategy",
                              "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}) {
          a.erase(f);
          b.erase(f);
        }
        if (a != b) {
          errs.Forbidden("spec",
                         "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                         "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                         "forbidden");
        }
      }
      break;
    case kJobs:
      if (spec.value("selector", Json()) != old_spec.value("selector", Json())) {
        errs.Invalid("spec.selector", spec.value("selector", Json()), "field is immutable");
      }
      if (spec.value("template", Json()) != old_spec.value("template", Json()) && !old_spec.value("suspend", false)) {
        errs.Invalid("spec.template", spec.value("template", Json()), "field is immutable");
      }
      break;
    case kPods: {
      // Only images, activeDeadlineSeconds and added tolerations may change.
      Json a = spec, b = old_spec;
      for (Json* s : {&a, &b}) {
        for (const char* list : {"containers", "initContainers"}) {
          if (!s->contains(list)) continue;
          for (auto& c : (*s)[list]) c.erase("image");
        }
        s->erase("activeDeadlineSeconds");
        s->erase("tolerations");
        s->erase("terminationGracePeriodSeconds");
      }
      if (a != b) {
        errs.Forbidden("spec",
                       "pod updates may not change fields other than `spec.containers[*].image`, "
                       "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` "
                       "(only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` "
                       "(allow it to be set to 1 if it was previously negative)");
      }
      break;
    }
    default:
      break;
  }
  return errs.ToStatus(r, obj);
}

}  // namespace herd::sim
