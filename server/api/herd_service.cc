#include "server/api/herd_service.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "server/api/engine_factory.h"
#include "server/api/paging.h"
#include "server/engines/workloads.h"
#include "server/ops/names.h"
#include "server/ops/operation.h"

namespace herd::api {
namespace {

constexpr size_t kMaxDryRuns = 256;
// How long Kill waits for its evictions before answering (a selector kill
// of hundreds of pods answers while it still runs).
constexpr std::chrono::seconds kKillAnswerWait{5};
// How long a call waits for the lock of an operation that has just ended.
constexpr absl::Duration kEndedHolderWait = absl::Seconds(2);

std::string Metadata(grpc::ServerContext* ctx, const char* key) {
  auto range = ctx->client_metadata().equal_range(key);
  if (range.first == range.second) return "";
  return std::string(range.first->second.data(), range.first->second.size());
}

std::string ClientCertCommonName(grpc::ServerContext* ctx) {
  auto auth = ctx->auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  for (const auto& v : auth->FindPropertyValues("x509_common_name")) return std::string(v.data(), v.size());
  return "";
}

// The namespace an operation's target lives in ("namespaces/NS/…").
std::string NamespaceOf(const std::string& target) {
  std::vector<std::string> parts = absl::StrSplit(target, absl::MaxSplits('/', 2));
  return parts.size() >= 2 && parts[0] == "namespaces" ? parts[1] : "";
}

std::string WorkloadOf(const std::string& target) {
  std::vector<std::string> parts = absl::StrSplit(target, '/');
  if (parts.size() == 4 && parts[0] == "namespaces") return parts[3];
  return "";
}

// The workloads (or pods, by name) an operation's target names, as rules
// match them: {NAME} for a workload or one pod, every name of a kill of
// named pods, {""} (every workload of the namespace) for a selector.
std::vector<std::string> WorkloadsOf(const std::string& target) {
  if (std::string one = WorkloadOf(target); !one.empty()) return {one};
  const size_t names = target.find("?names=");
  if (names == std::string::npos) return {""};
  std::vector<std::string> out = absl::StrSplit(target.substr(names + 7), ',', absl::SkipEmpty());
  if (out.empty()) out.push_back("");
  return out;
}

std::string VerbText(v1::OperationKind k) {
  switch (k) {
    case v1::OPERATION_KIND_ROLLOUT: return "rollout";
    case v1::OPERATION_KIND_UNDO: return "undo";
    case v1::OPERATION_KIND_SCALE: return "scale";
    case v1::OPERATION_KIND_PURGE: return "purge";
    case v1::OPERATION_KIND_KILL: return "kill";
    case v1::OPERATION_KIND_CRONJOB_RUN: return "cronjob run";
    case v1::OPERATION_KIND_CRONJOB_SUSPEND: return "cronjob suspend";
    case v1::OPERATION_KIND_CRONJOB_RESUME: return "cronjob resume";
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS: return "cronjob kill";
    default: return "operation";
  }
}

// "namespaces/shop/deployments/web" for a Workload (whose name is "web"):
// the name rules, locks and operations use.
std::string ResourceNameOf(const v1::Workload& w) {
  std::string plural = w.kind() == "Deployment"    ? "deployments"
                       : w.kind() == "StatefulSet" ? "statefulsets"
                                                   : "cronjobs";
  return absl::StrCat("namespaces/", w.namespace_(), "/", plural, "/", w.name());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message()));
}

HerdService::HerdService(ServiceDeps deps) : deps_(std::move(deps)) {}

absl::StatusOr<auth::PrincipalRef> HerdService::Authenticate(grpc::ServerContext* ctx) {
  std::string authorization = Metadata(ctx, "authorization");
  std::string cn = ClientCertCommonName(ctx);
  auto who = deps_.authenticator->Authenticate({.authorization = authorization, .client_cert_cn = cn});
  if (absl::IsUnauthenticated(who.status()) && deps_.denied) deps_.denied("unauthenticated");
  return who;
}

