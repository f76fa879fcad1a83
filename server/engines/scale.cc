#include "server/engines/scale.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "server/engines/deployment_util.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"
#include "server/kube/types.h"

namespace herd::engines {
namespace {

using ops::LiveOperation;
using ops::WorkloadName;

// A conditional update is retried this often when another writer got in
// between; more conflicts than that mean someone keeps changing the object.
constexpr int kUpdateAttempts = 5;

// What one look at the caches says about the scaling.
struct ScaleObservation {
  bool found = false;
  bool observed = false;       // the controller has seen the current spec
  int32_t spec_replicas = 0;   // as the workload says now
  int32_t status_ready = 0;    // status.readyReplicas
  int32_t available = 0;       // status.availableReplicas
  int32_t ready_all = 0;       // Ready pods of the workload, not terminating
  int32_t ready_current = 0;   // of those, the ones that count toward the target
  int32_t total = 0;           // every pod of the workload, terminating ones too
  std::vector<v1::PodProblem> problems;
  std::vector<std::string> not_ready;  // "name (why)"
  bool running_not_ready = false;
};

class ScaleEngine : public ops::Engine {
 public:
  ScaleEngine(WorkloadName w, v1::ScaleRequest req) : w_(std::move(w)), req_(std::move(req)) {}

  v1::OperationKind kind() const override { return v1::OPERATION_KIND_SCALE; }
  std::string target() const override { return w_.ToString(); }
  std::string lock_key() const override { return w_.ToString(); }
  std::string request_json() const override { return ProtoJson(req_); }

  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv& env) override;
  void Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) override;
  std::vector<v1::Permission> Writes() const override {
    std::vector<v1::Permission> out = {ops::Permit("update", *w_.resource, w_.ns, w_.name, "scale")};
    for (const auto& hpa : held_) out.push_back(ops::Permit("update", kube::kHorizontalPodAutoscalers, w_.ns, hpa));
    return out;
  }

 private:
  bool deployment() const { return w_.resource == &kube::kDeployments; }
  absl::StatusOr<int32_t> TargetFor(int32_t current) const;
  absl::Duration Hold(const ops::EngineSettings& s) const {
    absl::Duration d = req_.has_hpa_hold() ? ops::FromProto(req_.hpa_hold()) : absl::ZeroDuration();
    return d > absl::ZeroDuration() ? d : s.default_hpa_hold;
  }
  // The HPAs whose scaleTargetRef is the workload.
  absl::StatusOr<std::vector<kube::HorizontalPodAutoscaler>> Autoscalers(ops::EngineEnv& env,
                                                                         ReadFrom from = ReadFrom::kApi) const;
  // Moves one HPA's bounds to `replicas` until `until`, remembering the
  // original bounds unless an earlier hold already did.
  absl::Status HoldAutoscaler(ops::EngineEnv& env, LiveOperation& op, const std::string& name, int32_t replicas,
                              absl::Time until) const;
  ScaleObservation Observe(ops::EngineEnv& env, int32_t target, int32_t from, absl::Time written, absl::Time now) const;

  WorkloadName w_;
  v1::ScaleRequest req_;
  // The autoscalers Prepare found that Run moves the bounds of.
  std::vector<std::string> held_;
};

absl::StatusOr<int32_t> ScaleEngine::TargetFor(int32_t current) const {
  int64_t t = req_.change_case() == v1::ScaleRequest::kReplicas ? int64_t{req_.replicas()}
                                                                : int64_t{current} + req_.delta();
  if (t < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("delta ", req_.delta(), " would take ", w_.Short(), " from ", current, " to ", t,
                     " replicas; the count cannot be negative"));
  }
  if (t > 2147483647) return absl::InvalidArgumentError(absl::StrCat(t, " replicas is more than a workload can have"));
  bool below = req_.min_replicas() > 0 && t < req_.min_replicas();
  bool above = req_.max_replicas() > 0 && t > req_.max_replicas();
  if (below || above) {
    return absl::InvalidArgumentError(absl::StrCat(
        t, " replicas", req_.change_case() == v1::ScaleRequest::kDelta ? absl::StrCat(" (", current, " ", req_.delta() < 0 ? "" : "+", req_.delta(), ")") : "",
        " is outside the bounds [", req_.min_replicas() > 0 ? absl::StrCat(req_.min_replicas()) : "0", ", ",
        req_.max_replicas() > 0 ? absl::StrCat(req_.max_replicas()) : "no maximum", "] given with the request"));
  }
  return static_cast<int32_t>(t);
}

