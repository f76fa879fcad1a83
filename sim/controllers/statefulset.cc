// The StatefulSet controller, after upstream's defaultStatefulSetControl:
//  - history: the template of each version is a ControllerRevision named
//    <set>-<hash> with a `revision` number; returning to an old template
//    renumbers its revision instead of creating one (kubectl rollout undo);
//    revisions no pod uses beyond revisionHistoryLimit are deleted;
//  - pods <set>-<ordinal> carry controller-revision-hash (the revision's
//    name) and statefulset.kubernetes.io/pod-name; failed or succeeded pods
//    are recreated;
//  - OrderedReady creates ordinal i only once every lower one is Running and
//    available, and removes surplus pods from the highest ordinal down, one
//    at a time; Parallel does both at once;
//  - RollingUpdate deletes the highest-ordinal pod not at the update
//    revision (down to the partition), one at a time, waiting for the one
//    above to be healthy again; OnDelete only replaces pods deleted by others;
//  - status counts pods, and currentRevision becomes updateRevision once
//    every pod is updated and ready.
#include "sim/controllers/statefulset.h"

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "sim/controllers/internal/object_util.h"
#include "sim/json_text.h"
#include "sim/names.h"

namespace herd::sim {
namespace {

using internal::Deleting;
using internal::Field;
using internal::Int;
using internal::Str;
using internal::Uid;

constexpr char kRevisionLabel[] = "controller-revision-hash";
constexpr char kPodNameLabel[] = "statefulset.kubernetes.io/pod-name";

// The ordinal of a pod named <parent>-<n>, or -1; `parent` gets the prefix.
int Ordinal(const std::string& name, std::string* parent) {
  size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 == name.size()) return -1;
  int n = 0;
  std::string digits = name.substr(dash + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  if (!absl::SimpleAtoi(digits, &n)) return -1;
  if (parent) *parent = name.substr(0, dash);
  return n;
}

std::string PodRevision(const Json& pod) { return Str(Field(Field(pod, "metadata"), "labels"), kRevisionLabel); }
std::string Phase(const Json& pod) { return Str(Field(pod, "status"), "phase"); }
bool RunningAndReady(const Json& pod) { return Phase(pod) == "Running" && PodReady(pod); }
bool Healthy(const Json& pod) { return RunningAndReady(pod) && !Deleting(pod); }

bool HasControllerRef(const Json& obj) {
  const Json& refs = Field(Field(obj, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const auto& r : refs) {
    if (Field(r, "controller").is_boolean() && r["controller"].get<bool>()) return true;
  }
  return false;
}

struct Revision {
  std::string name;
  int64_t number = 0;
  Json data;
  std::string created;
};

// One ordinal's pod: the stored one, or one to create.
struct Slot {
  ObjectPtr stored;
  Json pod;
  int ordinal = 0;
  bool created() const { return stored != nullptr; }
  const Json& json() const { return stored ? stored->object : pod; }
};

Json TemplateOf(const Revision& rev) {
  Json tmpl = Field(Field(rev.data, "spec"), "template");
  if (tmpl.is_object()) tmpl.erase("$patch");
  return tmpl;
}

}  // namespace

namespace internal {

Json StatefulSetPatch(const Json& set) {
  Json tmpl = Field(Field(set, "spec"), "template");
  if (!tmpl.is_object()) tmpl = Json::object();
  tmpl["$patch"] = "replace";
  return Json{{"spec", {{"template", std::move(tmpl)}}}};
}

std::string ControllerRevisionHash(const Json& data, int64_t collision_count) {
  // FNV-32 (multiply, then xor), not the 32a the pod-template-hash uses.
  uint32_t h = 2166136261u;
  auto mix = [&h](unsigned char c) {
    h *= 16777619u;
    h ^= c;
  };
  for (unsigned char c : JsonText(data)) mix(c);
  for (unsigned char c : std::to_string(collision_count)) mix(c);
  return SafeEncode(std::to_string(h));
}

}  // namespace internal

StatefulSetController::StatefulSetController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                             const ControllerOptions& o)
    : Controller("statefulset-controller", loop, api, owners, o.controller_qps, o.controller_burst, o.reaction_delay) {}

void StatefulSetController::Start() {
  Observe(kStatefulSets, [this](const Event& e) {
    if (e.type != EventType::kDeleted) Enqueue(KeyOf(e.object));
  });
  Observe(kPods, [this](const Event& e) {
    for (const ObjectPtr& o : {e.old, e.object}) {
      if (!o) continue;
      if (const Json* ref = ControllerRef(o->object, "StatefulSet")) Enqueue(Store::KeyOf(o->ns(), Str(*ref, "name")));
    }
  });
}

void StatefulSetController::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr set_obj = api_.store().Get(kStatefulSets, ns, name);
  if (!set_obj) return;
  const Json& set = set_obj->object;
  const Json& spec = Field(set, "spec");
  const std::string uid = Uid(set);
  const int64_t replica_count = std::max<int64_t>(0, Int(spec, "replicas", 1));
  const absl::Duration min_ready = absl::Seconds(Int(spec, "minReadySeconds"));
  const absl::Time now = absl::Now();
  auto available = [&](const Json& pod) { return RunningAndReady(pod) && PodAvailable(pod, min_ready, now); };

