// The Deployment controller, following upstream's algorithm: a new
// ReplicaSet per template (named by its pod-template-hash), rolling-update
// arithmetic with maxSurge / maxUnavailable, Recreate, proportional scaling,
// revisions, the Available / Progressing conditions with the progress
// deadline, and history clean-up.
#include "sim/controllers/deployment.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "sim/names.h"
#include "sim/validation.h"

namespace herd::sim {
namespace {

constexpr char kRevision[] = "deployment.kubernetes.io/revision";
constexpr char kRevisionHistory[] = "deployment.kubernetes.io/revision-history";
constexpr char kDesired[] = "deployment.kubernetes.io/desired-replicas";
constexpr char kMaxReplicas[] = "deployment.kubernetes.io/max-replicas";
constexpr char kHashLabel[] = "pod-template-hash";

using Rs = internal::RsView;

int64_t Int(const Json& j, const char* key, int64_t def = 0) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return def;
  return j[key].get<int64_t>();
}

int64_t AnnotationInt(const Json& annotations, const char* key, int64_t def = -1) {
  if (!annotations.is_object() || !annotations.contains(key) || !annotations[key].is_string()) return def;
  int64_t v;
  return absl::SimpleAtoi(annotations[key].get<std::string>(), &v) ? v : def;
}

Rs ViewOf(const ObjectPtr& o) {
  Rs r;
  r.obj = o;
  r.name = o->name();
  const Json& j = o->object;
  r.replicas = Int(j["spec"], "replicas", 1);
  Json status = j.value("status", Json::object());
  r.status_replicas = Int(status, "replicas");
  r.ready = Int(status, "readyReplicas");
  r.available = Int(status, "availableReplicas");
  r.annotations = j["metadata"].value("annotations", Json::object());
  r.revision = std::max<int64_t>(0, AnnotationInt(r.annotations, kRevision, 0));
  r.created = j["metadata"].value("creationTimestamp", "");
  return r;
}

bool OlderFirst(const Rs* a, const Rs* b) {
  if (a->created != b->created) return a->created < b->created;
  return a->name < b->name;
}

Json StripHash(Json tmpl) {
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("labels")) tmpl["metadata"]["labels"].erase(kHashLabel);
  return tmpl;
}

struct Fenceposts {
  int64_t surge = 0;
  int64_t unavailable = 0;
};

Fenceposts Resolve(const Json& d) {
  Fenceposts f;
  const Json strategy = d["spec"].value("strategy", Json::object());
  if (strategy.value("type", "RollingUpdate") != "RollingUpdate") return f;
  int64_t replicas = Int(d["spec"], "replicas", 1);
  const Json ru = strategy.value("rollingUpdate", Json::object());
  (void)ScaledValue(ru.value("maxSurge", Json("25%")), replicas, true, &f.surge);
  (void)ScaledValue(ru.value("maxUnavailable", Json("25%")), replicas, false, &f.unavailable);
  if (f.surge == 0 && f.unavailable == 0) f.unavailable = 1;
  return f;
}

int64_t MaxSurge(const Json& d) { return Resolve(d).surge; }

int64_t MaxUnavailable(const Json& d) {
  int64_t replicas = Int(d["spec"], "replicas", 1);
  if (d["spec"].value("strategy", Json::object()).value("type", "RollingUpdate") != "RollingUpdate" ||
      replicas == 0) {
    return 0;
  }
  return std::min(Resolve(d).unavailable, replicas);
}

Json NewCondition(const std::string& type, const std::string& status, const std::string& reason,
                  const std::string& message) {
  std::string now = k8s::FormatTime(absl::Now());
  return {{"type", type}, {"status", status}, {"lastUpdateTime", now}, {"lastTransitionTime", now},
          {"reason", reason}, {"message", message}};
}

