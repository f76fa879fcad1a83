#include "server/ops/engine.h"

namespace herd::ops {

const std::vector<std::string>& WritePoints() {
  static const auto* points = new std::vector<std::string>{
      // Rollout and Undo.
      "rollout.template", "rollout.restore-strategy", "rollout.rollback-template", "rollout.delete-broken-pod",
      // Scale.
      "scale.hpa-hold", "scale.replicas",
      // Purge.
      "purge.restart-template", "purge.restore-strategy", "purge.revert-template", "purge.scale-up",
      "purge.mark-pod", "purge.scale-down", "purge.evict", "purge.burn-delete",
      // Kill.
      "kill.pod",
      // CronJob actions.
      "cronjob.create-job", "cronjob.set-suspend", "cronjob.delete-job",
      // Standing policies (the leader's scheduler): a run decided, and
      // settled (started, refused or skipped).
      "policy.decide", "policy.record"};
  return *points;
}

v1::Permission Permit(absl::string_view verb, const kube::Resource& r, absl::string_view ns, absl::string_view name,
                      absl::string_view subresource) {
  v1::Permission p;
  p.set_verb(std::string(verb));
  p.set_group(std::string(r.group));
  p.set_resource(std::string(r.plural));
  p.set_subresource(std::string(subresource));
  p.set_namespace_(std::string(ns));
  p.set_name(std::string(name));
  return p;
}

absl::StatusOr<v1::Plan> PlanOf(Engine& engine, EngineEnv& env) {
  auto plan = engine.Prepare(env);
  // A refusal planned from the cache may come of the cache being a moment
  // behind (a pod labelled, a container added, a workload created just
  // before the call): it is the answer only once the API server agrees.
  if (absl::IsNotFound(plan.status()) || absl::IsFailedPrecondition(plan.status()) ||
      absl::IsInvalidArgument(plan.status())) {
    EngineEnv api = env;
    api.reads_from_api = true;
    plan = engine.Prepare(api);
  }
  if (!plan.ok()) return plan.status();
  for (auto& p : engine.Writes()) *plan->add_permissions() = std::move(p);
  return plan;
}

absl::Status AwaitCluster(EngineEnv& env, LiveOperation& op, const std::function<bool()>& done, absl::Time deadline,
                          Interrupt interrupt) {
  bool interrupted = false;
  absl::Status st = env.informers.WaitUntil(
      [&] {
        if (interrupt == Interrupt::kHandOverOnly ? op.hand_over_requested() : op.interrupted()) {
          interrupted = true;
          return true;
        }
        return done();
      },
      deadline);
  if (interrupted) {
    return absl::CancelledError(op.cancel_requested() && interrupt == Interrupt::kCancelOrHandOver ? op.cancel_reason()
                                                                                                  : "handed over");
  }
  return st;
}

}  // namespace herd::ops
