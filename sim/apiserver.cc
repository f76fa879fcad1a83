#include "sim/apiserver.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"
#include "sim/defaults.h"
#include "sim/errors.h"
#include "sim/json_text.h"
#include "sim/managedfields/managedfields.h"
#include "sim/schema/schema.h"
#include "sim/names.h"
#include "sim/patch/patch.h"
#include "sim/validation.h"

namespace herd::sim {
namespace {

std::string Now() { return k8s::FormatTime(absl::Now()); }

bool HasStatus(ResourceId r) { return Resource(r).HasSubresource("status"); }

// Objects equal but for their resourceVersion: such a write changes nothing.
bool SameExceptVersion(Json a, Json b) {
  a["metadata"].erase("resourceVersion");
  b["metadata"].erase("resourceVersion");
  return a == b;
}

Json& Meta(Json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  return obj["metadata"];
}

// A string member of an object as Go's unstructured accessors read it: ""
// when absent or not a string.
std::string StringAt(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// An apiVersion and kind as schema.GroupVersionKind prints them:
// "apps/v1, Kind=Deployment", "/v1, Kind=Pod" (an apiVersion that does not
// parse leaves it all empty).
std::string GvkString(const std::string& api_version, const std::string& kind) {
  std::vector<std::string> parts = absl::StrSplit(api_version, '/');
  if (parts.size() > 2) return "/, Kind=";
  return absl::StrCat(parts.size() == 2 ? parts[0] : "", "/", parts.back(), ", Kind=", kind);
}

// The schema message of a resource's objects (nullptr: not tracked).
const schema::Message* KindMessage(const ResourceType& rt) { return schema::FindKind(rt.ApiVersion(), rt.kind); }

// The managedFields a write starts from: those the request sends (a
// non-empty list replaces the stored one; `[{}]` clears it), else the live
// object's. Subresource writes always keep the live object's.
managedfields::Entries BaseEntries(const Json& requested, const Json* live, const std::string& subresource) {
  if (subresource.empty() && managedfields::IsReset(requested)) return {};
  if (subresource.empty() && requested.is_array() && !requested.empty()) {
    auto decoded = managedfields::DecodeEntries(requested);
    if (decoded.ok() && !decoded->empty()) return *std::move(decoded);
  }
  if (live == nullptr || !live->contains("metadata")) return {};
  auto decoded = managedfields::DecodeEntries((*live)["metadata"].value("managedFields", Json()));
  return decoded.ok() ? *std::move(decoded) : managedfields::Entries{};
}

void SetManagedFields(Json& obj, const managedfields::Entries& entries) {
  if (entries.empty()) {
    obj["metadata"].erase("managedFields");
  } else {
    obj["metadata"]["managedFields"] = managedfields::EncodeEntries(entries);
  }
}

bool HasFinalizers(const Json& obj) {
  const Json& meta = obj["metadata"];
  return meta.contains("finalizers") && meta["finalizers"].is_array() && !meta["finalizers"].empty();
}

void AddFinalizer(Json& obj, const std::string& f) {
  Json& meta = Meta(obj);
  if (!meta.contains("finalizers") || !meta["finalizers"].is_array()) meta["finalizers"] = Json::array();
  for (const auto& x : meta["finalizers"]) {
    if (x == f) return;
  }
  meta["finalizers"].push_back(f);
}

}  // namespace

bool TracksGeneration(ResourceId r) {
  switch (r) {
    case kDeployments:
    case kReplicaSets:
    case kStatefulSets:
    case kJobs:
    case kCronJobs:
    case kPodDisruptionBudgets:
    case kHorizontalPodAutoscalers:
      return true;
    default:
      return false;
  }
}

bool PodConditionTrue(const Json& pod, const std::string& type) {
  if (!pod.contains("status") || !pod["status"].contains("conditions")) return false;
  for (const auto& c : pod["status"]["conditions"]) {
    if (c.value("type", "") == type) return c.value("status", "") == "True";
  }
  return false;
}

ApiServer::ApiServer(sim::Store& store) : store_(store) {}

void ApiServer::AllocateClusterIp(Json& svc) {
  Json& spec = svc["spec"];
  if (spec.value("type", "ClusterIP") == "ExternalName") return;
  std::string ip = spec.value("clusterIP", "");
  if (ip.empty()) {
    uint32_t n = ++services_allocated_;
    ip = absl::StrCat("10.96.", (n / 250) % 256, ".", 1 + n % 250);
    spec["clusterIP"] = ip;
  }
  if (!spec.contains("clusterIPs")) spec["clusterIPs"] = Json::array({ip});
}

Json ApiServer::Reference(const Json& obj) {
  const Json& meta = obj["metadata"];
  Json ref = {{"kind", obj.value("kind", "")},
              {"name", meta.value("name", "")},
              {"uid", meta.value("uid", "")},
              {"apiVersion", obj.value("apiVersion", "")},
              {"resourceVersion", meta.value("resourceVersion", "")}};
  if (meta.contains("namespace")) ref["namespace"] = meta["namespace"];
  return ref;
}

absl::StatusOr<ObjectPtr> ApiServer::Get(ResourceId r, const std::string& ns, const std::string& name) const {
  ObjectPtr obj = store_.Get(r, Resource(r).namespaced ? ns : "", name);
  if (!obj) return NotFound(Resource(r), name);
  return obj;
}

absl::Status ApiServer::CheckNamespace(const ResourceType& rt, const std::string& ns, const std::string& name) const {
  if (!rt.namespaced) return absl::OkStatus();
  ObjectPtr nso = store_.Get(kNamespaces, "", ns);
  if (!nso) return NotFound(Resource(kNamespaces), ns);
  if (nso->object["metadata"].contains("deletionTimestamp")) {
    return Forbidden(rt, name,
                     absl::StrCat("unable to create new content in namespace ", ns,
                                  " because it is being terminated"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ObjectPtr> ApiServer::Persist(ResourceId r, Json object, bool created, bool dry_run) {
  if (dry_run) {
    // What would be stored, at the current version: nothing changes.
    Meta(object)["resourceVersion"] = created ? "" : object["metadata"].value("resourceVersion", "");
    if (created) object["metadata"].erase("resourceVersion");
    return std::make_shared<const StoredObject>(std::move(object), store_.rv());
  }
  return store_.Put(r, std::move(object), created);
}

absl::StatusOr<ObjectPtr> ApiServer::Create(ResourceId r, const std::string& ns, Json obj, const WriteOptions& o) {
  return CreateObject(r, ns, std::move(obj), o, nullptr);
}

absl::StatusOr<ObjectPtr> ApiServer::CreateObject(ResourceId r, const std::string& ns, Json obj, const WriteOptions& o,
                                                  const managedfields::Entries* applied) {
  const ResourceType& rt = Resource(r);
  if (!obj.is_object()) return BadRequest("the body of the request was in an unknown format");
  std::string av = obj.value("apiVersion", ""), kind = obj.value("kind", "");
  if (!av.empty() && av != rt.ApiVersion()) {
    return BadRequest(absl::StrCat("the API version in the data (", av,
                                   ") does not match the expected API version (", rt.ApiVersion(), ")"));
  }
  if (!kind.empty() && kind != rt.kind) {
    return BadRequest(absl::StrCat("the kind in the data (", kind, ") does not match the expected kind (",
                                   rt.kind, ")"));
  }
  obj["apiVersion"] = rt.ApiVersion();
  obj["kind"] = rt.kind;
  Json& meta = Meta(obj);
  if (rt.namespaced) {
    std::string body_ns = meta.value("namespace", "");
    if (!body_ns.empty() && body_ns != ns) {
      return BadRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (!meta.value("resourceVersion", "").empty()) {
    return Internal("resourceVersion should not be set on objects to be created");
  }
  std::string name = meta.value("name", "");
  bool generated = name.empty() && !meta.value("generateName", "").empty();
  if (generated) {
    // Retry on the unlikely collision, as the API server does.
    for (int i = 0; i < 8; ++i) {
      name = meta["generateName"].get<std::string>() + RandomSuffix(5);
      if (!store_.Get(r, rt.namespaced ? ns : "", name)) break;
    }
    meta["name"] = name;
  }
  if (auto st = CheckNamespace(rt, ns, name); !st.ok()) return st;

  meta["uid"] = NewUid();
  meta["creationTimestamp"] = Now();
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  Json requested_fields = meta.contains("managedFields") ? meta["managedFields"] : Json();
  meta.erase("managedFields");
  if (TracksGeneration(r)) {
    meta["generation"] = 1;
  } else {
    meta.erase("generation");
  }
  if (HasStatus(r)) obj["status"] = Json::object();
  if (r == kPods) obj["status"] = {{"phase", "Pending"}};
  if (r == kNamespaces) obj["status"] = {{"phase", "Active"}};

  ApplyDefaults(r, obj);
  // Ownership is of what the client sent, defaults included; what the
  // server allocates or admits below is no one's (as upstream, whose field
  // manager runs before admission and the storage's PrepareForCreate).
  if (const schema::Message* message = KindMessage(rt)) {
    managedfields::Entries entries;
    if (applied != nullptr) {
      entries = *applied;
    } else if (!managedfields::IsReset(requested_fields)) {
      entries = BaseEntries(requested_fields, nullptr, "");
      Json zero = managedfields::ZeroObject(*message);
      managedfields::RecordUpdate(&zero, obj, *message, {o.field_manager, rt.ApiVersion(), ""}, Now(), entries);
    }
    SetManagedFields(obj, entries);
  }
  if (r == kServices) AllocateClusterIp(obj);
  if (r == kPods) AdmitNewPod(obj);
  if (r == kJobs) PrepareJobForCreate(obj);
  if (auto st = ValidateCreate(rt, obj); !st.ok()) return st;
  if (store_.Get(r, rt.namespaced ? ns : "", name)) return AlreadyExists(rt, name);
  auto stored = Persist(r, std::move(obj), true, o.dry_run);
  if (stored.ok() && r == kNamespaces && !o.dry_run) {
    // Every namespace gets its "default" ServiceAccount (upstream's
    // serviceaccount controller, without its delay).
    (void)Create(kServiceAccounts, name, {{"metadata", {{"name", "default"}}}});
  }
  return stored;
}

absl::StatusOr<ObjectPtr> ApiServer::Update(ResourceId r, const std::string& ns, const std::string& name, Json obj,
                                            const WriteOptions& o) {
  const ResourceType& rt = Resource(r);
  if (!obj.is_object()) return BadRequest("the body of the request was in an unknown format");
  auto old = Get(r, ns, name);
  if (!old.ok()) return old.status();
  std::string body_name = Meta(obj).value("name", "");
  if (body_name != name) {
    return BadRequest(absl::StrCat("the name of the object (", body_name, ") does not match the name on the URL (",
                                   name, ")"));
  }
  if (rt.namespaced) {
    std::string body_ns = obj["metadata"].value("namespace", "");
    if (!body_ns.empty() && body_ns != ns) {
      return BadRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  return Write(r, *old, std::move(obj), o);
}

absl::StatusOr<ObjectPtr> ApiServer::Write(ResourceId r, const ObjectPtr& old, Json obj, const WriteOptions& o,
                                           const managedfields::Entries* applied) {
  const ResourceType& rt = Resource(r);
  const Json& prev = old->object;
  Json requested_fields = Meta(obj).contains("managedFields") ? obj["metadata"]["managedFields"] : Json();
  std::string rv = obj["metadata"].value("resourceVersion", "");
  if (!rv.empty() && rv != std::to_string(old->rv)) {
    return Conflict(rt, old->name(), "the object has been modified; please apply your changes to the latest version and try again");
  }
  Json next;
  if (o.subresource == "status") {
    next = prev;
    next["status"] = obj.contains("status") ? obj["status"] : Json::object();
    // Status writers may also set annotations (the deployment controller
    // records the revision this way), as upstream's status strategies allow.
    if (obj["metadata"].contains("annotations")) {
      next["metadata"]["annotations"] = obj["metadata"]["annotations"];
    } else {
      next["metadata"].erase("annotations");
    }
  } else {
    next = std::move(obj);
    next["apiVersion"] = rt.ApiVersion();
    next["kind"] = rt.kind;
    if (HasStatus(r)) {
      if (prev.contains("status")) {
        next["status"] = prev["status"];
      } else {
        next.erase("status");
      }
    }
    Json& meta = Meta(next);
    const Json& pm = prev["metadata"];
    for (const char* k : {"uid", "creationTimestamp", "namespace", "name", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"}) {
      if (pm.contains(k)) {
        meta[k] = pm[k];
      } else {
        meta.erase(k);
      }
    }
    meta.erase("managedFields");
    if (r == kServices && next.contains("spec") && next["spec"].is_object() && prev.contains("spec")) {
      // The allocated address stays (a client that leaves it out keeps it).
      for (const char* k : {"clusterIP", "clusterIPs"}) {
        if (!next["spec"].contains(k) && prev["spec"].contains(k)) next["spec"][k] = prev["spec"][k];
      }
    }
    ApplyDefaults(r, next);
    if (auto st = ValidateUpdate(rt, next, prev); !st.ok()) return st;
    if (TracksGeneration(r) && next.value("spec", Json()) != prev.value("spec", Json())) {
      meta["generation"] = pm.value("generation", 0) + 1;
    }
  }
  next["metadata"]["resourceVersion"] = std::to_string(old->rv);
  if (const schema::Message* kind = KindMessage(rt)) {
    managedfields::Entries entries;
    if (applied != nullptr) {
      entries = *applied;
    } else {
      entries = BaseEntries(requested_fields, &prev, o.subresource);
      // An object whose managedFields are empty is not tracked until an
      // apply (upstream's skipNonAppliedManager).
      if (!entries.empty()) {
        next["metadata"].erase("managedFields");
        managedfields::RecordUpdate(&prev, next, *kind, {o.field_manager, rt.ApiVersion(), o.subresource}, Now(),
                                    entries);
      }
    }
    SetManagedFields(next, entries);
  }
  if (SameExceptVersion(next, prev)) return old;

  const Json& meta = next["metadata"];
  bool finishing = meta.contains("deletionTimestamp") && !HasFinalizers(next) &&
                   meta.value("deletionGracePeriodSeconds", 0) == 0 &&
                   !(r == kNamespaces && next["spec"].value("finalizers", Json::array()).size() > 0);
  auto stored = Persist(r, std::move(next), false, o.dry_run);
  if (!stored.ok() || o.dry_run || !finishing) return stored;
  // The last finalizer is gone from an object being deleted: it goes now.
  ObjectPtr removed = store_.Remove(r, (*stored)->ns(), (*stored)->name());
  return removed ? removed : *stored;
}

absl::StatusOr<ObjectPtr> ApiServer::Patch(ResourceId r, const std::string& ns, const std::string& name,
                                           PatchType type, const Json& patch, const WriteOptions& o) {
  auto old = Get(r, ns, name);
  if (!old.ok()) return old.status();
  absl::StatusOr<Json> patched;
  switch (type) {
    case PatchType::kJson: patched = ApplyJsonPatch((*old)->object, patch); break;
    case PatchType::kMerge: patched = ApplyMergePatch((*old)->object, patch); break;
    case PatchType::kStrategicMerge:
      patched = ApplyStrategicMergePatch((*old)->object, patch, Resource(r).kind);
      break;
    case PatchType::kApply: return UnsupportedMediaType();  // applies go to Apply
  }
  if (!patched.ok()) {
    if (type == PatchType::kJson) return ApiError(422, "Invalid", patched.status().message());
    return BadRequest(patched.status().message());
  }
  if (!patched->is_object()) return BadRequest("the patch produced something that is not an object");
  Json& meta = Meta(*patched);
  if (meta.value("name", "") != name) {
    return BadRequest(absl::StrCat("the name of the object (", meta.value("name", ""),
                                   ") does not match the name on the URL (", name, ")"));
  }
  return Write(r, *old, std::move(*patched), o);
}

absl::StatusOr<ObjectPtr> ApiServer::Apply(ResourceId r, const std::string& ns, const std::string& name,
                                           const Json& config, bool force, const WriteOptions& o, bool* created) {
  const ResourceType& rt = Resource(r);
  if (created != nullptr) *created = false;
  const schema::Message* kind = KindMessage(rt);
  if (kind == nullptr) return UnsupportedMediaType();
  if (!config.is_object()) return BadRequest("the body of the request was in an unknown format");
  // In upstream's order: the field manager checks the applied object's type,
  // types it (an undeclared field is a plain error there: a 500 without a
  // reason) and merges it; then the merged object's namespace and name are
  // checked against the URL's.
  const Json no_meta = Json::object();
  const Json& meta = config.contains("metadata") && config["metadata"].is_object() ? config["metadata"] : no_meta;
  std::string av = StringAt(config, "apiVersion"), k = StringAt(config, "kind");
  if (av != rt.ApiVersion() || k != rt.kind) return BadRequest(absl::StrCat("invalid object type: ", GvkString(av, k)));
  const managedfields::Writer writer{o.field_manager, rt.ApiVersion(), ""};
  ObjectPtr live = store_.Get(r, rt.namespaced ? ns : "", name);
  managedfields::Entries entries;
  if (live) entries = BaseEntries(Json(), &live->object, "");
  std::vector<managedfields::Conflict> conflicts;
  auto merged = managedfields::Apply(live ? &live->object : nullptr, config, *kind, writer, force, Now(), entries,
                                     &conflicts);
  if (absl::IsInvalidArgument(merged.status())) {
    return ApiError(500, "", absl::StrCat("failed to create typed patch object (", StringAt(meta, "namespace"), "/",
                                          StringAt(meta, "name"), "; ", GvkString(av, k), "): ",
                                          merged.status().message()));
  }
  if (!merged.ok()) {
    Json causes = Json::array();
    for (const auto& c : conflicts) {
      causes.push_back({{"reason", "FieldManagerConflict"}, {"message", "conflict with " + c.manager}, {"field", c.path}});
    }
    return ApiError(409, "Conflict", merged.status().message(), {{"causes", causes}});
  }
  Json& merged_meta = Meta(*merged);
  if (!rt.namespaced) {
    merged_meta.erase("namespace");
  } else if (std::string merged_ns = StringAt(merged_meta, "namespace"); !merged_ns.empty() && merged_ns != ns) {
    return BadRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  if (std::string merged_name = StringAt(merged_meta, "name"); merged_name != name) {
    return BadRequest(absl::StrCat("the name of the object (", merged_name, ") does not match the name on the URL (",
                                   name, ")"));
  }
  if (!live) {
    auto made = CreateObject(r, ns, *std::move(merged), o, &entries);
    if (made.ok() && created != nullptr) *created = true;
    return made;
  }
  return Write(r, live, *std::move(merged), o, &entries);
}

absl::StatusOr<ObjectPtr> ApiServer::Modify(ResourceId r, const std::string& ns, const std::string& name,
                                            const Edit& edit, const WriteOptions& o) {
  auto old = Get(r, ns, name);
  if (!old.ok()) return old.status();
  Json copy = (*old)->object;
  if (auto st = edit(copy); !st.ok()) return st;
  Meta(copy)["resourceVersion"] = std::to_string((*old)->rv);
  return Write(r, *old, std::move(copy), o);
}

absl::StatusOr<DeleteOutcome> ApiServer::Delete(ResourceId r, const std::string& ns, const std::string& name,
                                                const DeleteOptions& o) {
  const ResourceType& rt = Resource(r);
  auto old = Get(r, ns, name);
  if (!old.ok()) return old.status();
  const Json& meta = (*old)->object["metadata"];
  if (!o.precondition_uid.empty() && o.precondition_uid != meta.value("uid", "")) {
    return Conflict(rt, name,
                    absl::StrCat("Precondition failed: UID in precondition: ", o.precondition_uid,
                                 ", UID in object meta: ", meta.value("uid", "")));
  }
  if (!o.precondition_resource_version.empty() &&
      o.precondition_resource_version != std::to_string((*old)->rv)) {
    return Conflict(rt, name,
                    absl::StrCat("Precondition failed: ResourceVersion in precondition: ",
                                 o.precondition_resource_version, ", ResourceVersion in object meta: ", (*old)->rv));
  }
  if (r == kPods) return DeletePod(*old, o);
  if (o.dry_run) return DeleteOutcome{*old, false};
  if (meta.contains("deletionTimestamp")) return DeleteOutcome{*old, false};

  std::string policy = o.propagation_policy;
  if (policy.empty()) policy = r == kJobs ? "Orphan" : "Background";
  Json obj = (*old)->object;
  if (policy == "Orphan") AddFinalizer(obj, "orphan");
  if (policy == "Foreground") AddFinalizer(obj, "foregroundDeletion");
  bool waits = HasFinalizers(obj);
  if (r == kNamespaces) {
    waits = true;
    obj["status"]["phase"] = "Terminating";
  }
  if (waits) {
    Meta(obj)["deletionTimestamp"] = Now();
    obj["metadata"]["deletionGracePeriodSeconds"] = 0;
    auto stored = Persist(r, std::move(obj), false, false);
    if (!stored.ok()) return stored.status();
    return DeleteOutcome{*stored, false};
  }
  ObjectPtr removed = store_.Remove(r, (*old)->ns(), name);
  return DeleteOutcome{removed, true};
}

absl::StatusOr<DeleteOutcome> ApiServer::DeletePod(const ObjectPtr& old, const DeleteOptions& o) {
  Json pod = old->object;
  const Json& spec = pod["spec"];
  int64_t grace = spec.value("terminationGracePeriodSeconds", int64_t{30});
  if (o.grace_period_seconds && *o.grace_period_seconds >= 0) grace = *o.grace_period_seconds;
  std::string phase = pod["status"].value("phase", "");
  // A pod no kubelet runs (unscheduled or finished) has nothing to wait for.
  if (spec.value("nodeName", "").empty() || phase == "Succeeded" || phase == "Failed") grace = 0;
  Json& meta = Meta(pod);
  if (meta.contains("deletionTimestamp")) {
    int64_t current = meta.value("deletionGracePeriodSeconds", int64_t{0});
    if (grace >= current) return DeleteOutcome{old, false};
  }
  if (o.dry_run) return DeleteOutcome{old, false};
  meta["deletionTimestamp"] = k8s::FormatTime(absl::Now() + absl::Seconds(grace));
  meta["deletionGracePeriodSeconds"] = grace;
  auto stored = Persist(kPods, std::move(pod), false, false);
  if (!stored.ok()) return stored.status();
  if (grace == 0 && !HasFinalizers((*stored)->object)) {
    ObjectPtr removed = store_.Remove(kPods, old->ns(), old->name());
    return DeleteOutcome{removed, true};
  }
  return DeleteOutcome{*stored, false};
}

absl::Status ApiServer::Evict(const std::string& ns, const std::string& name, const Json& eviction, bool dry_run) {
  auto pod = Get(kPods, ns, name);
  if (!pod.ok()) return pod.status();
  DeleteOptions del;
  del.dry_run = dry_run;
  if (eviction.is_object() && eviction.contains("deleteOptions") && eviction["deleteOptions"].is_object()) {
    const Json& d = eviction["deleteOptions"];
    if (d.contains("gracePeriodSeconds") && d["gracePeriodSeconds"].is_number_integer()) {
      del.grace_period_seconds = d["gracePeriodSeconds"].get<int64_t>();
    }
    if (d.contains("preconditions") && d["preconditions"].is_object()) {
      del.precondition_uid = d["preconditions"].value("uid", "");
      del.precondition_resource_version = d["preconditions"].value("resourceVersion", "");
    }
    if (d.contains("dryRun") && d["dryRun"].is_array() && !d["dryRun"].empty()) del.dry_run = true;
  }
  const Json& p = (*pod)->object;
  std::string phase = p["status"].value("phase", "");
  bool terminating = p["metadata"].contains("deletionTimestamp");
  if (!terminating && phase != "Succeeded" && phase != "Failed") {
    // The budgets that select this pod.
    std::vector<ObjectPtr> budgets;
    store_.Scan(kPodDisruptionBudgets, ns, "", [&](const ObjectPtr& pdb) {
      auto sel = k8s::LabelSelector::FromJson(pdb->object["spec"].value("selector", Json()));
      if (sel.ok() && sel->Matches(p["metadata"].value("labels", Json::object()))) budgets.push_back(pdb);
      return true;
    });
    if (budgets.size() > 1) {
      return Internal("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    }
    if (budgets.size() == 1) {
      const Json& pdb = budgets[0]->object;
      const std::string& pdb_name = budgets[0]->name();
      const Json status = pdb.value("status", Json::object());
      auto refuse = [&](const std::string& why) {
        return TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.",
                               {{"causes", Json::array({{{"reason", "DisruptionBudget"}, {"message", why}}})}});
      };
      if (status.value("observedGeneration", int64_t{0}) < pdb["metadata"].value("generation", int64_t{0})) {
        return refuse(absl::StrCat("The disruption budget ", pdb_name, " is still being processed by the server."));
      }
      bool healthy = PodConditionTrue(p, "Ready");
      int64_t current = status.value("currentHealthy", int64_t{0});
      int64_t desired = status.value("desiredHealthy", int64_t{0});
      // An unready pod may go while the budget is met (IfHealthyBudget).
      bool unhealthy_ok = !healthy && current >= desired;
      if (!unhealthy_ok) {
        if (status.value("disruptionsAllowed", int64_t{0}) <= 0) {
          return refuse(absl::StrCat("The disruption budget ", pdb_name, " needs ", desired,
                                     " healthy pods and has ", current, " currently"));
        }
        if (!del.dry_run) {
          auto st = Modify(
              kPodDisruptionBudgets, ns, pdb_name,
              [&](Json& b) {
                b["status"]["disruptionsAllowed"] = b["status"].value("disruptionsAllowed", int64_t{0}) - 1;
                b["status"]["disruptedPods"][name] = Now();
                return absl::OkStatus();
              },
              {.subresource = "status"});
          if (!st.ok()) return st.status();
        }
      }
    }
  }
  auto deleted = DeletePod(*pod, del);
  return deleted.status();
}

absl::Status ApiServer::Bind(const std::string& ns, const std::string& name, const std::string& node) {
  auto pod = Get(kPods, ns, name);
  if (!pod.ok()) return pod.status();
  std::string current = (*pod)->object["spec"].value("nodeName", "");
  if (!current.empty()) {
    return Conflict(Resource(kPods), name, absl::StrCat("pod ", name, " is already assigned to node \"", current, "\""));
  }
  Json p = (*pod)->object;
  p["spec"]["nodeName"] = node;
  Json& conds = p["status"]["conditions"];
  if (!conds.is_array()) conds = Json::array();
  conds.push_back({{"type", "PodScheduled"},
                   {"status", "True"},
                   {"lastProbeTime", nullptr},
                   {"lastTransitionTime", Now()}});
  return Persist(kPods, std::move(p), false, false).status();
}

absl::StatusOr<Json> ApiServer::ScaleOf(ResourceId, const ObjectPtr& obj) const {
  const Json& o = obj->object;
  const Json& meta = o["metadata"];
  auto sel = k8s::LabelSelector::FromJson(o["spec"].value("selector", Json()));
  return Json{{"kind", "Scale"},
              {"apiVersion", "autoscaling/v1"},
              {"metadata",
               {{"name", meta.value("name", "")},
                {"namespace", meta.value("namespace", "")},
                {"uid", meta.value("uid", "")},
                {"resourceVersion", std::to_string(obj->rv)},
                {"creationTimestamp", meta.value("creationTimestamp", "")}}},
              {"spec", {{"replicas", o["spec"].value("replicas", 0)}}},
              {"status",
               {{"replicas", o.value("status", Json::object()).value("replicas", 0)},
                {"selector", sel.ok() ? sel->ToString() : ""}}}};
}

absl::StatusOr<Json> ApiServer::GetScale(ResourceId r, const std::string& ns, const std::string& name) const {
  auto obj = Get(r, ns, name);
  if (!obj.ok()) return obj.status();
  return ScaleOf(r, *obj);
}

absl::StatusOr<Json> ApiServer::UpdateScale(ResourceId r, const std::string& ns, const std::string& name,
                                            const Json& scale, const WriteOptions& o) {
  auto obj = Get(r, ns, name);
  if (!obj.ok()) return obj.status();
  if (!scale.is_object()) return BadRequest("the body of the request was in an unknown format");
  std::string rv = scale.value("metadata", Json::object()).value("resourceVersion", "");
  if (!rv.empty() && rv != std::to_string((*obj)->rv)) {
    return Conflict(Resource(r), name,
                    "the object has been modified; please apply your changes to the latest version and try again");
  }
  Json replicas = scale.value("spec", Json::object()).value("replicas", Json(0));
  if (!replicas.is_number_integer() || replicas.get<int64_t>() < 0) {
    static const ResourceType kScale{kResourceCount, "autoscaling", "v1", "scale", "scale", "Scale", true,
                                     {}, {}, {}, "", {}};
    return Invalid(kScale, name,
                   Json::array({Cause("FieldValueInvalid", "spec.replicas",
                                      absl::StrCat("Invalid value: ", JsonText(replicas),
                                                   ": must be greater than or equal to 0"))}));
  }
  auto updated = Modify(
      r, ns, name,
      [&](Json& target) {
        target["spec"]["replicas"] = replicas;
        return absl::OkStatus();
      },
      {.dry_run = o.dry_run, .subresource = "scale", .field_manager = o.field_manager});
  if (!updated.ok()) return updated.status();
  return ScaleOf(r, *updated);
}

absl::StatusOr<Json> ApiServer::PatchScale(ResourceId r, const std::string& ns, const std::string& name,
                                           PatchType type, const Json& patch, const WriteOptions& o) {
  auto current = GetScale(r, ns, name);
  if (!current.ok()) return current.status();
  absl::StatusOr<Json> patched;
  switch (type) {
    case PatchType::kJson: patched = ApplyJsonPatch(*current, patch); break;
    case PatchType::kMerge: patched = ApplyMergePatch(*current, patch); break;
    case PatchType::kStrategicMerge: patched = ApplyStrategicMergePatch(*current, patch, "Scale"); break;
    case PatchType::kApply:
      return UnsupportedMediaType();
  }
  if (!patched.ok()) return BadRequest(patched.status().message());
  return UpdateScale(r, ns, name, *patched, o);
}

void ApiServer::RecordEvent(const Json& involved, const std::string& type, const std::string& reason,
                            const std::string& message, const std::string& component) {
  const Json& meta = involved["metadata"];
  std::string ns = meta.value("namespace", "default");
  std::string uid = meta.value("uid", "");
  std::string now = Now();
  // The recorder's correlator: the same event again bumps the count.
  std::string key = absl::StrCat(uid, "\x1f", reason, "\x1f", message, "\x1f", type, "\x1f", component);
  ObjectPtr existing;
  if (auto it = event_index_.find(key); it != event_index_.end()) {
    existing = store_.Get(kEvents, ns, it->second);
    if (!existing) event_index_.erase(it);
  }
  if (existing) {
    (void)Modify(kEvents, ns, existing->name(), [&](Json& ev) {
      ev["count"] = ev.value("count", 1) + 1;
      ev["lastTimestamp"] = now;
      return absl::OkStatus();
    });
    return;
  }
  if (!store_.Get(kNamespaces, "", ns)) return;
  Json ev = {{"metadata",
              {{"name", absl::StrFormat("%s.%x", meta.value("name", ""),
                                        static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())))},
               {"namespace", ns}}},
             {"involvedObject", Reference(involved)},
             {"reason", reason},
             {"message", message},
             {"source", {{"component", component}}},
             {"firstTimestamp", now},
             {"lastTimestamp", now},
             {"count", 1},
             {"type", type},
             {"eventTime", nullptr},
             {"reportingComponent", ""},
             {"reportingInstance", ""}};
  auto created = Create(kEvents, ns, std::move(ev));
  if (created.ok()) event_index_[key] = (*created)->name();
}

}  // namespace herd::sim