const Json* GetCondition(const Json& status, const std::string& type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return nullptr;
  for (const auto& c : status["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

void RemoveCondition(Json& status, const std::string& type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return;
  Json kept = Json::array();
  for (const auto& c : status["conditions"]) {
    if (c.value("type", "") != type) kept.push_back(c);
  }
  status["conditions"] = kept;
}

// Upstream's SetDeploymentCondition: same status and reason → no change;
// same status → keep lastTransitionTime; the condition goes to the end.
void SetCondition(Json& status, Json c) {
  if (const Json* cur = GetCondition(status, c["type"])) {
    if ((*cur)["status"] == c["status"] && (*cur)["reason"] == c["reason"]) return;
    if ((*cur)["status"] == c["status"]) c["lastTransitionTime"] = (*cur)["lastTransitionTime"];
  }
  RemoveCondition(status, c["type"]);
  if (!status.contains("conditions")) status["conditions"] = Json::array();
  status["conditions"].push_back(std::move(c));
}

bool HasProgressDeadline(const Json& d) {
  return d["spec"].contains("progressDeadlineSeconds") && d["spec"]["progressDeadlineSeconds"].is_number_integer() &&
         d["spec"]["progressDeadlineSeconds"].get<int64_t>() != 2147483647;
}

}  // namespace

DeploymentController::DeploymentController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                           const ControllerOptions& o)
    : Controller("deployment-controller", loop, api, owners, o.controller_qps, o.controller_burst, o.reaction_delay) {}

void DeploymentController::Start() {
  Observe(kDeployments, [this](const Event& e) { Enqueue(KeyOf(e.object)); });
  Observe(kReplicaSets, [this](const Event& e) {
    for (const ObjectPtr& o : {e.old, e.object}) {
      if (!o) continue;
      if (const Json* ref = ControllerRef(o->object, "Deployment")) {
        Enqueue(Store::KeyOf(o->ns(), ref->value("name", "")));
      }
    }
  });
  Observe(kPods, [this](const Event& e) {
    // Recreate waits for old pods to be gone: their deletion matters.
    if (e.type != EventType::kDeleted) return;
    const Json* rs_ref = ControllerRef(e.object->object, "ReplicaSet");
    if (!rs_ref) return;
    ObjectPtr rs = api_.store().Get(kReplicaSets, e.object->ns(), rs_ref->value("name", ""));
    if (!rs) return;
    if (const Json* d_ref = ControllerRef(rs->object, "Deployment")) {
      Enqueue(Store::KeyOf(rs->ns(), d_ref->value("name", "")));
    }
  });
}

void DeploymentController::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr dobj = api_.store().Get(kDeployments, ns, name);
  if (!dobj) return;
  SyncState s;
  s.key = key;
  s.d = dobj->object;
  s.status = s.d.value("status", Json::object());
  s.annotations = s.d["metadata"].value("annotations", Json::object());
  const std::string uid = s.d["metadata"].value("uid", "");
  for (const ObjectPtr& rs : owners_.Dependents(kReplicaSets, uid)) {
    const Json* ref = ControllerRef(rs->object, "Deployment");
    if (!ref || ref->value("uid", "") != uid) continue;
    s.all.push_back(ViewOf(rs));
  }
  // The new ReplicaSet: the oldest whose template equals the deployment's.
  Json want = StripHash(s.d["spec"].value("template", Json::object()));
  std::vector<Rs*> order;
  for (auto& r : s.all) order.push_back(&r);
  std::sort(order.begin(), order.end(), OlderFirst);
  for (Rs* r : order) {
    if (StripHash(r->obj->object["spec"].value("template", Json::object())) == want) {
      s.new_rs = r;
      break;
    }
  }
  for (Rs* r : order) {
    if (r != s.new_rs) s.old.push_back(r);
  }

  bool deleting = s.d["metadata"].contains("deletionTimestamp");
  const Json strategy = s.d["spec"].value("strategy", Json::object());
  bool recreate = strategy.value("type", "RollingUpdate") == "Recreate";
  bool paused = s.d["spec"].value("paused", false);

  if (deleting) {
    SyncRevision(s, false);
    return WriteStatus(s, false);
  }
  CheckPaused(s);
  if (paused || IsScalingEvent(s)) {
    SyncRevision(s, false);
    Scale(s);
    if (paused) Cleanup(s);
    return WriteStatus(s, false);
  }
  if (recreate) return RolloutRecreate(s);
  RolloutRolling(s);
}

