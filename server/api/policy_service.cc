// herd.v1.Herd's policy calls (CreatePolicy … DeletePolicy), and how a
// policy's run is started through the service (StartPolicyRun).
#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "server/api/engine_factory.h"
#include "server/api/herd_service.h"
#include "server/engines/workloads.h"
#include "server/ops/operation.h"
#include "server/policies/scaling.h"
#include "server/policies/schedule.h"

namespace herd::api {
namespace {

void Delegate(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

absl::Status FromGrpc(const grpc::Status& st) {
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
}

// One call of herd's service as a delegate: `call(ctx, &response)`.
template <typename Resp, typename Call>
absl::StatusOr<Resp> AsDelegate(const std::string& token, Call call) {
  grpc::ClientContext ctx;
  Delegate(ctx, token);
  Resp out;
  if (grpc::Status st = call(&ctx, &out); !st.ok()) return FromGrpc(st);
  return out;
}

// The engine of a schedule's action, for its validation and plan.
EngineOrError ActionEngine(const v1::Schedule& s) {
  switch (s.action_case()) {
    case v1::Schedule::kPurge: return NewEngine(s.purge());
    case v1::Schedule::kScale: return NewEngine(s.scale());
    case v1::Schedule::kKill: return NewEngine(s.kill());
    case v1::Schedule::kRestart: return NewEngine(s.restart());
    case v1::Schedule::kCronjob: return NewEngine(s.cronjob().kind(), s.cronjob().request());
    case v1::Schedule::ACTION_NOT_SET: break;
  }
  return absl::InvalidArgumentError("schedule needs an action");
}

// The engine of a policy's action: a max-pod-age policy's first purge.
EngineOrError PolicyEngine(const v1::Policy& p) {
  if (p.has_max_pod_age()) return NewEngine(policies::MaxPodAgePurge(p, 1, ""));
  if (p.has_load_scaling()) {
    return NewEngine(policies::LoadScalingScale(p, std::max(1, p.load_scaling().min_replicas()), ""));
  }
  return ActionEngine(p.schedule());
}

// What a caller is shown: the stored policy with its next runs.
v1::Policy Shown(const policies::StoredPolicy& s, absl::Time now) {
  v1::Policy p = s.policy;
  p.clear_next_runs();
  if (p.paused() || !p.has_schedule()) return p;
  auto spec = policies::ParseSchedule(p.schedule());
  if (!spec.ok()) return p;
  // The runs the scheduler will make: the first after `now` counted from
  // the last decided one (an @every schedule counts from its last run).
  const absl::Time first = policies::DueAt(*spec, s.last_scheduled, now).next;
  if (first == absl::InfiniteFuture()) return p;
  ops::SetTime(first, p.add_next_runs());
  for (absl::Time t : policies::NextRuns(*spec, first, 2)) ops::SetTime(t, p.add_next_runs());
  return p;
}

}  // namespace

absl::StatusOr<v1::Operation> StartPolicyRun(v1::Herd::StubInterface& stub, const std::string& token,
                                             const v1::Policy& policy, absl::Time scheduled) {
  const std::string id = policies::IdOf(policy);
  const v1::Schedule& s = policy.schedule();
  auto options = [&](v1::MutationOptions* o) {
    o->set_request_id(policies::RunRequestId(id, scheduled));
    if (o->reason().empty()) {
      o->set_reason(absl::StrCat("policy ", id, " (", s.cron(), s.time_zone().empty() ? "" : absl::StrCat(", ", s.time_zone()),
                                 ")"));
    }
  };
  grpc::ClientContext ctx;
  Delegate(ctx, token);
  v1::Operation op;
  grpc::Status st;
  switch (s.action_case()) {
    case v1::Schedule::kPurge: {
      v1::PurgeRequest r = s.purge();
      options(r.mutable_options());
      st = stub.Purge(&ctx, r, &op);
      break;
    }
    case v1::Schedule::kScale: {
      v1::ScaleRequest r = s.scale();
      options(r.mutable_options());
      st = stub.Scale(&ctx, r, &op);
      break;
    }
    case v1::Schedule::kKill: {
      v1::KillRequest r = s.kill();
      options(r.mutable_options());
      st = stub.Kill(&ctx, r, &op);
      break;
    }
    case v1::Schedule::kRestart: {
      v1::RolloutRequest r = s.restart();
      options(r.mutable_options());
      st = stub.Rollout(&ctx, r, &op);
      break;
    }
    case v1::Schedule::kCronjob: {
      v1::CronJobRequest r = s.cronjob().request();
      options(r.mutable_options());
      switch (s.cronjob().kind()) {
        case v1::OPERATION_KIND_CRONJOB_RUN: st = stub.RunCronJob(&ctx, r, &op); break;
        case v1::OPERATION_KIND_CRONJOB_SUSPEND: st = stub.SuspendCronJob(&ctx, r, &op); break;
        case v1::OPERATION_KIND_CRONJOB_RESUME: st = stub.ResumeCronJob(&ctx, r, &op); break;
        case v1::OPERATION_KIND_CRONJOB_KILL_JOBS: st = stub.KillCronJobJobs(&ctx, r, &op); break;
        default: return absl::InvalidArgumentError("schedule.cronjob.kind is not a CronJob action");
      }
      break;
    }
    case v1::Schedule::ACTION_NOT_SET: return absl::InvalidArgumentError("schedule needs an action");
  }
  if (!st.ok()) return FromGrpc(st);
  return op;
}

absl::StatusOr<v1::Workload> InspectPolicyWorkload(v1::Herd::StubInterface& stub, const std::string& token,
                                                   const v1::Policy& policy) {
  v1::GetWorkloadRequest req;
  req.set_name(policy.has_load_scaling() ? policy.load_scaling().workload() : policy.max_pod_age().workload());
  return AsDelegate<v1::Workload>(token, [&](grpc::ClientContext* ctx, v1::Workload* w) {
    return stub.GetWorkload(ctx, req, w);
  });
}

absl::StatusOr<v1::Operation> StartPolicyScale(v1::Herd::StubInterface& stub, const std::string& token,
                                               const v1::Policy& policy, int replicas, const std::string& request_id) {
  const v1::ScaleRequest req = policies::LoadScalingScale(policy, replicas, request_id);
  return AsDelegate<v1::Operation>(token, [&](grpc::ClientContext* ctx, v1::Operation* op) {
    return stub.Scale(ctx, req, op);
  });
}

absl::StatusOr<v1::Operation> StartPolicyPurge(v1::Herd::StubInterface& stub, const std::string& token,
                                               const v1::Policy& policy, int oldest, const std::string& request_id) {
  const v1::PurgeRequest req = policies::MaxPodAgePurge(policy, oldest, request_id);
  return AsDelegate<v1::Operation>(token, [&](grpc::ClientContext* ctx, v1::Operation* op) {
    return stub.Purge(ctx, req, op);
  });
}

absl::StatusOr<policies::StoredPolicy> HerdService::AuthorizedPolicy(grpc::ServerContext* ctx, const std::string& name,
                                                                   bool change, auth::PrincipalRef* who_out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return who.status();
  if (deps_.policies == nullptr) return absl::FailedPreconditionError("this herdd keeps no policies");
  auto id = policies::ParsePolicyName(name);
  if (!id.ok()) return id.status();
  auto stored = deps_.policies->Get(*id);
  if (!stored.ok()) return stored.status();
  auto action = policies::ActionOf(stored->policy);
  if (!action.ok()) return action.status();
  if (auto st = deps_.authorizer->Authorize(**who, change ? action->verb : auth::Verb::kRead, action->ns, action->workload);
      !st.ok()) {
    return Refused(st);
  }
  if (who_out) *who_out = *who;
  return stored;
}

grpc::Status HerdService::CreatePolicy(grpc::ServerContext* ctx, const v1::CreatePolicyRequest* req, v1::Policy* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (deps_.policies == nullptr) return ToGrpcStatus(absl::FailedPreconditionError("this herdd keeps no policies"));
  if (auto st = policies::CheckPolicyId(req->policy_id()); !st.ok()) return ToGrpcStatus(st);
  const v1::Policy& p = req->policy();
  if (p.description().size() > 1024) {
    return ToGrpcStatus(absl::InvalidArgumentError("policy.description is longer than 1024 characters"));
  }
  if (p.has_schedule()) {
    if (auto spec = policies::ParseSchedule(p.schedule()); !spec.ok()) return ToGrpcStatus(spec.status());
  }
  if (p.has_load_scaling() && !deps_.prometheus) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        "this herdd has no Prometheus to ask (herdd --prometheus-url): a load-scaling policy cannot run"));
  }
  auto action = policies::ActionOf(p);
  if (!action.ok()) return ToGrpcStatus(action.status());
  if (auto st = deps_.authorizer->Authorize(**who, action->verb, action->ns, action->workload); !st.ok()) {
    return ToGrpcStatus(Refused(st));
  }
  // A policy that watches its workload reads it as its creator.
  if (!p.has_schedule()) {
    if (auto st = deps_.authorizer->Authorize(**who, auth::Verb::kRead, action->ns, action->workload); !st.ok()) {
      return ToGrpcStatus(Refused(st));
    }
  }
  if (auto st = engines::CheckCovered(*deps_.env, action->ns); !st.ok()) return ToGrpcStatus(st);
  // A query Prometheus refuses is refused here, once the caller may make
  // the policy (one it cannot answer yet, a series not scraped yet, is
  // not: the policy says so as it runs).
  if (p.has_load_scaling()) {
    absl::StatusOr<double> v = deps_.prometheus(p.load_scaling().query(), absl::Seconds(3));
    if (absl::IsInvalidArgument(v.status())) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat("load_scaling.query: ", v.status().message())));
    }
  }
  if (const auth::ApprovalRule* rule =
          auth::ApprovalRuleFor(*deps_.authenticator->policy(), action->verb, action->ns, action->workload)) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("approval rule ", rule->name, " holds this ", auth::VerbName(action->verb),
                     ": a policy's runs cannot wait for an approval (nor may their creator give it)")));
  }
  // The action as a request: refused now if herd would refuse its runs
  // (bad fields, a workload that does not exist), nothing touched.
  auto engine = PolicyEngine(p);
  if (!engine.ok()) return ToGrpcStatus(engine.status());
  auto plan = PlanOf(**engine, (*who)->name);
  if (!plan.ok()) return ToGrpcStatus(plan.status());

  const absl::Time now = absl::Now();
  policies::StoredPolicy s;
  s.policy.set_name(absl::StrCat("policies/", req->policy_id()));
  s.policy.set_description(p.description());
  if (p.has_schedule()) *s.policy.mutable_schedule() = p.schedule();
  if (p.has_max_pod_age()) *s.policy.mutable_max_pod_age() = p.max_pod_age();
  if (p.has_load_scaling()) *s.policy.mutable_load_scaling() = p.load_scaling();
  s.policy.set_paused(p.paused());
  s.policy.set_creator((*who)->name);
  ops::SetTime(now, s.policy.mutable_create_time());
  ops::SetTime(now, s.policy.mutable_update_time());
  s.last_scheduled = now;
  if (auto st = deps_.policies->Create(s); !st.ok()) return ToGrpcStatus(st);
  v1::Operation note;
  note.set_target(s.policy.name());
  note.set_reason(p.description());
  note.mutable_plan()->set_summary(
      p.has_max_pod_age()
          ? absl::StrCat("policy created: pods of ", action->ns, "/", action->workload, " at most ",
                         k8s::HumanDuration(*policies::MaxAgeOf(p.max_pod_age())), " old")
      : p.has_load_scaling()
          ? absl::StrCat("policy created: ", action->ns, "/", action->workload, " scaled with ", p.load_scaling().query(),
                         p.load_scaling().dry_run() ? " (dry run)" : "")
          : absl::StrCat("policy created: ", p.schedule().cron(), " → ", plan->summary()));
  Audit(**who, "policy create", note, "policy created");
  *out = Shown(s, now);
  return grpc::Status::OK;
}