absl::StatusOr<std::vector<kube::HorizontalPodAutoscaler>> ScaleEngine::Autoscalers(ops::EngineEnv& env,
                                                                                      ReadFrom from) const {
  auto all = ListObjects(env, kube::kHorizontalPodAutoscalers, w_.ns, {}, from);
  if (!all.ok()) {
    // A cluster without autoscaling/v2 has no HPAs to respect.
    if (absl::IsNotFound(all.status())) return std::vector<kube::HorizontalPodAutoscaler>{};
    return all.status();
  }
  std::vector<kube::HorizontalPodAutoscaler> out;
  for (auto& obj : *all) {
    kube::HorizontalPodAutoscaler h(std::move(obj));
    if (h.target_kind() == w_.resource->kind && h.target_name() == w_.name) out.push_back(std::move(h));
  }
  return out;
}

absl::Status ScaleEngine::HoldAutoscaler(ops::EngineEnv& env, LiveOperation& op, const std::string& name,
                                         int32_t replicas, absl::Time until) const {
  absl::Status last;
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto current = env.kube.Get(kube::kHorizontalPodAutoscalers, w_.ns, name);
    if (!current.ok()) return current.status();
    kube::HorizontalPodAutoscaler hpa(*current);
    Json obj = *std::move(current);
    Json& annotations = obj["metadata"]["annotations"];
    if (!annotations.is_object()) annotations = Json::object();
    if (!annotations.contains(kHpaOriginalAnnotation)) {
      annotations[kHpaOriginalAnnotation] = Json{{"min", hpa.min_replicas()}, {"max", hpa.max_replicas()}}.dump();
    }
    annotations[kHpaRestoreAtAnnotation] = k8s::FormatMicroTime(until);
    obj["spec"]["minReplicas"] = replicas;
    obj["spec"]["maxReplicas"] = replicas;
    auto written = WriteAt(env, op, "scale.hpa-hold",
                           [&] { return env.kube.Update(kube::kHorizontalPodAutoscalers, w_.ns, obj); });
    if (written.ok()) return absl::OkStatus();
    last = written.status();
    if (!kube::IsConflict(last)) return last;
  }
  return last;
}

ScaleObservation ScaleEngine::Observe(ops::EngineEnv& env, int32_t target, int32_t from, absl::Time written,
                                      absl::Time now) const {
  ScaleObservation o;
  kube::ObjectPtr wl = env.informers.For(*w_.resource, w_.ns).Get(w_.ns, w_.name);
  if (!wl) return o;
  o.found = true;
  const Json& w = *wl;
  const Json status = w.value("status", Json::object());
  o.spec_replicas = w["spec"].value("replicas", 1);
  o.observed = status.value("observedGeneration", int64_t{0}) >= w["metadata"].value("generation", int64_t{0});
  o.status_ready = status.value("readyReplicas", 0);
  o.available = status.value("availableReplicas", 0);
  // The pods that count toward the target, and those a scale-up created.
  std::vector<kube::ObjectPtr> counted, all;
  std::vector<kube::ObjectPtr> fresh;
  if (deployment()) {
    DeploymentPods pods = SplitDeploymentPods(env, w);
    counted = pods.current;
    all = pods.current;
    all.insert(all.end(), pods.old.begin(), pods.old.end());
    // Pods created since the write (the timestamp has whole seconds).
    for (const auto& p : pods.current) {
      if (PodCreated(*p) >= written - absl::Seconds(1)) fresh.push_back(p);
    }
  } else {
    const std::string uid = w["metadata"].value("uid", "");
    all = env.informers.For(kube::kPods, w_.ns).ByOwner(uid);
    for (const auto& p : all) {
      int ordinal = PodOrdinal(w_.name, PodName(*p));
      if (PodTerminating(*p) || ordinal < 0) continue;
      if (ordinal < target) counted.push_back(p);
      if (ordinal >= from && ordinal < target) fresh.push_back(p);
    }
  }
  o.total = static_cast<int32_t>(all.size());
  for (const auto& p : all) {
    if (!PodTerminating(*p) && PodReady(*p)) o.ready_all++;
  }
  for (const auto& p : counted) {
    if (PodReady(*p)) {
      o.ready_current++;
      continue;
    }
    o.not_ready.push_back(absl::StrCat(PodName(*p), " (", PodWaitingReason(*p), ")"));
    if (PodStarted(*p)) o.running_not_ready = true;
  }
  if (target > from) {
    for (const auto& p : fresh) {
      if (auto problem = PodFailure(*p, env.settings, now)) o.problems.push_back(*problem);
    }
  }
  return o;
}

