#include "client/herdctl_run.h"

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/herdctl_format.h"

namespace herd::herdctl {
namespace {

// A read of many pages stops here even if the server keeps handing out
// page tokens.
constexpr int kMaxPages = 1000;

ExitCode Print(const absl::StatusOr<std::string>& text, std::ostream& out, std::ostream& err) {
  if (!text.ok()) {
    err << "herdctl: " << text.status().message() << "\n";
    return kExitError;
  }
  out << *text;
  return kExitSuccess;
}


bool EndedCancelled(const v1::Operation& op) {
  return op.state() == v1::OPERATION_STATE_CANCELLED || op.state() == v1::OPERATION_STATE_ROLLED_BACK;
}

// Follows operation `name` to its end, showing progress, then prints the
// outcome. `initial` is the state already known (from the call that started
// it), if any.
ExitCode Follow(const Command& cmd, const client::HerdClient& client, const Console& con, const std::string& name,
                std::optional<v1::Operation> initial) {
  const bool table = cmd.global.output == OutputFormat::kTable;
  // With -o json|yaml stdout carries only the document; people read stderr.
  std::ostream& human = table ? con.out : con.err;
  ProgressPrinter progress(human, table ? con.out_tty : con.err_tty, con.now);

  std::optional<v1::Operation> final_op;
  if (initial) {
    progress.Update(*initial);
    if (client::IsFinal(initial->state())) final_op = *initial;
  }
  if (!final_op) {
    const absl::Time deadline =
        cmd.global.timeout_set ? con.now() + cmd.global.connection.timeout : absl::InfiniteFuture();
    absl::StatusOr<v1::Operation> result =
        client.WaitForOperation(name, [&](const v1::Operation& op) { progress.Update(op); }, deadline);
    progress.Finish();
    if (!result.ok()) {
      if (result.status().code() == absl::StatusCode::kDeadlineExceeded) {
        con.err << "herdctl: " << result.status().message() << "\n"
                << "Follow it again with: herdctl ops watch " << OperationId(name) << "\n";
        return kExitWaitTimeout;
      }
      return ReportError(result.status(), cmd.global.connection.server, con.err);
    }
    final_op = *std::move(result);
  } else {
    progress.Finish();
  }

  human << FormatOutcome(*final_op) << "\n";
  if (final_op->state() != v1::OPERATION_STATE_SUCCEEDED) human << FormatFailure(*final_op);
  if (!table) {
    if (ExitCode code = Print(FormatMessage(*final_op, cmd.global.output), con.out, con.err); code != kExitSuccess) {
      return code;
    }
  }
  if (cmd.action == Action::kOpsCancel) return EndedCancelled(*final_op) ? kExitSuccess : kExitOperationFailed;
  return ExitCodeForOperation(*final_op);
}

ExitCode RunMutation(const Command& cmd, const client::HerdClient& client, const Console& con,
                     const absl::StatusOr<v1::Operation>& started) {
  if (!started.ok()) return ReportError(started.status(), cmd.global.connection.server, con.err);
  const v1::Operation& op = *started;
  if (cmd.mutation.dry_run()) {
    return Print(FormatOperation(op, cmd.global.output, con.now()), con.out, con.err);
  }
  if (cmd.wait) return Follow(cmd, client, con, op.name(), op);
  if (cmd.global.output != OutputFormat::kTable) {
    if (ExitCode code = Print(FormatMessage(op, cmd.global.output), con.out, con.err); code != kExitSuccess) {
      return code;
    }
  } else if (client::IsFinal(op.state())) {
    // A repeated request id hands back an operation that already ended.
    con.out << op.name() << ": " << FormatOutcome(op) << "\n" << FormatFailure(op);
  } else {
    con.out << FormatStarted(op) << "\n"
            << "Follow it with: herdctl ops watch " << OperationId(op.name()) << "\n";
  }
  return ExitCodeForOperation(op);
}

ExitCode RunOpsList(const Command& cmd, const client::HerdClient& client, const Console& con) {
  v1::ListOperationsRequest request = cmd.ops_list;
  v1::ListOperationsResponse all;
  std::set<std::string> seen_tokens;
  for (int page = 0; page < kMaxPages; ++page) {
    absl::StatusOr<v1::ListOperationsResponse> r = client.ListOperations(request);
    if (!r.ok()) return ReportError(r.status(), cmd.global.connection.server, con.err);
    for (v1::Operation& op : *r->mutable_operations()) {
      if (cmd.ops_limit > 0 && all.operations_size() >= cmd.ops_limit) break;
      *all.add_operations() = std::move(op);
    }
    if (r->next_page_token().empty() || (cmd.ops_limit > 0 && all.operations_size() >= cmd.ops_limit) ||
        !seen_tokens.insert(r->next_page_token()).second) {
      break;
    }
    request.set_page_token(r->next_page_token());
  }
  if (cmd.global.output == OutputFormat::kTable && all.operations().empty()) {
    con.err << (request.namespace_().empty() ? std::string("No operations found.")
                                             : absl::StrCat("No operations found in namespace ", request.namespace_(), "."))
            << "\n";
    return kExitSuccess;
  }
  return Print(FormatOperationList(all, cmd.global.output, con.now(), request.namespace_().empty()), con.out, con.err);
}

ExitCode RunList(const Command& cmd, const client::HerdClient& client, const Console& con) {
  v1::ListWorkloadsRequest request = cmd.list;
  v1::ListWorkloadsResponse all;
  std::set<std::string> seen_tokens;
  for (int page = 0; page < kMaxPages; ++page) {
    absl::StatusOr<v1::ListWorkloadsResponse> r = client.ListWorkloads(request);
    if (!r.ok()) return ReportError(r.status(), cmd.global.connection.server, con.err);
    for (v1::Workload& w : *r->mutable_workloads()) *all.add_workloads() = std::move(w);
    if (r->next_page_token().empty() || !seen_tokens.insert(r->next_page_token()).second) break;
    request.set_page_token(r->next_page_token());
  }
  if (cmd.global.output == OutputFormat::kTable && all.workloads().empty()) {
    con.err << (request.namespace_().empty() ? std::string("No workloads found.")
                                             : absl::StrCat("No workloads found in namespace ", request.namespace_(), "."))
            << "\n";
    return kExitSuccess;
  }
  return Print(FormatWorkloadList(all, cmd.global.output, con.now(), request.namespace_().empty()), con.out, con.err);
}

}  // namespace

ExitCode ExitCodeForStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitSuccess;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnreachable;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kOutOfRange:
      return kExitRefused;
    default:
      return kExitError;
  }
}

