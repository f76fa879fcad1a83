#include "server/engines/rollout.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "server/engines/deployment_util.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"
#include "server/kube/types.h"

namespace herd::engines {
namespace {

using ops::LiveOperation;
using ops::WorkloadName;

constexpr char kPreviousRevisionAnnotation[] = "herd.dev/previous-revision";
constexpr char kRestartAnnotation[] = "herd.dev/restartedAt";
constexpr char kRevisionHashLabel[] = "controller-revision-hash";

using Observation = RolloutObservation;

class RolloutEngine : public ops::Engine {
 public:
  RolloutEngine(WorkloadName w, v1::RolloutRequest req) : w_(std::move(w)), req_(std::move(req)) {}
  RolloutEngine(WorkloadName w, v1::UndoRequest undo) : w_(std::move(w)), undo_(std::move(undo)), is_undo_(true) {}

  v1::OperationKind kind() const override {
    return is_undo_ ? v1::OPERATION_KIND_UNDO : v1::OPERATION_KIND_ROLLOUT;
  }
  std::string target() const override { return w_.ToString(); }
  std::string lock_key() const override { return w_.ToString(); }
  std::string request_json() const override { return is_undo_ ? ProtoJson(undo_) : ProtoJson(req_); }

  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv& env) override;
  void Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) override;

 private:
  bool deployment() const { return w_.resource == &kube::kDeployments; }
  v1::RolloutStrategy strategy() const {
    v1::RolloutStrategy s = is_undo_ ? undo_.strategy() : req_.strategy();
    return s == v1::ROLLOUT_STRATEGY_UNSPECIFIED ? v1::ROLLOUT_STRATEGY_FAST : s;
  }
  bool no_rollback() const { return !is_undo_ && req_.no_rollback(); }
  // The template the rollout wants, given the workload as it is now.
  absl::StatusOr<Json> DesiredTemplate(ops::EngineEnv& env, const Json& workload);
  // Undo: the template of the revision to go back to.
  absl::StatusOr<Json> RevisionTemplate(ops::EngineEnv& env, const Json& workload, int64_t revision, int64_t* found);
  absl::Duration Deadline(const Json& workload) const;

  absl::Status Patch(ops::EngineEnv& env, LiveOperation& op, const Json& workload, const Json& tmpl);
  // Judged on the caches, which count only once they show the generation
  // herd's last write produced (`min_generation`).
  Observation Observe(ops::EngineEnv& env, const std::string& uid, absl::Time now, int64_t min_generation);
  absl::Status AwaitCompletion(ops::EngineEnv& env, LiveOperation& op, const std::string& uid, absl::Time t0,
                               absl::Time deadline, bool rolling_back, Observation* last);
  absl::Status RestoreStrategy(ops::EngineEnv& env) { return engines::RestoreStrategy(env, w_); }
  // The revision number the workload runs now (0 when it has none yet).
  int64_t CurrentRevision(ops::EngineEnv& env, const Json& workload);
  absl::StatusOr<int64_t> RollBack(ops::EngineEnv& env, LiveOperation& op, const std::string& uid, int64_t bad_revision);

  WorkloadName w_;
  v1::RolloutRequest req_;
  v1::UndoRequest undo_;
  bool is_undo_ = false;
};

absl::Duration RolloutEngine::Deadline(const Json& workload) const {
  if (!is_undo_ && req_.has_deadline()) {
    absl::Duration d = ops::FromProto(req_.deadline());
    if (d > absl::ZeroDuration()) return d;
  }
  return ProgressDeadline(workload, absl::Minutes(10));
}

