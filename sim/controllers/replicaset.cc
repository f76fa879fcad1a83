// The ReplicaSet controller: keeps spec.replicas pods, creating them in
// slow-start batches and deleting the least valuable first, as upstream.
#include "sim/controllers/replicaset.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"

namespace herd::sim {
namespace {

// Upstream's ranking of pods to delete first (controller.ActivePodsWithRanks):
// unscheduled, pending, not ready, lower pod-deletion-cost, more restarts,
// newer.
int PhaseRank(const Json& pod) {
  std::string phase = pod["status"].value("phase", "");
  if (phase == "Pending") return 0;
  if (phase == "Unknown") return 1;
  return 2;
}

int Restarts(const Json& pod) {
  int n = 0;
  for (const auto& c : pod["status"].value("containerStatuses", Json::array())) n += c.value("restartCount", 0);
  return n;
}

// controller.kubernetes.io/pod-deletion-cost: an int32; absent or
// unreadable counts as 0, as upstream.
int64_t DeletionCost(const Json& pod) {
  std::string v = pod["metadata"].value("annotations", Json::object()).value("controller.kubernetes.io/pod-deletion-cost", "");
  int32_t cost = 0;
  return absl::SimpleAtoi(v, &cost) ? cost : 0;
}

bool DeleteFirst(const ObjectPtr& a, const ObjectPtr& b) {
  const Json& pa = a->object;
  const Json& pb = b->object;
  bool sa = !pa["spec"].value("nodeName", "").empty(), sb = !pb["spec"].value("nodeName", "").empty();
  if (sa != sb) return !sa;
  if (PhaseRank(pa) != PhaseRank(pb)) return PhaseRank(pa) < PhaseRank(pb);
  bool ra = PodReady(pa), rb = PodReady(pb);
  if (ra != rb) return !ra;
  if (DeletionCost(pa) != DeletionCost(pb)) return DeletionCost(pa) < DeletionCost(pb);
  if (Restarts(pa) != Restarts(pb)) return Restarts(pa) > Restarts(pb);
  std::string ca = pa["metadata"].value("creationTimestamp", ""), cb = pb["metadata"].value("creationTimestamp", "");
  if (ca != cb) return ca > cb;
  return a->name() > b->name();
}

}  // namespace

ReplicaSetController::ReplicaSetController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                           const ControllerOptions& o)
    : Controller("replicaset-controller", loop, api, owners, o.controller_qps, o.controller_burst, o.reaction_delay) {}

void ReplicaSetController::Start() {
  Observe(kReplicaSets, [this](const Event& e) { Enqueue(KeyOf(e.object)); });
  Observe(kPods, [this](const Event& e) {
    for (const ObjectPtr& o : {e.old, e.object}) {
      if (!o) continue;
      if (const Json* ref = ControllerRef(o->object, "ReplicaSet")) {
        Enqueue(Store::KeyOf(o->ns(), ref->value("name", "")));
      }
    }
  });
}

