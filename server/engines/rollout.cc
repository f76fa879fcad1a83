#include "server/engines/rollout.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/image.h"
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
  // The template (and a rollback's), herd's annotations and strategy in
  // patches; a StatefulSet's broken pods deleted so its update can go on.
  std::vector<v1::Permission> Writes() const override {
    std::vector<v1::Permission> out = {ops::Permit("patch", *w_.resource, w_.ns, w_.name)};
    if (!deployment()) out.push_back(ops::Permit("delete", kube::kPods, w_.ns));
    return out;
  }

 private:
  bool deployment() const { return w_.resource == &kube::kDeployments; }
  v1::RolloutStrategy strategy() const {
    v1::RolloutStrategy s = is_undo_ ? undo_.strategy() : req_.strategy();
    return s == v1::ROLLOUT_STRATEGY_UNSPECIFIED ? v1::ROLLOUT_STRATEGY_FAST : s;
  }
  bool no_rollback() const { return !is_undo_ && req_.no_rollback(); }
  // The template the rollout wants, given the workload as it is now
  // (an undo reads the revisions `from` there).
  absl::StatusOr<Json> DesiredTemplate(ops::EngineEnv& env, const Json& workload, ReadFrom from = ReadFrom::kApi);
  // Undo: the template of the revision to go back to.
  // `found`: its number; `revision_name` (StatefulSets): its ControllerRevision.
  absl::StatusOr<Json> RevisionTemplate(ops::EngineEnv& env, const Json& workload, int64_t revision, int64_t* found,
                                        std::string* revision_name = nullptr, ReadFrom from = ReadFrom::kApi);
  // The request's deadline, else the workload's progressDeadlineSeconds,
  // else `fallback` (EngineSettings::default_deadline).
  absl::Duration Deadline(const Json& workload, absl::Duration fallback) const;

  // Writes `tmpl` with herd's annotations (and, FAST, its strategy) in one
  // request, so the cluster never shows herd's marks without the template.
  // Returns the generation the write produced.
  absl::StatusOr<int64_t> WriteTemplate(ops::EngineEnv& env, LiveOperation& op, const Json& workload,
                                        const Json& tmpl);
  // FAST on a Deployment that does not use Recreate.
  bool Fast(const Json& workload) const {
    return deployment() && strategy() == v1::ROLLOUT_STRATEGY_FAST && !IsRecreate(workload);
  }
  // The JSON patch operations that add herd's annotations to `workload`
  // and, FAST, switch it to maxSurge 100 %, maxUnavailable 0 (its own
  // strategy saved unless already saved).
  Json MarkOps(const Json& workload, LiveOperation& op) const;
  // The workload's template, as herd compares it with the one it writes.
  Json TemplateOf(const Json& workload) const {
    Json t = workload["spec"].value("template", Json::object());
    return deployment() ? StripHash(std::move(t)) : t;
  }
  // Judged on the caches, which count only once they show the generation
  // herd's last write produced (`min_generation`).
  Observation Observe(ops::EngineEnv& env, const std::string& uid, absl::Time now, int64_t min_generation);
  // Waits until the rollout to `want` completes or fails. `superseded` is
  // set when the workload's template, once the cache shows herd's write,
  // is no longer `want` (someone else changed it).
  absl::Status AwaitCompletion(ops::EngineEnv& env, LiveOperation& op, const std::string& uid, absl::Time t0,
                               absl::Time deadline, bool rolling_back, const Json& want, Observation* last,
                               bool* superseded);
  absl::Status RestoreStrategy(ops::EngineEnv& env, LiveOperation& op) {
    return WriteAt(env, op, "rollout.restore-strategy", [&] { return engines::RestoreStrategy(env, w_); });
  }
  // The revision number the workload runs now (0 when it has none yet).
  int64_t CurrentRevision(ops::EngineEnv& env, const Json& workload);
  // Decides the template to roll back to and records it (phase
  // "rollback-writing"); false when the operation ended instead.
  absl::Status DecideRollback(ops::EngineEnv& env, LiveOperation& op, const Json& workload);
  // Writes the recorded rollback template unless the workload has it
  // already; StatefulSets also lose their broken pods.
  absl::Status WriteRollback(ops::EngineEnv& env, LiveOperation& op, const std::string& uid);
  // StatefulSets (OrderedReady) never replace a pod that is not Ready: a
  // rolling update stops at it for good (Kubernetes' "forced rollback"
  // case). Deletes the owned pods that are not Ready, not terminating and
  // not of revision `keep`, each with its uid, so they come back at it.
  absl::Status DeleteBrokenPods(ops::EngineEnv& env, LiveOperation& op, const std::string& uid,
                                const std::string& keep);
  // A rollout of a StatefulSet: once the controller has seen the new
  // template, the pods of earlier revisions that are not Ready (a broken
  // version being fixed) go, or the update would wait on them for ever.
  void UnblockStatefulSetUpdate(ops::EngineEnv& env, LiveOperation& op, const std::string& uid, absl::Time deadline);

  WorkloadName w_;
  v1::RolloutRequest req_;
  v1::UndoRequest undo_;
  bool is_undo_ = false;
};