absl::StatusOr<Json> RolloutEngine::RevisionTemplate(ops::EngineEnv& env, const Json& workload, int64_t revision,
                                                     int64_t* found) {
  const std::string uid = workload["metadata"].value("uid", "");
  if (deployment()) {
    auto rs = env.kube.List(kube::kReplicaSets, w_.ns);
    if (!rs.ok()) return rs.status();
    int64_t current = RevisionOf(workload);
    const Json* best = nullptr;
    int64_t best_rev = 0;
    for (const Json& r : rs->items) {
      bool owned = false;
      for (const auto& ref : r["metadata"].value("ownerReferences", Json::array())) {
        if (ref.value("uid", "") == uid && ref.value("controller", false)) owned = true;
      }
      if (!owned) continue;
      int64_t rev = RevisionOf(r);
      if (revision > 0 ? rev == revision : (rev < current && rev > best_rev)) {
        best = &r;
        best_rev = rev;
      }
    }
    if (!best) {
      if (revision > 0) return absl::NotFoundError(absl::StrCat("revision ", revision, " of ", w_.Short(), " not found"));
      return absl::FailedPreconditionError(absl::StrCat(w_.Short(), " has no earlier revision to go back to"));
    }
    *found = best_rev;
    return StripHash((*best)["spec"]["template"]);
  }
  // StatefulSets keep their history in ControllerRevisions.
  auto crs = env.kube.List(kube::kControllerRevisions, w_.ns);
  if (!crs.ok()) return crs.status();
  std::string update = workload.value("status", Json::object()).value("updateRevision", "");
  int64_t current = 0;
  for (const Json& cr : crs->items) {
    if (cr["metadata"].value("name", "") == update) current = cr.value("revision", int64_t{0});
  }
  const Json* best = nullptr;
  int64_t best_rev = 0;
  for (const Json& cr : crs->items) {
    bool owned = false;
    for (const auto& ref : cr["metadata"].value("ownerReferences", Json::array())) {
      if (ref.value("uid", "") == uid) owned = true;
    }
    if (!owned) continue;
    int64_t rev = cr.value("revision", int64_t{0});
    if (revision > 0 ? rev == revision : (rev < current && rev > best_rev)) {
      best = &cr;
      best_rev = rev;
    }
  }
  if (!best) {
    if (revision > 0) return absl::NotFoundError(absl::StrCat("revision ", revision, " of ", w_.Short(), " not found"));
    return absl::FailedPreconditionError(absl::StrCat(w_.Short(), " has no earlier revision to go back to"));
  }
  *found = best_rev;
  Json data = (*best).value("data", Json::object());
  Json tmpl = data.value("spec", Json::object()).value("template", Json());
  if (!tmpl.is_object()) return absl::DataLossError(absl::StrCat("revision ", best_rev, " of ", w_.Short(), " has no template"));
  tmpl.erase("$patch");
  return tmpl;
}

absl::StatusOr<Json> RolloutEngine::DesiredTemplate(ops::EngineEnv& env, const Json& workload) {
  if (is_undo_) {
    int64_t found = 0;
    return RevisionTemplate(env, workload, undo_.to_revision(), &found);
  }
  Json tmpl = workload["spec"]["template"];
  if (deployment()) tmpl = StripHash(tmpl);
  std::set<std::string> names;
  for (auto& c : tmpl["spec"]["containers"]) {
    names.insert(c.value("name", ""));
    auto it = req_.images().find(c.value("name", ""));
    if (it != req_.images().end()) c["image"] = it->second;
  }
  for (auto& c : tmpl["spec"].value("initContainers", Json::array())) names.insert(c.value("name", ""));
  if (tmpl["spec"].contains("initContainers")) {
    for (auto& c : tmpl["spec"]["initContainers"]) {
      auto it = req_.images().find(c.value("name", ""));
      if (it != req_.images().end()) c["image"] = it->second;
    }
  }
  for (const auto& [name, image] : req_.images()) {
    if (!names.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat(w_.Short(), " has no container \"", name, "\" (it has: ",
                                                     absl::StrJoin(names, ", "), ")"));
    }
  }
  return tmpl;
}

