// Runs standing policies (schedules, max pod ages, load scaling): called by the herdd replica holding
// the leader Lease (herdd's TimedWork) with the time, it starts what is due
// and records each decision in the policy.
//
// A run is decided in two writes. First the policy records it (its
// lastScheduled moves to the run's time, with a STARTING decision), guarded
// by the version read, so two leaders never both decide a run; then its
// operation starts, with a request id made of the policy's id and the
// run's time, and the decision becomes STARTED (or REFUSED, with herd's
// answer). A leader that dies in between leaves the STARTING decision; the
// next one starts the same operation (the same request id finds it when it
// had started), so a run is neither lost nor made twice. A STARTING run is
// tried until its late window ends; then, or once the policy is paused, it
// is settled without starting: STARTED when its operation exists, SKIPPED
// when it does not.
//
//   Scheduler scheduler(store, launch, find, clock);
//   absl::Time next = scheduler.RunDue(renew_at);   // again at `next`, or on a change
//
// Thread-compatible: one caller at a time (the leader's loop).
#ifndef HERD_SERVER_POLICIES_SCHEDULER_H_
#define HERD_SERVER_POLICIES_SCHEDULER_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/clock.h"
#include "server/ops/engine.h"
#include "server/policies/scaling.h"
#include "server/policies/store.h"

namespace herd::policies {

// Starts the operation of the run of `policy` at `scheduled`, with request
// id RunRequestId(id, scheduled), as principal "policy:{id}" acting for the
// policy's creator. An operation already started with that request id is
// returned as it is. Codes as herd's service answers them.
using Launch = std::function<absl::StatusOr<v1::Operation>(const v1::Policy& policy, absl::Time scheduled)>;
// The operation of that run if it was started (NOT_FOUND if not), without
// starting it.
using FindRun = std::function<absl::StatusOr<v1::Operation>(const v1::Policy& policy, absl::Time scheduled)>;

struct SchedulerOptions {
  // How soon a run whose start failed on an error that may pass (herd
  // unavailable or shutting down, the workload busy, a deadline) is tried
  // again; it is, until its late window ends.
  absl::Duration retry = absl::Seconds(1);
  // Called before and after the write that decides a run ("policy.decide")
  // and the one that settles it ("policy.record"): herdd --crash-at.
  ops::WriteHook write_hook;

  // Max-pod-age policies (none run without both callbacks): how often each
  // looks at its workload while nothing is due (and after a refusal).
  absl::Duration age_check = absl::Seconds(10);
  // The workload the policy keeps, as GetWorkload answers it to
  // "policy:{id}" acting for the creator.
  std::function<absl::StatusOr<v1::Workload>(const v1::Policy& policy)> inspect;
  // Starts MaxPodAgePurge(policy, oldest, request_id) as "policy:{id}"; an
  // operation already started with that request id is returned as it is.
  std::function<absl::StatusOr<v1::Operation>(const v1::Policy& policy, int oldest, const std::string& request_id)>
      replace;

  // Load-scaling policies (none run without both, and `inspect`): the
  // query's value (policies::QueryValue on herdd's --prometheus-url), and
  // the start of LoadScalingScale(policy, replicas, request_id) as
  // "policy:{id}".
  std::function<absl::StatusOr<double>(const std::string& query, absl::Duration timeout)> query_load;
  std::function<absl::StatusOr<v1::Operation>(const v1::Policy& policy, int replicas, const std::string& request_id)>
      scale;
};

class Scheduler {
 public:
  // `store` and `clock` must outlive this.
  Scheduler(PolicyStore& store, Launch launch, FindRun find, kube::Clock& clock, SchedulerOptions options = {});

  // Decides and starts what is due now, stopping at `deadline` (the leader
  // must renew its Lease); returns when to call again at the latest
  // (changes to the policies are a reason to call sooner).
  absl::Time RunDue(absl::Time deadline);
  // This replica has taken the lead (again): what it remembered of load
  // before is forgotten (the windows are watched afresh).
  void LeadTaken() { scaling_.clear(); }

 private:
  // One policy; returns when it needs a look again.
  absl::Time RunOne(const StoredPolicy& p, absl::Time now, absl::Time deadline);
  // A max-pod-age policy: replaces the pods past their turn when the
  // workload is settled. Returns when to look again.
  absl::Time KeepYoung(const StoredPolicy& p, absl::Time now);
  // A load-scaling policy: evaluates its query every interval and scales
  // as DecideScale says. Returns when to look again.
  absl::Time KeepScaled(const StoredPolicy& p, absl::Time now, absl::Time deadline);
  // Adds `d` as the policy's newest decision unless the newest already
  // says the same (a refusal tried again is recorded once).
  void Tell(const StoredPolicy& p, v1::PolicyDecision d);
  // Settles the run at `scheduled`, whose STARTING decision is written:
  // starts it, or, once the policy is paused or the run is past its late
  // window, records whether it had started. Returns when to look again.
  absl::Time Start(const std::string& id, const v1::Policy& policy, absl::Time scheduled, absl::Duration window,
                   absl::Time now);
  // Rewrites the STARTING decision of the run at `scheduled` with `edit`.
  absl::Status Record(const std::string& id, absl::Time scheduled,
                      const std::function<void(v1::PolicyDecision&)>& edit);

  // What this leader remembers of each load-scaling policy (by id and
  // creation time), lost with the lead.
  struct Scaling {
    absl::Time next = absl::InfinitePast();
    ScalingMemory memory;
    int reported = -1;  // the replicas of the last dry-run decision recorded
  };
  std::map<std::string, Scaling> scaling_;

  PolicyStore& store_;
  const Launch launch_;
  const FindRun find_;
  kube::Clock& clock_;
  const SchedulerOptions options_;
};

}  // namespace herd::policies

#endif  // HERD_SERVER_POLICIES_SCHEDULER_H_