absl::StatusOr<v1::Plan> ScaleEngine::Prepare(ops::EngineEnv& env) {
  // Planned from the cache: Run fixes the counts on the workload as the
  // API has it, and finds the autoscalers to hold again.
  auto wl = GetWorkload(env, w_, ReadFrom::kCache);
  if (!wl.ok()) return wl.status();
  int32_t current = (*wl)["spec"].value("replicas", 1);
  auto target = TargetFor(current);
  if (!target.ok()) return target.status();
  auto hpas = Autoscalers(env, ReadFrom::kCache);
  if (!hpas.ok()) return hpas.status();
  v1::Plan plan;
  plan.add_changes(absl::StrCat("spec.replicas: ", current, " → ", *target, " (scale subresource)"));
  absl::Time until = env.clock.Now() + Hold(env.settings);
  for (const auto& h : *hpas) {
    if (*target == 0) {
      plan.add_changes(absl::StrCat("HorizontalPodAutoscaler ", h.name(),
                                    " is left alone: it does not act on a workload at 0 replicas"));
      continue;
    }
    held_.push_back(h.name());
    int32_t min = h.min_replicas(), max = h.max_replicas();
    std::string original = h.annotation(kHpaOriginalAnnotation);
    if (!original.empty()) {
      Json o = Json::parse(original, nullptr, false);
      if (o.is_object()) {
        min = o.value("min", min);
        max = o.value("max", max);
      }
    }
    plan.add_changes(absl::StrCat("HorizontalPodAutoscaler ", h.name(), ": minReplicas ", h.min_replicas(), " → ",
                                  *target, ", maxReplicas ", h.max_replicas(), " → ", *target, " until ",
                                  k8s::FormatTime(until), " (then back to ", min, "..", max, ")"));
  }
  // Pods: what the controller will create or remove, where it can be told.
  std::vector<kube::ObjectPtr> own;
  auto sel = k8s::LabelSelector::FromJson((*wl)["spec"].value("selector", Json()));
  auto pods = sel.ok() ? ListObjects(env, kube::kPods, w_.ns, *sel, ReadFrom::kCache)
                       : absl::StatusOr<std::vector<Json>>(sel.status());
  if (pods.ok()) {
    for (Json& p : *pods) own.push_back(std::make_shared<const Json>(std::move(p)));
  }
  std::string how;
  absl::Duration start = TypicalStart(own);
  absl::Duration estimate = absl::Seconds(2);
  if (*target > current) {
    bool ordered = !deployment() && (*wl)["spec"].value("podManagementPolicy", "OrderedReady") == "OrderedReady";
    estimate = (ordered ? start * (*target - current) : start) + absl::Seconds(1);
    if (!deployment()) {
      for (int32_t i = current; i < *target; ++i) {
        auto* a = plan.add_pods();
        a->set_pod(absl::StrCat(w_.name, "-", i));
        a->set_action("create");
      }
    }
    how = absl::StrCat("; ", *target - current, " new pod", *target - current == 1 ? "" : "s",
                       ordered ? ", one after the other" : "");
  } else if (*target < current) {
    if (deployment()) {
      how = "; the ReplicaSet controller picks the pods to remove (its ranking depends on readiness, node placement "
            "and pod-deletion-cost at that moment), so none are listed";
    } else {
      for (int32_t i = current - 1; i >= *target; --i) {
        auto* a = plan.add_pods();
        a->set_pod(absl::StrCat(w_.name, "-", i));
        a->set_action("delete");
      }
      how = "; the highest ordinals go first";
    }
  } else {
    how = "; the count does not change";
  }
  ops::SetDuration(estimate, plan.mutable_estimated_duration());
  plan.set_summary(absl::StrCat("scale ", w_.Short(), " from ", current, " to ", *target, " replicas", how));
  return plan;
}