absl::StatusOr<v1::Plan> RolloutEngine::Prepare(ops::EngineEnv& env) {
  if (!is_undo_) {
    if (req_.images().empty() && !req_.restart()) {
      return absl::InvalidArgumentError("nothing to roll out: give CONTAINER=IMAGE pairs or ask for a restart");
    }
    for (const auto& [name, image] : req_.images()) {
      if (name.empty() || image.empty() || image.find_first_of(" \t\n") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("\"", name, "=", image, "\" is not CONTAINER=IMAGE"));
      }
    }
  } else if (undo_.to_revision() < 0) {
    return absl::InvalidArgumentError("to_revision must be 0 (the previous revision) or a revision number");
  }
  auto wl = env.kube.Get(*w_.resource, w_.ns, w_.name);
  if (!wl.ok()) {
    if (kube::IsNotFound(wl.status())) return absl::NotFoundError(absl::StrCat(w_.ToString(), " not found"));
    return wl.status();
  }
  auto tmpl = DesiredTemplate(env, *wl);
  if (!tmpl.ok()) return tmpl.status();
  v1::Plan plan;
  Json current = (*wl)["spec"]["template"];
  if (deployment()) current = StripHash(current);
  int32_t replicas = (*wl)["spec"].value("replicas", 1);
  std::vector<std::string> changes;
  std::map<std::string, std::string> before, after;
  for (const auto& c : current["spec"]["containers"]) before[c.value("name", "")] = c.value("image", "");
  for (const auto& c : (*tmpl)["spec"]["containers"]) after[c.value("name", "")] = c.value("image", "");
  for (const auto& [name, image] : after) {
    if (before[name] != image) plan.add_changes(absl::StrCat("image ", name, ": ", before[name], " → ", image));
  }
  if (!is_undo_ && req_.restart()) plan.add_changes("restart every pod");
  bool recreate = deployment() && IsRecreate(*wl);
  bool fast = deployment() && strategy() == v1::ROLLOUT_STRATEGY_FAST && !recreate;
  if (fast) plan.add_changes("during the rollout: maxSurge 100%, maxUnavailable 0 (the workload's strategy is restored after)");
  auto pods = env.kube.List(kube::kPods, w_.ns);
  std::vector<kube::ObjectPtr> own;
  if (pods.ok()) {
    auto sel = k8s::LabelSelector::FromJson((*wl)["spec"].value("selector", Json()));
    for (const Json& p : pods->items) {
      if (sel.ok() && sel->Matches(p["metadata"].value("labels", Json::object()))) {
        own.push_back(std::make_shared<const Json>(p));
        auto* a = plan.add_pods();
        a->set_pod(PodName(p));
        a->set_action("replace");
      }
    }
  }
  absl::Duration start = TypicalStart(own);
  absl::Duration estimate;
  if (!deployment()) {
    estimate = start * std::max(1, replicas) + absl::Seconds(1) * replicas;
  } else if (fast || recreate) {
    estimate = start + absl::Seconds(2);
  } else {
    const Json ru = (*wl)["spec"].value("strategy", Json::object()).value("rollingUpdate", Json::object());
    auto scaled = [&](const Json& v, bool up) -> int64_t {
      if (v.is_number_integer()) return v.get<int64_t>();
      std::string s = v.is_string() ? v.get<std::string>() : "25%";
      int64_t pct = 25;
      (void)absl::SimpleAtoi(s.substr(0, s.size() - 1), &pct);
      return up ? (pct * replicas + 99) / 100 : pct * replicas / 100;
    };
    int64_t per_wave = std::max<int64_t>(1, scaled(ru.value("maxSurge", Json("25%")), true) +
                                               scaled(ru.value("maxUnavailable", Json("25%")), false));
    int64_t waves = (replicas + per_wave - 1) / per_wave;
    estimate = start * waves + absl::Seconds(2);
  }
  ops::SetDuration(estimate, plan.mutable_estimated_duration());
  plan.set_summary(absl::StrCat(is_undo_ ? "undo " : "rollout ", w_.Short(), " (", replicas, " replicas, ",
                                !deployment() ? "one pod at a time by ordinal"
                                : fast        ? "FAST: every new pod at once, old pods go when all are Ready"
                                : recreate    ? "Recreate: old pods first, then new ones"
                                              : "the workload's rolling update",
                                ")", plan.changes_size() == 0 ? "; nothing changes" : ""));
  return plan;
}

absl::Status RolloutEngine::Patch(ops::EngineEnv& env, LiveOperation& op, const Json& workload, const Json& tmpl) {
  Json patch = {{"metadata", {{"annotations", {{kOperationAnnotation, OperationId(op)}}}}}};
  Json t = tmpl;
  if (!is_undo_ && req_.restart()) t["metadata"]["annotations"][kRestartAnnotation] = k8s::FormatTime(env.clock.Now());
  if (deployment() && strategy() == v1::ROLLOUT_STRATEGY_FAST) {
    patch = FastRolloutPatch(workload, OperationId(op));
    if (IsRecreate(workload)) op.AddEvent("the deployment uses Recreate: keeping it (old pods stop before new ones start)");
  }
  // The revision running now is where a rollback goes; remember it before
  // anything changes (the controller may not have made the new one yet
  // when a failure or cancel comes).
  int64_t previous = CurrentRevision(env, workload);
  patch["metadata"]["annotations"][kPreviousRevisionAnnotation] = std::to_string(previous);
  op.SetCheckpoint("previous_revision", std::to_string(previous));
  // The whole template is replaced (a JSON merge patch would merge the
  // container list): JSON patch on the template, merge on the rest.
  Json ops_patch = Json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", t}}});
  absl::Time t0 = env.clock.Now();
  auto merged = env.kube.Patch(*w_.resource, w_.ns, w_.name, kube::PatchType::kMerge, patch.dump());
  if (!merged.ok()) return merged.status();
  auto written = env.kube.Patch(*w_.resource, w_.ns, w_.name, kube::PatchType::kJson, ops_patch.dump());
  if (!written.ok()) return written.status();
  op.AddTiming("api-write", env.clock.Now() - t0);
  op.SetCheckpoint("generation", std::to_string((*written)["metadata"].value("generation", int64_t{0})));
  op.SetCheckpoint("phase", "rolling-out");
  return absl::OkStatus();
}

