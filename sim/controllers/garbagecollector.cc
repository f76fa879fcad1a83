// The garbage collector, after upstream's: an object whose owners (matched
// by uid) are all gone is deleted, honouring the policy its own finalizers
// ask for; an owner in foreground deletion ("foregroundDeletion") has its
// dependents deleted — those that have dependents of their own in the
// foreground as well — and loses the finalizer once no dependent blocks it
// (blockOwnerDeletion); an owner with the "orphan" finalizer has itself
// removed from its dependents' ownerReferences, then loses the finalizer.
// Upstream's dependency graph is the shared OwnerIndex here.
#include "sim/controllers/garbagecollector.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sim/controllers/internal/object_util.h"

namespace herd::sim {
namespace {

using internal::Deleting;
using internal::Field;
using internal::HasFinalizer;
using internal::Str;
using internal::Uid;

constexpr char kForeground[] = "foregroundDeletion";
constexpr char kOrphan[] = "orphan";

const Json& RefsOf(const Json& obj) { return Field(Field(obj, "metadata"), "ownerReferences"); }

// The ownerReferences of `obj` that name `uid`.
const Json* RefTo(const Json& obj, const std::string& uid) {
  const Json& refs = RefsOf(obj);
  if (!refs.is_array()) return nullptr;
  for (const auto& ref : refs) {
    if (Str(ref, "uid") == uid) return &ref;
  }
  return nullptr;
}

std::string ItemKey(ResourceId r, const std::string& ns, const std::string& name) {
  return absl::StrCat(static_cast<int>(r), "|", Store::KeyOf(ns, name));
}

// Removes the references to `uids` from `obj`; false when there were none.
bool DropRefs(Json& obj, const std::set<std::string>& uids) {
  Json& meta = obj["metadata"];
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return false;
  Json kept = Json::array();
  for (const auto& ref : meta["ownerReferences"]) {
    if (!uids.count(Str(ref, "uid"))) kept.push_back(ref);
  }
  if (kept.size() == meta["ownerReferences"].size()) return false;
  if (kept.empty()) {
    meta.erase("ownerReferences");
  } else {
    meta["ownerReferences"] = std::move(kept);
  }
  return true;
}

}  // namespace

GarbageCollector::GarbageCollector(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                   const ControllerOptions& o)
    : Controller("garbage-collector-controller", loop, api, owners, o.controller_qps, o.controller_burst,
                 o.reaction_delay) {}

void GarbageCollector::Start() {
  for (int r = 0; r < kResourceCount; ++r) {
    // Events name objects but never own or belong to them.
    if (r == kEvents) continue;
    Observe(static_cast<ResourceId>(r), [this](const Event& e) { OnChange(e); });
  }
}

void GarbageCollector::OnChange(const Event& e) {
  const ObjectPtr& o = e.object;
  const Json& obj = o->object;
  if (e.type == EventType::kDeleted) {
    // Its dependents may have lost their last owner; owners waiting for it
    // may be done.
    EnqueueDependents(Uid(obj));
    EnqueueDeletingOwners(o);
    return;
  }
  const Json& refs = RefsOf(obj);
  bool refs_changed = !e.old || RefsOf(e.old->object) != refs;
  if (refs_changed) {
    if (refs.is_array() && !refs.empty()) EnqueueObject(e.resource, o);
    // A reference dropped or unblocked may release an owner.
    if (e.old) EnqueueDeletingOwners(e.old);
  }
  if (Deleting(obj)) {
    bool started = !e.old || !Deleting(e.old->object) ||
                   Field(Field(e.old->object, "metadata"), "finalizers") != Field(Field(obj, "metadata"), "finalizers");
    if (started && (HasFinalizer(obj, kForeground) || HasFinalizer(obj, kOrphan))) {
      EnqueueObject(e.resource, o);
      if (HasFinalizer(obj, kForeground)) EnqueueDependents(Uid(obj));
    }
  }
}

void GarbageCollector::EnqueueObject(ResourceId r, const ObjectPtr& o) { Enqueue(ItemKey(r, o->ns(), o->name())); }

void GarbageCollector::EnqueueDependents(const std::string& uid) {
  if (uid.empty()) return;
  for (const auto& [r, dep] : owners_.AllDependents(uid)) EnqueueObject(r, dep);
}

void GarbageCollector::EnqueueDeletingOwners(const ObjectPtr& o) {
  const Json& refs = RefsOf(o->object);
  if (!refs.is_array()) return;
  for (const auto& ref : refs) {
    ResourceId type;
    ObjectPtr owner = FindOwner(o, ref, &type);
    if (owner && Deleting(owner->object) && HasFinalizer(owner->object, kForeground)) EnqueueObject(type, owner);
  }
}

ObjectPtr GarbageCollector::FindOwner(const ObjectPtr& dependent, const Json& ref, ResourceId* type) const {
  const ResourceType* rt = FindKind(Str(ref, "apiVersion"), Str(ref, "kind"));
  if (!rt) return nullptr;
  *type = rt->id;
  ObjectPtr owner = api_.store().Get(rt->id, rt->namespaced ? dependent->ns() : "", Str(ref, "name"));
  if (!owner || Uid(owner->object) != Str(ref, "uid")) return nullptr;
  return owner;
}

GarbageCollector::OwnerState GarbageCollector::Classify(const ObjectPtr& dependent, const Json& ref) const {
  // An owner of a kind kubesim does not serve cannot be looked up; upstream
  // retries such references rather than treat them as gone.
  if (!FindKind(Str(ref, "apiVersion"), Str(ref, "kind"))) return OwnerState::kUnknown;
  ResourceId type;
  ObjectPtr owner = FindOwner(dependent, ref, &type);
  if (!owner) return OwnerState::kDangling;
  if (Deleting(owner->object) && HasFinalizer(owner->object, kForeground)) return OwnerState::kWaiting;
  return OwnerState::kSolid;
}

void GarbageCollector::Sync(const std::string& key) {
  size_t bar = key.find('|');
  int rid = 0;
  if (bar == std::string::npos || !absl::SimpleAtoi(key.substr(0, bar), &rid) || rid < 0 || rid >= kResourceCount) {
    return;
  }
  auto r = static_cast<ResourceId>(rid);
  auto [ns, name] = SplitKey(key.substr(bar + 1));
  ObjectPtr item = api_.store().Get(r, ns, name);
  if (!item) return;
  const Json& obj = item->object;
  if (Deleting(obj)) {
    if (HasFinalizer(obj, kOrphan)) return Orphan(key, r, item);
    if (HasFinalizer(obj, kForeground)) return DeleteDependentsFirst(key, r, item);
    // Deletion is a one-way trip: its dependents are looked at once it is gone.
    return;
  }
  AttemptToDelete(key, r, item);
}

void GarbageCollector::Orphan(const std::string& key, ResourceId r, const ObjectPtr& owner) {
  std::string uid = Uid(owner->object);
  for (const auto& [dr, dep] : owners_.AllDependents(uid)) {
    Write(key, [this, dr = dr, ns = dep->ns(), name = dep->name(), uid] {
      (void)api_.Modify(dr, ns, name, [&](Json& o) {
        DropRefs(o, {uid});
        return absl::OkStatus();
      });
    });
  }
  // Writes run in order: the finalizer goes after every dependent let go.
  Write(key, [this, r, ns = owner->ns(), name = owner->name()] {
    (void)api_.Modify(r, ns, name, [&](Json& o) {
      internal::RemoveFinalizer(o, kOrphan);
      return absl::OkStatus();
    });
  });
}

void GarbageCollector::DeleteDependentsFirst(const std::string& key, ResourceId r, const ObjectPtr& owner) {
  std::string uid = Uid(owner->object);
  bool blocked = false;
  for (const auto& [dr, dep] : owners_.AllDependents(uid)) {
    const Json* ref = RefTo(dep->object, uid);
    if (!ref || !Field(*ref, "blockOwnerDeletion").is_boolean() || !(*ref)["blockOwnerDeletion"].get<bool>()) {
      continue;
    }
    blocked = true;
    // A dependent itself deleting its own dependents first is on its way.
    if (!(Deleting(dep->object) && HasFinalizer(dep->object, kForeground))) EnqueueObject(dr, dep);
  }
  if (blocked) return;
  Write(key, [this, r, ns = owner->ns(), name = owner->name()] {
    (void)api_.Modify(r, ns, name, [&](Json& o) {
      internal::RemoveFinalizer(o, kForeground);
      return absl::OkStatus();
    });
  });
}

void GarbageCollector::AttemptToDelete(const std::string& key, ResourceId r, const ObjectPtr& item) {
  const Json& refs = RefsOf(item->object);
  if (!refs.is_array() || refs.empty()) return;
  std::set<std::string> dangling, waiting;
  bool solid = false;
  for (const auto& ref : refs) {
    switch (Classify(item, ref)) {
      case OwnerState::kSolid:
      case OwnerState::kUnknown:
        solid = true;
        break;
      case OwnerState::kDangling:
        dangling.insert(Str(ref, "uid"));
        break;
      case OwnerState::kWaiting:
        waiting.insert(Str(ref, "uid"));
        break;
    }
  }
  std::string ns = item->ns(), name = item->name();
  if (solid) {
    // Still owned: only the references to owners gone or going are dropped.
    if (dangling.empty() && waiting.empty()) return;
    std::set<std::string> drop = dangling;
    drop.insert(waiting.begin(), waiting.end());
    Write(key, [this, r, ns, name, drop] {
      (void)api_.Modify(r, ns, name, [&](Json& o) {
        DropRefs(o, drop);
        return absl::OkStatus();
      });
    });
    return;
  }
  DeleteOptions del;
  if (!waiting.empty() && !owners_.AllDependents(Uid(item->object)).empty()) {
    // An owner waits for this one, which has dependents of its own: they go first.
    del.propagation_policy = "Foreground";
  } else if (HasFinalizer(item->object, kOrphan)) {
    del.propagation_policy = "Orphan";
  } else if (HasFinalizer(item->object, kForeground)) {
    del.propagation_policy = "Foreground";
  } else {
    del.propagation_policy = "Background";
  }
  del.precondition_uid = Uid(item->object);
  Write(key, [this, r, ns, name, del] { (void)api_.Delete(r, ns, name, del); });
}

}  // namespace herd::sim