void DeploymentController::CheckPaused(SyncState& s) {
  if (!HasProgressDeadline(s.d)) return;
  const Json* cond = GetCondition(s.status, "Progressing");
  if (cond && (*cond)["reason"] == "ProgressDeadlineExceeded") return;
  bool paused = s.d["spec"].value("paused", false);
  bool paused_cond = cond && (*cond)["reason"] == "DeploymentPaused";
  if (paused && !paused_cond) {
    SetCondition(s.status, NewCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"));
  } else if (!paused && paused_cond) {
    SetCondition(s.status, NewCondition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"));
  }
}

int64_t DeploymentController::MaxOldRevision(const SyncState& s) const {
  int64_t max = 0;
  for (const Rs* r : s.old) max = std::max(max, r->revision);
  return max;
}

// getAllReplicaSetsAndSyncRevision: keeps the new ReplicaSet's revision and
// annotations current, and creates it when asked and missing. Returns false
// when a write was queued and the rest must wait for it.
bool DeploymentController::SyncRevision(SyncState& s, bool create) {
  int64_t new_revision = MaxOldRevision(s) + 1;
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  int64_t max_replicas = replicas + MaxSurge(s.d);
  const std::string ns = s.d["metadata"].value("namespace", "");
  if (s.new_rs) {
    Rs& rs = *s.new_rs;
    Json ann = rs.annotations;
    bool changed = false;
    if (rs.revision < new_revision) {
      if (rs.revision > 0) {
        // A rollback reuses an old ReplicaSet: remember its earlier revision.
        std::string history = ann.value(kRevisionHistory, "");
        ann[kRevisionHistory] = history.empty() ? std::to_string(rs.revision)
                                                : absl::StrCat(history, ",", rs.revision);
      }
      ann[kRevision] = std::to_string(new_revision);
      rs.revision = new_revision;
      changed = true;
    }
    if (!ann.contains(kDesired)) {
      ann[kDesired] = std::to_string(replicas);
      ann[kMaxReplicas] = std::to_string(max_replicas);
      changed = true;
    }
    int64_t min_ready = Int(s.d["spec"], "minReadySeconds");
    bool min_ready_changed = Int(rs.obj->object["spec"], "minReadySeconds") != min_ready;
    if (changed || min_ready_changed) {
      rs.annotations = ann;
      std::string rs_name = rs.name;
      Write(s.key, [this, ns, rs_name, ann, min_ready] {
        (void)api_.Modify(kReplicaSets, ns, rs_name, [&](Json& o) {
          o["metadata"]["annotations"] = ann;
          if (min_ready > 0) {
            o["spec"]["minReadySeconds"] = min_ready;
          } else {
            o["spec"].erase("minReadySeconds");
          }
          return absl::OkStatus();
        });
      });
    }
    s.annotations[kRevision] = std::to_string(rs.revision);
    if (HasProgressDeadline(s.d) && !GetCondition(s.status, "Progressing")) {
      SetCondition(s.status, NewCondition("Progressing", "True", "FoundNewReplicaSet",
                                          absl::StrCat("Found new replica set \"", rs.name, "\"")));
    }
    return true;
  }
  if (!create) return true;

  // A new ReplicaSet for the current template.
  int64_t collisions = Int(s.status, "collisionCount");
  Json tmpl = s.d["spec"].value("template", Json::object());
  std::string hash = PodTemplateHash(tmpl, collisions);
  tmpl["metadata"]["labels"][kHashLabel] = hash;
  Json selector = s.d["spec"].value("selector", Json::object());
  selector["matchLabels"][kHashLabel] = hash;
  bool recreate = s.d["spec"].value("strategy", Json::object()).value("type", "RollingUpdate") == "Recreate";
  int64_t count = recreate ? replicas : NewReplicas(s, 0);
  std::string rs_name = absl::StrCat(s.d["metadata"].value("name", ""), "-", hash);
  Json labels = s.d["spec"]["template"]["metadata"].value("labels", Json::object());
  labels[kHashLabel] = hash;
  Json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata",
              {{"name", rs_name},
               {"namespace", ns},
               {"labels", labels},
               {"annotations",
                {{kRevision, std::to_string(new_revision)},
                 {kDesired, std::to_string(replicas)},
                 {kMaxReplicas, std::to_string(max_replicas)}}},
               {"ownerReferences", Json::array({OwnerReference(s.d)})}}},
             {"spec", {{"replicas", count}, {"selector", selector}, {"template", tmpl}}}};
  if (Int(s.d["spec"], "minReadySeconds") > 0) rs["spec"]["minReadySeconds"] = s.d["spec"]["minReadySeconds"];
  Json d = s.d;
  std::string key = s.key;
  Write(s.key, [this, ns, rs, d, count, rs_name, key, new_revision, want_tmpl = s.d["spec"]["template"]] {
    auto created = api_.Create(kReplicaSets, ns, rs);
    if (!created.ok()) {
      ObjectPtr clash = api_.store().Get(kReplicaSets, ns, rs_name);
      if (clash && StripHash(clash->object["spec"].value("template", Json::object())) != StripHash(want_tmpl)) {
        // A hash collision: count it so the next name differs.
        (void)api_.Modify(kDeployments, ns, d["metadata"].value("name", ""), [&](Json& o) {
          o["status"]["collisionCount"] = Int(o["status"], "collisionCount") + 1;
          return absl::OkStatus();
        }, {.subresource = "status"});
      }
      return;
    }
    if (count > 0) {
      Emit(d, "Normal", "ScalingReplicaSet",
                       absl::StrCat("Scaled up replica set ", rs_name, " to ", count));
    }
    (void)api_.Modify(kDeployments, ns, d["metadata"].value("name", ""), [&](Json& o) {
      o["metadata"]["annotations"][kRevision] = std::to_string(new_revision);
      if (HasProgressDeadline(o)) {
        SetCondition(o["status"], NewCondition("Progressing", "True", "NewReplicaSetCreated",
                                               absl::StrCat("Created new replica set \"", rs_name, "\"")));
      }
      return absl::OkStatus();
    }, {.subresource = "status"});
  });
  return false;
}