absl::Duration RolloutEngine::Deadline(const Json& workload, absl::Duration fallback) const {
  if (!is_undo_ && req_.has_deadline()) {
    absl::Duration d = ops::FromProto(req_.deadline());
    if (d > absl::ZeroDuration()) return d;
  }
  return ProgressDeadline(workload, fallback);
}

absl::StatusOr<Json> RolloutEngine::RevisionTemplate(ops::EngineEnv& env, const Json& workload, int64_t revision,
                                                     int64_t* found, std::string* revision_name, ReadFrom from) {
  const std::string uid = workload["metadata"].value("uid", "");
  if (deployment()) {
    auto rs = ListObjects(env, kube::kReplicaSets, w_.ns, {}, from);
    if (!rs.ok()) return rs.status();
    int64_t current = RevisionOf(workload);
    const Json* best = nullptr;
    int64_t best_rev = 0;
    for (const Json& r : *rs) {
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
  // StatefulSets keep their history in ControllerRevisions, whose
  // templates the cache does not keep: always from the API.
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
  if (revision_name) *revision_name = (*best)["metadata"].value("name", "");
  Json data = (*best).value("data", Json::object());
  Json tmpl = data.value("spec", Json::object()).value("template", Json());
  if (!tmpl.is_object()) return absl::DataLossError(absl::StrCat("revision ", best_rev, " of ", w_.Short(), " has no template"));
  tmpl.erase("$patch");
  return tmpl;
}

absl::StatusOr<Json> RolloutEngine::DesiredTemplate(ops::EngineEnv& env, const Json& workload, ReadFrom from) {
  if (is_undo_) {
    int64_t found = 0;
    return RevisionTemplate(env, workload, undo_.to_revision(), &found, nullptr, from);
  }
  Json tmpl = workload["spec"]["template"];
  if (deployment()) tmpl = StripHash(tmpl);
  std::set<std::string> names;
  const std::set<std::string> tagged(req_.tag_containers().begin(), req_.tag_containers().end());
  // The image a container gets: named in images, or its own with the tag
  // (idempotent: a resumed rollout computes the same template again).
  auto apply = [&](Json& c, bool init) {
    const std::string name = c.value("name", "");
    names.insert(name);
    if (auto it = req_.images().find(name); it != req_.images().end()) c["image"] = it->second;
    if (!req_.tag().empty() && (tagged.empty() ? !init : tagged.count(name) > 0)) {
      c["image"] = k8s::WithTag(c.value("image", ""), req_.tag());
    }
  };
  for (auto& c : tmpl["spec"]["containers"]) apply(c, false);
  if (tmpl["spec"].contains("initContainers")) {
    for (auto& c : tmpl["spec"]["initContainers"]) apply(c, true);
  }
  for (const auto& [name, image] : req_.images()) {
    if (!names.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat(w_.Short(), " has no container \"", name, "\" (it has: ",
                                                     absl::StrJoin(names, ", "), ")"));
    }
  }
  for (const std::string& name : tagged) {
    if (!names.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("tag_containers: ", w_.Short(), " has no container \"", name,
                                                     "\" (it has: ", absl::StrJoin(names, ", "), ")"));
    }
  }
  return tmpl;
}