void ScaleEngine::Run(ops::EngineEnv& env, LiveOperation& op, bool /*resumed*/) {
  absl::Time t0 = ops::FromProto(op.Snapshot().create_time());
  env.informers.For(*w_.resource, w_.ns);
  env.informers.For(kube::kPods, w_.ns);
  if (deployment()) env.informers.For(kube::kReplicaSets, w_.ns);
  if (auto st = env.informers.WaitForSync(env.clock.Now() + absl::Seconds(30)); !st.ok()) {
    return Fail(op, v1::FAILURE_REASON_API_ERROR, st);
  }
  auto wl = GetWorkload(env, w_);
  if (!wl.ok()) return Fail(op, ReasonForApiError(wl.status()), wl.status());

  // The counts are fixed when the operation starts, and recorded before
  // anything is written: a delta applies to the count of that moment, also
  // for a replica that adopts the operation after the write.
  int32_t from = 0, target = 0;
  if (!absl::SimpleAtoi(op.Checkpoint("from"), &from) || !absl::SimpleAtoi(op.Checkpoint("target"), &target)) {
    from = (*wl)["spec"].value("replicas", 1);
    auto t = TargetFor(from);
    if (!t.ok()) return Fail(op, v1::FAILURE_REASON_UNSPECIFIED, t.status());
    target = *t;
    op.SetCheckpoint("from", absl::StrCat(from));
    op.SetCheckpoint("target", absl::StrCat(target));
    // Pods the controller creates for the new count come after this (the
    // write may be answered after they exist): they are told apart by it.
    op.SetCheckpoint("sent", k8s::FormatMicroTime(env.clock.Now()));
    if (!PersistBeforeWrite(op)) return;
  }
  op.Update([&](v1::Operation& o) { o.mutable_progress()->set_desired(target); });

  absl::Time written = absl::InfinitePast();
  if (auto sent = k8s::ParseTime(op.Checkpoint("sent")); sent.ok()) written = *sent;
  // Whether the count was written is read off the workload when resumed.
  bool seen_target = false;
  if (op.Checkpoint("written") == "true") {
    if ((*wl)["spec"].value("replicas", 1) != target) {
      absl::Status error = absl::AbortedError(absl::StrCat(w_.Short(), " was set to ", (*wl)["spec"].value("replicas", 1),
                                                           " replicas by someone else while herd scaled it to ", target));
      op.AddEvent(std::string(error.message()));
      return Fail(op, v1::FAILURE_REASON_CONFLICT, error);
    }
    seen_target = true;
  } else {
    absl::Time w0 = env.clock.Now();
    if (target > 0) {
      auto hpas = Autoscalers(env);
      if (!hpas.ok()) return Fail(op, v1::FAILURE_REASON_API_ERROR, hpas.status());
      absl::Time until = env.clock.Now() + Hold(env.settings);
      // The HPA goes first: moved after the scale, it could undo it in between.
      for (const auto& h : *hpas) {
        if (auto st = HoldAutoscaler(env, op, h.name(), target, until); !st.ok()) {
          return Fail(op, ReasonForApiError(st),
                      absl::Status(st.code(), absl::StrCat("cannot move the bounds of HorizontalPodAutoscaler ",
                                                           h.name(), ": ", st.message(),
                                                           "; the replica count was not changed")));
        }
        op.AddEvent(absl::StrCat("HorizontalPodAutoscaler ", h.name(), " held at ", target, " replicas until ",
                                 k8s::FormatTime(until)));
      }
    }
    auto scaled = WriteAt(env, op, "scale.replicas",
                          [&] { return env.kube.UpdateScale(*w_.resource, w_.ns, w_.name, target); });
    if (!scaled.ok()) {
      return Fail(op, ReasonForApiError(scaled.status()),
                  absl::Status(scaled.status().code(), absl::StrCat("scaling ", w_.Short(), ": ", scaled.status().message())));
    }
    if (written == absl::InfinitePast()) written = w0;
    op.AddTiming("api-write", env.clock.Now() - w0);
    op.SetCheckpoint("written", "true");
    op.AddEvent(from == target ? absl::StrCat(w_.Short(), " already has ", target, " replicas")
                               : absl::StrCat("scaled ", w_.Short(), " from ", from, " to ", target, " replicas"));
  }

  absl::Duration limit = ProgressDeadline(*wl, env.settings.default_deadline);
  absl::Time deadline = t0 + limit;
  const bool down = target < from;
  ScaleObservation o;
  bool taken_over = false;
  int32_t last_ready = -1, last_total = -1;
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        o = Observe(env, target, from, written, env.clock.Now());
        if (!o.found) return true;
        op.Update([&](v1::Operation& x) {
          auto* p = x.mutable_progress();
          p->set_desired(target);
          p->set_ready(o.ready_current);
          p->set_available(o.available);
          p->set_remaining(down ? std::max(0, o.total - target) : 0);
        });
        if (o.ready_current != last_ready || o.total != last_total) {
          op.AddEvent(down ? absl::StrCat(o.total, " pods left, ", target, " wanted")
                           : absl::StrCat(o.ready_current, "/", target, " pods ready"));
          last_ready = o.ready_current;
          last_total = o.total;
        }
        // The cache may not show our write yet; a different count only
        // means someone else once it has.
        if (o.spec_replicas == target) seen_target = true;
        if (o.spec_replicas != target) {
          taken_over = seen_target;
          return taken_over;
        }
        if (!o.observed) return false;
        if (down) return o.total <= target;
        bool agree = o.status_ready == o.ready_all;
        return (o.ready_current >= target && agree && o.status_ready >= target) || !o.problems.empty();
      },
      deadline);
  if (absl::IsCancelled(st)) {
    if (op.hand_over_requested() && !op.cancel_requested()) return;
    v1::Failure f;
    f.set_reason(v1::FAILURE_REASON_CANCELLED);
    op.AddEvent(absl::StrCat("cancelled; ", w_.Short(), " stays at ", target, " replicas"));
    return op.Finish(v1::OPERATION_STATE_CANCELLED, absl::CancelledError(op.cancel_reason()),
                     &f);
  }
  if (st.ok() && !o.found) {
    return Fail(op, v1::FAILURE_REASON_NOT_FOUND,
                absl::NotFoundError(absl::StrCat(w_.ToString(), " was deleted while it was being scaled")));
  }
  if (st.ok() && taken_over) {
    absl::Status error = absl::AbortedError(absl::StrCat(w_.Short(), " was set to ", o.spec_replicas,
                                                         " replicas by someone else while herd scaled it to ", target));
    op.AddEvent(std::string(error.message()));
    return Fail(op, v1::FAILURE_REASON_CONFLICT, error);
  }
  if (st.ok() && !o.problems.empty() && !down) {
    absl::Status error;
    v1::Failure f = FailureForProblems(o.problems, &error);
    op.AddEvent(std::string(error.message()));
    return op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
  }
  if (!st.ok()) {
    absl::Status error;
    v1::Failure f;
    if (down) {
      f.set_reason(v1::FAILURE_REASON_DEADLINE_EXCEEDED);
      error = absl::DeadlineExceededError(absl::StrCat("not scaled down within ", absl::FormatDuration(limit), ": ",
                                                       o.total, " pods left, ", target, " wanted"));
    } else {
      f = FailureForDeadline(o.not_ready, o.running_not_ready,
                             absl::StrCat("not scaled up within ", absl::FormatDuration(limit), ": ", o.ready_current,
                                          "/", target, " pods ready"),
                             &error);
    }
    op.AddEvent(std::string(error.message()));
    return op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
  }
  op.AddTiming(down ? "old-pods-terminated" : "pods-ready", env.clock.Now() - t0);
  op.AddEvent(down ? absl::StrCat(w_.Short(), " scaled down to ", target, ": the removed pods are gone")
                   : absl::StrCat(w_.Short(), " at ", target, " replicas, all Ready"));
  op.Finish(v1::OPERATION_STATE_SUCCEEDED);
}