// NewRSNewReplicas for a rolling update.
int64_t DeploymentController::NewReplicas(const SyncState& s, int64_t new_current) const {
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  int64_t surge = MaxSurge(s.d);
  int64_t current = 0;
  for (const auto& r : s.all) current += r.replicas;
  int64_t max_total = replicas + surge;
  if (current >= max_total) return new_current;
  int64_t up = std::min(max_total - current, replicas - new_current);
  return new_current + up;
}

void DeploymentController::ScaleRs(SyncState& s, Rs& rs, int64_t to) {
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  std::string desired = std::to_string(replicas);
  std::string max = std::to_string(replicas + MaxSurge(s.d));
  bool size = rs.replicas != to;
  bool ann = rs.annotations.value(kDesired, "") != desired || rs.annotations.value(kMaxReplicas, "") != max;
  if (!size && !ann) return;
  std::string op = to > rs.replicas ? "up" : "down";
  rs.replicas = to;
  rs.annotations[kDesired] = desired;
  rs.annotations[kMaxReplicas] = max;
  std::string ns = s.d["metadata"].value("namespace", "");
  Json d = s.d;
  std::string rs_name = rs.name;
  Write(s.key, [this, ns, rs_name, to, desired, max, size, op, d] {
    auto updated = api_.Modify(kReplicaSets, ns, rs_name, [&](Json& o) {
      o["spec"]["replicas"] = to;
      o["metadata"]["annotations"][kDesired] = desired;
      o["metadata"]["annotations"][kMaxReplicas] = max;
      return absl::OkStatus();
    });
    if (updated.ok() && size) {
      Emit(d, "Normal", "ScalingReplicaSet",
                       absl::StrCat("Scaled ", op, " replica set ", rs_name, " to ", to));
    }
  });
  s.scaled = true;
}

bool DeploymentController::IsScalingEvent(SyncState& s) {
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  for (const auto& r : s.all) {
    if (r.replicas <= 0) continue;
    int64_t desired = AnnotationInt(r.annotations, kDesired);
    if (desired < 0) continue;
    if (desired != replicas) return true;
  }
  return false;
}

