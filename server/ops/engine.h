// What every operation engine (rollout, scale, purge, kill, cronjob) is,
// and the environment it runs in.
//
// An engine is built from a validated request, checks it against the
// cluster in Prepare (no writes: this is also the dry run), then drives the
// operation to a final state in Run, reporting progress on a LiveOperation.
// Run must be resumable: after a replica dies, another one rebuilds the
// engine from the stored request and calls Run(…, resumed = true), with the
// checkpoint the first one left. What each engine writes, records and
// checks to stay correct across a crash: server/ops/CRASH_CONSISTENCY.md.
#ifndef HERD_SERVER_OPS_ENGINE_H_
#define HERD_SERVER_OPS_ENGINE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/clock.h"
#include "server/kube/informer.h"
#include "server/ops/operation.h"

namespace herd::ops {

// Tunables of the engines.
struct EngineSettings {
  // A rollout gives up after this when the workload sets no deadline.
  absl::Duration default_deadline = absl::Minutes(10);
  // A new pod restarting this often is crash looping.
  int crash_loop_restarts = 2;
  // Pods that stay unschedulable this long fail the operation.
  absl::Duration unschedulable_grace = absl::Seconds(30);
  // An image pull error that lasts this long fails the operation.
  absl::Duration image_pull_grace = absl::Seconds(5);
  // Kill: how many pods one call may kill unless the caller raises it.
  int default_max_kill = 10;
  // Scale: how long HorizontalPodAutoscaler bounds stay moved by default.
  absl::Duration default_hpa_hold = absl::Hours(1);
  // How long a Job started from a CronJob may run before herd stops waiting.
  absl::Duration job_deadline = absl::Hours(1);
};

// Where an engine stands relative to one of its writes to the cluster.
enum class WriteMoment { kBefore, kAfter };

// Called right before and right after every write an engine makes to the
// cluster (tests stop herdd there: herdd --crash-at). Must be thread-safe.
using WriteHook = std::function<void(const std::string& point, WriteMoment moment)>;

struct EngineEnv {
  kube::KubeClient& kube;
  kube::InformerSet& informers;
  kube::Clock& clock;
  EngineSettings settings;
  WriteHook write_hook;
  // Reads an engine asks of the cache (engines::ReadFrom::kCache) go to the
  // API server instead: PlanOf confirms so a refusal planned from the cache.
  bool reads_from_api = false;
};

// A Permission to `verb` objects of `r` in `ns`: the one named `name`, or
// any ("").
v1::Permission Permit(absl::string_view verb, const kube::Resource& r, absl::string_view ns,
                      absl::string_view name = "", absl::string_view subresource = "");

// Every write point of every engine, "<engine>.<write>", as passed to
// AtWritePoint; the crash tests cover each.
const std::vector<std::string>& WritePoints();

// Runs `write` (one request to the cluster) as the write point `point`:
// the hook sees it before and, once the request has returned (whatever
// its outcome), after.
template <typename Write>
auto AtWritePoint(EngineEnv& env, const std::string& point, Write&& write) -> decltype(write()) {
  if (env.write_hook) env.write_hook(point, WriteMoment::kBefore);
  auto result = write();
  if (env.write_hook) env.write_hook(point, WriteMoment::kAfter);
  return result;
}

class Engine {
 public:
  virtual ~Engine() = default;
  virtual v1::OperationKind kind() const = 0;
  // What the operation acts on: a resource name, or a selector description.
  virtual std::string target() const = 0;
  // The lock the operation holds while it runs ("" for none).
  virtual std::string lock_key() const = 0;
  // Locks it also holds: workloads it changes that its target does not
  // name (a purge by label selector changes the Deployments and
  // StatefulSets of the pods it picked). Decided by Prepare and kept in
  // InitialCheckpoint, so an engine rebuilt from its record (`checkpoint`)
  // names the same ones.
  virtual std::vector<std::string> more_lock_keys(const std::map<std::string, std::string>& /*checkpoint*/) const {
    return {};
  }
  // The request, as JSON, for rebuilding the engine on another replica.
  virtual std::string request_json() const = 0;
  // Checks the request against the cluster and returns the plan. Writes
  // nothing. NOT_FOUND, INVALID_ARGUMENT or FAILED_PRECONDITION with a
  // message a person can act on.
  virtual absl::StatusOr<v1::Plan> Prepare(EngineEnv& env) = 0;
  // What Prepare decided that Run must keep to (e.g. the pods a kill
  // chose), stored with the record when it is created: an operation
  // adopted before its first checkpoint was saved still runs on it.
  virtual std::map<std::string, std::string> InitialCheckpoint() const { return {}; }
  // The kinds of write Run may make, as the cluster's RBAC sees them
  // (Plan.permissions), as Prepare decided them; called after Prepare.
  virtual std::vector<v1::Permission> Writes() const = 0;
  // Drives the operation until `op` is final, or returns early when
  // `op.hand_over_requested()`.
  virtual void Run(EngineEnv& env, LiveOperation& op, bool resumed) = 0;
};

// engine.Prepare's plan, with the permissions its writes need
// (Plan.permissions, from engine.Writes).
absl::StatusOr<v1::Plan> PlanOf(Engine& engine, EngineEnv& env);

// What, besides its condition and deadline, ends a wait on the cluster.
enum class Interrupt {
  kCancelOrHandOver,
  // For the waits that carry out a cancel (a rollback the cancel asked
  // for): only a hand-over stops them.
  kHandOverOnly,
};

// Waits until `done()` is true, waking on every informer change and on
// cancellation or hand-over of `op`. OK when done; CANCELLED when `op` was
// interrupted first (as `interrupt` says); DEADLINE_EXCEEDED at `deadline`.
absl::Status AwaitCluster(EngineEnv& env, LiveOperation& op, const std::function<bool()>& done, absl::Time deadline,
                          Interrupt interrupt = Interrupt::kCancelOrHandOver);

}  // namespace herd::ops

#endif  // HERD_SERVER_OPS_ENGINE_H_
