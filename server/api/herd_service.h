// herd.v1.Herd over gRPC: authentication and authorization of each call,
// the engines' Prepare (validation and dry runs), idempotent starts through
// the runner, and reads of operations and workloads. Errors become gRPC
// statuses in exactly one place (ToGrpcStatus).
//
//   HerdService service(deps);
//   grpc::ServerBuilder b; b.RegisterService(&service);
#ifndef HERD_SERVER_API_HERD_SERVICE_H_
#define HERD_SERVER_API_HERD_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "herd/v1/herd.grpc.pb.h"
#include "server/auth/authenticator.h"
#include "server/auth/authorizer.h"
#include "server/ops/engine.h"
#include "server/ops/lock.h"
#include "server/ops/runner.h"
#include "server/ops/store.h"
#include "server/policies/store.h"

namespace herd::api {

namespace v1 = ::herd::v1;

// The one mapping of herd's errors to gRPC statuses.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Starts the run at `scheduled` of `policy` through herd's own service
// (`stub`, in-process), with the delegate `token` of principal
// "policy:{id}" acting for its creator, and the run's request id: an
// operation already started for that run is returned as it is.
absl::StatusOr<v1::Operation> StartPolicyRun(v1::Herd::StubInterface& stub, const std::string& token,
                                             const v1::Policy& policy, absl::Time scheduled);
// A max-pod-age or load-scaling policy's calls, the same way: the
// workload it keeps (GetWorkload), the purge of its `oldest` oldest pods,
// the scale to `replicas`.
absl::StatusOr<v1::Workload> InspectPolicyWorkload(v1::Herd::StubInterface& stub, const std::string& token,
                                                   const v1::Policy& policy);
absl::StatusOr<v1::Operation> StartPolicyScale(v1::Herd::StubInterface& stub, const std::string& token,
                                               const v1::Policy& policy, int replicas, const std::string& request_id);
absl::StatusOr<v1::Operation> StartPolicyPurge(v1::Herd::StubInterface& stub, const std::string& token,
                                               const v1::Policy& policy, int oldest, const std::string& request_id);

// An audit record of a mutating call (see server/audit).
struct AuditNote {
  std::string principal;
  std::string verb;
  std::string target;
  std::string operation;
  std::string reason;
  std::string result;
  // What was asked, in a few words ("image web: web:1 → web:2").
  std::string detail;
  bool dry_run = false;
};

struct ServiceDeps {
  ops::EngineEnv* env;
  ops::OperationRunner* runner;
  ops::OperationStore* store;
  ops::WorkloadLocks* locks;
  // Standing policies (null: this herdd keeps none, and says so).
  policies::PolicyStore* policies = nullptr;
  // Asks herdd's Prometheus (--prometheus-url) a query's value; empty:
  // there is none, and load-scaling policies are refused.
  std::function<absl::StatusOr<double>(const std::string& query, absl::Duration timeout)> prometheus;
  auth::Authenticator* authenticator;
  const auth::Authorizer* authorizer;
  // Called for every mutating call that passed validation (may be empty).
  std::function<void(const AuditNote&)> audit;
  // Whether herdd is shutting down (new mutations are refused).
  std::function<bool()> draining;
  // When set (herdd --impersonate), asked before an operation starts, and
  // before a dry run answers, whether its caller may make the writes of
  // its plan (Plan.permissions) in the cluster; an error is the call's
  // answer.
  std::function<absl::Status(const std::string& principal, const v1::Plan& plan)> check_writes;
  // Told of every refused call (may be empty): "unauthenticated", "rules",
  // "protected_namespace", "cluster_rbac" or "self_approval".
  std::function<void(absl::string_view reason)> denied;
};

class HerdService final : public v1::Herd::Service {
 public:
  explicit HerdService(ServiceDeps deps);