  std::vector<ObjectPtr> pods;
  for (const ObjectPtr& p : owners_.Dependents(kPods, uid)) {
    const Json* ref = ControllerRef(p->object, "StatefulSet");
    std::string parent;
    if (!ref || Str(*ref, "uid") != uid || Ordinal(p->name(), &parent) < 0 || parent != name) continue;
    pods.push_back(p);
  }
  std::vector<Revision> revisions;
  for (const ObjectPtr& r : owners_.Dependents(kControllerRevisions, uid)) {
    const Json* ref = ControllerRef(r->object, "StatefulSet");
    if (!ref || Str(*ref, "uid") != uid) continue;
    revisions.push_back({r->name(), Int(r->object, "revision"), Field(r->object, "data"),
                         Str(Field(r->object, "metadata"), "creationTimestamp")});
  }
  std::sort(revisions.begin(), revisions.end(), [](const Revision& a, const Revision& b) {
    if (a.number != b.number) return a.number < b.number;
    if (a.created != b.created) return a.created < b.created;
    return a.name < b.name;
  });

  // getStatefulSetRevisions.
  const Json& old_status = Field(set, "status");
  int64_t collisions = Int(old_status, "collisionCount");
  int64_t next_number = revisions.empty() ? 1 : revisions.back().number + 1;
  Json data = internal::StatefulSetPatch(set);
  const Revision* equal = nullptr;
  for (const auto& r : revisions) {
    if (r.data == data) equal = &r;
  }
  Revision update;
  if (equal && equal == &revisions.back()) {
    update = *equal;
  } else if (equal) {
    // Back to an earlier template (a rollback): that revision becomes the newest.
    update = *equal;
    update.number = next_number;
    Write(key, [this, ns = ns, rev = update.name, next_number] {
      (void)api_.Modify(kControllerRevisions, ns, rev, [&](Json& o) {
        o["revision"] = next_number;
        return absl::OkStatus();
      });
    });
  } else {
    std::string hash;
    for (;;) {
      hash = internal::ControllerRevisionHash(data, collisions);
      ObjectPtr clash = api_.store().Get(kControllerRevisions, ns, absl::StrCat(name, "-", hash));
      if (!clash || Field(clash->object, "data") == data) break;
      ++collisions;
    }
    update = {absl::StrCat(name, "-", hash), next_number, data, ""};
    Json labels = Field(Field(Field(spec, "template"), "metadata"), "labels");
    if (!labels.is_object()) labels = Json::object();
    labels[kRevisionLabel] = hash;
    Json meta = {{"name", update.name},
                 {"namespace", ns},
                 {"labels", labels},
                 {"ownerReferences", Json::array({OwnerReference(set)})}};
    const Json& annotations = Field(Field(set, "metadata"), "annotations");
    if (annotations.is_object() && !annotations.empty()) meta["annotations"] = annotations;
    Json cr = {{"apiVersion", "apps/v1"},
               {"kind", "ControllerRevision"},
               {"metadata", meta},
               {"data", data},
               {"revision", next_number}};
    Write(key, [this, ns = ns, cr] {
      auto created = api_.Create(kControllerRevisions, ns, cr);
      (void)created;  // an existing equal revision is as good
    });
  }
  Revision current = update;
  std::string current_name = Str(old_status, "currentRevision");
  for (const auto& r : revisions) {
    if (r.name == current_name) current = r;
  }

  // Status as the pods are now (upstream counts before acting).
  Json status = {{"observedGeneration", Int(Field(set, "metadata"), "generation", 1)},
                 {"currentRevision", current.name},
                 {"updateRevision", update.name},
                 {"collisionCount", collisions}};
  int64_t n_replicas = 0, n_ready = 0, n_available = 0, n_current = 0, n_updated = 0;
  for (const ObjectPtr& p : pods) {
    const Json& pod = p->object;
    ++n_replicas;
    if (RunningAndReady(pod)) {
      ++n_ready;
      if (available(pod)) ++n_available;
    }
    if (!Deleting(pod)) {
      if (PodRevision(pod) == current.name) ++n_current;
      if (PodRevision(pod) == update.name) ++n_updated;
    }
  }

