// The CronJob controller (see cronjob.cc).
#ifndef HERD_SIM_CONTROLLERS_CRONJOB_H_
#define HERD_SIM_CONTROLLERS_CRONJOB_H_

#include <functional>
#include <map>
#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// Starts a Job for each CronJob at its scheduled times, honouring the
// concurrency policy, the starting deadline and suspension, keeps the
// active list and last schedule/success times, and deletes finished Jobs
// beyond the history limits.
class CronJobController : public Controller {
 public:
  CronJobController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;

 private:
  void Tick();
  absl::Time Now() const { return clock_ ? clock_() : absl::Now(); }

  std::function<absl::Time()> clock_;
  absl::Duration period_;
  // When each CronJob is next due (by its schedule); until then only
  // changes to it or its Jobs make it sync, as upstream requeues it for
  // its next scheduled time.
  std::map<std::string, absl::Time> due_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_CRONJOB_H_
