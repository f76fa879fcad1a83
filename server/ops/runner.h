// Runs operations: takes the workload's lock, writes the record, runs the
// engine on a thread of its own, saves progress to the record as it goes,
// renews the lock, and at the end writes the final state and lets go.
// It also adopts operations whose replica died (their lease expired), and
// on shutdown hands its own over instead of abandoning them.
//
//   OperationRunner runner(env, store, locks, factory, hooks, {.identity = "herdd-0"});
//   runner.Start();
//   auto op = runner.Launch(std::move(engine), initial);   // returns at once
//   …
//   runner.HandOver();   // SIGTERM
//
// Thread-safe.
#ifndef HERD_SERVER_OPS_RUNNER_H_
#define HERD_SERVER_OPS_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/ops/engine.h"
#include "server/ops/lock.h"
#include "server/ops/operation.h"
#include "server/ops/store.h"

namespace herd::ops {

// Rebuilds an engine from a stored record (for adoption).
using EngineFactory = std::function<absl::StatusOr<std::unique_ptr<Engine>>(const Record& record)>;

// Called when operations start and end (audit, metrics). May be empty.
struct RunnerHooks {
  std::function<void(const v1::Operation& op)> on_start;
  // Called after on_start when the operation was adopted from another
  // replica (or a predecessor of this one).
  std::function<void(const v1::Operation& op)> on_adopt;
  // Called when an operation is recorded waiting for approval (Hold).
  std::function<void(const v1::Operation& op)> on_held;
  std::function<void(const v1::Operation& op)> on_finish;
};

struct RunnerOptions {
  // This replica's name in locks and records. It must differ between
  // replicas that run at the same time; a process that restarts under the
  // same name (a container restarted in its pod) adopts its predecessor's
  // operations at once instead of waiting for their leases to expire.
  std::string identity = "herdd";
  absl::Duration save_period = absl::Milliseconds(200);
  absl::Duration renew_period = absl::Seconds(5);
  // How often to look for orphaned operations at the latest; an orphan
  // whose lease is seen running out is adopted as soon as it has expired.
  absl::Duration adopt_period = absl::Seconds(5);
  // How often finished records past their retention are deleted (the
  // first time a minute after start at most).
  absl::Duration gc_period = absl::Minutes(10);
  // When set, each operation's engine writes through the client this
  // returns for it (herdd --impersonate: one acting as the operation's
  // principal), here and on the replica that adopts it: its writes and the
  // reads it makes itself; the caches, records and locks stay herd's own.
  std::function<absl::StatusOr<std::unique_ptr<kube::KubeClient>>(const v1::Operation& op)> client_for;
};

class OperationRunner {
 public:
  // Everything passed must outlive the runner.
  OperationRunner(EngineEnv env, OperationStore& store, WorkloadLocks& locks, EngineFactory factory,
                  RunnerHooks hooks, RunnerOptions options);
  ~OperationRunner();

  // Starts saving, renewing, adopting and collecting garbage.
  void Start();

  // Locks the target, records and starts `engine` with `initial` (state
  // RUNNING, name, kind, target, principal, the plan of the call's
  // Prepare… set): the locks and the record are written at once. ABORTED
  // when the target is busy; ALREADY_EXISTS when a record with that name
  // exists (a repeated idempotent request), with nothing started.
  // An engine that locks a workload is prepared again once its locks are
  // held: the plan recorded, and the create time (and that of `initial`'s
  // events), are of that moment, after whatever operation held the
  // workload before (the record is written again only when that plan
  // differs from the call's); a Prepare that fails then is returned,
  // nothing started.
  absl::StatusOr<v1::Operation> Launch(std::unique_ptr<Engine> engine, v1::Operation initial);

  // Records `initial` (state PENDING_APPROVAL, its approval set) with the
  // request of `engine`, to start once approved (Decide): nothing is
  // locked or run, and any replica can decide it. ALREADY_EXISTS as Launch.
  absl::StatusOr<v1::Operation> Hold(const Engine& engine, v1::Operation initial);
  // Decides an operation held for approval, in its record (guarded by the
  // version read, so two deciders never both win): APPROVED by `who`
  // (never its requester: PERMISSION_DENIED) starts it here at once when
  // its workload is free, else as soon as a replica finds it free;
  // REJECTED ends it CANCELLED; UNSPECIFIED withdraws it (a cancel), also
  // CANCELLED. FAILED_PRECONDITION when it waits for no approval, or its
  // deadline has passed. Returns the operation as it is now.
  absl::StatusOr<v1::Operation> Decide(const std::string& name, v1::ApprovalDecision decision, const std::string& who,
                                       const std::string& comment);

  // The live operation when it runs on this replica, else null.
  std::shared_ptr<LiveOperation> Find(const std::string& name);
  // The operations this replica runs or has just finished (a record just
  // written may not be in the store's cache yet).
  std::vector<std::shared_ptr<LiveOperation>> Local();
  // Asks the operation to cancel, wherever it runs. NOT_FOUND when unknown,
  // FAILED_PRECONDITION when it has ended.
  absl::Status Cancel(const std::string& name, const std::string& reason);