// dc.scale: the active ReplicaSet takes the full count, or all active ones
// share a change in proportion to their size.
void DeploymentController::Scale(SyncState& s) {
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  std::vector<Rs*> active;
  std::vector<Rs*> candidates = s.old;
  if (s.new_rs) candidates.push_back(s.new_rs);
  for (Rs* r : candidates) {
    if (r->replicas > 0) active.push_back(r);
  }
  Rs* target = nullptr;
  if (active.size() == 1) {
    target = active[0];
  } else if (active.empty()) {
    if (s.new_rs) {
      target = s.new_rs;
    } else if (!s.old.empty()) {
      target = *std::max_element(s.old.begin(), s.old.end(), OlderFirst);
    }
  }
  if (target) {
    if (target->replicas != replicas) ScaleRs(s, *target, replicas);
    return;
  }
  if (s.new_rs && s.new_rs->replicas == replicas && AnnotationInt(s.new_rs->annotations, kDesired) == replicas &&
      s.new_rs->available == replicas) {
    for (Rs* r : s.old) {
      if (r->replicas > 0) ScaleRs(s, *r, 0);
    }
    return;
  }
  if (s.d["spec"].value("strategy", Json::object()).value("type", "RollingUpdate") != "RollingUpdate") return;
  int64_t total = 0;
  for (Rs* r : active) total += r->replicas;
  int64_t allowed = replicas > 0 ? replicas + MaxSurge(s.d) : 0;
  int64_t to_add = allowed - total;
  if (to_add == 0) return;
  // Bigger first; among equals newer first when growing, older first when shrinking.
  std::sort(active.begin(), active.end(), [&](const Rs* a, const Rs* b) {
    if (a->replicas != b->replicas) return a->replicas > b->replicas;
    return to_add > 0 ? !OlderFirst(a, b) : OlderFirst(a, b);
  });
  std::map<std::string, int64_t> size;
  int64_t added = 0;
  int64_t status_replicas = Int(s.status, "replicas");
  for (Rs* r : active) {
    int64_t proportion = 0;
    if (r->replicas != 0 && to_add != added) {
      int64_t fraction;
      if (replicas == 0) {
        fraction = -r->replicas;
      } else {
        int64_t annotated = AnnotationInt(r->annotations, kMaxReplicas);
        if (annotated <= 0) annotated = status_replicas;
        double target_size = annotated > 0 ? static_cast<double>(r->replicas * allowed) / static_cast<double>(annotated)
                                           : static_cast<double>(r->replicas);
        fraction = static_cast<int64_t>(std::llround(target_size)) - r->replicas;
      }
      int64_t left = to_add - added;
      proportion = to_add > 0 ? std::min(fraction, left) : std::max(fraction, left);
    }
    size[r->name] = r->replicas + proportion;
    added += proportion;
  }
  for (size_t i = 0; i < active.size(); ++i) {
    Rs* r = active[i];
    if (i == 0) size[r->name] = std::max<int64_t>(0, size[r->name] + to_add - added);
    ScaleRs(s, *r, size[r->name]);
  }
}

void DeploymentController::RolloutRolling(SyncState& s) {
  if (!SyncRevision(s, true)) return;
  if (!s.new_rs) return;
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  Rs& nrs = *s.new_rs;
  // Scale up, if we can.
  if (nrs.replicas != replicas) {
    int64_t target = nrs.replicas > replicas ? replicas : NewReplicas(s, nrs.replicas);
    if (target != nrs.replicas) {
      ScaleRs(s, nrs, target);
      return WriteStatus(s, true);
    }
  }
  // Scale down, if we can.
  if (ReconcileOld(s)) return WriteStatus(s, true);
  if (Complete(s)) Cleanup(s);
  WriteStatus(s, true);
}

bool DeploymentController::ReconcileOld(SyncState& s) {
  int64_t old_pods = 0;
  for (Rs* r : s.old) old_pods += r->replicas;
  if (old_pods == 0) return false;
  int64_t all_pods = 0;
  for (const auto& r : s.all) all_pods += r.replicas;
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  int64_t min_available = replicas - MaxUnavailable(s.d);
  int64_t new_unavailable = s.new_rs->replicas - s.new_rs->available;
  int64_t max_scaled_down = all_pods - min_available - new_unavailable;
  if (max_scaled_down <= 0) return false;
  bool any = false;
  // Unhealthy old replicas go first.
  int64_t cleaned = 0;
  for (Rs* r : s.old) {
    if (cleaned >= max_scaled_down) break;
    if (r->replicas == 0 || r->replicas == r->available) continue;
    int64_t down = std::min(max_scaled_down - cleaned, r->replicas - r->available);
    ScaleRs(s, *r, r->replicas - down);
    cleaned += down;
    any = true;
  }
  // Then healthy ones, as far as availability allows.
  int64_t available = 0;
  for (const auto& r : s.all) available += r.available;
  if (available > min_available) {
    int64_t total_down = available - min_available;
    int64_t done = 0;
    for (Rs* r : s.old) {
      if (done >= total_down) break;
      if (r->replicas == 0) continue;
      int64_t down = std::min(r->replicas, total_down - done);
      ScaleRs(s, *r, r->replicas - down);
      done += down;
      any = true;
    }
  }
  return any;
}