absl::StatusOr<v1::Plan> RolloutEngine::Prepare(ops::EngineEnv& env) {
  if (!is_undo_) {
    if (req_.tag().empty() && !req_.tag_containers().empty()) {
      return absl::InvalidArgumentError("tag_containers needs a tag");
    }
    if (req_.images().empty() && req_.tag().empty() && !req_.restart()) {
      return absl::InvalidArgumentError("nothing to roll out: give CONTAINER=IMAGE pairs, a tag, or ask for a restart");
    }
    if (!req_.tag().empty() && !req_.images().empty()) {
      return absl::InvalidArgumentError("give images or a tag, not both");
    }
    if (!req_.tag().empty()) {
      if (absl::Status st = k8s::CheckImageTag(req_.tag()); !st.ok()) return st;
    }
    for (const auto& [name, image] : req_.images()) {
      if (name.empty() || image.empty() || image.find_first_of(" \t\n") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("\"", name, "=", image, "\" is not CONTAINER=IMAGE"));
      }
    }
  } else if (undo_.to_revision() < 0) {
    return absl::InvalidArgumentError("to_revision must be 0 (the previous revision) or a revision number");
  }
  // Planned from the cache: Run decides on the workload as the API has it.
  auto wl = GetWorkload(env, w_, ReadFrom::kCache);
  if (!wl.ok()) return wl.status();
  auto tmpl = DesiredTemplate(env, *wl, ReadFrom::kCache);
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
  std::vector<kube::ObjectPtr> own;
  auto sel = k8s::LabelSelector::FromJson((*wl)["spec"].value("selector", Json()));
  auto pods = sel.ok() ? ListObjects(env, kube::kPods, w_.ns, *sel, ReadFrom::kCache)
                       : absl::StatusOr<std::vector<Json>>(sel.status());
  if (pods.ok()) {
    for (Json& p : *pods) {
      auto* a = plan.add_pods();
      a->set_pod(PodName(p));
      a->set_action("replace");
      own.push_back(std::make_shared<const Json>(std::move(p)));
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

Json RolloutEngine::MarkOps(const Json& workload, LiveOperation& op) const {
  Json annotations = {{kOperationAnnotation, OperationId(op)},
                      {kPreviousRevisionAnnotation, op.Checkpoint("previous_revision")}};
  Json out = Json::array();
  if (Fast(workload)) {
    Json merge = FastRolloutPatch(workload, OperationId(op));
    for (const auto& [k, v] : merge["metadata"]["annotations"].items()) annotations[k] = v;
    out.push_back({{"op", "add"}, {"path", "/spec/strategy"}, {"value", merge["spec"]["strategy"]}});
  }
  const Json existing = workload["metadata"].value("annotations", Json());
  if (existing.is_object()) {
    for (const auto& [k, v] : annotations.items()) {
      out.push_back({{"op", "add"}, {"path", "/metadata/annotations/" + JsonPointerToken(k)}, {"value", v}});
    }
  } else {
    out.push_back({{"op", "add"}, {"path", "/metadata/annotations"}, {"value", annotations}});
  }
  return out;
}

absl::StatusOr<int64_t> RolloutEngine::WriteTemplate(ops::EngineEnv& env, LiveOperation& op, const Json& workload,
                                                      const Json& tmpl) {
  // One JSON patch: the whole template is replaced (a merge patch would
  // merge the container lists), herd's annotations are added one by one
  // (others' stay), and FAST switches the strategy.
  if (deployment() && strategy() == v1::ROLLOUT_STRATEGY_FAST && IsRecreate(workload)) {
    op.AddEvent("the deployment uses Recreate: keeping it (old pods stop before new ones start)");
  }
  Json ops_patch = Json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", tmpl}}});
  for (auto& o : MarkOps(workload, op)) ops_patch.push_back(std::move(o));
  absl::Time t0 = env.clock.Now();
  auto written = WriteAt(env, op, "rollout.template", [&] {
    return env.kube.Patch(*w_.resource, w_.ns, w_.name, kube::PatchType::kJson, ops_patch.dump());
  });
  if (!written.ok()) return written.status();
  op.AddTiming("api-write", env.clock.Now() - t0);
  return (*written)["metadata"].value("generation", int64_t{0});
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
  // updateRevision names the template only once the controller has seen
  // it; before, every pod is of an earlier one (a crash-looping pod of the
  // revision being replaced is not the new revision's problem).
  std::string update = status.value("observedGeneration", int64_t{0}) >= generation
                           ? status.value("updateRevision", "")
                           : std::string();
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
                                            absl::Time t0, absl::Time deadline, bool rolling_back, const Json& want,
                                            Observation* last, bool* superseded) {
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
        if (want.is_object()) {
          kube::ObjectPtr wl = env.informers.For(*w_.resource, w_.ns).Get(w_.ns, w_.name);
          if (wl && (*wl)["metadata"].value("generation", int64_t{0}) >= min_generation &&
              TemplateOf(*wl) != want) {
            *superseded = true;
            return true;
          }
        }
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
      // A rollback runs to its end whatever the reason for it, a cancel
      // included (a cancel is what started it, and it stays asked for).
      deadline, rolling_back ? ops::Interrupt::kHandOverOnly : ops::Interrupt::kCancelOrHandOver);
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

absl::Status RolloutEngine::DecideRollback(ops::EngineEnv& env, LiveOperation& op, const Json& workload) {
  int64_t previous = 0;
  (void)absl::SimpleAtoi(op.Checkpoint("previous_revision"), &previous);
  int64_t found = 0;
  std::string revision_name;
  auto tmpl = RevisionTemplate(env, workload, previous, &found, &revision_name);
  if (!tmpl.ok()) return tmpl.status();
  op.SetCheckpoint("rollback_template", tmpl->dump());
  op.SetCheckpoint("rollback_revision", std::to_string(found));
  op.SetCheckpoint("rollback_revision_name", revision_name);
  op.SetCheckpoint("phase", "rollback-writing");
  op.AddEvent(absl::StrCat("rolling back to revision ", found));
  return absl::OkStatus();
}

absl::Status RolloutEngine::WriteRollback(ops::EngineEnv& env, LiveOperation& op, const std::string& uid) {
  Json tmpl = Json::parse(op.Checkpoint("rollback_template"), nullptr, false);
  if (!tmpl.is_object()) return absl::DataLossError("the recorded rollback template is unreadable");
  auto wl = Patiently(env, op, [&] { return GetWorkload(env, w_); });
  if (!wl.ok()) return wl.status();
  int64_t generation = (*wl)["metadata"].value("generation", int64_t{0});
  // A rollback keeps availability as the rollout did: FAST, it runs with
  // maxSurge 100 %, maxUnavailable 0 too. The strategy is written again
  // with the template, not assumed still in place: a replica that died
  // after restoring it at the rollout's end (but before recording that
  // end) leaves its adopter a workload with its own strategy, and a cancel
  // recorded meanwhile rolls back from there.
  const bool restrategy = Fast(*wl) && !HasFastStrategy(*wl);
  if (TemplateOf(*wl) != tmpl || restrategy) {
    Json ops_patch = Json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", tmpl}}});
    for (auto& o : MarkOps(*wl, op)) ops_patch.push_back(std::move(o));
    auto written = WriteAt(env, op, "rollout.rollback-template", [&] {
      return env.kube.Patch(*w_.resource, w_.ns, w_.name, kube::PatchType::kJson, ops_patch.dump());
    });
    if (!written.ok()) return written.status();
    generation = (*written)["metadata"].value("generation", int64_t{0});
  }
  op.SetCheckpoint("generation", std::to_string(generation));
  if (!deployment()) {
    // The broken pods are those not of the revision rolled back to.
    if (absl::Status st = DeleteBrokenPods(env, op, uid, op.Checkpoint("rollback_revision_name")); !st.ok()) return st;
  }
  op.SetCheckpoint("phase", "rolling-back");
  return absl::OkStatus();
}

absl::Status RolloutEngine::DeleteBrokenPods(ops::EngineEnv& env, LiveOperation& op, const std::string& uid,
                                             const std::string& keep) {
  auto pods = Patiently(env, op, [&] { return env.kube.ListAll(kube::kPods, w_.ns); });
  if (!pods.ok()) return pods.status();
  for (const Json& p : pods->items) {
    bool owned = false;
    for (const auto& ref : p["metadata"].value("ownerReferences", Json::array())) {
      if (ref.value("uid", "") == uid && ref.value("controller", false)) owned = true;
    }
    std::string hash = p["metadata"].value("labels", Json::object()).value(kRevisionHashLabel, "");
    if (!owned || PodReady(p) || PodTerminating(p) || (!keep.empty() && hash == keep)) continue;
    kube::DeleteOptions o;
    o.precondition_uid = p["metadata"].value("uid", "");
    auto deleted = WriteAt(env, op, "rollout.delete-broken-pod",
                           [&] { return env.kube.Delete(kube::kPods, w_.ns, PodName(p), o); });
    if (!deleted.ok() && !kube::IsNotFound(deleted.status()) && !kube::IsConflict(deleted.status())) {
      return deleted.status();
    }
    if (deleted.ok()) op.AddEvent(absl::StrCat("deleted pod ", PodName(p), ": not Ready, of an earlier revision"));
  }
  return absl::OkStatus();
}

void RolloutEngine::UnblockStatefulSetUpdate(ops::EngineEnv& env, LiveOperation& op, const std::string& uid,
                                             absl::Time deadline) {
  int64_t min_generation = 0;
  (void)absl::SimpleAtoi(op.Checkpoint("generation"), &min_generation);
  std::string update;
  absl::Status seen = ops::AwaitCluster(
      env, op,
      [&] {
        kube::ObjectPtr wl = env.informers.For(*w_.resource, w_.ns).Get(w_.ns, w_.name);
        if (!wl) return true;
        const Json status = (*wl).value("status", Json::object());
        int64_t generation = (*wl)["metadata"].value("generation", int64_t{0});
        if (generation < min_generation || status.value("observedGeneration", int64_t{0}) < generation) return false;
        update = status.value("updateRevision", "");
        return true;
      },
      deadline);
  if (!seen.ok() || update.empty()) return;  // the wait for the rollout says what went wrong
  if (absl::Status st = DeleteBrokenPods(env, op, uid, update); !st.ok()) {
    op.AddEvent(absl::StrCat("cannot delete the pods that hold the update back: ", st.message()));
  }
}

void RolloutEngine::Run(ops::EngineEnv& env, LiveOperation& op, bool /*resumed*/) {
  absl::Time t0 = ops::FromProto(op.Snapshot().create_time());
  auto fail = [&](v1::FailureReason reason, const absl::Status& st) {
    v1::Failure f;
    f.set_reason(reason);
    op.Finish(v1::OPERATION_STATE_FAILED, st, &f);
  };
  env.informers.For(*w_.resource, w_.ns);
  env.informers.For(kube::kPods, w_.ns);
  if (deployment()) env.informers.For(kube::kReplicaSets, w_.ns);
  if (auto st = env.informers.WaitForSync(env.clock.Now() + absl::Seconds(30)); !st.ok()) {
    return fail(v1::FAILURE_REASON_API_ERROR, st);
  }
  auto wl = GetWorkload(env, w_);
  if (!wl.ok()) return fail(ReasonForApiError(wl.status()), wl.status());
  const std::string uid = (*wl)["metadata"].value("uid", "");

  // Crash consistency (CRASH_CONSISTENCY.md): the template to write and the
  // revision to go back to are recorded before the write, and whether the
  // write happened is read off the workload, which carries herd's marks
  // only together with the template (one request).
  std::string phase = op.Checkpoint("phase");
  Json want = Json::parse(op.Checkpoint("template"), nullptr, false);
  if (phase.empty()) {
    auto tmpl = DesiredTemplate(env, *wl);
    if (!tmpl.ok()) return fail(ReasonForApiError(tmpl.status()), tmpl.status());
    want = *std::move(tmpl);
    if (!is_undo_ && req_.restart()) {
      want["metadata"]["annotations"][kRestartAnnotation] = k8s::FormatMicroTime(env.clock.Now());
    }
    op.SetCheckpoint("template", want.dump());
    op.SetCheckpoint("previous_revision", std::to_string(CurrentRevision(env, *wl)));
    if (want == TemplateOf(*wl)) {
      // Nothing to write; done once the workload runs it everywhere.
      op.AddEvent(absl::StrCat(w_.Short(), " already has this template: waiting until it runs everywhere"));
      op.SetCheckpoint("generation", std::to_string((*wl)["metadata"].value("generation", int64_t{0})));
      op.SetCheckpoint("phase", "rolling-out");
    } else {
      op.SetCheckpoint("phase", "writing");
      if (!PersistBeforeWrite(op)) return;
    }
    phase = op.Checkpoint("phase");
  }
  if (phase == "writing") {
    if (TemplateOf(*wl) == want) {
      op.AddEvent(absl::StrCat("the new template was already written to ", w_.Short()));
      op.SetCheckpoint("generation", std::to_string((*wl)["metadata"].value("generation", int64_t{0})));
    } else {
      auto generation = WriteTemplate(env, op, *wl, want);
      if (!generation.ok()) {
        return fail(kube::IsConflict(generation.status()) ? v1::FAILURE_REASON_CONFLICT : ReasonForApiError(generation.status()),
                    generation.status());
      }
      op.SetCheckpoint("generation", std::to_string(*generation));
      op.AddEvent(absl::StrCat("new template written to ", w_.Short()));
    }
    op.SetCheckpoint("phase", "rolling-out");
    phase = "rolling-out";
  }
  absl::Duration limit = Deadline(*wl, env.settings.default_deadline);
  absl::Time deadline = t0 + limit;

  v1::Failure failure;
  absl::Status error;
  bool cancelled = false;
  if (phase == "rolling-out") {
    if (!deployment()) UnblockStatefulSetUpdate(env, op, uid, deadline);
    Observation o;
    bool superseded = false;
    absl::Status st = AwaitCompletion(env, op, uid, t0, deadline, false, want, &o, &superseded);
    if (absl::IsCancelled(st) && op.hand_over_requested() && !op.cancel_requested()) return;  // another replica finishes it
    if (st.ok() && superseded) {
      (void)RestoreStrategy(env, op);
      absl::Status changed = absl::AbortedError(absl::StrCat(
          w_.Short(), " was changed by someone else during the rollout: its template is no longer the one herd wrote"));
      op.AddEvent(std::string(changed.message()));
      return fail(v1::FAILURE_REASON_CONFLICT, changed);
    }
    if (absl::IsCancelled(st)) {
      cancelled = true;
      failure.set_reason(v1::FAILURE_REASON_CANCELLED);
      error = absl::CancelledError(op.cancel_reason());
    } else if (st.ok() && o.complete()) {
      if (auto rs = RestoreStrategy(env, op); !rs.ok()) {
        log::Warn("restoring the strategy after a rollout failed", {{"op", op.name()}, {"error", rs}});
      }
      op.AddEvent(absl::StrCat(w_.Short(), " rolled out: ", o.desired, " new pods ready, old pods gone"));
      if (!deployment()) {
        // A StatefulSet's revision is its ControllerRevision's number, which
        // the observations (from the caches) do not carry.
        auto now = GetWorkload(env, w_);
        int64_t revision = now.ok() ? CurrentRevision(env, *now) : 0;
        if (revision > 0) op.Update([&](v1::Operation& x) { x.set_revision(revision); });
      }
      return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
    } else {
      // Why it failed, for the caller to branch on.
      if (!o.problems.empty()) {
        failure = FailureForProblems(env, w_.ns, o.problems, &error);
      } else {
        failure = FailureForDeadline(o.not_ready, o.updated > 0 && o.started > o.ready,
                                     absl::StrCat("not rolled out within ", absl::FormatDuration(limit), ": ", o.ready,
                                                  "/", o.desired, " new pods ready, ", o.remaining, " old pods left"),
                                     &error);
      }
      op.AddEvent(std::string(error.message()));
    }
    auto end_without_rollback = [&] {
      (void)RestoreStrategy(env, op);
      op.Finish(cancelled ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_FAILED, error, &failure);
    };
    if (no_rollback()) return end_without_rollback();
    auto current = Patiently(env, op, [&] { return GetWorkload(env, w_); });
    absl::Status decided =
        current.ok() ? Patiently(env, op, [&] { return DecideRollback(env, op, *current); }) : current.status();
    if (!decided.ok()) {
      op.AddEvent(absl::StrCat("cannot roll back: ", decided.message()));
      return end_without_rollback();
    }
    op.SetCheckpoint("failure", ProtoJson(failure));
    op.SetCheckpoint("error", std::string(error.message()));
    op.SetCheckpoint("cancelled", cancelled ? "true" : "");
    if (!PersistBeforeWrite(op)) return;
    phase = "rollback-writing";
  }
  if (phase == "rollback-writing" || phase == "rolling-back") {
    if (failure.reason() == v1::FAILURE_REASON_UNSPECIFIED) {
      // Resumed mid-rollback: what went wrong was saved.
      (void)google::protobuf::util::JsonStringToMessage(op.Checkpoint("failure"), &failure);
      error = absl::FailedPreconditionError(op.Checkpoint("error"));
      cancelled = op.Checkpoint("cancelled") == "true";
    }
    if (phase == "rollback-writing") {
      if (absl::Status st = WriteRollback(env, op, uid); !st.ok()) {
        op.AddEvent(absl::StrCat("cannot roll back: ", st.message()));
        (void)RestoreStrategy(env, op);
        return op.Finish(cancelled ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_FAILED, error, &failure);
      }
    }
    Json back = Json::parse(op.Checkpoint("rollback_template"), nullptr, false);
    Observation o;
    bool superseded = false;
    // The rollback gets a deadline of its own: the rollout's has passed.
    // It brings back what served before, so a short deadline the caller
    // gave the rollout does not cut it short: at least the default one.
    const absl::Duration rollback_limit = std::max(limit, env.settings.default_deadline);
    absl::Status st =
        AwaitCompletion(env, op, uid, t0, env.clock.Now() + rollback_limit, true, back, &o, &superseded);
    if (absl::IsCancelled(st) && op.hand_over_requested()) return;
    (void)RestoreStrategy(env, op);
    if (st.ok() && superseded) {
      op.AddEvent(absl::StrCat(w_.Short(), " was changed by someone else during the rollback"));
      return op.Finish(v1::OPERATION_STATE_FAILED,
                       absl::FailedPreconditionError(absl::StrCat(
                           error.message(), "; the rollback was interrupted: someone else changed the template")),
                       &failure);
    }
    if (!st.ok() && !absl::IsCancelled(st)) {
      op.AddEvent(absl::StrCat("rollback did not complete: ", st.message()));
      return op.Finish(v1::OPERATION_STATE_FAILED,
                       absl::FailedPreconditionError(absl::StrCat(error.message(), "; the rollback did not complete either")),
                       &failure);
    }
    op.AddEvent("rolled back: the previous version is serving");
    return op.Finish(cancelled ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_ROLLED_BACK, error, &failure);
  }
  fail(v1::FAILURE_REASON_UNSPECIFIED, absl::DataLossError(absl::StrCat("the recorded phase \"", phase, "\" is unknown")));
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
