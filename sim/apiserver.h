// kubesim's API semantics, independent of HTTP: create, get, update, patch
// and delete with the API server's rules (defaults, validation, optimistic
// concurrency, generation, graceful deletion, finalizers, owner-driven
// propagation), the eviction and scale subresources, and Events. The HTTP
// layer (http_api.h) and the in-process controllers both go through it, so
// a controller's write looks exactly like a client's.
//
// Not thread-safe: call it from kubesim's loop thread only.
//
//   ApiServer api(store);
//   auto created = api.Create(kDeployments, "shop", deployment_json);
//   auto scaled = api.Modify(kDeployments, "shop", "web", [](Json& d) {
//     d["spec"]["replicas"] = 5;
//     return absl::OkStatus();
//   });
#ifndef HERD_SIM_APISERVER_H_
#define HERD_SIM_APISERVER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "sim/managedfields/managedfields.h"
#include "sim/resources.h"
#include "sim/store.h"

namespace herd::sim {

struct WriteOptions {
  bool dry_run = false;
  // "status" writes only the status; "" writes everything but the status
  // (for types that have a status subresource). "scale" is recorded as such
  // in managedFields and otherwise writes like "".
  std::string subresource;
  // Who writes, for metadata.managedFields. In-process writers are the
  // controller manager unless they say otherwise (kubelet, kube-scheduler);
  // the HTTP layer always says (?fieldManager=, else the User-Agent's product).
  std::string field_manager = "kube-controller-manager";
};

struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

// kApply (application/apply-patch+yaml) goes to ApiServer::Apply, not Patch
// (which answers it 415).
enum class PatchType { kJson, kMerge, kStrategicMerge, kApply };

// What a delete did: the object's state afterwards and whether it is gone
// (else it waits on a grace period or finalizers).
struct DeleteOutcome {
  ObjectPtr object;
  bool removed = false;
};

class ApiServer {
 public:
  explicit ApiServer(Store& store);

  Store& store() { return store_; }
  const Store& store() const { return store_; }

  absl::StatusOr<ObjectPtr> Get(ResourceId r, const std::string& ns, const std::string& name) const;
  absl::StatusOr<ObjectPtr> Create(ResourceId r, const std::string& ns, Json object, const WriteOptions& o = {});
  // PUT semantics: a set metadata.resourceVersion must match (409 Conflict).
  absl::StatusOr<ObjectPtr> Update(ResourceId r, const std::string& ns, const std::string& name, Json object,
                                   const WriteOptions& o = {});
  absl::StatusOr<ObjectPtr> Patch(ResourceId r, const std::string& ns, const std::string& name, PatchType type,
                                  const Json& patch, const WriteOptions& o = {});
  // Server-side apply of `config` by o.field_manager (managedfields.h):
  // creates the object when it does not exist (`*created` set), else merges
  // it; fields another manager owns with another value are a 409 Conflict
  // (causes of type FieldManagerConflict) unless `force`. Refused as a real
  // server refuses them: a `config` of another kind or version (400 "invalid
  // object type: apps/v1, Kind=…"), with a field its kind does not declare
  // (500 "failed to create typed patch object (…): .spec.x: field not
  // declared in schema"), in another namespace or with another name than the URL's (400).
  absl::StatusOr<ObjectPtr> Apply(ResourceId r, const std::string& ns, const std::string& name, const Json& config,
                                  bool force, const WriteOptions& o, bool* created = nullptr);
  // Read-modify-write for in-process callers: `edit` changes a copy of the
  // current object; nothing is written when it leaves it unchanged.
  using Edit = std::function<absl::Status(Json& object)>;
  absl::StatusOr<ObjectPtr> Modify(ResourceId r, const std::string& ns, const std::string& name, const Edit& edit,
                                   const WriteOptions& o = {});
  absl::StatusOr<DeleteOutcome> Delete(ResourceId r, const std::string& ns, const std::string& name,
                                       const DeleteOptions& o = {});

  // POST pods/NAME/eviction, honouring PodDisruptionBudgets.
  absl::Status Evict(const std::string& ns, const std::string& name, const Json& eviction, bool dry_run);
  // POST pods/NAME/binding (what a scheduler does).
  absl::Status Bind(const std::string& ns, const std::string& name, const std::string& node);

  // The autoscaling/v1 Scale of a deployment, replica set or stateful set.
  absl::StatusOr<Json> GetScale(ResourceId r, const std::string& ns, const std::string& name) const;
  absl::StatusOr<Json> UpdateScale(ResourceId r, const std::string& ns, const std::string& name, const Json& scale,
                                   const WriteOptions& o = {});
  absl::StatusOr<Json> PatchScale(ResourceId r, const std::string& ns, const std::string& name, PatchType type,
                                  const Json& patch, const WriteOptions& o = {});

  // Records a core/v1 Event about `involved` as a controller's event
  // recorder does: repeats of the same event bump its count.
  void RecordEvent(const Json& involved, const std::string& type, const std::string& reason,
                   const std::string& message, const std::string& component);

  // An ObjectReference ({kind, namespace, name, uid, apiVersion, resourceVersion}).
  static Json Reference(const Json& object);

 private:
  // `applied`: the managedFields an apply computed (else the write's own are recorded).
  absl::StatusOr<ObjectPtr> Write(ResourceId r, const ObjectPtr& old, Json object, const WriteOptions& o,
                                  const managedfields::Entries* applied = nullptr);
  absl::StatusOr<ObjectPtr> CreateObject(ResourceId r, const std::string& ns, Json object, const WriteOptions& o,
                                         const managedfields::Entries* applied);
  absl::StatusOr<ObjectPtr> Persist(ResourceId r, Json object, bool created, bool dry_run);
  absl::Status CheckNamespace(const ResourceType& rt, const std::string& ns, const std::string& name) const;
  absl::StatusOr<DeleteOutcome> DeletePod(const ObjectPtr& pod, const DeleteOptions& o);
  absl::StatusOr<Json> ScaleOf(ResourceId r, const ObjectPtr& obj) const;

  // Gives a new Service its address from 10.96.0.0/16 (None stays headless).
  void AllocateClusterIp(Json& service);

  sim::Store& store_;
  uint32_t services_allocated_ = 0;
  // Event correlation: (object, reason, message, type, source) → event name.
  std::unordered_map<std::string, std::string> event_index_;
};

// True for kinds whose metadata.generation the API server maintains.
bool TracksGeneration(ResourceId r);
// The Pod's condition `type` ("Ready", …) is "True".
bool PodConditionTrue(const Json& pod, const std::string& type);

}  // namespace herd::sim

#endif  // HERD_SIM_APISERVER_H_
