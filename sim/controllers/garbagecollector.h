// The garbage collector (see garbagecollector.cc).
#ifndef HERD_SIM_CONTROLLERS_GARBAGECOLLECTOR_H_
#define HERD_SIM_CONTROLLERS_GARBAGECOLLECTOR_H_

#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// Deletes objects whose owners are all gone, carries out foreground
// deletion (dependents first, then the owner) and orphaning (owner
// references removed, then the owner), for every type kubesim serves.
class GarbageCollector : public Controller {
 public:
  GarbageCollector(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  // Keys are "<resource id>|<ns/name>": the collector works on every type.
  void Sync(const std::string& key) override;

 private:
  enum class OwnerState { kSolid, kDangling, kWaiting, kUnknown };

  void OnChange(const Event& e);
  void EnqueueObject(ResourceId r, const ObjectPtr& o);
  void EnqueueDependents(const std::string& uid);
  // Owners of `o` that wait in foreground deletion: a dependent of theirs changed.
  void EnqueueDeletingOwners(const ObjectPtr& o);
  ObjectPtr FindOwner(const ObjectPtr& dependent, const Json& ref, ResourceId* type) const;
  OwnerState Classify(const ObjectPtr& dependent, const Json& ref) const;

  void Orphan(const std::string& key, ResourceId r, const ObjectPtr& owner);
  void DeleteDependentsFirst(const std::string& key, ResourceId r, const ObjectPtr& owner);
  void AttemptToDelete(const std::string& key, ResourceId r, const ObjectPtr& item);
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_GARBAGECOLLECTOR_H_
