// The disruption controller, after upstream's: expectedPods is the number
// of selected pods for an integer minAvailable, else the summed scale of
// their controllers (a Deployment through its ReplicaSet, a ReplicaSet, a
// StatefulSet, a Job's parallelism); desiredHealthy follows from
// minAvailable or maxUnavailable (percentages rounded up); currentHealthy
// counts Ready pods that are neither being deleted nor recently evicted;
// disruptedPods (written by the eviction subresource) drops pods once
// they are being deleted, gone, or two minutes late.
#include "sim/controllers/disruption.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"
#include "sim/controllers/internal/object_util.h"
#include "sim/json_text.h"
#include "sim/validation.h"

namespace herd::sim {
namespace {

using internal::Deleting;
using internal::Field;
using internal::Int;
using internal::Str;
using internal::Uid;

// How long an evicted pod may take to start terminating before it counts again.
constexpr absl::Duration kDeletionTimeout = absl::Minutes(2);

// The pods a budget selects. A null selector selects none in policy/v1.
absl::StatusOr<std::vector<ObjectPtr>> SelectedPods(const Store& store, const ObjectPtr& pdb) {
  std::vector<ObjectPtr> pods;
  const Json& selector = Field(Field(pdb->object, "spec"), "selector");
  if (selector.is_null()) return pods;
  auto sel = k8s::LabelSelector::FromJson(selector);
  if (!sel.ok()) return sel.status();
  store.Scan(kPods, pdb->ns(), "", [&](const ObjectPtr& p) {
    if (sel->Matches(Field(Field(p->object, "metadata"), "labels"))) pods.push_back(p);
    return true;
  });
  return pods;
}

// apimachinery's SetStatusCondition for a metav1.Condition.
void SetCondition(Json& status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, int64_t observed_generation) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
  std::string st = value ? "True" : "False";
  for (auto& c : status["conditions"]) {
    if (Str(c, "type") != type) continue;
    if (Str(c, "status") != st) {
      c["status"] = st;
      c["lastTransitionTime"] = k8s::FormatTime(absl::Now());
    }
    c["reason"] = reason;
    c["message"] = message;
    c["observedGeneration"] = observed_generation;
    return;
  }
  status["conditions"].push_back({{"type", type},
                                  {"status", st},
                                  {"observedGeneration", observed_generation},
                                  {"lastTransitionTime", k8s::FormatTime(absl::Now())},
                                  {"reason", reason},
                                  {"message", message}});
}

}  // namespace

DisruptionController::DisruptionController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                           const ControllerOptions& o)
    : Controller("disruption-controller", loop, api, owners, o.controller_qps, o.controller_burst, o.reaction_delay) {}

void DisruptionController::Start() {
  Observe(kPodDisruptionBudgets, [this](const Event& e) {
    if (e.type != EventType::kDeleted) Enqueue(KeyOf(e.object));
  });
  Observe(kPods, [this](const Event& e) {
    EnqueueBudgetsFor(e.object);
    // A relabelled pod may have left a budget.
    if (e.old &&
        Field(Field(e.old->object, "metadata"), "labels") != Field(Field(e.object->object, "metadata"), "labels")) {
      EnqueueBudgetsFor(e.old);
    }
  });
}

void DisruptionController::EnqueueBudgetsFor(const ObjectPtr& pod) {
  const Json& labels = Field(Field(pod->object, "metadata"), "labels");
  api_.store().Scan(kPodDisruptionBudgets, pod->ns(), "", [&](const ObjectPtr& pdb) {
    const Json& selector = Field(Field(pdb->object, "spec"), "selector");
    if (selector.is_null()) return true;
    auto sel = k8s::LabelSelector::FromJson(selector);
    if (sel.ok() && sel->Matches(labels)) Enqueue(KeyOf(pdb));
    return true;
  });
}

