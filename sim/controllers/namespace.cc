// The namespace controller, after upstream's namespaced resources deleter:
// for a namespace with a deletionTimestamp it deletes every namespaced
// object in it (one delete-collection per type, background propagation),
// keeps the NamespaceDeletion*/NamespaceContentRemaining/
// NamespaceFinalizersRemaining conditions current, and once nothing is left
// removes "kubernetes" from spec.finalizers, upon which the API server
// removes the namespace.
#include "sim/controllers/namespace.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "sim/controllers/internal/object_util.h"

namespace herd::sim {
namespace {

using internal::Deleting;
using internal::Field;
using internal::Str;

constexpr char kFinalizer[] = "kubernetes";

bool HasSpecFinalizer(const Json& ns) {
  const Json& list = Field(Field(ns, "spec"), "finalizers");
  if (!list.is_array()) return false;
  for (const auto& f : list) {
    if (f == kFinalizer) return true;
  }
  return false;
}

struct Cond {
  const char* type;
  bool failing;
  std::string reason;
  std::string message;
};

// Upstream's condition order; the happy variant of each when not failing.
std::vector<Cond> Conditions(const std::map<std::string, int64_t>& remaining,
                             const std::map<std::string, int64_t>& finalizers) {
  std::vector<Cond> out = {
      {"NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered"},
      {"NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions",
       "All legacy kube types successfully parsed"},
      {"NamespaceDeletionContentFailure", false, "ContentDeleted",
       "All content successfully deleted, may be waiting on finalization"},
  };
  if (remaining.empty()) {
    out.push_back({"NamespaceContentRemaining", false, "ContentRemoved", "All content successfully removed"});
  } else {
    std::vector<std::string> parts;
    for (const auto& [gr, n] : remaining) parts.push_back(absl::StrCat(gr, " has ", n, " resource instances"));
    out.push_back({"NamespaceContentRemaining", true, "SomeResourcesRemain",
                   absl::StrCat("Some resources are remaining: ", absl::StrJoin(parts, ", "))});
  }
  if (finalizers.empty()) {
    out.push_back({"NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers",
                   "All content-preserving finalizers finished"});
  } else {
    std::vector<std::string> parts;
    for (const auto& [f, n] : finalizers) parts.push_back(absl::StrCat(f, " in ", n, " resource instances"));
    out.push_back(
        {"NamespaceFinalizersRemaining", true, "SomeFinalizersRemain",
         absl::StrCat("Some content in the namespace has finalizers remaining: ", absl::StrJoin(parts, ", "))});
  }
  return out;
}

// Merges `conds` into status.conditions; the transition time moves only
// when the status does.
bool UpdateConditions(Json& status, const std::vector<Cond>& conds) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
  Json& list = status["conditions"];
  bool changed = false;
  std::string now = k8s::FormatTime(absl::Now());
  for (const Cond& c : conds) {
    std::string st = c.failing ? "True" : "False";
    Json* cur = nullptr;
    for (auto& x : list) {
      if (Str(x, "type") == c.type) cur = &x;
    }
    if (!cur) {
      list.push_back({{"type", c.type},
                      {"status", st},
                      {"lastTransitionTime", now},
                      {"reason", c.reason},
                      {"message", c.message}});
      changed = true;
      continue;
    }
    if (Str(*cur, "status") == st && Str(*cur, "reason") == c.reason && Str(*cur, "message") == c.message) continue;
    if (Str(*cur, "status") != st) (*cur)["lastTransitionTime"] = now;
    (*cur)["status"] = st;
    (*cur)["reason"] = c.reason;
    (*cur)["message"] = c.message;
    changed = true;
  }
  return changed;
}

}  // namespace

NamespaceController::NamespaceController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                         const ControllerOptions& o)
    : Controller("namespace-controller", loop, api, owners, o.controller_qps, o.controller_burst, o.reaction_delay) {}

void NamespaceController::Start() {
  Observe(kNamespaces, [this](const Event& e) {
    if (e.type != EventType::kDeleted && Deleting(e.object->object)) Enqueue(e.object->name());
  });
  for (const auto& rt : Resources()) {
    if (!rt.namespaced) continue;
    Observe(rt.id, [this](const Event& e) {
      // What is left of a terminating namespace shrinks with each removal.
      if (e.type != EventType::kDeleted) return;
      ObjectPtr ns = api_.store().Get(kNamespaces, "", e.object->ns());
      if (ns && Deleting(ns->object)) Enqueue(ns->name());
    });
  }
}

void NamespaceController::Sync(const std::string& key) {
  ObjectPtr nso = api_.store().Get(kNamespaces, "", key);
  if (!nso || !Deleting(nso->object) || !HasSpecFinalizer(nso->object)) return;

  std::map<std::string, int64_t> remaining;   // "pods." → count, as upstream names group resources
  std::map<std::string, int64_t> finalizers;  // finalizer → objects carrying it
  bool deleting_now = false;
  for (const auto& rt : Resources()) {
    if (!rt.namespaced) continue;
    std::vector<std::string> doomed;
    int64_t count = 0;
    api_.store().Scan(rt.id, key, "", [&](const ObjectPtr& o) {
      ++count;
      if (!Deleting(o->object)) doomed.push_back(o->name());
      const Json& fs = Field(Field(o->object, "metadata"), "finalizers");
      if (fs.is_array()) {
        for (const auto& f : fs) {
          if (f.is_string()) finalizers[f.get<std::string>()]++;
        }
      }
      return true;
    });
    if (count > 0) remaining[absl::StrCat(rt.plural, ".", rt.group)] = count;
    if (doomed.empty()) continue;
    deleting_now = true;
    // One write per type, as upstream's one DeleteCollection call per resource.
    Write(key, [this, r = rt.id, ns = key, doomed] {
      DeleteOptions del;
      del.propagation_policy = "Background";
      for (const auto& name : doomed) (void)api_.Delete(r, ns, name, del);
    });
  }
  // Conditions describe what the deletions left; the sync after them reports it.
  if (deleting_now) return;
  Json status = nso->object.value("status", Json::object());
  if (UpdateConditions(status, Conditions(remaining, finalizers))) {
    Write(key, [this, key, status] {
      (void)api_.Modify(kNamespaces, "", key,
                        [&](Json& n) {
                          n["status"]["conditions"] = status["conditions"];
                          return absl::OkStatus();
                        },
                        {.subresource = "status"});
    });
  }
  if (!remaining.empty()) {
    // Removals requeue this; the delay only guards against a missed one.
    Enqueue(key, absl::Seconds(5));
    return;
  }
  Write(key, [this, key] {
    (void)api_.Modify(kNamespaces, "", key, [&](Json& n) {
      Json kept = Json::array();
      for (const auto& f : Field(Field(n, "spec"), "finalizers")) {
        if (f != kFinalizer) kept.push_back(f);
      }
      n["spec"]["finalizers"] = kept;
      return absl::OkStatus();
    });
  });
}

}  // namespace herd::sim
