// The disruption controller (see disruption.cc).
#ifndef HERD_SIM_CONTROLLERS_DISRUPTION_H_
#define HERD_SIM_CONTROLLERS_DISRUPTION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// Keeps each PodDisruptionBudget's status current: the pods it expects and
// the healthy ones, how many may be disrupted now, the DisruptionAllowed
// condition, and the pods evictions have marked as about to go.
class DisruptionController : public Controller {
 public:
  DisruptionController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;

 private:
  void EnqueueBudgetsFor(const ObjectPtr& pod);
  // The sum of the scales of the controllers of `pods` (upstream's
  // getExpectedScale); pods without a controller are named in `unmanaged`.
  absl::StatusOr<int64_t> ExpectedScale(const std::vector<ObjectPtr>& pods, std::vector<std::string>* unmanaged) const;
  void FailSafe(const std::string& key, const ObjectPtr& pdb, const std::string& error);
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_DISRUPTION_H_