// Restores one HPA if its hold has ended; true when this call restored it.
absl::StatusOr<bool> RestoreOne(ops::EngineEnv& env, const std::string& ns, const std::string& name, absl::Time now) {
  absl::Status last;
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto current = env.kube.Get(kube::kHorizontalPodAutoscalers, ns, name);
    if (!current.ok()) {
      if (absl::IsNotFound(current.status())) return false;
      return current.status();
    }
    Json obj = *std::move(current);
    Json annotations = obj["metadata"].value("annotations", Json::object());
    // Restored by someone else, or held again for longer, since the list.
    if (!annotations.contains(kHpaRestoreAtAnnotation)) return false;
    auto at = k8s::ParseTime(annotations.value(kHpaRestoreAtAnnotation, ""));
    if (at.ok() && *at > now) return false;
    Json original = Json::parse(annotations.value(kHpaOriginalAnnotation, ""), nullptr, false);
    if (!at.ok() || !original.is_object() || !original.value("max", Json()).is_number_integer()) {
      return absl::DataLossError(absl::StrCat("HorizontalPodAutoscaler ", ns, "/", name, " has unreadable ",
                                              kHpaOriginalAnnotation, "/", kHpaRestoreAtAnnotation,
                                              " annotations; set its bounds and remove them by hand"));
    }
    if (original.value("min", Json()).is_number_integer()) {
      obj["spec"]["minReplicas"] = original["min"];
    } else {
      obj["spec"].erase("minReplicas");
    }
    obj["spec"]["maxReplicas"] = original["max"];
    obj["metadata"]["annotations"].erase(kHpaOriginalAnnotation);
    obj["metadata"]["annotations"].erase(kHpaRestoreAtAnnotation);
    auto written = env.kube.Update(kube::kHorizontalPodAutoscalers, ns, obj);
    if (written.ok()) {
      log::Info("restored the bounds of a HorizontalPodAutoscaler",
                {{"namespace", ns}, {"hpa", name}, {"min", original.value("min", 1)}, {"max", original["max"].get<int>()}});
      return true;
    }
    last = written.status();
    if (absl::IsNotFound(last)) return false;
    if (!kube::IsConflict(last)) return last;
  }
  return last;
}

}  // namespace