void ReplicaSetController::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr rs = api_.store().Get(kReplicaSets, ns, name);
  if (!rs || rs->object["metadata"].contains("deletionTimestamp")) return;
  const Json& spec = rs->object["spec"];
  const std::string uid = rs->object["metadata"].value("uid", "");
  int64_t want = spec.value("replicas", int64_t{1});
  absl::Duration min_ready = absl::Seconds(spec.value("minReadySeconds", 0));

  std::vector<ObjectPtr> active;
  int64_t all = 0;
  for (const ObjectPtr& p : owners_.Dependents(kPods, uid)) {
    const Json* ref = ControllerRef(p->object, "ReplicaSet");
    if (!ref || ref->value("uid", "") != uid) continue;
    ++all;
    if (PodActive(p->object)) active.push_back(p);
  }
  int64_t have = static_cast<int64_t>(active.size());
  if (have < want) {
    CreatePods(key, rs, want - have);
  } else if (have > want) {
    std::sort(active.begin(), active.end(), DeleteFirst);
    for (int64_t i = 0; i < have - want; ++i) {
      ObjectPtr victim = active[static_cast<size_t>(i)];
      Json owner = rs->object;
      Write(key, [this, victim, owner] {
        auto out = api_.Delete(kPods, victim->ns(), victim->name(), {});
        if (out.ok()) {
          Emit(owner, "Normal", "SuccessfulDelete", absl::StrCat("Deleted pod: ", victim->name()));
        }
      });
    }
  }

  // Status from the pods as this sync found them (as upstream does); the
  // sync after the writes land reports the pods created or deleted.
  absl::Time now = absl::Now();
  int64_t ready = 0, available = 0, labeled = 0;
  auto sel = k8s::LabelSelector::FromLabels(spec.value("template", Json::object())
                                                .value("metadata", Json::object())
                                                .value("labels", Json::object()));
  for (const ObjectPtr& p : active) {
    if (PodReady(p->object)) ++ready;
    if (PodAvailable(p->object, min_ready, now)) ++available;
    if (sel.Matches(p->object["metadata"].value("labels", Json::object()))) ++labeled;
  }
  Json status = rs->object.value("status", Json::object());
  Json next = status;
  next["replicas"] = static_cast<int64_t>(active.size());
  next["fullyLabeledReplicas"] = labeled;
  next["readyReplicas"] = ready;
  next["availableReplicas"] = available;
  next["observedGeneration"] = rs->object["metadata"].value("generation", int64_t{1});
  // Zero counts are omitted, as Go's omitempty does.
  for (const char* k : {"fullyLabeledReplicas", "readyReplicas", "availableReplicas"}) {
    if (next[k] == 0) next.erase(k);
  }
  if (next != status) {
    Write(key, [this, ns = ns, name = name, next] {
      (void)api_.Modify(kReplicaSets, ns, name, [&](Json& r) {
        r["status"] = next;
        return absl::OkStatus();
      }, {.subresource = "status"});
    });
  }
  // Pods turn available minReadySeconds after Ready: look again then.
  if (min_ready > absl::ZeroDuration() && ready > available) Enqueue(key, min_ready);
}

void ReplicaSetController::CreatePods(const std::string& key, const ObjectPtr& rs, int64_t count) {
  // Slow start: batches of 1, 2, 4, … so a failing template costs little.
  auto batch = std::make_shared<int64_t>(1);
  auto left = std::make_shared<int64_t>(count);
  auto run = std::make_shared<std::function<void()>>();
  Json owner = rs->object;
  std::weak_ptr<std::function<void()>> weak_run = run;
  *run = [this, key, owner, batch, left, weak_run] {
    int64_t n = std::min(*batch, *left);
    if (n <= 0) return;
    *left -= n;
    auto outstanding = std::make_shared<int64_t>(n);
    auto failed = std::make_shared<bool>(false);
    auto self = weak_run.lock();
    for (int64_t i = 0; i < n; ++i) {
      Write(key, [this, owner, outstanding, failed, batch, self] {
        Json pod = NewPodFromTemplate(owner["spec"]["template"], owner,
                                      owner["metadata"].value("name", "") + "-");
        auto created = api_.Create(kPods, owner["metadata"].value("namespace", ""), std::move(pod));
        if (created.ok()) {
          Emit(owner, "Normal", "SuccessfulCreate", absl::StrCat("Created pod: ", (*created)->name()));
        } else {
          *failed = true;
          Emit(owner, "Warning", "FailedCreate",
                           absl::StrCat("Error creating: ", created.status().message()));
        }
        if (--*outstanding == 0 && !*failed && self) {
          *batch *= 2;
          (*self)();
        }
      });
    }
  };
  batches_[key] = run;  // kept alive until the next sync of this key
  (*run)();
}

}  // namespace herd::sim