void DeploymentController::RolloutRecreate(SyncState& s) {
  if (!SyncRevision(s, false)) return;
  bool scaled_down = false;
  for (Rs* r : s.old) {
    if (r->replicas > 0) {
      ScaleRs(s, *r, 0);
      scaled_down = true;
    }
  }
  if (scaled_down) return WriteStatus(s, true);
  // Wait until no pod of an old ReplicaSet is left running.
  for (Rs* r : s.old) {
    if (r->status_replicas > 0) return WriteStatus(s, true);
    std::string uid = r->obj->object["metadata"].value("uid", "");
    for (const ObjectPtr& p : owners_.Dependents(kPods, uid)) {
      std::string phase = p->object["status"].value("phase", "");
      if (phase != "Succeeded" && phase != "Failed") return WriteStatus(s, true);
    }
  }
  if (!s.new_rs) {
    SyncRevision(s, true);
    return;
  }
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  if (s.new_rs->replicas != replicas) ScaleRs(s, *s.new_rs, replicas);
  if (Complete(s)) Cleanup(s);
  WriteStatus(s, true);
}

bool DeploymentController::Complete(const SyncState& s) const {
  Json st = CalculateStatus(s);
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  return Int(st, "updatedReplicas") == replicas && Int(st, "replicas") == replicas &&
         Int(st, "availableReplicas") == replicas &&
         Int(st, "observedGeneration") >= s.d["metadata"].value("generation", int64_t{0});
}

void DeploymentController::Cleanup(SyncState& s) {
  if (!s.d["spec"].contains("revisionHistoryLimit")) return;
  int64_t limit = Int(s.d["spec"], "revisionHistoryLimit", 10);
  std::vector<Rs*> cleanable;
  for (Rs* r : s.old) {
    if (!r->obj->object["metadata"].contains("deletionTimestamp")) cleanable.push_back(r);
  }
  int64_t diff = static_cast<int64_t>(cleanable.size()) - limit;
  if (diff <= 0) return;
  std::sort(cleanable.begin(), cleanable.end(), [](const Rs* a, const Rs* b) {
    if (a->revision != b->revision) return a->revision < b->revision;
    return OlderFirst(a, b);
  });
  std::string ns = s.d["metadata"].value("namespace", "");
  for (int64_t i = 0; i < diff; ++i) {
    Rs* r = cleanable[static_cast<size_t>(i)];
    const Json& o = r->obj->object;
    if (r->status_replicas != 0 || r->replicas != 0 ||
        o["metadata"].value("generation", int64_t{0}) > Int(o.value("status", Json::object()), "observedGeneration")) {
      continue;
    }
    std::string rs_name = r->name;
    Write(s.key, [this, ns, rs_name] { (void)api_.Delete(kReplicaSets, ns, rs_name, {}); });
  }
}