absl::StatusOr<int> RestoreExpiredHpaHolds(ops::EngineEnv& env, absl::Time now) {
  // Only where herdd is to look (--namespaces): it may not list the rest.
  std::vector<Json> hpas;
  for (const std::string& ns : env.informers.NamespacesFor("")) {
    auto list = env.kube.ListAll(kube::kHorizontalPodAutoscalers, ns);
    if (!list.ok()) return list.status();
    for (Json& h : list->items) hpas.push_back(std::move(h));
  }
  int restored = 0;
  absl::Status first_error;
  for (const Json& h : hpas) {
    const Json annotations = h["metadata"].value("annotations", Json::object());
    if (!annotations.contains(kHpaRestoreAtAnnotation)) continue;
    auto at = k8s::ParseTime(annotations.value(kHpaRestoreAtAnnotation, ""));
    if (at.ok() && *at > now) continue;
    auto done = RestoreOne(env, h["metadata"].value("namespace", ""), h["metadata"].value("name", ""), now);
    if (!done.ok()) {
      log::Warn("cannot restore a HorizontalPodAutoscaler's bounds", {{"error", done.status()}});
      if (first_error.ok()) first_error = done.status();
      continue;
    }
    restored += *done ? 1 : 0;
  }
  if (!first_error.ok()) return first_error;
  return restored;
}

absl::StatusOr<std::unique_ptr<ops::Engine>> NewScaleEngine(const v1::ScaleRequest& request) {
  auto w = ops::ParseWorkloadName(request.workload(), {"deployments", "statefulsets"});
  if (!w.ok()) return w.status();
  if (request.change_case() == v1::ScaleRequest::CHANGE_NOT_SET) {
    return absl::InvalidArgumentError("give the new count (replicas) or a change to it (delta)");
  }
  if (request.change_case() == v1::ScaleRequest::kReplicas && request.replicas() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("replicas cannot be negative (got ", request.replicas(), ")"));
  }
  if (request.min_replicas() < 0 || request.max_replicas() < 0) {
    return absl::InvalidArgumentError("min_replicas and max_replicas cannot be negative (0 means no bound)");
  }
  if (request.min_replicas() > 0 && request.max_replicas() > 0 && request.min_replicas() > request.max_replicas()) {
    return absl::InvalidArgumentError(absl::StrCat("min_replicas ", request.min_replicas(), " is above max_replicas ",
                                                   request.max_replicas()));
  }
  if (request.has_hpa_hold() && ops::FromProto(request.hpa_hold()) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("hpa_hold cannot be negative");
  }
  if (request.change_case() == v1::ScaleRequest::kReplicas) {
    // Absolute counts can be checked against the bounds without the cluster.
    bool below = request.min_replicas() > 0 && request.replicas() < request.min_replicas();
    bool above = request.max_replicas() > 0 && request.replicas() > request.max_replicas();
    if (below || above) {
      return absl::InvalidArgumentError(absl::StrCat(
          request.replicas(), " replicas is outside the bounds [", request.min_replicas(), ", ",
          request.max_replicas() > 0 ? absl::StrCat(request.max_replicas()) : "no maximum", "] given with the request"));
    }
  }
  return std::unique_ptr<ops::Engine>(new ScaleEngine(*w, request));
}

}  // namespace herd::engines