absl::StatusOr<int64_t> DisruptionController::ExpectedScale(const std::vector<ObjectPtr>& pods,
                                                            std::vector<std::string>* unmanaged) const {
  std::map<std::string, int64_t> scale;  // controller uid → its scale
  const Store& store = api_.store();
  for (const ObjectPtr& p : pods) {
    const Json& refs = Field(Field(p->object, "metadata"), "ownerReferences");
    const Json* ref = nullptr;
    if (refs.is_array()) {
      for (const auto& r : refs) {
        if (Field(r, "controller").is_boolean() && r["controller"].get<bool>()) ref = &r;
      }
    }
    if (!ref) {
      unmanaged->push_back(p->name());
      continue;
    }
    std::string uid = Str(*ref, "uid");
    if (scale.count(uid)) continue;
    std::string kind = Str(*ref, "kind"), name = Str(*ref, "name");
    std::optional<std::pair<std::string, int64_t>> found;  // (uid, scale) of the controller
    if (kind == "ReplicaSet") {
      ObjectPtr rs = store.Get(kReplicaSets, p->ns(), name);
      if (rs && Uid(rs->object) == uid) {
        const Json* dref = ControllerRef(rs->object, "Deployment");
        ObjectPtr d = dref ? store.Get(kDeployments, p->ns(), Str(*dref, "name")) : nullptr;
        if (d && Uid(d->object) == Str(*dref, "uid")) {
          found.emplace(Uid(d->object), Int(Field(d->object, "spec"), "replicas", 1));
        } else if (!dref) {
          found.emplace(uid, Int(Field(rs->object, "spec"), "replicas", 1));
        }
      }
    } else if (kind == "StatefulSet") {
      ObjectPtr s = store.Get(kStatefulSets, p->ns(), name);
      if (s && Uid(s->object) == uid) found.emplace(uid, Int(Field(s->object, "spec"), "replicas", 1));
    } else if (kind == "Job") {
      ObjectPtr j = store.Get(kJobs, p->ns(), name);
      if (j && Uid(j->object) == uid) found.emplace(uid, Int(Field(j->object, "spec"), "parallelism", 1));
    }
    if (!found) return absl::NotFoundError(absl::StrCat("found no controllers for pod \"", p->name(), "\""));
    scale[found->first] = found->second;
    // Pods of the same Deployment name its ReplicaSets, not it: remember both.
    scale.emplace(uid, 0);
  }
  int64_t total = 0;
  for (const auto& [uid, n] : scale) total += n;
  return total;
}