Json DeploymentController::CalculateStatus(const SyncState& s) const {
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  int64_t available = 0, total = 0, actual = 0, ready = 0;
  for (const auto& r : s.all) {
    available += r.available;
    total += r.replicas;
    actual += r.status_replicas;
    ready += r.ready;
  }
  Json st = s.status;
  st["observedGeneration"] = s.d["metadata"].value("generation", int64_t{1});
  st["replicas"] = actual;
  st["updatedReplicas"] = s.new_rs ? s.new_rs->status_replicas : 0;
  st["readyReplicas"] = ready;
  st["availableReplicas"] = available;
  st["unavailableReplicas"] = std::max<int64_t>(0, total - available);
  for (const char* k : {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"}) {
    if (st[k] == 0) st.erase(k);
  }
  if (available >= replicas - MaxUnavailable(s.d)) {
    SetCondition(st, NewCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."));
  } else {
    SetCondition(st, NewCondition("Available", "False", "MinimumReplicasUnavailable",
                                  "Deployment does not have minimum availability."));
  }
  return st;
}

void DeploymentController::WriteStatus(SyncState& s, bool rollout) {
  Json st = CalculateStatus(s);
  int64_t replicas = Int(s.d["spec"], "replicas", 1);
  const Json& old = s.d.value("status", Json::object());
  if (rollout) {
    if (!HasProgressDeadline(s.d)) RemoveCondition(st, "Progressing");
    const Json* cur = GetCondition(st, "Progressing");
    bool complete_already = Int(st, "replicas") == Int(st, "updatedReplicas") && cur &&
                            (*cur)["reason"] == "NewReplicaSetAvailable";
    std::string rs_name = s.new_rs ? s.new_rs->name : "";
    std::string who = s.new_rs ? absl::StrCat("ReplicaSet \"", rs_name, "\"")
                               : absl::StrCat("Deployment \"", s.d["metadata"].value("name", ""), "\"");
    if (HasProgressDeadline(s.d) && !complete_already) {
      bool complete = Int(st, "updatedReplicas") == replicas && Int(st, "replicas") == replicas &&
                      Int(st, "availableReplicas") == replicas &&
                      Int(st, "observedGeneration") >= s.d["metadata"].value("generation", int64_t{0});
      int64_t old_old = Int(old, "replicas") - Int(old, "updatedReplicas");
      int64_t new_old = Int(st, "replicas") - Int(st, "updatedReplicas");
      bool progressing = Int(st, "updatedReplicas") > Int(old, "updatedReplicas") || new_old < old_old ||
                         Int(st, "readyReplicas") > Int(old, "readyReplicas") ||
                         Int(st, "availableReplicas") > Int(old, "availableReplicas");
      bool timed_out = false;
      if (cur && (*cur)["reason"] != "NewReplicaSetAvailable") {
        if ((*cur)["reason"] == "ProgressDeadlineExceeded") {
          timed_out = true;
        } else {
          auto from = k8s::ParseTime((*cur).value("lastUpdateTime", ""));
          int64_t deadline = Int(s.d["spec"], "progressDeadlineSeconds", 600);
          timed_out = from.ok() && *from + absl::Seconds(deadline) < absl::Now();
        }
      }
      if (complete) {
        SetCondition(st, NewCondition("Progressing", "True", "NewReplicaSetAvailable",
                                      absl::StrCat(who, " has successfully progressed.")));
      } else if (progressing) {
        Json c = NewCondition("Progressing", "True", "ReplicaSetUpdated", absl::StrCat(who, " is progressing."));
        if (cur && (*cur)["status"] == "True") c["lastTransitionTime"] = (*cur)["lastTransitionTime"];
        RemoveCondition(st, "Progressing");
        SetCondition(st, std::move(c));
      } else if (timed_out) {
        SetCondition(st, NewCondition("Progressing", "False", "ProgressDeadlineExceeded",
                                      absl::StrCat(who, " has timed out progressing.")));
      }
    }
    // A ReplicaSet's failure to create pods shows on the deployment.
    bool failure = false;
    for (const auto& r : s.all) {
      if (const Json* f = GetCondition(r.obj->object.value("status", Json::object()), "ReplicaFailure")) {
        if ((*f)["status"] == "True") {
          Json c = *f;
          c["lastUpdateTime"] = c.value("lastTransitionTime", k8s::FormatTime(absl::Now()));
          SetCondition(st, c);
          failure = true;
          break;
        }
      }
    }
    if (!failure) RemoveCondition(st, "ReplicaFailure");
  }
  if (st.contains("conditions") && st["conditions"].empty()) st.erase("conditions");
  bool annotations_changed = s.annotations != s.d["metadata"].value("annotations", Json::object());
  if (st == old && !annotations_changed) {
    RequeueIfStuck(s, st);
    return;
  }
  std::string ns = s.d["metadata"].value("namespace", "");
  std::string name = s.d["metadata"].value("name", "");
  Json ann = s.annotations;
  Write(s.key, [this, ns, name, st, ann, annotations_changed] {
    (void)api_.Modify(kDeployments, ns, name, [&](Json& o) {
      o["status"] = st;
      if (annotations_changed) o["metadata"]["annotations"] = ann;
      return absl::OkStatus();
    }, {.subresource = "status"});
  });
  RequeueIfStuck(s, st);
}

void DeploymentController::RequeueIfStuck(const SyncState& s, const Json& st) {
  const Json* cur = GetCondition(st, "Progressing");
  if (!HasProgressDeadline(s.d) || !cur || (*cur)["status"] != "True" ||
      (*cur)["reason"] == "NewReplicaSetAvailable" || (*cur)["reason"] == "ProgressDeadlineExceeded") {
    return;
  }
  auto from = k8s::ParseTime((*cur).value("lastUpdateTime", ""));
  if (!from.ok()) return;
  absl::Duration after = *from + absl::Seconds(Int(s.d["spec"], "progressDeadlineSeconds", 600)) - absl::Now();
  // Status times have whole seconds: look again just after the deadline.
  Enqueue(s.key, std::max(after, absl::ZeroDuration()) + absl::Milliseconds(1100));
}

}  // namespace herd::sim