  const Json& strategy = Field(spec, "updateStrategy");
  bool rolling = Str(strategy, "type") != "OnDelete";
  const Json& rolling_update = Field(strategy, "rollingUpdate");
  int64_t partition = rolling_update.is_object() ? Int(rolling_update, "partition") : 0;
  bool monotonic = Str(spec, "podManagementPolicy") != "Parallel";

  auto new_pod = [&](int ordinal) {
    bool at_current = (rolling && rolling_update.is_null() && ordinal < Int(old_status, "currentReplicas")) ||
                      (rolling_update.is_object() && ordinal < partition);
    const Revision& rev = at_current ? current : update;
    Json tmpl = TemplateOf(rev);
    Json pod = NewPodFromTemplate(tmpl, set, "");
    std::string pod_name = absl::StrCat(name, "-", ordinal);
    pod["metadata"]["name"] = pod_name;
    pod["metadata"]["labels"][kRevisionLabel] = rev.name;
    pod["metadata"]["labels"][kPodNameLabel] = pod_name;
    pod["spec"]["hostname"] = pod_name;
    std::string service = Str(spec, "serviceName");
    if (!service.empty()) pod["spec"]["subdomain"] = service;
    const Json& claims = Field(spec, "volumeClaimTemplates");
    if (claims.is_array()) {
      Json& volumes = pod["spec"]["volumes"];
      if (!volumes.is_array()) volumes = Json::array();
      for (const auto& c : claims) {
        std::string claim = Str(Field(c, "metadata"), "name");
        volumes.push_back(
            {{"name", claim}, {"persistentVolumeClaim", {{"claimName", absl::StrCat(claim, "-", pod_name)}}}});
      }
    }
    return pod;
  };