ExitCode ExitCodeForOperation(const v1::Operation& op) {
  switch (op.state()) {
    case v1::OPERATION_STATE_FAILED:
    case v1::OPERATION_STATE_CANCELLED:
    case v1::OPERATION_STATE_ROLLED_BACK:
      return kExitOperationFailed;
    default:
      return kExitSuccess;
  }
}

ExitCode ReportError(const absl::Status& status, absl::string_view server, std::ostream& err) {
  const ExitCode code = ExitCodeForStatus(status);
  const std::string name = absl::StatusCodeToString(status.code());
  switch (code) {
    case kExitSuccess:
      break;
    case kExitUnreachable:
      if (status.code() == absl::StatusCode::kDeadlineExceeded) {
        err << "herdctl: no answer from herd at " << server << " in time (--timeout): " << status.message() << "\n";
      } else {
        err << "herdctl: cannot reach herd at " << server << ": " << status.message() << "\n"
            << "Is herdd running there? --server or HERD_SERVER says where to look.\n";
      }
      break;
    case kExitRefused:
      err << "Error from server (" << name << "): " << status.message() << "\n";
      if (status.code() == absl::StatusCode::kUnauthenticated) {
        err << "Give a token with --token, --token-file, HERD_TOKEN or HERD_TOKEN_FILE.\n";
      }
      break;
    default:
      err << "herdctl: error from herd at " << server << " (" << name << "): " << status.message() << "\n";
      break;
  }
  return code;
}