grpc::Status HerdService::GetPolicy(grpc::ServerContext* ctx, const v1::GetPolicyRequest* req, v1::Policy* out) {
  auto stored = AuthorizedPolicy(ctx, req->name(), /*change=*/false, nullptr);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  *out = Shown(*stored, absl::Now());
  return grpc::Status::OK;
}

grpc::Status HerdService::ListPolicies(grpc::ServerContext* ctx, const v1::ListPoliciesRequest*,
                                       v1::ListPoliciesResponse* out) {
  auto who = Authenticate(ctx);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (deps_.policies == nullptr) return grpc::Status::OK;
  const absl::Time now = absl::Now();
  for (const policies::StoredPolicy& s : deps_.policies->List()) {
    auto action = policies::ActionOf(s.policy);
    if (!action.ok()) continue;
    if (!deps_.authorizer->Authorize(**who, auth::Verb::kRead, action->ns, action->workload).ok()) continue;
    *out->add_policies() = Shown(s, now);
  }
  return grpc::Status::OK;
}

absl::StatusOr<v1::Policy> HerdService::SetPaused(grpc::ServerContext* ctx, const std::string& name, bool paused,
                                                  const std::string& reason) {
  if (reason.size() > 1024) return absl::InvalidArgumentError("reason is longer than 1024 characters");
  auth::PrincipalRef who;
  auto stored = AuthorizedPolicy(ctx, name, /*change=*/true, &who);
  if (!stored.ok()) return stored.status();
  const absl::Time now = absl::Now();
  auto written = deps_.policies->Update(policies::IdOf(stored->policy), [&](policies::StoredPolicy& s) {
    if (s.policy.paused() == paused) return absl::OkStatus();
    s.policy.set_paused(paused);
    ops::SetTime(now, s.policy.mutable_update_time());
    // Runs missed while paused are not made up: runs are decided from now.
    if (!paused) s.last_scheduled = std::max(s.last_scheduled, now);
    v1::PolicyDecision d;
    ops::SetTime(now, d.mutable_time());
    d.set_message(absl::StrCat(paused ? "paused" : "resumed", " by ", who->name, reason.empty() ? "" : ": ", reason));
    policies::AddDecision(s.policy, std::move(d));
    return absl::OkStatus();
  });
  if (!written.ok()) return written.status();
  v1::Operation note;
  note.set_target(written->policy.name());
  note.set_reason(reason);
  Audit(*who, paused ? "policy pause" : "policy resume", note, paused ? "policy paused" : "policy resumed");
  return Shown(*written, now);
}

grpc::Status HerdService::PausePolicy(grpc::ServerContext* ctx, const v1::PausePolicyRequest* req, v1::Policy* out) {
  auto p = SetPaused(ctx, req->name(), true, req->reason());
  if (!p.ok()) return ToGrpcStatus(p.status());
  *out = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status HerdService::ResumePolicy(grpc::ServerContext* ctx, const v1::ResumePolicyRequest* req, v1::Policy* out) {
  auto p = SetPaused(ctx, req->name(), false, req->reason());
  if (!p.ok()) return ToGrpcStatus(p.status());
  *out = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status HerdService::DeletePolicy(grpc::ServerContext* ctx, const v1::DeletePolicyRequest* req, v1::Policy* out) {
  auth::PrincipalRef who;
  auto stored = AuthorizedPolicy(ctx, req->name(), /*change=*/true, &who);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  auto deleted = deps_.policies->Delete(policies::IdOf(stored->policy));
  if (!deleted.ok()) return ToGrpcStatus(deleted.status());
  v1::Operation note;
  note.set_target(deleted->policy.name());
  Audit(*who, "policy delete", note, "policy deleted");
  *out = deleted->policy;
  out->clear_next_runs();
  return grpc::Status::OK;
}

}  // namespace herd::api