void DisruptionController::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr pdb = api_.store().Get(kPodDisruptionBudgets, ns, name);
  if (!pdb) return;
  const Json& spec = Field(pdb->object, "spec");
  const Json& pdb_json = pdb->object;

  auto pods = SelectedPods(api_.store(), pdb);
  if (!pods.ok()) {
    Emit(pdb_json, "Warning", "NoPods", absl::StrCat("Failed to get pods: ", pods.status().message()));
    return FailSafe(key, pdb, std::string(pods.status().message()));
  }
  if (pods->empty()) Emit(pdb_json, "Normal", "NoPods", "No matching pods found");

  // getExpectedPodCount.
  int64_t expected = 0, desired = 0;
  std::vector<std::string> unmanaged;
  auto scaled = [&](const Json& v, int64_t total, int64_t* out) -> absl::Status {
    if (!ScaledValue(v, total, true, out)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value for IntOrString: invalid value \"", JsonText(v), "\""));
    }
    return absl::OkStatus();
  };
  absl::Status err;
  if (spec.contains("maxUnavailable") && !spec["maxUnavailable"].is_null()) {
    auto e = ExpectedScale(*pods, &unmanaged);
    if (!e.ok()) {
      err = e.status();
    } else {
      expected = *e;
      int64_t max_unavailable = 0;
      err = scaled(spec["maxUnavailable"], expected, &max_unavailable);
      desired = std::max<int64_t>(0, expected - max_unavailable);
    }
  } else if (spec.contains("minAvailable") && !spec["minAvailable"].is_null()) {
    if (spec["minAvailable"].is_number_integer()) {
      desired = spec["minAvailable"].get<int64_t>();
      expected = static_cast<int64_t>(pods->size());
    } else {
      auto e = ExpectedScale(*pods, &unmanaged);
      if (!e.ok()) {
        err = e.status();
      } else {
        expected = *e;
        err = scaled(spec["minAvailable"], expected, &desired);
      }
    }
  }
  if (!err.ok()) {
    Emit(pdb_json, "Warning", "CalculateExpectedPodCountFailed",
         absl::StrCat("Failed to calculate the number of expected pods: ", err.message()));
    return FailSafe(key, pdb, std::string(err.message()));
  }
  if (!unmanaged.empty()) {
    auto sel = k8s::LabelSelector::FromJson(Field(spec, "selector"));
    Emit(pdb_json, "Warning", "UnmanagedPods",
         absl::StrCat("Pods selected by this PodDisruptionBudget (selector: ", sel.ok() ? sel->ToString() : "",
                      ") were found to be unmanaged. As a result, the status of the PDB cannot be calculated "
                      "correctly, which may result in undefined behavior. To account for these pods please set "
                      "\".spec.minAvailable\" field of the PDB to an integer value."));
  }

  // buildDisruptedPodMap and countHealthyPods.
  absl::Time now = absl::Now();
  const Json& status_old = Field(pdb_json, "status");
  const Json& disrupted_old = Field(status_old, "disruptedPods");
  Json disrupted = Json::object();
  std::optional<absl::Time> recheck;
  int64_t healthy = 0;
  for (const ObjectPtr& p : *pods) {
    if (Deleting(p->object)) continue;
    bool recently_disrupted = false;
    if (disrupted_old.is_object() && disrupted_old.contains(p->name())) {
      absl::Time at = internal::TimeField(disrupted_old, p->name().c_str());
      absl::Time expected_deletion = at + kDeletionTimeout;
      if (expected_deletion < now) {
        // Upstream names the budget by its namespace twice; kept as it reads.
        Emit(p->object, "Warning", "NotDeleted",
             absl::StrCat("Pod was expected by PDB ", ns, "/", ns, " to be deleted but it wasn't"));
      } else {
        disrupted[p->name()] = disrupted_old[p->name()];
        recently_disrupted = true;
        if (!recheck || expected_deletion < *recheck) recheck = expected_deletion;
      }
    }
    if (!recently_disrupted && PodReady(p->object)) ++healthy;
  }

  // updatePdbStatus.
  int64_t allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0) allowed = 0;
  int64_t generation = Int(Field(pdb_json, "metadata"), "generation");
  Json status = status_old.is_object() ? status_old : Json::object();
  status["currentHealthy"] = healthy;
  status["desiredHealthy"] = desired;
  status["expectedPods"] = expected;
  status["disruptionsAllowed"] = allowed;
  status["observedGeneration"] = generation;
  if (disrupted.empty()) {
    status.erase("disruptedPods");
  } else {
    status["disruptedPods"] = disrupted;
  }
  if (allowed > 0) {
    SetCondition(status, "DisruptionAllowed", true, "SufficientPods", "", generation);
  } else {
    SetCondition(status, "DisruptionAllowed", false, "InsufficientPods", "", generation);
  }
  if (status != status_old) {
    Write(key, [this, ns = ns, name = name, status] {
      (void)api_.Modify(kPodDisruptionBudgets, ns, name,
                        [&](Json& o) {
                          o["status"] = status;
                          return absl::OkStatus();
                        },
                        {.subresource = "status"});
    });
  }
  if (recheck) Enqueue(key, std::max(*recheck - now, absl::ZeroDuration()) + absl::Milliseconds(10));
}

void DisruptionController::FailSafe(const std::string& key, const ObjectPtr& pdb, const std::string& error) {
  Json status = Field(pdb->object, "status").is_object() ? pdb->object["status"] : Json::object();
  status["disruptionsAllowed"] = 0;
  SetCondition(status, "DisruptionAllowed", false, "SyncFailed", error, Int(status, "observedGeneration"));
  if (status == Field(pdb->object, "status")) return;
  Write(key, [this, ns = pdb->ns(), name = pdb->name(), status] {
    (void)api_.Modify(kPodDisruptionBudgets, ns, name,
                      [&](Json& o) {
                        o["status"] = status;
                        return absl::OkStatus();
                      },
                      {.subresource = "status"});
  });
}

}  // namespace herd::sim