  // Stops taking new work and hands running operations over: their engines
  // stop, their records stay RUNNING with the latest state, their locks are
  // let go (WorkloadLocks::LetGo) so another replica adopts them at once.
  // Blocks until done.
  void HandOver();
  // Adopts orphaned operations now (tests; normally periodic).
  void AdoptNow();
  size_t Running() const;
  // Whether a record that has not ended waits for its workload: no replica
  // runs it, and its Lease (its workload's, or its own name's) is absent
  // or another operation's. So is left the record of a call whose replica
  // died between writing it and taking the Lease (or withdrawing the
  // record once the Lease was refused); it is adopted, and starts, once
  // the workload is free. Reads show it PENDING. One waiting for approval
  // waits for that first (false).
  bool AwaitsItsWorkload(const Record& record);

 private:
  struct Slot {
    std::shared_ptr<LiveOperation> op;
    std::unique_ptr<Engine> engine;
    // The operation's locks: its lock key (or its own name) first, then
    // Engine::more_lock_keys.
    std::vector<std::string> lock_keys;
    std::thread thread;
    bool finished = false;  // guarded by the runner's mu_
    // Record writes of this operation happen one at a time, each with the
    // state of its own moment, so a slow periodic save never overwrites a
    // newer checkpoint an engine persisted.
    absl::Mutex save_mu;
    uint64_t saved_version ABSL_GUARDED_BY(save_mu) = 0;
  };

  // Whether the operation runs here, or Launch is starting it here.
  bool RunsHere(const std::string& name);
  // The locks `engine` takes: `key` (its lock key, or its own name), then
  // Engine::more_lock_keys as its InitialCheckpoint names them.
  static std::vector<std::string> LockKeys(const Engine& engine, const std::string& key);
  // With `keys` held and `record` written: prepares `engine` again (a
  // call's Prepare, made before, may have seen the workload in the middle
  // of the operation that held it), takes or lets go of the locks its new
  // plan needs, and, when the plan or the locks differ from the record's,
  // sets the record's plan, checkpoint and times and writes it again. On
  // failure `keys` are still held, and no others.
  // `found_free`: the locks were free when asked for, so the record's
  // times (of the moment before they were) are after the end of whatever
  // held them before; else they are set anew in any case.
  absl::Status PlanHoldingLocks(Engine& engine, Record& record, std::vector<std::string>& keys, bool found_free);
  // The record of an operation that did not start (its locks could not be
  // taken, or its plan failed once they were) is deleted, or, failing
  // that, ended FAILED with `why`: nobody adopts what the caller is told
  // did not start. Both writes are refused once another replica has taken
  // the record over (it found the workload free meanwhile and runs the
  // operation): then that operation is returned, the caller's answer.
  std::optional<v1::Operation> Withdraw(const Record& record, const absl::Status& why);
  // Lets go of `keys` held for `operation` without ending it (LetGo).
  void LetGoAll(const std::vector<std::string>& keys, const std::string& operation);
  // Puts `slot` in the table and starts its engine.
  void StartSlot(std::unique_ptr<Slot> slot, bool resumed);
  void RunSlot(Slot* slot, bool resumed);
  // Writes the slot's record when it changed since the last write (always
  // with `force`).
  absl::Status SaveSlot(Slot* slot, bool force);
  void Loop();
  void SaveDirty();
  void RenewLocks();
  // Adopts what can be adopted now; returns when the next orphan's lease
  // runs out (InfiniteFuture when none is waiting).
  absl::Time Adopt();
  // Adopt for one record: when it can be, it is started or resumed here.
  // Returns when to look at it again (InfiniteFuture: no need).
  // `approved_here`: this replica has just recorded its approval (the
  // time given to a replica that may be starting it is not waited for).
  absl::Time AdoptOne(Record rec, bool approved_here);
  // Ends an operation held for approval past its deadline (CANCELLED,
  // decision EXPIRED); else returns its deadline.
  absl::Time ExpireIfDue(const Record& rec);
  // Takes `keys` for `operation`, each retried on transient errors; on
  // failure none stays taken: those taken are released or, with
  // `let_go_on_failure` (adopting an operation that held them), let go,
  // still naming it. `found_free` (if given): whether each was free at
  // once (WorkloadLocks::Acquire), none taken over or asked again.
  absl::Status AcquireAll(const std::vector<std::string>& keys, const std::string& operation,
                          bool* found_free = nullptr, bool let_go_on_failure = false);
  void ReleaseAll(const std::vector<std::string>& keys, const std::string& operation);

  EngineEnv env_;
  OperationStore& store_;
  WorkloadLocks& locks_;
  EngineFactory factory_;
  RunnerHooks hooks_;
  RunnerOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  // Operations Launch is starting here: their record may be seen (and
  // their lease, under this replica's name) before their slot exists, and
  // Adopt must not take them for a predecessor's.
  std::set<std::string> launching_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
  absl::Notification stop_loop_;
  // Leases are renewed on a thread of their own: record writes and
  // adoption, slow when the API server is, must not let them run out.
  std::thread renew_loop_;
  absl::Notification stop_renew_;
};

}  // namespace herd::ops

#endif  // HERD_SERVER_OPS_RUNNER_H_