absl::Status HerdService::Refused(absl::Status st) {
  if (absl::string_view why = auth::Authorizer::RefusalReason(st); !why.empty() && deps_.denied) deps_.denied(why);
  return st;
}

void HerdService::Audit(const auth::Principal& who, auth::Verb verb, const v1::Operation& op,
                        const std::string& result) {
  Audit(who, auth::VerbName(verb), op, result);
}

void HerdService::Audit(const auth::Principal& who, absl::string_view verb, const v1::Operation& op,
                        const std::string& result) {
  if (!deps_.audit) return;
  deps_.audit({.principal = who.name,
               .verb = std::string(verb),
               .target = op.target(),
               .operation = op.name(),
               .reason = op.reason(),
               .result = result,
               .detail = op.plan().changes_size() > 0 ? op.plan().changes(0) : op.plan().summary(),
               .dry_run = op.dry_run()});
}

absl::StatusOr<v1::Operation> HerdService::Mutate(grpc::ServerContext* ctx, auth::Verb verb, const std::string& ns,
                                                  const std::string& workload, const v1::MutationOptions& options,
                                                  const std::function<EngineOrError()>& make_engine) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return who.status();
  EngineOrError engine = make_engine();
  if (!engine.ok()) return engine.status();
  if (options.reason().size() > 1024) return absl::InvalidArgumentError("reason is longer than 1024 characters");
  if (options.request_id().size() > 256) return absl::InvalidArgumentError("request_id is longer than 256 characters");
  if (auto st = deps_.authorizer->Authorize(**who, verb, ns, workload); !st.ok()) return Refused(st);
  if (!ns.empty()) {
    if (auto st = engines::CheckCovered(*deps_.env, ns); !st.ok()) return st;
  }
  if (deps_.draining && deps_.draining() && !options.dry_run()) {
    return absl::UnavailableError("herdd is shutting down; try again (another replica will take the call)");
  }
  absl::Time now = absl::Now();
  v1::Operation op;
  op.set_kind((*engine)->kind());
  op.set_target((*engine)->target());
  op.set_principal((*who)->name);
  op.set_reason(options.reason());
  op.set_request_id(options.request_id());
  ops::SetTime(now, op.mutable_create_time());
  ops::SetTime(now, op.mutable_update_time());

  // A repeated request id returns what the first call started.
  std::string id = options.request_id().empty() ? ops::NewOperationId(now)
                                                : ops::OperationIdForRequest((*who)->name, options.request_id());
  op.set_name(ops::OperationName(id));
  if (!options.request_id().empty() && !options.dry_run()) {
    auto existing = FindOperation(op.name());
    if (existing.ok()) return existing;
  }

  // An approval rule of the tokens file may hold the operation: it is
  // recorded, waiting, and starts only once someone else approves it.
  // Every workload (or pod) the operation names counts: a kill of pods a
  // and b is held when a rule holds either, and approved only by someone
  // who may approve both.
  std::shared_ptr<const auth::Policy> policy = deps_.authenticator->policy();
  const std::vector<std::string> names = WorkloadsOf(op.target());
  const auth::ApprovalRule* approval_rule = nullptr;
  for (const auto& name : names) {
    if (approval_rule == nullptr) approval_rule = auth::ApprovalRuleFor(*policy, verb, ns, name);
  }
  std::vector<std::string> approvers;
  if (approval_rule != nullptr && !(*who)->acting_for.empty()) {
    // A policy's run acts for its creator, who must not approve it, and
    // nobody is there to wait for: such runs are refused (CreatePolicy
    // refuses the policy too).
    return absl::FailedPreconditionError(absl::StrCat("approval rule ", approval_rule->name, " holds this ",
                                                      auth::VerbName(verb), "; ", (*who)->name,
                                                      " cannot wait for an approval"));
  }
  if (approval_rule != nullptr) {
    for (const auth::Principal& p : policy->principals) {
      if (p.name != (*who)->name && MayApprove(p, ns, names).ok()) approvers.push_back(p.name);
    }
    if (approvers.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "approval rule ", approval_rule->name, " holds this ", auth::VerbName(verb),
          " for approval, and no principal but ", (*who)->name,
          " may approve it: give one the verb \"approve\" on it in the tokens file"));
    }
  }

  // Bad input (and, --impersonate, a caller the cluster refuses) is
  // refused here, before anything is locked or written. Engines plan from
  // herd's cache, so this costs no round trip; the plan is made again once
  // the operation holds its workload (Launch), and recorded again only if
  // it changed.
  auto plan = PlanOf(**engine, (*who)->name);
  if (!plan.ok()) return plan.status();
  *op.mutable_plan() = *plan;

  if (options.dry_run()) {
    op.set_name(ops::OperationName("dry-run-" + id));
    op.set_dry_run(true);
    op.set_state(v1::OPERATION_STATE_SUCCEEDED);
    ops::SetTime(now, op.mutable_end_time());
    auto* e = op.add_events();
    ops::SetTime(now, e->mutable_time());
    e->set_message(absl::StrCat("dry run: ", plan->summary()));
    if (approval_rule != nullptr) {
      e = op.add_events();
      ops::SetTime(now, e->mutable_time());
      e->set_message(absl::StrCat("would wait for approval (rule ", approval_rule->name, ") by one of ",
                                  absl::StrJoin(approvers, ", ")));
    }
    {
      absl::MutexLock lock(&mu_);
      if (dry_runs_.size() >= kMaxDryRuns) dry_runs_.erase(dry_runs_.begin());
      dry_runs_[op.name()] = op;
    }
    Audit(**who, verb, op, "dry run");
    return op;
  }

  if (approval_rule != nullptr) {
    op.set_state(v1::OPERATION_STATE_PENDING_APPROVAL);
    v1::Approval* a = op.mutable_approval();
    a->set_requester((*who)->name);
    for (const auto& name : approvers) a->add_approvers(name);
    a->set_rule(approval_rule->name);
    const absl::Time deadline = now + approval_rule->timeout;
    ops::SetTime(deadline, a->mutable_deadline());
    auto* e = op.add_events();
    ops::SetTime(now, e->mutable_time());
    e->set_message(absl::StrCat(VerbText(op.kind()), " asked for by ", (*who)->name,
                                op.reason().empty() ? "" : absl::StrCat(" (", op.reason(), ")"),
                                "; waits for approval by one of ", absl::StrJoin(approvers, ", "), " until ",
                                absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", deadline, absl::UTCTimeZone()),
                                " (rule ", approval_rule->name, ")"));
    auto held = deps_.runner->Hold(**engine, op);
    if (!held.ok()) {
      if (absl::IsAlreadyExists(held.status())) return FindOperation(op.name());
      return held.status();
    }
    Audit(**who, verb, *held, "held for approval");
    return held;
  }

  op.set_state(v1::OPERATION_STATE_RUNNING);
  auto* e = op.add_events();
  ops::SetTime(now, e->mutable_time());
  e->set_message(absl::StrCat(VerbText(op.kind()), " started by ", (*who)->name,
                              op.reason().empty() ? "" : absl::StrCat(" (", op.reason(), ")")));
  const std::string key = (*engine)->lock_key();
  auto launched = deps_.runner->Launch(std::move(*engine), op);
  if (absl::IsAborted(launched.status()) && !key.empty() && AwaitEndedHolder(key)) {
    // The workload was busy with an operation that had just ended: start
    // now, planned against the cluster it left behind.
    engine = make_engine();
    if (!engine.ok()) return engine.status();
    plan = PlanOf(**engine, (*who)->name);
    if (!plan.ok()) return plan.status();
    *op.mutable_plan() = *plan;
    launched = deps_.runner->Launch(std::move(*engine), op);
  }
  if (!launched.ok()) {
    if (absl::IsAlreadyExists(launched.status())) return FindOperation(op.name());
    return launched.status();
  }
  Audit(**who, verb, *launched, "started");
  return launched;
}

