// The StatefulSet controller (see statefulset.cc).
#ifndef HERD_SIM_CONTROLLERS_STATEFULSET_H_
#define HERD_SIM_CONTROLLERS_STATEFULSET_H_

#include <cstdint>
#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// Runs pods NAME-0 … NAME-(N-1) for each StatefulSet, in order or in
// parallel, rolls them to a new template from the highest ordinal down to
// the partition (or leaves that to deletions with OnDelete), and records
// template history as ControllerRevisions.
class StatefulSetController : public Controller {
 public:
  StatefulSetController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;
};

namespace internal {

// The ControllerRevision data for a StatefulSet: a strategic merge patch
// replacing spec.template, as upstream's getPatch makes it.
nlohmann::json StatefulSetPatch(const nlohmann::json& set);
// The controller-revision-hash of revision `data` with a collision count:
// FNV-32 of the data's JSON text and the count, safe-encoded (upstream's
// HashControllerRevision).
std::string ControllerRevisionHash(const nlohmann::json& data, int64_t collision_count);

}  // namespace internal
}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_STATEFULSET_H_
