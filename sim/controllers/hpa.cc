// The HorizontalPodAutoscaler controller, after upstream's (autoscaling/v2,
// 1.26), with no metrics server: a target outside [minReplicas,
// maxReplicas] is scaled to the nearest bound; within them, Resource
// metrics with an averageUtilization target read the
// kubesim.herd.dev/cpu-utilization annotation as the pods' average CPU
// utilization: desired = ceil(current · utilization / target) unless within
// the 10 % tolerance, limited to [min, max] and to twice the current count
// (at least 4), scale-downs held to the highest recommendation of the last
// five minutes. Without the annotation (and for every other metric type)
// the metric fails as it does on a cluster without metrics-server:
// ScalingActive False / FailedGetResourceMetric. spec.behavior is not
// interpreted beyond that default stabilization.
#include "sim/controllers/hpa.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"
#include "sim/controllers/internal/object_util.h"

namespace herd::sim {
namespace {

using internal::Field;
using internal::Int;
using internal::Str;

constexpr double kTolerance = 0.1;
constexpr char kWritePrefix[] = "write|";
constexpr char kNoMetricsApi[] =
    "unable to fetch metrics from resource metrics API: the server could not find the requested resource "
    "(get pods.metrics.k8s.io)";

// upstream's setConditionInList.
void SetCondition(Json& status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, absl::Time now) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
  std::string st = value ? "True" : "False";
  Json* cur = nullptr;
  for (auto& c : status["conditions"]) {
    if (Str(c, "type") == type) cur = &c;
  }
  if (!cur) {
    status["conditions"].push_back({{"type", type}});
    cur = &status["conditions"].back();
  }
  if (Str(*cur, "status") != st) (*cur)["lastTransitionTime"] = k8s::FormatTime(now);
  (*cur)["status"] = st;
  (*cur)["reason"] = reason;
  (*cur)["message"] = message;
}

// The metrics of a spec, with autoscaling/v2's default (CPU at 80 %).
Json Metrics(const Json& spec) {
  const Json& m = Field(spec, "metrics");
  if (m.is_array() && !m.empty()) return m;
  return Json::array(
      {{{"type", "Resource"},
        {"resource", {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", 80}}}}}}});
}

struct MetricResult {
  bool ok = false;
  int64_t replicas = 0;
  std::string name;    // "cpu resource utilization (percentage of request)"
  Json status;         // the MetricStatus
  std::string reason;  // on failure: the condition reason
  std::string error;   // on failure: what the condition and event say
  std::string outer;   // on failure: the error computeReplicasForMetrics returns
};

MetricResult ComputeMetric(const Json& metric, const Json& hpa, int64_t current) {
  MetricResult r;
  r.status = {{"type", ""}};
  std::string type = Str(metric, "type");
  if (type != "Resource") {
    static const std::map<std::string, std::string> kReasons = {
        {"Pods", "FailedGetPodsMetric"},
        {"Object", "FailedGetObjectMetric"},
        {"External", "FailedGetExternalMetric"},
        {"ContainerResource", "FailedGetContainerResourceMetric"}};
    auto it = kReasons.find(type);
    r.reason = it == kReasons.end() ? "InvalidMetricSourceType" : it->second;
    r.error = it == kReasons.end() ? absl::StrCat("unknown metric source type \"", type, "\"")
                                   : absl::StrCat("unable to get metric: no metrics API serves ", type, " metrics");
    r.outer = r.error;
    return r;
  }
  const Json& res = Field(metric, "resource");
  std::string resource = Str(res, "name");
  const Json& target = Field(res, "target");
  r.reason = "FailedGetResourceMetric";
  r.outer = absl::StrCat("failed to get ", resource, " resource metric value: ");
  if (!Field(target, "averageUtilization").is_number_integer()) {
    if (Field(target, "averageValue").is_null()) {
      r.error =
          "invalid resource metric source: neither an average utilization target nor an average value (usage) "
          "target was set";
    } else {
      r.error = absl::StrCat("failed to get ", resource, " usage: unable to get metrics for resource ", resource, ": ",
                             kNoMetricsApi);
    }
    absl::StrAppend(&r.outer, r.error);
    return r;
  }
  int64_t want = target["averageUtilization"].get<int64_t>();
  std::string value = Str(Field(Field(hpa, "metadata"), "annotations"), kCpuUtilizationAnnotation);
  double utilization = 0;
  if (resource != "cpu" || !absl::SimpleAtod(value, &utilization) || utilization < 0 || want <= 0) {
    r.error = absl::StrCat("failed to get ", resource, " utilization: unable to get metrics for resource ", resource,
                           ": ", kNoMetricsApi);
    absl::StrAppend(&r.outer, r.error);
    return r;
  }
  double ratio = utilization / static_cast<double>(want);
  r.ok = true;
  r.name = absl::StrCat(resource, " resource utilization (percentage of request)");
  r.replicas = std::abs(1.0 - ratio) <= kTolerance
                   ? current
                   : static_cast<int64_t>(std::ceil(ratio * static_cast<double>(current)));
  r.status = {{"type", "Resource"},
              {"resource", {{"name", resource}, {"current", {{"averageUtilization", std::llround(utilization)}}}}}};
  return r;
}

}  // namespace

HorizontalPodAutoscalerController::HorizontalPodAutoscalerController(EventLoop& loop, ApiServer& api,
                                                                     const OwnerIndex& owners,
                                                                     const ControllerOptions& o)
    : Controller("horizontal-pod-autoscaler", loop, api, owners, o.controller_qps, o.controller_burst),
      clock_(o.clock),
      period_(o.hpa_period),
      stabilization_(o.hpa_downscale_stabilization) {}

void HorizontalPodAutoscalerController::Start() {
  Observe(kHorizontalPodAutoscalers, [this](const Event& e) {
    if (e.type == EventType::kDeleted) {
      recommendations_.erase(KeyOf(e.object));
      return;
    }
    // Its own status writes wait for the next period, as upstream's
    // rate-limited queue makes them.
    const Json& now = e.object->object;
    if (e.old && Field(e.old->object, "spec") == Field(now, "spec") &&
        Field(Field(e.old->object, "metadata"), "annotations") == Field(Field(now, "metadata"), "annotations")) {
      return;
    }
    Enqueue(KeyOf(e.object));
  });
  Tick();
}

void HorizontalPodAutoscalerController::Tick() {
  After(period_, [this] {
    api_.store().Scan(kHorizontalPodAutoscalers, "", "", [&](const ObjectPtr& h) {
      Enqueue(KeyOf(h));
      return true;
    });
    Tick();
  });
}

int64_t HorizontalPodAutoscalerController::Stabilize(const std::string& key, int64_t desired) {
  absl::Time now = Now();
  int64_t max = desired;
  auto& recs = recommendations_[key];
  Recommendation* old = nullptr;
  for (auto& r : recs) {
    if (r.at < now - stabilization_) {
      old = &r;
    } else {
      max = std::max(max, r.replicas);
    }
  }
  if (old) {
    *old = {desired, now};
  } else {
    recs.push_back({desired, now});
  }
  return max;
}

void HorizontalPodAutoscalerController::Sync(const std::string& key) {
  // Writes go under their own key: upstream reconciles an HPA once a
  // period, not again as soon as its own write lands.
  if (key.rfind(kWritePrefix, 0) == 0) return;
  const std::string write_key = absl::StrCat(kWritePrefix, key);
  if (WritesPending(write_key)) return;
  auto [ns, name] = SplitKey(key);
  ObjectPtr obj = api_.store().Get(kHorizontalPodAutoscalers, ns, name);
  if (!obj) return;
  const Json& hpa = obj->object;
  const Json& spec = Field(hpa, "spec");
  const Json& old_status = Field(hpa, "status");
  Json status = old_status.is_object() ? old_status : Json::object();
  const absl::Time now = Now();

  auto write_status = [&](const Json& st) {
    if (st == old_status) return;
    Write(write_key, [this, ns = ns, name = name, st] {
      (void)api_.Modify(kHorizontalPodAutoscalers, ns, name,
                        [&](Json& o) {
                          o["status"] = st;
                          return absl::OkStatus();
                        },
                        {.subresource = "status"});
    });
  };
  // setStatus: what is kept of the previous status and what is replaced.
  auto set_status = [&](int64_t current, int64_t desired, const Json& metrics) {
    Json st = Json::object();
    if (current > 0) st["currentReplicas"] = current;
    st["desiredReplicas"] = desired;
    if (status.contains("lastScaleTime")) st["lastScaleTime"] = status["lastScaleTime"];
    if (metrics.is_array() && !metrics.empty()) st["currentMetrics"] = metrics;
    if (status.contains("conditions")) st["conditions"] = status["conditions"];
    status = std::move(st);
  };

  const Json& ref = Field(spec, "scaleTargetRef");
  std::string kind = Str(ref, "kind"), target = Str(ref, "name"), api_version = Str(ref, "apiVersion");
  const ResourceType* rt = FindKind(api_version, kind);
  absl::StatusOr<Json> scale = absl::NotFoundError("");
  if (!rt) {
    std::string group = api_version.find('/') == std::string::npos ? "" : api_version.substr(0, api_version.find('/'));
    scale = absl::NotFoundError(absl::StrCat("no matches for kind \"", kind, "\" in group \"", group, "\""));
  } else if (!rt->HasSubresource("scale")) {
    scale = absl::NotFoundError("the server could not find the requested resource");
  } else {
    scale = api_.GetScale(rt->id, ns, target);
  }
  if (!scale.ok()) {
    std::string err(scale.status().message());
    Emit(hpa, "Warning", "FailedGetScale", err);
    SetCondition(status, "AbleToScale", false, "FailedGetScale",
                 absl::StrCat("the HPA controller was unable to get the target's current scale: ", err), now);
    return write_status(status);
  }
  SetCondition(status, "AbleToScale", true, "SucceededGetScale",
               "the HPA controller was able to get the target's current scale", now);
  int64_t current = Int(Field(*scale, "spec"), "replicas");
  if (recommendations_[key].empty()) recommendations_[key].push_back({current, now});

  int64_t min = Int(spec, "minReplicas", 1);
  int64_t max = Int(spec, "maxReplicas", 1);
  int64_t desired = 0;
  bool rescale = true;
  std::string reason;
  Json metric_statuses;
  if (current == 0 && min != 0) {
    rescale = false;
    SetCondition(status, "ScalingActive", false, "ScalingDisabled",
                 "scaling is disabled since the replica count of the target is zero", now);
  } else if (current > max) {
    reason = "Current number of replicas above Spec.MaxReplicas";
    desired = max;
  } else if (current < min) {
    reason = "Current number of replicas below Spec.MinReplicas";
    desired = min;
  } else {
    // computeReplicasForMetrics.
    Json metrics = Metrics(spec);
    metric_statuses = Json::array();
    int64_t proposal = 0, invalid = 0;
    std::string metric_name;
    const MetricResult* first_invalid = nullptr;
    std::vector<MetricResult> results;
    results.reserve(metrics.size());
    for (const auto& m : metrics) {
      results.push_back(ComputeMetric(m, hpa, current));
      MetricResult& r = results.back();
      metric_statuses.push_back(r.status);
      if (!r.ok) {
        Emit(hpa, "Warning", r.reason, r.error);
        if (!first_invalid) first_invalid = &r;
        ++invalid;
        continue;
      }
      if (metric_name.empty() || r.replicas > proposal) {
        proposal = r.replicas;
        metric_name = r.name;
      }
    }
    if (invalid >= static_cast<int64_t>(metrics.size()) || (invalid > 0 && proposal < current)) {
      SetCondition(status, "ScalingActive", false, first_invalid->reason,
                   absl::StrCat("the HPA was unable to compute the replica count: ", first_invalid->error), now);
      set_status(current, Int(status, "desiredReplicas"), Field(status, "currentMetrics"));
      write_status(status);
      Emit(hpa, "Warning", "FailedComputeMetricsReplicas",
           absl::StrCat("invalid metrics (", invalid, " invalid out of ", metrics.size(),
                        "), first error is: ", first_invalid->outer));
      return;
    }
    SetCondition(status, "ScalingActive", true, "ValidMetricFound",
                 absl::StrCat("the HPA was able to successfully calculate a replica count from ", metric_name), now);
    desired = proposal;
    if (desired > current) reason = absl::StrCat(metric_name, " above target");
    if (desired < current) reason = "All metrics below target";
    // normalizeDesiredReplicas.
    int64_t stabilized = Stabilize(key, desired);
    if (stabilized != desired) {
      SetCondition(status, "AbleToScale", true, "ScaleDownStabilized",
                   "recent recommendations were higher than current one, applying the highest recent recommendation",
                   now);
    } else {
      SetCondition(status, "AbleToScale", true, "ReadyForNewScale", "recommended size matches current size", now);
    }
    int64_t scale_up_limit = std::max<int64_t>(2 * current, 4);
    int64_t upper = max;
    std::string limit_reason = "TooManyReplicas";
    std::string limit_message = "the desired replica count is more than the maximum replica count";
    if (max > scale_up_limit) {
      upper = scale_up_limit;
      limit_reason = "ScaleUpLimit";
      limit_message = "the desired replica count is increasing faster than the maximum scale rate";
    }
    int64_t normalized = stabilized;
    if (stabilized < min) {
      normalized = min;
      limit_reason = "TooFewReplicas";
      limit_message = "the desired replica count is less than the minimum replica count";
    } else if (stabilized > upper) {
      normalized = upper;
    } else {
      limit_reason = "DesiredWithinRange";
      limit_message = "the desired count is within the acceptable range";
    }
    SetCondition(status, "ScalingLimited", normalized != stabilized, limit_reason, limit_message, now);
    desired = normalized;
    rescale = desired != current;
  }

  if (!rescale) {
    set_status(current, current, metric_statuses);
    return write_status(status);
  }
  // The scale and what it did to the status, in one write.
  Json hpa_copy = hpa;
  Write(write_key,
        [this, hpa_copy, rt, ns = ns, target, desired, reason, current, metric_statuses, status, now, name = name] {
          Json scale_req = {{"spec", {{"replicas", desired}}}};
          auto updated = api_.UpdateScale(rt->id, ns, target, scale_req);
          Json st = status;
          auto finish_status = [&](int64_t want, bool scaled) {
            Json out = Json::object();
            if (current > 0) out["currentReplicas"] = current;
            out["desiredReplicas"] = want;
            if (scaled) {
              out["lastScaleTime"] = k8s::FormatTime(now);
            } else if (st.contains("lastScaleTime")) {
              out["lastScaleTime"] = st["lastScaleTime"];
            }
            if (metric_statuses.is_array() && !metric_statuses.empty()) out["currentMetrics"] = metric_statuses;
            if (st.contains("conditions")) out["conditions"] = st["conditions"];
            return out;
          };
          if (!updated.ok()) {
            std::string err(updated.status().message());
            Emit(hpa_copy, "Warning", "FailedRescale",
                 absl::StrCat("New size: ", desired, "; reason: ", reason, "; error: ", err));
            SetCondition(st, "AbleToScale", false, "FailedUpdateScale",
                         absl::StrCat("the HPA controller was unable to update the target scale: ", err), now);
            st = finish_status(Int(st, "desiredReplicas"), false);
          } else {
            SetCondition(st, "AbleToScale", true, "SucceededRescale",
                         absl::StrCat("the HPA controller was able to update the target scale to ", desired), now);
            Emit(hpa_copy, "Normal", "SuccessfulRescale", absl::StrCat("New size: ", desired, "; reason: ", reason));
            st = finish_status(desired, true);
          }
          (void)api_.Modify(kHorizontalPodAutoscalers, ns, name,
                            [&](Json& o) {
                              o["status"] = st;
                              return absl::OkStatus();
                            },
                            {.subresource = "status"});
        });
}

}  // namespace herd::sim