absl::StatusOr<v1::Plan> HerdService::PlanOf(ops::Engine& engine, const std::string& principal) {
  auto plan = ops::PlanOf(engine, *deps_.env);
  if (!plan.ok()) return plan.status();
  if (deps_.check_writes) {
    if (absl::Status st = deps_.check_writes(principal, *plan); !st.ok()) {
      if (absl::IsPermissionDenied(st) && deps_.denied) deps_.denied("cluster_rbac");
      return st;
    }
  }
  return plan;
}

bool HerdService::AwaitEndedHolder(const std::string& key) {
  // An operation's lock goes a moment after its final state is out (its
  // record is saved first): a caller who waited for that state and goes on
  // must not be told the workload is busy with it. Rare and short, so the
  // Lease is simply looked at again every few milliseconds.
  const absl::Time deadline = absl::Now() + kEndedHolderWait;
  for (;;) {
    auto lock = deps_.locks->Inspect(key);
    if (absl::IsNotFound(lock.status())) return true;
    if (!lock.ok()) return false;
    if (lock->expired) return true;
    auto holder = FindOperation(lock->operation);
    if (!holder.ok() || !ops::IsFinal(holder->state()) || absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

grpc::Status HerdService::Rollout(grpc::ServerContext* ctx, const v1::RolloutRequest* req, v1::Operation* out) {
  auto w = ops::ParseWorkloadName(req->workload(), {"deployments", "statefulsets"});
  if (!w.ok()) return ToGrpcStatus(w.status());
  auto op = Mutate(ctx, auth::Verb::kRollout, w->ns, w->name, req->options(), [&] { return NewEngine(*req); });
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *op;
  return grpc::Status::OK;
}

grpc::Status HerdService::Undo(grpc::ServerContext* ctx, const v1::UndoRequest* req, v1::Operation* out) {
  auto w = ops::ParseWorkloadName(req->workload(), {"deployments", "statefulsets"});
  if (!w.ok()) return ToGrpcStatus(w.status());
  auto op = Mutate(ctx, auth::Verb::kUndo, w->ns, w->name, req->options(), [&] { return NewEngine(*req); });
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *op;
  return grpc::Status::OK;
}

grpc::Status HerdService::Scale(grpc::ServerContext* ctx, const v1::ScaleRequest* req, v1::Operation* out) {
  auto w = ops::ParseWorkloadName(req->workload(), {"deployments", "statefulsets"});
  if (!w.ok()) return ToGrpcStatus(w.status());
  auto op = Mutate(ctx, auth::Verb::kScale, w->ns, w->name, req->options(), [&] { return NewEngine(*req); });
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *op;
  return grpc::Status::OK;
}

grpc::Status HerdService::Purge(grpc::ServerContext* ctx, const v1::PurgeRequest* req, v1::Operation* out) {
  std::string ns = req->namespace_(), workload;
  if (!req->workload().empty()) {
    auto w = ops::ParseWorkloadName(req->workload(), {"deployments", "statefulsets"});
    if (!w.ok()) return ToGrpcStatus(w.status());
    ns = w->ns;
    workload = w->name;
  } else if (ns.empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("purge needs a workload, or a namespace and a label selector"));
  }
  auto op = Mutate(ctx, auth::Verb::kPurge, ns, workload, req->options(), [&] { return NewEngine(*req); });
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *op;
  return grpc::Status::OK;
}

grpc::Status HerdService::Kill(grpc::ServerContext* ctx, const v1::KillRequest* req, v1::Operation* out) {
  if (req->namespace_().empty()) return ToGrpcStatus(absl::InvalidArgumentError("kill needs a namespace"));
  // Killing named pods needs the right on each (pods are named like their
  // workloads' pods, so rules on workload patterns apply to pod names);
  // a selector needs the right on every workload of the namespace.
  std::string workload = req->pods_size() == 1 ? req->pods(0) : "";
  if (req->pods_size() > 1) {
    auto who = Authenticate(ctx);
    if (!who.ok()) return ToGrpcStatus(who.status());
    for (const auto& p : req->pods()) {
      if (auto st = deps_.authorizer->Authorize(**who, auth::Verb::kKill, req->namespace_(), p); !st.ok()) {
        return ToGrpcStatus(Refused(st));
      }
    }
    workload = req->pods(0);
  }
  auto op = Mutate(ctx, auth::Verb::kKill, req->namespace_(), workload, req->options(),
                   [&] { return NewEngine(*req); });
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *op;
  // A kill answers once its pods are evicted or deleted (or a budget
  // refused): the caller learns at once what happened, and WatchOperation
  // follows the pods until they are gone.
  if (auto live = deps_.runner->Find(op->name())) {
    auto killed = [](const v1::Operation& o) {
      return ops::IsFinal(o.state()) || (o.progress().desired() > 0 && o.progress().killed() >= o.progress().desired());
    };
    absl::Time until = absl::FromChrono(std::min(ctx->deadline(), std::chrono::system_clock::now() + kKillAnswerWait));
    uint64_t seen = live->version();
    while (!killed(*out = live->Published()) && absl::Now() < until) seen = live->WaitForChange(seen, until);
  }
  return grpc::Status::OK;
}

namespace {
template <typename F>
grpc::Status CronJobCall(const v1::CronJobRequest* req, F&& f) {
  auto w = ops::ParseWorkloadName(req->cronjob(), {"cronjobs"});
  if (!w.ok()) return ToGrpcStatus(w.status());
  return f(*w);
}
}  // namespace

#define HERD_CRONJOB_RPC(Method, Kind)                                                                    \
  grpc::Status HerdService::Method(grpc::ServerContext* ctx, const v1::CronJobRequest* req, v1::Operation* out) { \
    return CronJobCall(req, [&](const ops::WorkloadName& w) {                                             \
      auto op = Mutate(ctx, auth::Verb::kCronJob, w.ns, w.name, req->options(),                           \
                       [&] { return NewEngine(Kind, *req); });                                            \
      if (!op.ok()) return ToGrpcStatus(op.status());                                                      \
      *out = *op;                                                                                          \
      return grpc::Status::OK;                                                                             \
    });                                                                                                    \
  }
HERD_CRONJOB_RPC(RunCronJob, v1::OPERATION_KIND_CRONJOB_RUN)
HERD_CRONJOB_RPC(SuspendCronJob, v1::OPERATION_KIND_CRONJOB_SUSPEND)
HERD_CRONJOB_RPC(ResumeCronJob, v1::OPERATION_KIND_CRONJOB_RESUME)
HERD_CRONJOB_RPC(KillCronJobJobs, v1::OPERATION_KIND_CRONJOB_KILL_JOBS)
#undef HERD_CRONJOB_RPC

grpc::Status HerdService::GetWorkload(grpc::ServerContext* ctx, const v1::GetWorkloadRequest* req, v1::Workload* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  auto w = ops::ParseWorkloadName(req->name(), {"deployments", "statefulsets", "cronjobs"});
  if (!w.ok()) return ToGrpcStatus(w.status());
  if (auto st = deps_.authorizer->Authorize(**who, auth::Verb::kRead, w->ns, w->name); !st.ok()) {
    return ToGrpcStatus(Refused(st));
  }
  auto wl = engines::DescribeWorkload(*deps_.env, *w);
  if (!wl.ok()) return ToGrpcStatus(wl.status());
  auto lock = deps_.locks->Peek(w->ToString());
  if (lock.ok() && !lock->expired) wl->set_running_operation(lock->operation);
  *out = std::move(*wl);
  return grpc::Status::OK;
}

grpc::Status HerdService::ListWorkloads(grpc::ServerContext* ctx, const v1::ListWorkloadsRequest* req,
                                        v1::ListWorkloadsResponse* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  // One namespace must be readable; every namespace means every one the
  // caller may see (each workload is checked below).
  if (!req->namespace_().empty()) {
    if (auto st = deps_.authorizer->AuthorizeNamespace(**who, auth::Verb::kRead, req->namespace_()); !st.ok()) {
      return ToGrpcStatus(st);
    }
  }
  auto list = engines::ListWorkloads(*deps_.env, *req);
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (auto& wl : *list->mutable_workloads()) {
    if (!deps_.authorizer->Authorize(**who, auth::Verb::kRead, wl.namespace_(), wl.name()).ok()) continue;
    auto lock = deps_.locks->Peek(ResourceNameOf(wl));
    if (lock.ok() && !lock->expired) wl.set_running_operation(lock->operation);
    *out->add_workloads() = std::move(wl);
  }
  out->set_next_page_token(list->next_page_token());
  return grpc::Status::OK;
}

absl::StatusOr<v1::Operation> HerdService::FindOperation(const std::string& name) {
  auto id = ops::ParseOperationName(name);
  if (!id.ok()) return id.status();
  if (auto live = deps_.runner->Find(name)) return live->Published();
  {
    absl::MutexLock lock(&mu_);
    auto it = dry_runs_.find(name);
    if (it != dry_runs_.end()) return it->second;
  }
  auto rec = deps_.store->Get(*id);
  if (!rec.ok()) return rec.status();
  // Its call's replica stopped before it took its workload: it starts
  // once another replica finds the workload free.
  if (deps_.runner->AwaitsItsWorkload(*rec)) rec->op.set_state(v1::OPERATION_STATE_PENDING);
  return rec->op;
}

absl::Status HerdService::AuthorizeRead(const auth::Principal& who, const v1::Operation& op) {
  return deps_.authorizer->Authorize(who, auth::Verb::kRead, NamespaceOf(op.target()), WorkloadOf(op.target()));
}

grpc::Status HerdService::GetOperation(grpc::ServerContext* ctx, const v1::GetOperationRequest* req, v1::Operation* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  auto op = FindOperation(req->name());
  if (!op.ok()) return ToGrpcStatus(op.status());
  if (auto st = AuthorizeRead(**who, *op); !st.ok()) return ToGrpcStatus(Refused(st));
  *out = std::move(*op);
  return grpc::Status::OK;
}

grpc::Status HerdService::ListOperations(grpc::ServerContext* ctx, const v1::ListOperationsRequest* req,
                                         v1::ListOperationsResponse* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (req->page_size() < 0) return ToGrpcStatus(absl::InvalidArgumentError("page_size must not be negative"));
  std::vector<v1::Operation> all;
  std::set<std::string> listed;
  for (auto& rec : deps_.store->List()) {
    // The live state of operations running here is fresher than the record.
    if (auto live = deps_.runner->Find(rec.op.name())) {
      rec.op = live->Published();
    } else if (deps_.runner->AwaitsItsWorkload(rec)) {
      rec.op.set_state(v1::OPERATION_STATE_PENDING);
    }
    listed.insert(rec.op.name());
    all.push_back(std::move(rec.op));
  }
  // One started here a moment ago may not have reached the records' cache:
  // whoever started it must find it listed all the same.
  bool added = false;
  for (const auto& live : deps_.runner->Local()) {
    if (listed.count(live->name())) continue;
    all.push_back(live->Published());
    added = true;
  }
  if (added) {
    // Newest first, as the records are.
    std::sort(all.begin(), all.end(), [](const v1::Operation& a, const v1::Operation& b) {
      const auto& ta = a.create_time();
      const auto& tb = b.create_time();
      if (ta.seconds() != tb.seconds()) return ta.seconds() > tb.seconds();
      if (ta.nanos() != tb.nanos()) return ta.nanos() > tb.nanos();
      return a.name() > b.name();
    });
  }
  std::vector<v1::Operation> matching;
  for (auto& op : all) {
    if (!req->target().empty() && op.target() != req->target()) continue;
    if (!req->namespace_().empty() && NamespaceOf(op.target()) != req->namespace_()) continue;
    if (req->states_size() > 0 &&
        std::find(req->states().begin(), req->states().end(), op.state()) == req->states().end()) {
      continue;
    }
    if (!AuthorizeRead(**who, op).ok()) continue;
    matching.push_back(std::move(op));
  }
  Page page = PageOf(matching.size(), req->page_token(), req->page_size());
  for (size_t i = page.begin; i < page.end; ++i) *out->add_operations() = std::move(matching[i]);
  out->set_next_page_token(page.next_token);
  return grpc::Status::OK;
}

grpc::Status HerdService::WatchOperation(grpc::ServerContext* ctx, const v1::WatchOperationRequest* req,
                                         grpc::ServerWriter<v1::Operation>* writer) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  auto first = FindOperation(req->name());
  if (!first.ok()) return ToGrpcStatus(first.status());
  if (auto st = AuthorizeRead(**who, *first); !st.ok()) return ToGrpcStatus(Refused(st));
  std::string last_sent;
  auto send = [&](const v1::Operation& op) {
    std::string bytes = op.SerializeAsString();
    if (bytes == last_sent) return true;
    last_sent = bytes;
    return writer->Write(op);
  };
  // A write fails only once the client has gone: its call ends CANCELLED
  // (what the client asked for, and what the call metrics count).
  const grpc::Status left(grpc::StatusCode::CANCELLED, "the client left the watch");
  v1::Operation op = *first;
  if (!send(op)) return left;
  while (!ops::IsFinal(op.state())) {
    if (ctx->IsCancelled()) return left;
    // Wait for the next change: on the live operation when it runs here,
    // else on the records (it runs on another replica). The short deadline
    // bounds how long a cancelled client keeps this thread.
    absl::Time deadline = absl::Now() + absl::Seconds(1);
    if (auto live = deps_.runner->Find(req->name())) {
      live->WaitForChange(live->version(), deadline);
      op = live->Published();
    } else {
      auto& n = deps_.store->notifier();
      n.WaitForChange(n.version(), deadline);
      auto next = FindOperation(req->name());
      if (!next.ok()) return ToGrpcStatus(next.status());
      op = std::move(*next);
    }
    if (!send(op)) return left;
  }
  return grpc::Status::OK;
}

grpc::Status HerdService::CancelOperation(grpc::ServerContext* ctx, const v1::CancelOperationRequest* req,
                                          v1::Operation* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  auto op = FindOperation(req->name());
  if (!op.ok()) return ToGrpcStatus(op.status());
  if (auto st = deps_.authorizer->Authorize(**who, auth::Verb::kCancel, NamespaceOf(op->target()),
                                            WorkloadOf(op->target()));
      !st.ok()) {
    return ToGrpcStatus(Refused(st));
  }
  if (op->state() == v1::OPERATION_STATE_PENDING_APPROVAL) {
    // Withdrawn before anyone decided: it ends at once, having done nothing.
    auto withdrawn = deps_.runner->Decide(req->name(), v1::APPROVAL_DECISION_UNSPECIFIED, (*who)->name, req->reason());
    if (withdrawn.ok()) {
      Audit(**who, auth::Verb::kCancel, *withdrawn, "withdrawn before approval");
      *out = *std::move(withdrawn);
      return grpc::Status::OK;
    }
    // Decided meanwhile: cancelled like any operation below. Past its
    // deadline it is about to end expired: that is the answer.
    if (!absl::IsFailedPrecondition(withdrawn.status())) return ToGrpcStatus(withdrawn.status());
    auto now = FindOperation(req->name());
    if (now.ok() && now->state() == v1::OPERATION_STATE_PENDING_APPROVAL) return ToGrpcStatus(withdrawn.status());
  }
  std::string reason = req->reason().empty() ? absl::StrCat("cancelled by ", (*who)->name)
                                             : absl::StrCat("cancelled by ", (*who)->name, ": ", req->reason());
  if (auto st = deps_.runner->Cancel(req->name(), reason); !st.ok()) return ToGrpcStatus(st);
  Audit(**who, auth::Verb::kCancel, *op, "cancel requested");
  auto now = FindOperation(req->name());
  if (!now.ok()) return ToGrpcStatus(now.status());
  *out = std::move(*now);
  return grpc::Status::OK;
}

absl::Status HerdService::MayApprove(const auth::Principal& who, const std::string& ns,
                                     const std::vector<std::string>& workloads) {
  for (const auto& w : workloads) {
    if (absl::Status st = deps_.authorizer->Authorize(who, auth::Verb::kApprove, ns, w); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Operation> HerdService::DecideApproval(grpc::ServerContext* ctx, const std::string& name,
                                                          const std::string& reason, bool approve) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return who.status();
  if (reason.size() > 1024) return absl::InvalidArgumentError("reason is longer than 1024 characters");
  auto op = FindOperation(name);
  if (!op.ok()) return op.status();
  if (auto st = MayApprove(**who, NamespaceOf(op->target()), WorkloadsOf(op->target())); !st.ok()) {
    return Refused(st);
  }
  const v1::ApprovalDecision wanted = approve ? v1::APPROVAL_DECISION_APPROVED : v1::APPROVAL_DECISION_REJECTED;
  if (op->state() != v1::OPERATION_STATE_PENDING_APPROVAL && op->approval().decision() == wanted &&
      op->approval().decided_by() == (*who)->name) {
    // A repeat (a client retrying after its answer was lost) finds its
    // own decision made.
    return op;
  }
  if (op->state() != v1::OPERATION_STATE_PENDING_APPROVAL) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, " waits for no approval: it is ", v1::OperationState_Name(op->state()),
        op->has_approval() && op->approval().decision() != v1::APPROVAL_DECISION_UNSPECIFIED
            ? absl::StrCat(", ", v1::ApprovalDecision_Name(op->approval().decision()),
                           op->approval().decided_by().empty() ? "" : absl::StrCat(" by ", op->approval().decided_by()))
            : ""));
  }
  if (approve && (*who)->name == op->approval().requester()) {
    if (deps_.denied) deps_.denied("self_approval");
    return absl::PermissionDeniedError(absl::StrCat((*who)->name, " asked for ", name,
                                                    " and may not approve it: one of ",
                                                    absl::StrJoin(op->approval().approvers(), ", "), " must"));
  }
  if (approve && deps_.draining && deps_.draining()) {
    return absl::UnavailableError("herdd is shutting down; try again (another replica will take the call)");
  }
  auto decided = deps_.runner->Decide(
      name, approve ? v1::APPROVAL_DECISION_APPROVED : v1::APPROVAL_DECISION_REJECTED, (*who)->name, reason);
  if (!decided.ok()) return decided.status();
  // The decider's reason, not the requester's, goes with the decision.
  v1::Operation audited = *decided;
  audited.set_reason(reason);
  Audit(**who, approve ? "approve" : "reject", audited, approve ? "approved" : "rejected");
  return decided;
}

grpc::Status HerdService::ApproveOperation(grpc::ServerContext* ctx, const v1::ApproveOperationRequest* req,
                                           v1::Operation* out) {
  auto op = DecideApproval(ctx, req->name(), req->reason(), true);
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *std::move(op);
  return grpc::Status::OK;
}

grpc::Status HerdService::RejectOperation(grpc::ServerContext* ctx, const v1::RejectOperationRequest* req,
                                          v1::Operation* out) {
  auto op = DecideApproval(ctx, req->name(), req->reason(), false);
  if (!op.ok()) return ToGrpcStatus(op.status());
  *out = *std::move(op);
  return grpc::Status::OK;
}

}  // namespace herd::api