Observation RolloutEngine::Observe(ops::EngineEnv& env, const std::string& uid, absl::Time now,
                                   int64_t min_generation) {
  Observation o;
  kube::ObjectPtr wl = env.informers.For(*w_.resource, w_.ns).Get(w_.ns, w_.name);
  if (!wl) return o;
  const Json& w = *wl;
  if (deployment()) return ObserveDeploymentRollout(env, w, now, min_generation);
  auto& pods = env.informers.For(kube::kPods, w_.ns);
  const Json status = w.value("status", Json::object());
  o.desired = w["spec"].value("replicas", 1);
  int64_t generation = w["metadata"].value("generation", int64_t{0});
  if (generation < min_generation) return o;
  std::vector<kube::ObjectPtr> fresh, old;
  std::string update = status.value("updateRevision", "");
  for (const auto& p : pods.ByOwner(uid)) {
    std::string hash = (*p)["metadata"].value("labels", Json::object()).value(kRevisionHashLabel, "");
    (hash == update && !update.empty() && !PodTerminating(*p) ? fresh : old).push_back(p);
  }
  o.available = status.value("availableReplicas", status.value("readyReplicas", 0));
  o.observed = status.value("observedGeneration", int64_t{0}) >= generation && !update.empty() &&
               status.value("currentRevision", "") == update && status.value("updatedReplicas", 0) == o.desired;
  o.remaining = static_cast<int32_t>(old.size());
  TallyNewPods(fresh, env.settings, now, &o);
  return o;
}

absl::Status RolloutEngine::AwaitCompletion(ops::EngineEnv& env, LiveOperation& op, const std::string& uid,
                                            absl::Time t0, absl::Time deadline, bool rolling_back,
                                            Observation* last) {
  std::set<std::string> reached;
  auto milestone = [&](const std::string& phase, bool done) {
    if (!done || reached.count(phase)) return;
    reached.insert(phase);
    if (!rolling_back) op.AddTiming(phase, env.clock.Now() - t0);
  };
  Observation o;
  int32_t last_ready = -1, last_remaining = -1;
  int64_t min_generation = 0;
  (void)absl::SimpleAtoi(op.Checkpoint("generation"), &min_generation);
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        o = Observe(env, uid, env.clock.Now(), min_generation);
        op.Update([&](v1::Operation& x) {
          auto* p = x.mutable_progress();
          p->set_desired(o.desired);
          p->set_updated(o.updated);
          p->set_ready(o.ready);
          p->set_available(o.available);
          p->set_remaining(o.remaining);
          if (o.revision > 0 && !rolling_back) x.set_revision(o.revision);
        });
        bool all_new = o.updated == o.desired && o.desired > 0;
        milestone("pods-scheduled", all_new && o.scheduled == o.desired);
        milestone("pods-started", all_new && o.started == o.desired);
        milestone("pods-ready", all_new && o.ready == o.desired);
        milestone("old-pods-terminated", o.observed && all_new && o.remaining == 0);
        if (o.ready != last_ready || o.remaining != last_remaining) {
          if (o.updated > 0 || o.remaining > 0) {
            op.AddEvent(rolling_back ? absl::StrCat("rollback: ", o.ready, "/", o.desired,
                                                    " pods of the previous version ready, ", o.remaining,
                                                    " pods of the failed version left")
                                     : absl::StrCat(o.ready, "/", o.desired, " new pods ready, ", o.remaining,
                                                    " old pods left"));
          }
          last_ready = o.ready;
          last_remaining = o.remaining;
        }
        return o.complete() || (!rolling_back && (!o.problems.empty() || o.controller_gave_up));
      },
      deadline);
  *last = o;
  return st;
}