ExitCode RunCommand(const Command& cmd, const client::HerdClient& client, const Console& con) {
  const std::string& server = cmd.global.connection.server;
  switch (cmd.action) {
    case Action::kHelp:
      con.out << (cmd.help_topic.empty() ? OverallHelp() : VerbHelp(cmd.help_topic));
      return kExitSuccess;
    case Action::kRollout:
      return RunMutation(cmd, client, con, client.Rollout(cmd.rollout));
    case Action::kUndo:
      return RunMutation(cmd, client, con, client.Undo(cmd.undo));
    case Action::kScale:
      return RunMutation(cmd, client, con, client.Scale(cmd.scale));
    case Action::kPurge:
      return RunMutation(cmd, client, con, client.Purge(cmd.purge));
    case Action::kKill:
      return RunMutation(cmd, client, con, client.Kill(cmd.kill));
    case Action::kCronJobRun:
      return RunMutation(cmd, client, con, client.RunCronJob(cmd.cronjob));
    case Action::kCronJobSuspend:
      return RunMutation(cmd, client, con, client.SuspendCronJob(cmd.cronjob));
    case Action::kCronJobResume:
      return RunMutation(cmd, client, con, client.ResumeCronJob(cmd.cronjob));
    case Action::kCronJobKill:
      return RunMutation(cmd, client, con, client.KillCronJobJobs(cmd.cronjob));
    case Action::kGet: {
      absl::StatusOr<v1::Workload> w = client.GetWorkload(cmd.get);
      if (!w.ok()) return ReportError(w.status(), server, con.err);
      return Print(FormatWorkload(*w, cmd.global.output, con.now()), con.out, con.err);
    }
    case Action::kList:
      return RunList(cmd, client, con);
    case Action::kOpsGet: {
      absl::StatusOr<v1::Operation> op = client.GetOperation(cmd.operation);
      if (!op.ok()) return ReportError(op.status(), server, con.err);
      return Print(FormatOperation(*op, cmd.global.output, con.now()), con.out, con.err);
    }
    case Action::kOpsList:
      return RunOpsList(cmd, client, con);
    case Action::kOpsWatch:
      return Follow(cmd, client, con, cmd.operation, std::nullopt);
    case Action::kOpsCancel: {
      absl::StatusOr<v1::Operation> op = client.CancelOperation(cmd.cancel);
      if (!op.ok()) return ReportError(op.status(), server, con.err);
      if (cmd.wait) return Follow(cmd, client, con, op->name().empty() ? cmd.operation : op->name(), *op);
      if (cmd.global.output != OutputFormat::kTable) return Print(FormatMessage(*op, cmd.global.output), con.out, con.err);
      con.out << cmd.operation << ": cancel requested (" << StateName(op->state()) << ")\n";
      return kExitSuccess;
    }
    case Action::kPolicyCreate: {
      absl::StatusOr<v1::Policy> p = client.CreatePolicy(cmd.policy_create);
      if (!p.ok()) return ReportError(p.status(), server, con.err);
      return Print(FormatPolicy(*p, cmd.global.output, con.now()), con.out, con.err);
    }
    case Action::kPolicyGet: {
      v1::GetPolicyRequest req;
      req.set_name(cmd.policy);
      absl::StatusOr<v1::Policy> p = client.GetPolicy(req);
      if (!p.ok()) return ReportError(p.status(), server, con.err);
      return Print(FormatPolicy(*p, cmd.global.output, con.now()), con.out, con.err);
    }
    case Action::kPolicyList: {
      absl::StatusOr<v1::ListPoliciesResponse> list = client.ListPolicies(v1::ListPoliciesRequest());
      if (!list.ok()) return ReportError(list.status(), server, con.err);
      if (list->policies().empty() && cmd.global.output == OutputFormat::kTable) {
        con.err << "No policies found.\n";
        return kExitSuccess;
      }
      return Print(FormatPolicyList(*list, cmd.global.output, con.now()), con.out, con.err);
    }
    case Action::kPolicyPause:
    case Action::kPolicyResume:
    case Action::kPolicyDelete: {
      absl::StatusOr<v1::Policy> p;
      const char* done = "deleted";
      if (cmd.action == Action::kPolicyPause) {
        v1::PausePolicyRequest req;
        req.set_name(cmd.policy);
        req.set_reason(cmd.policy_reason);
        p = client.PausePolicy(req);
        done = "paused";
      } else if (cmd.action == Action::kPolicyResume) {
        v1::ResumePolicyRequest req;
        req.set_name(cmd.policy);
        req.set_reason(cmd.policy_reason);
        p = client.ResumePolicy(req);
        done = "resumed";
      } else {
        v1::DeletePolicyRequest req;
        req.set_name(cmd.policy);
        p = client.DeletePolicy(req);
      }
      if (!p.ok()) return ReportError(p.status(), server, con.err);
      if (cmd.global.output != OutputFormat::kTable) return Print(FormatMessage(*p, cmd.global.output), con.out, con.err);
      con.out << cmd.policy << ": " << done << "\n";
      return kExitSuccess;
    }
    case Action::kOpsApprove:
    case Action::kOpsReject: {
      const bool approve = cmd.action == Action::kOpsApprove;
      absl::StatusOr<v1::Operation> op =
          approve ? client.ApproveOperation(cmd.approve) : client.RejectOperation(cmd.reject);
      if (!op.ok()) return ReportError(op.status(), server, con.err);
      if (cmd.wait) return Follow(cmd, client, con, op->name().empty() ? cmd.operation : op->name(), *op);
      if (cmd.global.output != OutputFormat::kTable) return Print(FormatMessage(*op, cmd.global.output), con.out, con.err);
      con.out << cmd.operation << ": " << (approve ? "approved" : "rejected") << " (" << StateName(op->state())
              << ")\n";
      if (approve) con.out << "Follow it with: herdctl ops watch " << OperationId(op->name()) << "\n";
      return kExitSuccess;
    }
  }
  return kExitError;
}

}  // namespace herd::herdctl
