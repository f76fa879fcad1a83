// The Job controller (see job.cc).
#ifndef HERD_SIM_CONTROLLERS_JOB_H_
#define HERD_SIM_CONTROLLERS_JOB_H_

#include <map>
#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// Runs each Job's pods to completion: parallelism and completions, the
// back-off limit, the active deadline, suspension, and status counted
// through the pods' job-tracking finalizer.
class JobController : public Controller {
 public:
  JobController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  // Keys are "ns/name" of a Job, or "pod|ns/name" of a pod whose Job is
  // gone and that still holds the tracking finalizer.
  void Sync(const std::string& key) override;

 private:
  // Failures since the last success: new pods wait base·2^(n-1) after the last.
  struct Backoff {
    int64_t failures = 0;
    absl::Time last = absl::InfinitePast();
  };
  void SyncOrphanPod(const std::string& key);
  void ReleasePod(const std::string& key, const ObjectPtr& pod);
  void DeletePod(const std::string& key, const Json& job, const ObjectPtr& pod);

  absl::Duration backoff_base_;
  std::map<std::string, Backoff> backoff_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_JOB_H_