int64_t RolloutEngine::CurrentRevision(ops::EngineEnv& env, const Json& workload) {
  if (deployment()) return RevisionOf(workload);
  std::string update = workload.value("status", Json::object()).value("updateRevision", "");
  if (update.empty()) return 0;
  auto cr = env.kube.Get(kube::kControllerRevisions, w_.ns, update);
  return cr.ok() ? (*cr).value("revision", int64_t{0}) : 0;
}

absl::StatusOr<int64_t> RolloutEngine::RollBack(ops::EngineEnv& env, LiveOperation& op, const std::string& uid,
                                                int64_t bad_revision) {
  auto wl = env.kube.Get(*w_.resource, w_.ns, w_.name);
  if (!wl.ok()) return wl.status();
  int64_t previous = 0;
  std::string saved = op.Checkpoint("previous_revision");
  if (saved.empty()) {
    saved = (*wl)["metadata"].value("annotations", Json::object()).value(kPreviousRevisionAnnotation, "");
  }
  (void)absl::SimpleAtoi(saved, &previous);
  int64_t found = 0;
  auto tmpl = RevisionTemplate(env, *wl, previous, &found);
  if (!tmpl.ok()) return tmpl.status();
  op.SetCheckpoint("phase", "rolling-back");
  op.AddEvent(absl::StrCat("rolling back to revision ", found));
  Json ops_patch = Json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", *tmpl}}});
  auto written = env.kube.Patch(*w_.resource, w_.ns, w_.name, kube::PatchType::kJson, ops_patch.dump());
  if (!written.ok()) return written.status();
  op.SetCheckpoint("generation", std::to_string((*written)["metadata"].value("generation", int64_t{0})));
  if (!deployment()) {
    // A StatefulSet does not replace a pod that never became Ready: delete
    // the broken ones so they come back at the good revision.
    for (const auto& p : env.informers.For(kube::kPods, w_.ns).ByOwner(uid)) {
      if (!PodReady(*p)) (void)env.kube.Delete(kube::kPods, w_.ns, PodName(*p));
    }
  }
  (void)bad_revision;
  return found;
}

