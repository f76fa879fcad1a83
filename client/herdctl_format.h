// How herdctl shows things to people and scripts: kubectl-like tables,
// readable views of one operation or workload, JSON and YAML, and the live
// progress of an operation. Pure functions of their inputs (the time "now"
// is passed in), so every printer is tested without a server or terminal.
//
//   std::cout << *FormatOperationList(ops, OutputFormat::kTable, absl::Now(), /*all_namespaces=*/false);
//   //  NAME      KIND      TARGET     STATE     PROGRESS   AGE
//   //  7f3a9c1   rollout   deploy/web Running   3/5        12s
//
//   ProgressPrinter progress(std::cerr, /*tty=*/isatty(2), [] { return absl::Now(); });
//   client.WaitForOperation(name, [&](const v1::Operation& op) { progress.Update(op); }, deadline);
//   progress.Finish();
#ifndef HERD_CLIENT_HERDCTL_FORMAT_H_
#define HERD_CLIENT_HERDCTL_FORMAT_H_

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/herdctl_args.h"
#include "herd/v1/herd.pb.h"

namespace herd::herdctl {

// Proto JSON (lowerCamelCase names, every field present, indented).
// google.rpc.Status details of a type herdctl does not know are left out
// rather than failing the whole document.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// Block-style YAML of a JSON document, quoting every string a YAML reader
// could take for something else ("true", "1.5", "2026-11-25T10:00:00Z").
// INVALID_ARGUMENT when `json` does not parse.
absl::StatusOr<std::string> JsonToYaml(absl::string_view json);

// kJson / kYaml of any message, ending in a newline.
absl::StatusOr<std::string> FormatMessage(const google::protobuf::Message& message, OutputFormat format);

// One operation. kTable: a multi-line view with progress, times, the error
// and failure (pods and their problems), timings, events, and for a dry
// run its plan.
absl::StatusOr<std::string> FormatOperation(const v1::Operation& op, OutputFormat format, absl::Time now);

// Operations, newest first. kTable: NAME KIND TARGET STATE PROGRESS AGE,
// with a NAMESPACE column first when `all_namespaces`.
absl::StatusOr<std::string> FormatOperationList(const v1::ListOperationsResponse& ops, OutputFormat format,
                                                absl::Time now, bool all_namespaces);

// One workload. kTable: a multi-line view with its containers, autoscaler,
// operation and pods (CronJobs: schedule, suspension, jobs).
absl::StatusOr<std::string> FormatWorkload(const v1::Workload& workload, OutputFormat format, absl::Time now);
// One policy: schedule, action, next runs, latest decisions.
absl::StatusOr<std::string> FormatPolicy(const v1::Policy& policy, OutputFormat format, absl::Time now);
// ID, SCHEDULE, ACTION, STATE, NEXT RUN, LAST DECISION.
absl::StatusOr<std::string> FormatPolicyList(const v1::ListPoliciesResponse& list, OutputFormat format, absl::Time now);

// Workloads. kTable: NAME KIND READY UP-TO-DATE AVAILABLE REVISION IMAGES
// OPERATION POD-AGE (a list of CronJobs only: NAME SCHEDULE SUSPEND ACTIVE
// LAST-SCHEDULE IMAGES OPERATION), NAMESPACE first when `all_namespaces`.
absl::StatusOr<std::string> FormatWorkloadList(const v1::ListWorkloadsResponse& workloads, OutputFormat format,
                                               absl::Time now, bool all_namespaces);

// "rollout", "scale", "cronjob-run", …
std::string KindName(v1::OperationKind kind);
// "Pending", "Running", "Succeeded", "Failed", "Cancelled", "RolledBack".
std::string StateName(v1::OperationState state);
// "350ms", "12.3s", "4m5s", "2h10m", "3d4h".
std::string ShortDuration(absl::Duration d);
// The counters that matter for the operation's kind:
// "updated 3/5, ready 2, available 5, old pods left 2"; empty when none do.
std::string ProgressText(const v1::Operation& op);

// How far the operation has come on its way to done, 0 to 1, as herd.proto's
// Progress defines it (herdctl's bar, Slack's): for a rollout, undo or
// purge, half for the new pods Ready and half for the old pods gone; for a
// scale, pods Ready; for a kill, pods killed. nullopt for kinds without one.
std::optional<double> ProgressFraction(const v1::Operation& op);

// One line for an operation just started (without --wait), e.g.
// "operations/7f3a: rollout of deploy/web started (Pending)".
std::string FormatStarted(const v1::Operation& op);
// The approval of an operation an approval rule held, in a line ("waits
// for one of bob, carol until …", "approved by bob: ok"); "" for others.
std::string FormatApproval(const v1::Operation& op);
// "2026-12-04 06:30:00 UTC".
std::string FormatApprovalTime(const google::protobuf::Timestamp& t);
// One line for an operation that ended, e.g.
// "rollout of deploy/web succeeded in 14.2s (revision 7)".
std::string FormatOutcome(const v1::Operation& op);
// The failure of an operation (error, reason, budget, pods and their
// problems) as indented lines; empty when it has none.
std::string FormatFailure(const v1::Operation& op);

// Shows an operation's progress as it changes: on a terminal, one live
// line (a bar and the counters) redrawn in place, with new events printed
// above it; elsewhere, one line per change and per event, for logs.
// Not thread-safe; use from the thread that receives the updates.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& out, bool tty, std::function<absl::Time()> now);

  // Prints what changed since the last update.
  void Update(const v1::Operation& op);
  // Ends the live line, so that what follows starts on a clean line.
  void Finish();

 private:
  void PrintEvents(const v1::Operation& op);
  void ClearLive();

  std::ostream& out_;
  const bool tty_;
  std::function<absl::Time()> now_;
  bool header_shown_ = false;
  bool live_shown_ = false;
  std::optional<v1::OperationEvent> last_event_;
  std::string last_status_;
};

}  // namespace herd::herdctl

#endif  // HERD_CLIENT_HERDCTL_FORMAT_H_
