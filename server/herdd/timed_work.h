// herd's timed work, run by one replica at a time: the one holding the
// leader Lease ("leader" lock in herd's namespace, taken over when its
// holder stops renewing it): putting back the bounds of
// HorizontalPodAutoscalers whose Scale hold has ended (ScaleRequest.hpa_hold),
// as soon as it ends, also for holds made before a restart; and the runs
// of standing policies (TimedWorkOptions.policies).
//
//   TimedWork timed(env, locks, {});
//   timed.Start();
//   …
//   timed.Stop();   // resigns leadership
//
// Thread-safe.
#ifndef HERD_SERVER_HERDD_TIMED_WORK_H_
#define HERD_SERVER_HERDD_TIMED_WORK_H_

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/kube/informer.h"
#include "server/ops/engine.h"
#include "server/ops/lock.h"

namespace herd::herdd {

struct TimedWorkOptions {
  // How often leadership is taken or renewed (a third of the lease).
  absl::Duration lead_period = absl::Seconds(3);
  // The longest sleep between looks at the HPAs (they also wake it).
  absl::Duration max_sleep = absl::Seconds(30);
  // Runs what standing policies have due, stopping by `deadline` (when the
  // leader Lease is to be renewed), and returns when it must be called
  // again at the latest (policies::Scheduler::RunDue); may be empty.
  // Wake() makes it look sooner (a policy changed).
  std::function<absl::Time(absl::Time deadline)> policies;
  // Called when this replica takes the lead (again): what it remembered
  // of an earlier lead says nothing of the time it did not lead.
  std::function<void()> lead_taken;
};

class TimedWork {
 public:
  // `env` and `locks` must outlive this.
  TimedWork(ops::EngineEnv& env, ops::WorkloadLocks& locks, TimedWorkOptions options);
  ~TimedWork();

  void Start();
  // Stops and gives leadership up. Idempotent.
  void Stop();
  bool leading() const { return leading_.load(); }
  // Makes the loop look at its work now (e.g. a policy changed).
  void Wake() { changes_.Notify(); }

  // The lock key of the leader Lease.
  static constexpr char kLeaderKey[] = "leader";

 private:
  void Loop();
  // Restores the holds that have ended; returns when the next one ends.
  absl::Time RestoreDue(absl::Time now);

  ops::EngineEnv& env_;
  ops::WorkloadLocks& locks_;
  const TimedWorkOptions options_;
  kube::ChangeNotifier changes_;
  // The process's HPA informers (one per namespace herdd covers), with a
  // handler that wakes this loop on their changes.
  std::vector<std::pair<kube::Informer*, int>> hpas_;
  std::atomic<bool> leading_{false};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace herd::herdd

#endif  // HERD_SERVER_HERDD_TIMED_WORK_H_