void RolloutEngine::Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) {
  absl::Time t0 = ops::FromProto(op.Snapshot().create_time());
  auto fail = [&](v1::FailureReason reason, const absl::Status& st) {
    v1::Failure f;
    f.set_reason(reason);
    op.Finish(v1::OPERATION_STATE_FAILED, st, &f);
  };
  auto& informer = env.informers.For(*w_.resource, w_.ns);
  env.informers.For(kube::kPods, w_.ns);
  if (deployment()) env.informers.For(kube::kReplicaSets, w_.ns);
  if (auto st = env.informers.WaitForSync(env.clock.Now() + absl::Seconds(30)); !st.ok()) {
    return fail(v1::FAILURE_REASON_API_ERROR, st);
  }
  auto wl = env.kube.Get(*w_.resource, w_.ns, w_.name);
  if (!wl.ok()) {
    return fail(kube::IsNotFound(wl.status()) ? v1::FAILURE_REASON_NOT_FOUND : v1::FAILURE_REASON_API_ERROR,
                wl.status());
  }
  const std::string uid = (*wl)["metadata"].value("uid", "");
  std::string phase = op.Checkpoint("phase");
  bool ours = (*wl)["metadata"].value("annotations", Json::object()).value(kOperationAnnotation, "") == OperationId(op);
  if (phase.empty() && resumed && ours) phase = "rolling-out";  // written before the checkpoint was saved

  if (phase.empty()) {
    auto tmpl = DesiredTemplate(env, *wl);
    if (!tmpl.ok()) return fail(v1::FAILURE_REASON_API_ERROR, tmpl.status());
    Json current = (*wl)["spec"]["template"];
    if (deployment()) current = StripHash(current);
    if (*tmpl == current && (is_undo_ || !req_.restart())) {
      op.AddEvent("already running this template: nothing to do");
      op.Update([&](v1::Operation& x) { x.set_revision(RevisionOf(*wl)); });
      return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
    }
    if (auto st = Patch(env, op, *wl, *tmpl); !st.ok()) {
      return fail(kube::IsConflict(st) ? v1::FAILURE_REASON_CONFLICT : v1::FAILURE_REASON_API_ERROR, st);
    }
    op.AddEvent(absl::StrCat("new template written to ", w_.Short()));
    phase = "rolling-out";
    wl = env.kube.Get(*w_.resource, w_.ns, w_.name);
    if (!wl.ok()) return fail(v1::FAILURE_REASON_API_ERROR, wl.status());
  }
  (void)informer;
  absl::Duration limit = Deadline(*wl);
  absl::Time deadline = t0 + limit;

  v1::Failure failure;
  absl::Status error;
  bool cancelled = false;
  if (phase == "rolling-out") {
    Observation o;
    absl::Status st = AwaitCompletion(env, op, uid, t0, deadline, false, &o);
    if (absl::IsCancelled(st)) {
      if (op.hand_over_requested() && !op.cancel_requested()) return;  // another replica finishes it
      cancelled = true;
      failure.set_reason(v1::FAILURE_REASON_CANCELLED);
      error = absl::CancelledError(absl::StrCat("cancelled: ", op.cancel_reason()));
    } else if (st.ok() && o.complete()) {
      if (auto rs = RestoreStrategy(env); !rs.ok()) {
        log::Warn("restoring the strategy after a rollout failed", {{"op", op.name()}, {"error", rs}});
      }
      op.AddEvent(absl::StrCat(w_.Short(), " rolled out: ", o.desired, " new pods ready, old pods gone"));
      return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
    } else {
      // Why it failed, for the caller to branch on.
      if (!o.problems.empty()) {
        failure = FailureForProblems(o.problems, &error);
      } else {
        failure = FailureForDeadline(o.not_ready, o.updated > 0 && o.started > o.ready,
                                     absl::StrCat("not rolled out within ", absl::FormatDuration(limit), ": ", o.ready,
                                                  "/", o.desired, " new pods ready, ", o.remaining, " old pods left"),
                                     &error);
      }
      op.AddEvent(std::string(error.message()));
    }
    if (no_rollback()) {
      (void)RestoreStrategy(env);
      return op.Finish(cancelled ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_FAILED, error, &failure);
    }
    auto rev = RollBack(env, op, uid, o.revision);
    if (!rev.ok()) {
      op.AddEvent(absl::StrCat("cannot roll back: ", rev.status().message()));
      (void)RestoreStrategy(env);
      return op.Finish(cancelled ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_FAILED, error, &failure);
    }
    op.SetCheckpoint("failure", ProtoJson(failure));
    op.SetCheckpoint("error", std::string(error.message()));
    op.SetCheckpoint("cancelled", cancelled ? "true" : "");
    phase = "rolling-back";
  }
  if (phase == "rolling-back") {
    if (failure.reason() == v1::FAILURE_REASON_UNSPECIFIED) {
      // Resumed mid-rollback: what went wrong was saved.
      (void)google::protobuf::util::JsonStringToMessage(op.Checkpoint("failure"), &failure);
      error = absl::FailedPreconditionError(op.Checkpoint("error"));
      cancelled = op.Checkpoint("cancelled") == "true";
    }
    Observation o;
    // The rollback gets a deadline of its own: the rollout's has passed.
    absl::Status st = AwaitCompletion(env, op, uid, t0, env.clock.Now() + limit, true, &o);
    if (absl::IsCancelled(st) && op.hand_over_requested()) return;
    (void)RestoreStrategy(env);
    if (!st.ok() && !absl::IsCancelled(st)) {
      op.AddEvent(absl::StrCat("rollback did not complete: ", st.message()));
      return op.Finish(v1::OPERATION_STATE_FAILED,
                       absl::FailedPreconditionError(absl::StrCat(error.message(), "; the rollback did not complete either")),
                       &failure);
    }
    op.AddEvent("rolled back: the previous version is serving");
    return op.Finish(cancelled ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_ROLLED_BACK, error, &failure);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ops::Engine>> NewRolloutEngine(const v1::RolloutRequest& request) {
  auto w = ops::ParseWorkloadName(request.workload(), {"deployments", "statefulsets"});
  if (!w.ok()) return w.status();
  return std::unique_ptr<ops::Engine>(new RolloutEngine(*w, request));
}

absl::StatusOr<std::unique_ptr<ops::Engine>> NewUndoEngine(const v1::UndoRequest& request) {
  auto w = ops::ParseWorkloadName(request.workload(), {"deployments", "statefulsets"});
  if (!w.ok()) return w.status();
  return std::unique_ptr<ops::Engine>(new RolloutEngine(*w, request));
}

}  // namespace herd::engines