  std::vector<Slot> slots(static_cast<size_t>(replica_count));
  std::vector<Slot> condemned;
  for (const ObjectPtr& p : pods) {
    int ord = Ordinal(p->name(), nullptr);
    if (ord < replica_count) {
      slots[static_cast<size_t>(ord)].stored = p;
    } else {
      condemned.push_back({p, Json(), ord});
    }
  }
  auto selector = k8s::LabelSelector::FromJson(Field(spec, "selector"));
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& slot = slots[i];
    slot.ordinal = static_cast<int>(i);
    if (slot.created()) continue;
    // A pod of this name that nothing controls (left by an orphaning
    // delete of an earlier set) is adopted, as upstream's ClaimPods does.
    ObjectPtr stray = api_.store().Get(kPods, ns, absl::StrCat(name, "-", i));
    if (stray && selector.ok() && !Deleting(stray->object) && !HasControllerRef(stray->object) &&
        selector->Matches(Field(Field(stray->object, "metadata"), "labels"))) {
      slot.stored = stray;
      Write(key, [this, ns = ns, pod = stray->name(), ref = OwnerReference(set)] {
        (void)api_.Modify(kPods, ns, pod, [&](Json& p) {
          Json& refs = p["metadata"]["ownerReferences"];
          if (!refs.is_array()) refs = Json::array();
          refs.push_back(ref);
          return absl::OkStatus();
        });
      });
      continue;
    }
    slot.pod = new_pod(static_cast<int>(i));
  }
  std::sort(condemned.begin(), condemned.end(), [](const Slot& a, const Slot& b) { return a.ordinal > b.ordinal; });
  const Slot* first_unhealthy = nullptr;
  for (const Slot& s : slots) {
    if (!first_unhealthy && !Healthy(s.json())) first_unhealthy = &s;
  }
  for (auto it = condemned.rbegin(); it != condemned.rend() && !first_unhealthy; ++it) {
    if (!Healthy(it->json())) first_unhealthy = &*it;
  }

  auto create = [&](const Json& pod) {
    Write(key, [this, ns = ns, pod, set] {
      std::string pod_name = Str(pod["metadata"], "name");
      auto created = api_.Create(kPods, ns, pod);
      std::string set_name = Str(set["metadata"], "name");
      if (created.ok()) {
        Emit(set, "Normal", "SuccessfulCreate",
             absl::StrCat("create Pod ", pod_name, " in StatefulSet ", set_name, " successful"));
      } else {
        Emit(set, "Warning", "FailedCreate",
             absl::StrCat("create Pod ", pod_name, " in StatefulSet ", set_name,
                          " failed error: ", created.status().message()));
      }
    });
  };
  auto remove = [&](const ObjectPtr& p) {
    Write(key, [this, ns = ns, pod_name = p->name(), pod_uid = Uid(p->object), set] {
      DeleteOptions del;
      del.precondition_uid = pod_uid;
      auto deleted = api_.Delete(kPods, ns, pod_name, del);
      std::string set_name = Str(set["metadata"], "name");
      if (deleted.ok()) {
        Emit(set, "Normal", "SuccessfulDelete",
             absl::StrCat("delete Pod ", pod_name, " in StatefulSet ", set_name, " successful"));
      } else if (!absl::IsNotFound(deleted.status())) {
        Emit(set, "Warning", "FailedDelete",
             absl::StrCat("delete Pod ", pod_name, " in StatefulSet ", set_name,
                          " failed error: ", deleted.status().message()));
      }
    });
  };

  // The steps below stop at the first that must wait (OrderedReady); the
  // status and history are written whichever way they end.
  auto act = [&]() {
    if (Deleting(set)) return;
    for (Slot& s : slots) {
      if (s.created()) {
        std::string phase = Phase(s.stored->object);
        if (phase == "Failed" || phase == "Succeeded") {
          bool failed = phase == "Failed";
          Emit(set, failed ? "Warning" : "Normal", failed ? "RecreatingFailedPod" : "RecreatingTerminatedPod",
               absl::StrCat("StatefulSet ", ns, "/", name, " is recreating ", failed ? "failed" : "terminated", " Pod ",
                            s.stored->name()));
          remove(s.stored);
          s.stored = nullptr;
          s.pod = new_pod(s.ordinal);
        }
      }
      if (!s.created()) {
        create(s.pod);
        if (monotonic) return;
        continue;
      }
      const Json& pod = s.stored->object;
      if (Deleting(pod) && monotonic) return;
      if (!available(pod) && monotonic) return;
      std::string pod_name = s.stored->name();
      if (Str(Field(Field(pod, "metadata"), "labels"), kPodNameLabel) != pod_name) {
        Write(key, [this, ns = ns, pod_name, set] {
          auto updated = api_.Modify(kPods, ns, pod_name, [&](Json& p) {
            p["metadata"]["labels"][kPodNameLabel] = pod_name;
            return absl::OkStatus();
          });
          if (updated.ok()) {
            Emit(
                set, "Normal", "SuccessfulUpdate",
                absl::StrCat("update Pod ", pod_name, " in StatefulSet ", Str(set["metadata"], "name"), " successful"));
          }
        });
      }
    }
    for (const Slot& s : condemned) {
      const Json& pod = s.stored->object;
      if (Deleting(pod)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && &s != first_unhealthy && (!RunningAndReady(pod) || !available(pod))) return;
      remove(s.stored);
      if (monotonic) return;
    }
    if (!rolling) return;
    int64_t update_min = rolling_update.is_object() ? partition : 0;
    for (int64_t target = replica_count - 1; target >= update_min; --target) {
      const Slot& s = slots[static_cast<size_t>(target)];
      if (PodRevision(s.json()) != update.name && !Deleting(s.json())) {
        if (s.created()) {
          remove(s.stored);
          --n_current;
        }
        return;
      }
      if (!s.created() || !Healthy(s.json())) return;
    }
  };
  act();

  status["replicas"] = n_replicas;
  status["availableReplicas"] = n_available;
  if (n_ready > 0) status["readyReplicas"] = n_ready;
  if (n_current > 0) status["currentReplicas"] = n_current;
  if (n_updated > 0) status["updatedReplicas"] = n_updated;
  // completeRollingUpdate.
  if (rolling && n_updated == n_replicas && n_ready == n_replicas) {
    status["currentRevision"] = update.name;
    if (n_updated > 0) {
      status["currentReplicas"] = n_updated;
    } else {
      status.erase("currentReplicas");
    }
  }
  if (status != old_status) {
    Write(key, [this, ns = ns, name = name, status] {
      (void)api_.Modify(kStatefulSets, ns, name,
                        [&](Json& o) {
                          o["status"] = status;
                          return absl::OkStatus();
                        },
                        {.subresource = "status"});
    });
  }

  // truncateHistory: revisions no pod uses, beyond the limit, oldest first.
  std::set<std::string> live = {current.name, update.name};
  for (const ObjectPtr& p : pods) live.insert(PodRevision(p->object));
  std::vector<const Revision*> history;
  for (const auto& r : revisions) {
    if (!live.count(r.name)) history.push_back(&r);
  }
  int64_t limit = Int(spec, "revisionHistoryLimit", 10);
  for (int64_t i = 0; i + limit < static_cast<int64_t>(history.size()); ++i) {
    Write(key, [this, ns = ns, rev = history[static_cast<size_t>(i)]->name] {
      (void)api_.Delete(kControllerRevisions, ns, rev, {});
    });
  }
  // Pods become available minReadySeconds after Ready: look again then.
  if (min_ready > absl::ZeroDuration() && n_ready != n_available) Enqueue(key, min_ready);
}

}  // namespace herd::sim
