// herdctl's command line: the verbs, their flags and help, parsed into a
// Command that holds the API requests to send. Pure: no I/O, no server,
// no environment (the caller passes the default namespace in).
//
//   absl::StatusOr<herd::herdctl::Command> cmd = herd::herdctl::ParseCommandLine(
//       {"-n", "shop", "rollout", "deploy/web", "web=registry.example/web:1.4.2", "--wait"}, "default");
//   // cmd->action == Action::kRollout
//   // cmd->rollout.workload() == "namespaces/shop/deployments/web"
//
// A usage error is INVALID_ARGUMENT whose message says what is wrong and
// ends with the usage line of the verb.
#ifndef HERD_CLIENT_HERDCTL_ARGS_H_
#define HERD_CLIENT_HERDCTL_ARGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/herd_client.h"
#include "herd/v1/herd.pb.h"

namespace herd::herdctl {

enum class OutputFormat { kTable, kJson, kYaml };

enum class Action {
  kHelp,
  kRollout,
  kUndo,
  kScale,
  kPurge,
  kKill,
  kCronJobRun,
  kCronJobSuspend,
  kCronJobResume,
  kCronJobKill,
  kGet,
  kList,
  kOpsGet,
  kOpsList,
  kOpsWatch,
  kOpsCancel,
  kOpsApprove,
  kOpsReject,
  kPolicyCreate,
  kPolicyGet,
  kPolicyList,
  kPolicyPause,
  kPolicyResume,
  kPolicyDelete,
};

// Flags every verb takes.
struct GlobalOptions {
  // As given on the command line; client::ResolveFromEnvironment fills the
  // rest before connecting.
  client::ConnectionOptions connection;
  // --timeout was given: it then also bounds --wait and `ops watch`.
  bool timeout_set = false;
  std::string namespace_name;
  // -A on list verbs.
  bool all_namespaces = false;
  OutputFormat output = OutputFormat::kTable;
  bool verbose = false;
};

struct Command {
  Action action = Action::kHelp;
  GlobalOptions global;

  // kHelp: the verb to explain ("rollout"), or empty for the overview.
  std::string help_topic;

  // Mutating verbs, `ops cancel` and `ops approve`: follow the operation
  // until it ends.
  bool wait = false;
  // dry_run, request_id, reason as given; already copied into the request.
  v1::MutationOptions mutation;

  // The request `action` sends; the others stay empty.
  v1::RolloutRequest rollout;
  v1::UndoRequest undo;
  v1::ScaleRequest scale;
  v1::PurgeRequest purge;
  v1::KillRequest kill;
  v1::CronJobRequest cronjob;
  v1::GetWorkloadRequest get;
  v1::ListWorkloadsRequest list;
  v1::ListOperationsRequest ops_list;
  // kOpsList: show at most this many (0: all).
  int ops_limit = 0;
  // kOpsGet, kOpsWatch: "operations/ID".
  std::string operation;
  v1::CancelOperationRequest cancel;
  v1::ApproveOperationRequest approve;
  v1::RejectOperationRequest reject;
  // kPolicyCreate: the policy, its action parsed from the command line
  // after `--` as herdctl parses that verb.
  v1::CreatePolicyRequest policy_create;
  // kPolicyGet, kPolicyPause, kPolicyResume, kPolicyDelete: "policies/ID".
  std::string policy;
  // kPolicyPause, kPolicyResume: --reason.
  std::string policy_reason;
};

// Parses the arguments after the program name. `default_namespace` is used
// when -n is not given (herdctl passes $HERD_NAMESPACE or "default").
absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args,
                                         absl::string_view default_namespace);

// The overview printed by `herdctl --help`: verbs, global flags, exit codes,
// examples.
std::string OverallHelp();
// `herdctl VERB --help`; empty when `verb` is not a verb.
std::string VerbHelp(absl::string_view verb);
// The one-line usage of a verb ("herdctl scale deploy/NAME …"); the overall
// usage line when `verb` is not one.
std::string UsageLine(absl::string_view verb);

// "namespaces/shop/deployments/web" → "deploy/web" (and sts/, cj/, pod/);
// a selector target "namespaces/shop/pods?labelSelector=app%3Dweb" → "pods -l app=web";
// anything else unchanged. With `with_namespace`, "shop/deploy/web".
std::string ShortResourceName(absl::string_view resource, bool with_namespace = false);

// The namespace a resource name is in ("namespaces/NS/…"), or empty.
std::string NamespaceOf(absl::string_view resource);

// "operations/7f3a" → "7f3a", the form people type.
std::string OperationId(absl::string_view name);

}  // namespace herd::herdctl

#endif  // HERD_CLIENT_HERDCTL_ARGS_H_
