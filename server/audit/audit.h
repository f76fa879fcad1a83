// The audit trail of herd's mutating calls: who did what to which
// workload, why, and how it ended. Each record becomes
//   (a) one structured log line (audit=true, principal, verb, target, op,
//       reason, result, dry_run), written before Record returns, and
//   (b) a Kubernetes Event on the target object, so `kubectl describe
//       deploy/web` shows it ("Normal HerdRollout 5s herd alice: rollout
//       web=web:2 (reason: release 42) — started").
//
//   herd::audit::Auditor auditor(kube.get(), {.reporting_instance = pod_name});
//   auditor.Record({.principal = "alice", .verb = "rollout",
//                   .target = {.ns = "shop", .kind = "Deployment", .name = "web"},
//                   .operation_id = "op-7f3a", .reason = "release 42",
//                   .detail = "web=web:2", .outcome = herd::audit::Outcome::kStarted});
//
// Events are written by one background worker from a bounded queue: an
// audit never makes an operation wait on the API server, and never fails
// it. A full queue drops the event (the log line is always written) and
// says so in the log; a failed write is logged too.
#ifndef HERD_SERVER_AUDIT_AUDIT_H_
#define HERD_SERVER_AUDIT_AUDIT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/kube/client.h"
#include "server/kube/clock.h"

namespace herd::audit {

// The object a call acted on.
struct Target {
  std::string ns;
  std::string kind;  // "Deployment", "StatefulSet", "CronJob", "Pod", "Job", "ReplicaSet"
  std::string name;
  // With both set the Event needs no GET of the object (the engine already
  // has it); otherwise the worker reads them from the cluster.
  std::string uid;
  std::string api_version;  // "apps/v1"
};

enum class Outcome {
  kStarted,
  kSucceeded,
  kFailed,
  kCancelled,
  kRolledBack,  // failed and undone
  kHeld,        // waits for approval (an approval rule held it)
  kApproved,    // an approval given (verb "approve")
  kRejected,    // an approval refused (verb "reject")
};

struct AuditEntry {
  std::string principal;
  // "rollout", "undo", "scale", "purge", "kill", "cronjob", "cancel",
  // "approve", "reject"
  std::string verb;
  Target target;
  std::string operation_id;
  std::string reason;  // the caller's reason, as given
  // What was asked, in a few words: "web=web:2", "replicas 3 → 5".
  std::string detail;
  Outcome outcome = Outcome::kStarted;
  std::string error;  // why it failed, was cancelled or rolled back
  bool dry_run = false;
};

// "started", "succeeded", "failed: ERROR", "cancelled[: ERROR]",
// "rolled back: ERROR", "held for approval", "approved", "rejected".
std::string ResultText(const AuditEntry& entry);
// "shop/Deployment/web".
std::string TargetText(const Target& target);
// "alice: rollout web=web:2 (reason: release 42) — started", cut to the
// 1024 bytes the API server allows (at a UTF-8 character boundary).
std::string EventMessage(const AuditEntry& entry);
// The Event reason: "HerdRollout", "HerdScale", "HerdCronJob", …
std::string EventReason(absl::string_view verb);
// The core/v1 Event for `entry` on `involved` (an ObjectReference), as of
// `now`, named `name`. Normal, or Warning for failed and rolled back.
nlohmann::json BuildEvent(const AuditEntry& entry, const nlohmann::json& involved, absl::Time now,
                          const std::string& name, const std::string& reporting_instance);

struct AuditorOptions {
  // Events waiting to be written; beyond this they are dropped.
  size_t queue_capacity = 256;
  // Event.reportingInstance (the pod name, say); "" takes the host name.
  std::string reporting_instance;
  // Event timestamps. Not owned; null: Clock::Real().
  kube::Clock* clock = nullptr;
};

// Thread-safe: Record, Flush and stats may be called from any thread.
class Auditor {
 public:
  // `kube` may be null (log lines only). Not owned; must outlive the Auditor.
  explicit Auditor(kube::KubeClient* kube, AuditorOptions options = {});
  // Stops the worker after the event it is writing; events still queued are
  // dropped and counted in the log. Call Flush first to keep them.
  ~Auditor();
  Auditor(const Auditor&) = delete;
  Auditor& operator=(const Auditor&) = delete;

  // Logs the entry at once and queues its Event. Never blocks on the
  // network. Dry runs and targets without a namespace or name get the log
  // line only: a dry run changed nothing, so nothing is put on the object.
  void Record(AuditEntry entry);

  // Waits until every queued Event has been written (or given up on), or
  // until `deadline`. Returns whether the queue drained.
  bool Flush(absl::Time deadline);

  struct Stats {
    uint64_t recorded = 0;        // Record calls
    uint64_t events_written = 0;  // Events the API server accepted
    uint64_t events_failed = 0;   // writes (or GETs of the target) that failed
    uint64_t events_dropped = 0;  // not queued: the queue was full
  };
  Stats stats() const;

 private:
  void Run();
  void Write(const AuditEntry& entry);
  std::string NextEventName(absl::string_view object_name, absl::Time now);

  kube::KubeClient* const kube_;
  const AuditorOptions options_;
  kube::Clock* const clock_;
  const std::string instance_;

  mutable absl::Mutex mu_;
  std::deque<AuditEntry> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // the worker is writing one
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // Event names end in a nanosecond timestamp, as client-go's do; kept
  // strictly increasing so two events in one tick do not collide.
  int64_t last_name_nanos_ = 0;  // worker thread only

  std::thread worker_;  // last: starts once everything above is set
};

}  // namespace herd::audit

#endif  // HERD_SERVER_AUDIT_AUDIT_H_