  grpc::Status Rollout(grpc::ServerContext* ctx, const v1::RolloutRequest* req, v1::Operation* out) override;
  grpc::Status Undo(grpc::ServerContext* ctx, const v1::UndoRequest* req, v1::Operation* out) override;
  grpc::Status Scale(grpc::ServerContext* ctx, const v1::ScaleRequest* req, v1::Operation* out) override;
  grpc::Status Purge(grpc::ServerContext* ctx, const v1::PurgeRequest* req, v1::Operation* out) override;
  grpc::Status Kill(grpc::ServerContext* ctx, const v1::KillRequest* req, v1::Operation* out) override;
  grpc::Status RunCronJob(grpc::ServerContext* ctx, const v1::CronJobRequest* req, v1::Operation* out) override;
  grpc::Status SuspendCronJob(grpc::ServerContext* ctx, const v1::CronJobRequest* req, v1::Operation* out) override;
  grpc::Status ResumeCronJob(grpc::ServerContext* ctx, const v1::CronJobRequest* req, v1::Operation* out) override;
  grpc::Status KillCronJobJobs(grpc::ServerContext* ctx, const v1::CronJobRequest* req, v1::Operation* out) override;
  grpc::Status GetWorkload(grpc::ServerContext* ctx, const v1::GetWorkloadRequest* req, v1::Workload* out) override;
  grpc::Status ListWorkloads(grpc::ServerContext* ctx, const v1::ListWorkloadsRequest* req,
                             v1::ListWorkloadsResponse* out) override;
  grpc::Status GetOperation(grpc::ServerContext* ctx, const v1::GetOperationRequest* req, v1::Operation* out) override;
  grpc::Status ListOperations(grpc::ServerContext* ctx, const v1::ListOperationsRequest* req,
                              v1::ListOperationsResponse* out) override;
  grpc::Status WatchOperation(grpc::ServerContext* ctx, const v1::WatchOperationRequest* req,
                              grpc::ServerWriter<v1::Operation>* writer) override;
  grpc::Status CancelOperation(grpc::ServerContext* ctx, const v1::CancelOperationRequest* req,
                               v1::Operation* out) override;
  grpc::Status ApproveOperation(grpc::ServerContext* ctx, const v1::ApproveOperationRequest* req,
                                v1::Operation* out) override;
  grpc::Status RejectOperation(grpc::ServerContext* ctx, const v1::RejectOperationRequest* req,
                               v1::Operation* out) override;
  grpc::Status CreatePolicy(grpc::ServerContext* ctx, const v1::CreatePolicyRequest* req, v1::Policy* out) override;
  grpc::Status GetPolicy(grpc::ServerContext* ctx, const v1::GetPolicyRequest* req, v1::Policy* out) override;
  grpc::Status ListPolicies(grpc::ServerContext* ctx, const v1::ListPoliciesRequest* req,
                            v1::ListPoliciesResponse* out) override;
  grpc::Status PausePolicy(grpc::ServerContext* ctx, const v1::PausePolicyRequest* req, v1::Policy* out) override;
  grpc::Status ResumePolicy(grpc::ServerContext* ctx, const v1::ResumePolicyRequest* req, v1::Policy* out) override;
  grpc::Status DeletePolicy(grpc::ServerContext* ctx, const v1::DeletePolicyRequest* req, v1::Policy* out) override;

 private:
  using EngineOrError = absl::StatusOr<std::unique_ptr<ops::Engine>>;
  // The common path of every mutating call.
  // Authenticates, authorizes, plans (`make_engine` builds the engine; it is
  // called again when the plan has to be redone) and starts an operation.
  absl::StatusOr<v1::Operation> Mutate(grpc::ServerContext* ctx, auth::Verb verb, const std::string& ns,
                                       const std::string& workload, const v1::MutationOptions& options,
                                       const std::function<EngineOrError()>& make_engine);
  // `st`, reported to deps_.denied when it is herd's rules refusing.
  absl::Status Refused(absl::Status st);
  // The engine's plan with the permissions its writes need, checked with
  // the cluster for `principal` when deps_.check_writes is set.
  absl::StatusOr<v1::Plan> PlanOf(ops::Engine& engine, const std::string& principal);
  // True once the lock `key` is free, when the operation holding it has
  // already ended (it lets go a moment after its final state is out);
  // false at once when that operation still runs.
  bool AwaitEndedHolder(const std::string& key);
  absl::StatusOr<auth::PrincipalRef> Authenticate(grpc::ServerContext* ctx);
  absl::StatusOr<v1::Operation> FindOperation(const std::string& name);
  absl::Status AuthorizeRead(const auth::Principal& who, const v1::Operation& op);
  void Audit(const auth::Principal& who, auth::Verb verb, const v1::Operation& op, const std::string& result);
  void Audit(const auth::Principal& who, absl::string_view verb, const v1::Operation& op, const std::string& result);
  // OK when `who` may approve an operation on each of `workloads` in `ns`.
  absl::Status MayApprove(const auth::Principal& who, const std::string& ns, const std::vector<std::string>& workloads);
  // ApproveOperation (`approve`) and RejectOperation.
  absl::StatusOr<v1::Operation> DecideApproval(grpc::ServerContext* ctx, const std::string& name,
                                               const std::string& reason, bool approve);

  // The policy `name`, once the caller may read it (`change`: may take
  // its action); the caller in `who` when given.
  absl::StatusOr<policies::StoredPolicy> AuthorizedPolicy(grpc::ServerContext* ctx, const std::string& name,
                                                          bool change, auth::PrincipalRef* who);
  // PausePolicy and ResumePolicy.
  absl::StatusOr<v1::Policy> SetPaused(grpc::ServerContext* ctx, const std::string& name, bool paused,
                                       const std::string& reason);

  ServiceDeps deps_;
  absl::Mutex mu_;
  // Dry-run operations are not recorded in the cluster; the last few are
  // kept here so GetOperation finds them for a while.
  std::map<std::string, v1::Operation> dry_runs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::api

#endif  // HERD_SERVER_API_HERD_SERVICE_H_
