#include "server/engines/purge.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "server/engines/budgets.h"
#include "server/engines/deployment_util.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"

namespace herd::engines {
namespace {

using ops::LiveOperation;
using ops::WorkloadName;

constexpr char kPurgedAtAnnotation[] = "herd.dev/purgedAt";
constexpr char kDeletionCostAnnotation[] = "controller.kubernetes.io/pod-deletion-cost";
// Low enough that the ReplicaSet controller removes these pods before any
// other (the cost is an int32; ordinary pods have 0).
constexpr char kDeletionCost[] = "-1000000";

// A pod chosen for replacement when the operation started. The uid tells
// it from a replacement of the same name (StatefulSets).
struct OldPod {
  std::string name;
  std::string uid;
  absl::Time created = absl::InfinitePast();
};

enum class GroupKind { kDeployment, kStatefulSet, kOther, kNone };

// The selected pods of one controlling workload.
struct Group {
  GroupKind kind = GroupKind::kNone;
  std::string controller_kind;  // the controller's kind, for kOther
  std::string name;             // the Deployment, StatefulSet or other controller
  std::string uid;
  bool all_pods = false;        // the selection is every pod the workload runs
  std::vector<OldPod> pods;     // oldest first
  std::vector<kube::ObjectPtr> objects;  // the pods as selected (not kept in checkpoints)

  std::string key() const {
    switch (kind) {
      case GroupKind::kDeployment:
        return absl::StrCat("deployments/", name);
      case GroupKind::kStatefulSet:
        return absl::StrCat("statefulsets/", name);
      case GroupKind::kOther:
        return absl::StrCat(controller_kind, "/", name);
      case GroupKind::kNone:
        break;
    }
    return "pods without a controller";
  }
  // Whether a controller brings deleted pods back.
  bool replaced() const {
    if (kind == GroupKind::kDeployment || kind == GroupKind::kStatefulSet) return true;
    return kind == GroupKind::kOther && (controller_kind == "ReplicaSet" || controller_kind == "DaemonSet" ||
                                         controller_kind == "ReplicationController");
  }

  Json ToJson() const {
    Json pods_json = Json::array();
    for (const auto& p : pods) {
      pods_json.push_back({{"name", p.name}, {"uid", p.uid}, {"created", k8s::FormatTime(p.created)}});
    }
    return {{"kind", static_cast<int>(kind)}, {"controllerKind", controller_kind}, {"name", name},
            {"uid", uid},   {"all", all_pods},                  {"pods", pods_json}};
  }
  static Group FromJson(const Json& j) {
    Group g;
    g.kind = static_cast<GroupKind>(j.value("kind", 3));
    g.controller_kind = j.value("controllerKind", "");
    g.name = j.value("name", "");
    g.uid = j.value("uid", "");
    g.all_pods = j.value("all", false);
    for (const auto& p : j.value("pods", Json::array())) {
      auto t = k8s::ParseTime(p.value("created", ""));
      g.pods.push_back({p.value("name", ""), p.value("uid", ""), t.ok() ? *t : absl::InfinitePast()});
    }
    return g;
  }
};

struct Selection {
  std::vector<Group> groups;  // by key
  int matched = 0;            // running pods the request picks, old enough or not
};

const Json* ControllerRef(const Json& obj) {
  const Json& meta = obj["metadata"];
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return nullptr;
  for (const auto& ref : meta["ownerReferences"]) {
    if (ref.value("controller", false)) return &ref;
  }
  return nullptr;
}

std::string Uid(const Json& obj) { return obj["metadata"].value("uid", ""); }

// The state of one Run, shared by its steps.
struct Ctx {
  ops::EngineEnv& env;
  LiveOperation& op;
  std::string ns;
  std::vector<Group> groups;   // the pods to replace (or, BURN, delete)
  int32_t ready_done = 0;      // replacements Ready in groups already done
  kube::Informer* pods = nullptr;
  kube::Informer* rss = nullptr;
  kube::Informer* deployments = nullptr;
  kube::Informer* sets = nullptr;
  kube::Informer* budgets = nullptr;

  bool Present(const OldPod& p) const {
    kube::ObjectPtr c = pods->Get(ns, p.name);
    return c && Uid(*c) == p.uid;
  }
  bool Running(const OldPod& p) const {
    kube::ObjectPtr c = pods->Get(ns, p.name);
    return c && Uid(*c) == p.uid && !PodTerminating(*c);
  }
  void Progress(int32_t ready_now) {
    int32_t total = 0, present = 0, down = 0;
    for (const auto& g : groups) {
      for (const auto& p : g.pods) {
        ++total;
        bool here = Present(p);
        present += here ? 1 : 0;
        down += here && Running(p) ? 0 : 1;
      }
    }
    op.Update([&](v1::Operation& o) {
      auto* pr = o.mutable_progress();
      pr->set_desired(total);
      pr->set_ready(ready_done + ready_now);
      pr->set_remaining(present);
      pr->set_killed(down);
    });
  }
  // Ends the operation as cancelled, unless it is being handed over (then
  // it only stops). Always false: the Run stops.
  bool Stop(const std::string& what) {
    if (op.hand_over_requested() && !op.cancel_requested()) return false;
    v1::Failure f;
    f.set_reason(v1::FAILURE_REASON_CANCELLED);
    op.AddEvent(absl::StrCat("cancelled", what.empty() ? "" : "; ", what));
    op.Finish(v1::OPERATION_STATE_CANCELLED, absl::CancelledError(op.cancel_reason()), &f);
    return false;
  }
  bool Failed(const v1::Failure& f, const absl::Status& error) {
    op.AddEvent(std::string(error.message()));
    op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
    return false;
  }
  bool Failed(v1::FailureReason reason, const absl::Status& error) {
    v1::Failure f;
    f.set_reason(reason);
    return Failed(f, error);
  }
};

class PurgeEngine : public ops::Engine {
 public:
  PurgeEngine(std::optional<WorkloadName> w, v1::PurgeRequest req) : w_(std::move(w)), req_(std::move(req)) {}

  v1::OperationKind kind() const override { return v1::OPERATION_KIND_PURGE; }
  std::string target() const override {
    return w_ ? w_->ToString() : absl::StrCat("namespaces/", req_.namespace_(), "/pods?labelSelector=", req_.label_selector());
  }
  std::string lock_key() const override { return target(); }
  std::string request_json() const override { return ProtoJson(req_); }

  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv& env) override;
  void Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) override;
  std::vector<v1::Permission> Writes() const override { return writes_; }
  // A purge by selector also locks the Deployments and StatefulSets of
  // the pods it picked (it writes their templates and counts), as a
  // purge of the workload would: no other operation runs on them meanwhile.
  std::map<std::string, std::string> InitialCheckpoint() const override {
    if (w_ || !prepared_locks_) return {};
    return {{"locks", Json(*prepared_locks_).dump()}};
  }
  std::vector<std::string> more_lock_keys(const std::map<std::string, std::string>& checkpoint) const override {
    return LockedWorkloads(checkpoint).value_or(std::vector<std::string>{});
  }

 private:
  std::string ns() const { return w_ ? w_->ns : req_.namespace_(); }
  // The workloads a purge by selector locked; nullopt when not known (not
  // a purge by selector, or a record from before it recorded them).
  std::optional<std::vector<std::string>> LockedWorkloads(const std::map<std::string, std::string>& checkpoint) const {
    if (w_) return std::nullopt;
    if (prepared_locks_) return *prepared_locks_;
    auto it = checkpoint.find("locks");
    Json j = it == checkpoint.end() ? Json() : Json::parse(it->second, nullptr, false);
    if (!j.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& k : j) {
      if (k.is_string()) out.push_back(k.get<std::string>());
    }
    return out;
  }
  // The lock of the workload a group belongs to ("" for other groups).
  std::string LockOf(const Group& g) const {
    if (g.kind == GroupKind::kDeployment) return WorkloadName{ns(), &kube::kDeployments, g.name}.ToString();
    if (g.kind == GroupKind::kStatefulSet) return WorkloadName{ns(), &kube::kStatefulSets, g.name}.ToString();
    return "";
  }
  bool burn() const { return req_.mode() == v1::PURGE_MODE_BURN; }
  absl::Duration older_than() const { return req_.has_older_than() ? ops::FromProto(req_.older_than()) : absl::ZeroDuration(); }
  // The pods to replace, by group, read `from` there (Prepare plans on the
  // cache; Run decides, and records, on the API's answer).
  absl::StatusOr<Selection> Select(ops::EngineEnv& env, absl::Time now, ReadFrom from) const;
  // FAST restart (every pod of a Deployment at once) rather than batches.
  bool FastRestart(const Group& g, const Json& deployment) const {
    return g.all_pods && older_than() <= absl::ZeroDuration() && req_.oldest() <= 0 &&
           (req_.batch_size() <= 0 || req_.batch_size() >= static_cast<int32_t>(g.pods.size())) && !IsRecreate(deployment);
  }
  size_t BatchSize(const Group& g) const {
    return req_.batch_size() > 0 ? static_cast<size_t>(req_.batch_size()) : std::max<size_t>(1, g.pods.size());
  }

  // The steps of Run; false when the operation ended or is handed over.
  bool RestartDeployment(Ctx& c, const Group& g);
  bool ReplaceInBatches(Ctx& c, const Group& g);
  bool ReplaceStatefulSetPods(Ctx& c, const Group& g);
  bool Burn(Ctx& c);
  // Evicts a pod, waiting while a budget refuses until `deadline`. OK when
  // the pod is evicted or gone; the refusal when the deadline passed;
  // CANCELLED when the operation was interrupted.
  absl::Status EvictPatiently(Ctx& c, const OldPod& p, absl::Time deadline);
  // Waits until the Deployment runs `replicas` pods (none beyond,
  // terminating ones aside) as the controller has seen.
  absl::Status AwaitSettled(Ctx& c, const std::string& deployment, int32_t replicas, absl::Time deadline);

  std::optional<WorkloadName> w_;
  v1::PurgeRequest req_;
  // A purge by selector: the workload locks Prepare found (see more_lock_keys).
  std::optional<std::vector<std::string>> prepared_locks_;
  // What the writes of the purge Prepare planned need (Writes).
  std::vector<v1::Permission> writes_;
};

absl::StatusOr<Selection> PurgeEngine::Select(ops::EngineEnv& env, absl::Time now, ReadFrom from) const {
  const std::string ns = this->ns();
  const absl::Duration age = older_than();
  auto old_enough = [&](const Json& p) { return age <= absl::ZeroDuration() || PodCreated(p) <= now - age; };
  auto live = [](const Json& p) { return !PodTerminating(p) && !PodFinished(p); };
  auto rs_list = ListObjects(env, kube::kReplicaSets, ns, {}, from);
  if (!rs_list.ok()) return rs_list.status();
  std::map<std::string, const Json*> rs_by_uid;
  for (const Json& rs : *rs_list) rs_by_uid[Uid(rs)] = &rs;

  auto group_of = [&](const Json& pod) {
    Group g;
    const Json* ref = ControllerRef(pod);
    if (!ref) return g;
    g.kind = GroupKind::kOther;
    g.controller_kind = ref->value("kind", "");
    g.name = ref->value("name", "");
    g.uid = ref->value("uid", "");
    if (g.controller_kind == "ReplicaSet") {
      auto it = rs_by_uid.find(g.uid);
      const Json* owner = it == rs_by_uid.end() ? nullptr : ControllerRef(*it->second);
      if (owner && owner->value("kind", "") == "Deployment") {
        g.kind = GroupKind::kDeployment;
        g.name = owner->value("name", "");
        g.uid = owner->value("uid", "");
      }
    } else if (g.controller_kind == "StatefulSet") {
      g.kind = GroupKind::kStatefulSet;
    }
    return g;
  };
  auto add = [](Group& g, const Json& pod) {
    g.pods.push_back({PodName(pod), Uid(pod), PodCreated(pod)});
    g.objects.push_back(std::make_shared<const Json>(pod));
  };
  // Live pods of a Deployment or StatefulSet, to tell whether a selection
  // is all of them.
  auto count_live = [&](const Group& g, const Json& workload) -> absl::StatusOr<int> {
    auto sel = k8s::LabelSelector::FromJson(workload["spec"].value("selector", Json()));
    if (!sel.ok()) return sel.status();
    auto pods = ListObjects(env, kube::kPods, ns, *sel, from);
    if (!pods.ok()) return pods.status();
    int n = 0;
    for (const Json& p : *pods) {
      Group pg = group_of(p);
      if (pg.kind == g.kind && pg.uid == g.uid && live(p)) ++n;
    }
    return n;
  };

  Selection out;
  std::map<std::string, Group> groups;
  if (w_) {
    auto wl = GetWorkload(env, *w_, from);
    if (!wl.ok()) return wl.status();
    Group g;
    g.kind = w_->resource == &kube::kDeployments ? GroupKind::kDeployment : GroupKind::kStatefulSet;
    g.name = w_->name;
    g.uid = Uid(*wl);
    auto sel = k8s::LabelSelector::FromJson((*wl)["spec"].value("selector", Json()));
    if (!sel.ok()) return absl::FailedPreconditionError(absl::StrCat(w_->Short(), " has an unusable selector: ", sel.status().message()));
    auto pods = ListObjects(env, kube::kPods, ns, *sel, from);
    if (!pods.ok()) return pods.status();
    for (const Json& p : *pods) {
      Group pg = group_of(p);
      if (pg.kind != g.kind || pg.uid != g.uid || !live(p)) continue;
      ++out.matched;
      if (old_enough(p)) add(g, p);
    }
    g.all_pods = static_cast<int>(g.pods.size()) == out.matched;
    groups[g.key()] = std::move(g);
  } else {
    auto sel = k8s::LabelSelector::Parse(req_.label_selector());
    if (!sel.ok()) return absl::InvalidArgumentError(absl::StrCat("label_selector: ", sel.status().message()));
    auto pods = ListObjects(env, kube::kPods, ns, *sel, from);
    if (!pods.ok()) return pods.status();
    for (const Json& p : *pods) {
      if (!live(p)) continue;
      ++out.matched;
      if (!old_enough(p)) continue;
      Group pg = group_of(p);
      auto [it, inserted] = groups.emplace(pg.key(), pg);
      add(it->second, p);
    }
    if (out.matched == 0) {
      return absl::NotFoundError(absl::StrCat("no running pods in namespace ", ns, " match \"", req_.label_selector(), "\""));
    }
    for (auto& [key, g] : groups) {
      if (g.kind != GroupKind::kDeployment && g.kind != GroupKind::kStatefulSet) continue;
      auto wl = GetWorkload(
          env, {ns, g.kind == GroupKind::kDeployment ? &kube::kDeployments : &kube::kStatefulSets, g.name}, from);
      if (!wl.ok()) {
        if (kube::IsNotFound(wl.status())) continue;  // being deleted: its pods will not be all of it
        return wl.status();
      }
      auto n = count_live(g, *wl);
      if (!n.ok()) return n.status();
      g.all_pods = static_cast<int>(g.pods.size()) == *n;
    }
  }
  for (auto& [key, g] : groups) {
    if (g.pods.empty()) continue;
    // Oldest first: with batches the longest-running go first.
    std::vector<size_t> order(g.pods.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (g.pods[a].created != g.pods[b].created) return g.pods[a].created < g.pods[b].created;
      return g.pods[a].name < g.pods[b].name;
    });
    Group sorted = g;
    for (size_t i = 0; i < order.size(); ++i) {
      sorted.pods[i] = g.pods[order[i]];
      sorted.objects[i] = g.objects[order[i]];
    }
    if (req_.oldest() > 0 && sorted.pods.size() > static_cast<size_t>(req_.oldest())) {
      sorted.pods.resize(static_cast<size_t>(req_.oldest()));
      sorted.objects.resize(static_cast<size_t>(req_.oldest()));
      sorted.all_pods = false;
    }
    out.groups.push_back(std::move(sorted));
  }
  return out;
}

absl::StatusOr<v1::Plan> PurgeEngine::Prepare(ops::EngineEnv& env) {
  auto sel = Select(env, env.clock.Now(), ReadFrom::kCache);
  if (!sel.ok()) return sel.status();
  if (!w_) {
    std::vector<std::string> locks;
    for (const auto& g : sel->groups) {
      if (std::string k = LockOf(g); !k.empty() && !g.pods.empty()) locks.push_back(k);
    }
    prepared_locks_ = std::move(locks);
  }
  writes_.clear();
  auto may = [this](v1::Permission p) {
    for (const auto& have : writes_) {
      if (have.SerializeAsString() == p.SerializeAsString()) return;
    }
    writes_.push_back(std::move(p));
  };
  v1::Plan plan;
  std::string age = older_than() > absl::ZeroDuration()
                        ? absl::StrCat(" older than ", absl::FormatDuration(older_than()))
                        : "";
  if (req_.oldest() > 0) absl::StrAppend(&age, ", the oldest ", req_.oldest(), w_ ? "" : " of each workload");
  int total = 0, skipped = 0;
  std::vector<std::string> how;
  absl::Duration estimate;
  std::vector<kube::ObjectPtr> all;
  for (const auto& g : sel->groups) all.insert(all.end(), g.objects.begin(), g.objects.end());
  absl::Duration start = TypicalStart(all);
  if (burn()) {
    std::vector<std::string> gone;
    for (const auto& g : sel->groups) {
      for (const auto& p : g.pods) {
        auto* a = plan.add_pods();
        a->set_pod(p.name);
        a->set_action("delete");
        a->set_verdict(g.replaced() ? absl::StrCat("replaced by ", g.key()) : "not replaced: nothing recreates it");
        if (!g.replaced()) gone.push_back(p.name);
        may(ops::Permit("delete", kube::kPods, ns()));
        ++total;
      }
    }
    if (total > 0) {
      plan.add_changes(absl::StrCat("delete ", total, " pod", total == 1 ? "" : "s",
                                    " at once (their own grace periods; PodDisruptionBudgets are not consulted)"));
    }
    how.push_back("every pod deleted at once, then the controllers' replacements awaited Ready");
    if (!gone.empty()) how.push_back(absl::StrCat(gone.size(), " of them will not come back: ", absl::StrJoin(gone, ", ")));
    estimate = start + absl::Seconds(2);
  } else {
    std::optional<Budgets> budgets;
    for (const auto& g : sel->groups) {
      if (g.kind == GroupKind::kDeployment) {
        auto dep = GetWorkload(env, {ns(), &kube::kDeployments, g.name}, ReadFrom::kCache);
        if (!dep.ok()) return dep.status();
        int32_t replicas = (*dep)["spec"].value("replicas", 1);
        for (const auto& p : g.pods) {
          auto* a = plan.add_pods();
          a->set_pod(p.name);
          a->set_action("replace");
        }
        total += static_cast<int>(g.pods.size());
        // The template, herd's annotations and strategy.
        may(ops::Permit("patch", kube::kDeployments, ns(), g.name));
        if (FastRestart(g, *dep)) {
          plan.add_changes(absl::StrCat(g.key(), ": maxSurge 100%, maxUnavailable 0 for the purge (its strategy is restored after)"));
          plan.add_changes(absl::StrCat(g.key(), ": pod template annotation ", kPurgedAtAnnotation, " set to now"));
          how.push_back(absl::StrCat(g.key(), ": every replacement at once, old pods go when all are Ready"));
          estimate += start + absl::Seconds(2);
        } else {
          size_t b = BatchSize(g);
          size_t rounds = (g.pods.size() + b - 1) / b;
          plan.add_changes(absl::StrCat(g.key(), ": spec.replicas ", replicas, " → ", replicas + static_cast<int32_t>(std::min(b, g.pods.size())),
                                        " → ", replicas, " for each of ", rounds, " batch", rounds == 1 ? "" : "es",
                                        " (scale subresource)"));
          plan.add_changes(absl::StrCat(g.key(), ": old pods of each batch annotated ", kDeletionCostAnnotation, "=",
                                        kDeletionCost, " before the scale-down"));
          may(ops::Permit("update", kube::kDeployments, ns(), g.name, "scale"));
          may(ops::Permit("patch", kube::kPods, ns()));
          may(ops::Permit("create", kube::kPods, ns(), "", "eviction"));
          how.push_back(absl::StrCat(g.key(), ": ", rounds, " batch", rounds == 1 ? "" : "es", " of up to ", b,
                                     ", replacements Ready before old pods go",
                                     IsRecreate(*dep) ? " (it uses Recreate, so no template change)" : ""));
          estimate += (start + absl::Seconds(3)) * static_cast<int64_t>(rounds);
        }
      } else if (g.kind == GroupKind::kStatefulSet) {
        if (!budgets) {
          auto loaded = Budgets::Cached(env.informers, env.kube, ns());
          if (!loaded.ok()) return loaded.status();
          budgets = *std::move(loaded);
        }
        // Highest ordinal first, as the purge goes.
        std::vector<size_t> order(g.pods.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          return PodOrdinal(g.name, g.pods[a].name) > PodOrdinal(g.name, g.pods[b].name);
        });
        for (size_t i : order) {
          // Each eviction waits for the previous replacement, so every
          // one is judged against the budget as it is now.
          v1::Plan one;
          budgets->PlanEvictions({*g.objects[i]}, "evict", &one);
          *plan.add_pods() = one.pods(0);
          for (const auto& b : one.budgets()) {
            bool known = false;
            for (auto& have : *plan.mutable_budgets()) {
              if (have.budget() != b.budget()) continue;
              known = true;
              have.set_disruptions_needed(std::max(have.disruptions_needed(), b.disruptions_needed()));
              have.set_blocks(have.blocks() || b.blocks());
            }
            if (!known) *plan.add_budgets() = b;
          }
        }
        total += static_cast<int>(g.pods.size());
        may(ops::Permit("create", kube::kPods, ns(), "", "eviction"));
        plan.add_changes(absl::StrCat(g.key(), ": evict ", g.pods.size(), " pod", g.pods.size() == 1 ? "" : "s",
                                      " one at a time from the highest ordinal"));
        how.push_back(absl::StrCat(g.key(), ": one pod at a time, each replacement Ready before the next eviction"));
        estimate += (start + absl::Seconds(1)) * static_cast<int64_t>(g.pods.size());
      } else {
        for (const auto& p : g.pods) {
          auto* a = plan.add_pods();
          a->set_pod(p.name);
          a->set_action("keep");
          a->set_verdict(g.kind == GroupKind::kNone
                             ? "not replaced: no controller would bring it back (only BURN deletes it)"
                             : absl::StrCat("not replaced: its controller ", g.key(),
                                            " is not a Deployment or StatefulSet (only BURN deletes it)"));
          ++skipped;
        }
      }
    }
  }
  ops::SetDuration(estimate, plan.mutable_estimated_duration());
  std::string what = w_ ? w_->Short() : absl::StrCat("pods matching \"", req_.label_selector(), "\" in namespace ", ns());
  if (total == 0 && skipped == 0) {
    plan.set_summary(absl::StrCat("purge ", what, ": no pods", age, " (", sel->matched, " running): nothing to do"));
    return plan;
  }
  plan.set_summary(absl::StrCat(burn() ? "BURN " : "purge ", what, ": replace ", total, " pod", total == 1 ? "" : "s", age,
                                how.empty() ? "" : absl::StrCat(" (", absl::StrJoin(how, "; "), ")"),
                                skipped > 0 ? absl::StrCat("; ", skipped, " pod", skipped == 1 ? "" : "s",
                                                           " skipped: no Deployment or StatefulSet replaces them")
                                            : ""));
  return plan;
}

absl::Status PurgeEngine::EvictPatiently(Ctx& c, const OldPod& p, absl::Time deadline) {
  std::string reported;
  while (true) {
    kube::DeleteOptions o;
    o.precondition_uid = p.uid;
    absl::Status st = WriteAt(c.env, c.op, "purge.evict", [&] { return c.env.kube.Evict(c.ns, p.name, o); });
    if (st.ok() || kube::IsNotFound(st) || kube::IsConflict(st)) return absl::OkStatus();
    if (!kube::IsTooManyRequests(st)) return st;
    std::string budget = BudgetFromRefusal(st);
    if (std::string key = budget.empty() ? "?" : budget; reported != key) {
      c.op.AddEvent(absl::StrCat("eviction of pod ", p.name, " refused",
                                 budget.empty() ? "" : absl::StrCat(" by PodDisruptionBudget ", budget), ": ",
                                 kube::DisruptionBudgetCause(st), "; waiting"));
      reported = key;
    }
    // Retry when the budget's status has changed and allows a disruption
    // (it changes as pods turn Ready); when the refusal names no budget the
    // cache knows, on the next change of anything watched, but at least
    // once a second.
    kube::ObjectPtr seen = budget.empty() ? nullptr : c.budgets->Get(c.ns, budget);
    std::string seen_rv = seen ? (*seen)["metadata"].value("resourceVersion", "") : "";
    bool first = true;
    absl::Time wake = seen ? deadline : std::min(deadline, c.env.clock.Now() + absl::Seconds(1));
    absl::Status waited = ops::AwaitCluster(
        c.env, c.op,
        [&] {
          bool was_first = first;
          first = false;
          kube::ObjectPtr b = budget.empty() ? nullptr : c.budgets->Get(c.ns, budget);
          if (!b) return !was_first;
          kube::PodDisruptionBudget pdb(b);
          return pdb.resource_version() != seen_rv && pdb.disruptions_allowed() > 0 &&
                 pdb.observed_generation() >= pdb.generation();
        },
        wake);
    if (absl::IsCancelled(waited)) return waited;
    if (c.env.clock.Now() >= deadline) return st;
  }
}

absl::Status PurgeEngine::AwaitSettled(Ctx& c, const std::string& name, int32_t replicas, absl::Time deadline) {
  return ops::AwaitCluster(
      c.env, c.op,
      [&] {
        c.Progress(0);
        kube::ObjectPtr d = c.deployments->Get(c.ns, name);
        if (!d) return true;
        DeploymentPods pods = SplitDeploymentPods(c.env, *d);
        int32_t active = static_cast<int32_t>(pods.current.size());
        for (const auto& p : pods.old) active += PodTerminating(*p) ? 0 : 1;
        const Json status = (*d).value("status", Json::object());
        return status.value("observedGeneration", int64_t{0}) >= (*d)["metadata"].value("generation", int64_t{0}) &&
               active == replicas;
      },
      deadline);
}

bool PurgeEngine::RestartDeployment(Ctx& c, const Group& g) {
  ops::EngineEnv& env = c.env;
  LiveOperation& op = c.op;
  WorkloadName dw{c.ns, &kube::kDeployments, g.name};
  // Checkpoint "restart:<group>": "writing" once the annotation value is
  // chosen and recorded, "written" after the write, "reverting" once a
  // failure (recorded with it) is being undone.
  const std::string ck = absl::StrCat("restart:", g.key());
  absl::Time step0 = env.clock.Now();
  auto dep = GetWorkload(env, dw);
  if (!dep.ok()) return c.Failed(ReasonForApiError(dep.status()), dep.status());
  auto purged_at = [](const Json& d) {
    return d["spec"]["template"].value("metadata", Json::object()).value("annotations", Json::object())
        .value(kPurgedAtAnnotation, Json());
  };
  // Undoes the restart: the annotation as it was makes the old ReplicaSet
  // current again, under maxSurge 100 %, maxUnavailable 0 as the restart
  // ran: the replacements serve until the pods of the old template are
  // Ready again (the old ReplicaSet may have been scaled down already).
  // The strategy is written again with the annotation, not assumed still
  // in place: a replica that died after restoring it at the restart's end
  // (but before recording that end) leaves its adopter a workload with its
  // own strategy, and a cancel recorded meanwhile is carried out from
  // there. The workload's strategy comes back once the revert is done;
  // then the operation ends with what was recorded.
  auto revert_and_end = [&]() -> bool {
    Json prev = Json::parse(op.Checkpoint(ck + ":prev"), nullptr, false);
    if (!prev.is_string()) prev = Json();
    absl::Time revert0 = env.clock.Now();
    auto now = Patiently(env, op, [&] { return GetWorkload(env, dw); });
    absl::StatusOr<int64_t> reverted = absl::UnknownError("unread");
    if (!now.ok()) {
      reverted = now.status();
    } else {
      reverted = (*now)["metadata"].value("generation", int64_t{0});
      if (purged_at(*now) != prev || (!IsRecreate(*now) && !HasFastStrategy(*now))) {
        Json revert = FastRolloutPatch(*now, OperationId(op));
        revert["spec"]["template"]["metadata"]["annotations"][kPurgedAtAnnotation] = prev;
        auto written = WriteAt(env, op, "purge.revert-template", [&] {
          return env.kube.Patch(kube::kDeployments, c.ns, g.name, kube::PatchType::kMerge, revert.dump());
        });
        if (written.ok()) {
          reverted = (*written)["metadata"].value("generation", int64_t{0});
        } else {
          reverted = written.status();
        }
      }
    }
    std::string undo;
    if (reverted.ok()) {
      const absl::Duration limit = ProgressDeadline(*now, env.settings.default_deadline);
      RolloutObservation o;
      bool gone = false;
      // A cancel does not cut the revert short: it is what carries it out.
      absl::Status st = ops::AwaitCluster(
          env, op,
          [&] {
            kube::ObjectPtr d = c.deployments->Get(c.ns, g.name);
            gone = d == nullptr;
            if (gone) return true;
            o = ObserveDeploymentRollout(env, *d, env.clock.Now(), *reverted);
            return o.complete();
          },
          revert0 + limit, ops::Interrupt::kHandOverOnly);
      if (absl::IsCancelled(st)) return false;  // handed over: the adopter reverts again
      if (gone) {
        undo = absl::StrCat(g.key(), " was deleted while its template was put back");
      } else if (st.ok()) {
        undo = "the template is put back: the pods of the old one serve again";
      } else {
        undo = absl::StrCat("the template is put back, but not rolled out within ", absl::FormatDuration(limit), ": ",
                            o.ready, "/", o.desired, " pods of the old one ready");
      }
    } else {
      undo = absl::StrCat("putting the template back failed: ", reverted.status().message());
    }
    (void)WriteAt(env, op, "purge.restore-strategy", [&] { return RestoreStrategy(env, dw); });
    op.AddEvent(undo);
    v1::Failure f;
    (void)google::protobuf::util::JsonStringToMessage(op.Checkpoint(ck + ":failure"), &f);
    int code = 0;
    if (!absl::SimpleAtoi(op.Checkpoint(ck + ":code"), &code) || code == 0) {
      code = static_cast<int>(absl::StatusCode::kFailedPrecondition);
    }
    absl::Status error(static_cast<absl::StatusCode>(code), absl::StrCat(op.Checkpoint(ck + ":error"), "; ", undo));
    op.Finish(f.reason() == v1::FAILURE_REASON_CANCELLED ? v1::OPERATION_STATE_CANCELLED : v1::OPERATION_STATE_FAILED,
              error, &f);
    return false;
  };
  if (op.Checkpoint(ck) == "reverting") return revert_and_end();
  if (op.Checkpoint(ck) != "written") {
    if (op.Checkpoint(ck).empty()) {
      if ((*dep)["spec"].value("paused", false)) {
        return c.Failed(v1::FAILURE_REASON_UNSPECIFIED,
                        absl::FailedPreconditionError(absl::StrCat(g.key(), " is paused: resume it (kubectl rollout resume) and purge again")));
      }
      op.SetCheckpoint(ck + ":prev", purged_at(*dep).dump());
      op.SetCheckpoint(ck + ":value", k8s::FormatMicroTime(env.clock.Now()));
      op.SetCheckpoint(ck, "writing");
      if (!PersistBeforeWrite(op)) return false;
    }
    const std::string value = op.Checkpoint(ck + ":value");
    int64_t generation = (*dep)["metadata"].value("generation", int64_t{0});
    if (purged_at(*dep) != Json(value)) {
      Json patch = FastRolloutPatch(*dep, OperationId(op));
      patch["spec"]["template"]["metadata"]["annotations"][kPurgedAtAnnotation] = value;
      auto written = WriteAt(env, op, "purge.restart-template", [&] {
        return env.kube.Patch(kube::kDeployments, c.ns, g.name, kube::PatchType::kMerge, patch.dump());
      });
      if (!written.ok()) return c.Failed(ReasonForApiError(written.status()), written.status());
      generation = (*written)["metadata"].value("generation", int64_t{0});
      op.AddTiming("api-write", env.clock.Now() - step0);
    }
    op.SetCheckpoint(ck + ":generation", std::to_string(generation));
    op.SetCheckpoint(ck, "written");
    op.AddEvent(absl::StrCat("restarting ", g.key(), ": every replacement at once, old pods go when all are Ready"));
  }
  const Json value = op.Checkpoint(ck + ":value");
  absl::Duration limit = ProgressDeadline(*dep, env.settings.default_deadline);
  int64_t min_generation = 0;
  (void)absl::SimpleAtoi(op.Checkpoint(ck + ":generation"), &min_generation);
  RolloutObservation o;
  bool gone = false;
  bool superseded = false;
  int32_t last_ready = -1, last_remaining = -1;
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        kube::ObjectPtr d = c.deployments->Get(c.ns, g.name);
        if (!d) {
          gone = true;
          return true;
        }
        // Once the cache shows herd's write, another template means someone
        // else changed the Deployment: its rollout is not this restart.
        if ((*d)["metadata"].value("generation", int64_t{0}) >= min_generation && purged_at(*d) != value) {
          superseded = true;
          return true;
        }
        o = ObserveDeploymentRollout(env, *d, env.clock.Now(), min_generation);
        c.Progress(o.ready);
        if (o.ready != last_ready || o.remaining != last_remaining) {
          op.AddEvent(absl::StrCat(g.key(), ": ", o.ready, "/", o.desired, " replacements ready, ", o.remaining,
                                   " old pods left"));
          last_ready = o.ready;
          last_remaining = o.remaining;
        }
        return o.complete() || !o.problems.empty() || o.controller_gave_up;
      },
      step0 + limit);
  if (gone) return c.Failed(v1::FAILURE_REASON_NOT_FOUND, absl::NotFoundError(absl::StrCat(g.key(), " was deleted during the purge")));
  if (superseded) {
    (void)WriteAt(env, op, "purge.restore-strategy", [&] { return RestoreStrategy(env, dw); });
    return c.Failed(v1::FAILURE_REASON_CONFLICT,
                    absl::AbortedError(absl::StrCat(g.key(), " was changed by someone else during the purge: its pod "
                                                             "template is no longer the one herd wrote")));
  }
  if (st.ok() && o.complete()) {
    if (auto rs = WriteAt(env, op, "purge.restore-strategy", [&] { return RestoreStrategy(env, dw); }); !rs.ok()) {
      log::Warn("restoring the strategy after a purge failed", {{"op", op.name()}, {"error", rs}});
    }
    c.ready_done += o.ready;
    op.AddTiming("pods-ready", env.clock.Now() - step0);
    op.AddEvent(absl::StrCat(g.key(), " restarted: ", o.ready, " new pods ready, old pods gone"));
    return true;
  }
  if (absl::IsCancelled(st) && op.hand_over_requested() && !op.cancel_requested()) return false;
  v1::Failure f;
  absl::Status error;
  if (absl::IsCancelled(st)) {
    f.set_reason(v1::FAILURE_REASON_CANCELLED);
    error = absl::CancelledError(op.cancel_reason());
  } else if (!o.problems.empty()) {
    f = FailureForProblems(o.problems, &error);
  } else {
    f = FailureForDeadline(o.not_ready, o.updated > 0 && o.started > o.ready,
                           absl::StrCat(g.key(), " not restarted within ", absl::FormatDuration(limit), ": ", o.ready, "/",
                                        o.desired, " replacements ready"),
                           &error);
  }
  op.SetCheckpoint(ck + ":failure", ProtoJson(f));
  op.SetCheckpoint(ck + ":code", std::to_string(static_cast<int>(error.code())));
  op.SetCheckpoint(ck + ":error", std::string(error.message()));
  op.SetCheckpoint(ck, "reverting");
  if (!PersistBeforeWrite(op)) return false;
  return revert_and_end();
}

bool PurgeEngine::ReplaceInBatches(Ctx& c, const Group& g) {
  ops::EngineEnv& env = c.env;
  LiveOperation& op = c.op;
  WorkloadName dw{c.ns, &kube::kDeployments, g.name};
  const std::string ck_base = absl::StrCat("base:", g.key());
  const std::string ck_evict = absl::StrCat("evict-first:", g.key());
  auto dep = GetWorkload(env, dw);
  if (!dep.ok()) return c.Failed(ReasonForApiError(dep.status()), dep.status());
  absl::Duration limit = ProgressDeadline(*dep, env.settings.default_deadline);
  // Surges go through the write point purge.scale-up, the way back through purge.scale-down.
  int32_t base = 0;
  auto scale = [&](int32_t n) -> absl::Status {
    auto s = WriteAt(env, op, n > base ? "purge.scale-up" : "purge.scale-down",
                     [&] { return env.kube.UpdateScale(kube::kDeployments, c.ns, g.name, n); });
    if (!s.ok()) return absl::Status(s.status().code(), absl::StrCat("scaling ", g.key(), " to ", n, ": ", s.status().message()));
    return absl::OkStatus();
  };
  if (!absl::SimpleAtoi(op.Checkpoint(ck_base), &base)) {
    // Scaling a Deployment in the middle of a rollout spreads the change
    // over its ReplicaSets: the replacements could be of either version.
    int with_pods = 0;
    for (const auto& rs : c.rss->ByOwner(Uid(*dep))) with_pods += (*rs)["spec"].value("replicas", 0) > 0 ? 1 : 0;
    if (with_pods > 1) {
      return c.Failed(v1::FAILURE_REASON_UNSPECIFIED,
                      absl::FailedPreconditionError(absl::StrCat(g.key(), " is in the middle of a rollout (", with_pods,
                                                                 " ReplicaSets have pods); purge it when the rollout is done")));
    }
    base = (*dep)["spec"].value("replicas", 1);
    // The count to come back to, recorded before the first surge changes it.
    op.SetCheckpoint(ck_base, absl::StrCat(base));
    if (!PersistBeforeWrite(op)) return false;
  } else if ((*dep)["spec"].value("replicas", 1) != base) {
    // Adopted between a scale-up and the scale-down: back to the count the
    // Deployment had, then on with what is left.
    op.AddEvent(absl::StrCat("scaling ", g.key(), " back to ", base, " replicas before going on"));
    if (auto st = scale(base); !st.ok()) return c.Failed(ReasonForApiError(st), st);
    absl::Status st = AwaitSettled(c, g.name, base, env.clock.Now() + limit);
    if (absl::IsCancelled(st)) return c.Stop("");
    if (!st.ok()) return c.Failed(v1::FAILURE_REASON_DEADLINE_EXCEEDED, st);
  }
  const size_t batch_size = BatchSize(g);
  while (true) {
    if (op.interrupted()) return c.Stop("");
    std::vector<OldPod> left;
    for (const auto& p : g.pods) {
      if (c.Running(p)) left.push_back(p);
    }
    if (left.empty()) break;
    std::vector<OldPod> batch(left.begin(), left.begin() + static_cast<long>(std::min(batch_size, left.size())));
    const int32_t surge = base + static_cast<int32_t>(batch.size());
    const bool evict_first = op.Checkpoint(ck_evict) == "true";
    absl::Time step0 = env.clock.Now();
    absl::Time deadline = step0 + limit;
    // Replacements are the pods that were not there before the scale-up.
    std::set<std::string> before;
    if (kube::ObjectPtr d = c.deployments->Get(c.ns, g.name)) {
      DeploymentPods pods = SplitDeploymentPods(env, *d);
      for (const auto& p : pods.current) before.insert(Uid(*p));
      for (const auto& p : pods.old) before.insert(Uid(*p));
    }
    if (auto st = scale(surge); !st.ok()) return c.Failed(ReasonForApiError(st), st);
    op.AddEvent(absl::StrCat(g.key(), ": scaled to ", surge, " to start ", batch.size(), " replacement",
                             batch.size() == 1 ? "" : "s", " (", left.size(), " old pods left)"));
    int32_t ready_new = 0;
    int32_t other_count = surge;
    bool seen_surge = false;
    bool gone = false;
    std::vector<v1::PodProblem> problems;
    std::vector<std::string> not_ready;
    bool running_not_ready = false;
    absl::Status st = ops::AwaitCluster(
        env, op,
        [&] {
          kube::ObjectPtr d = c.deployments->Get(c.ns, g.name);
          if (!d) {
            gone = true;
            return true;
          }
          other_count = (*d)["spec"].value("replicas", 1);
          // Until the cache shows our scale-up, an older count is ours.
          if (other_count == surge) seen_surge = true;
          if (other_count != surge) {
            if (seen_surge) return true;
            other_count = surge;
            return false;
          }
          DeploymentPods pods = SplitDeploymentPods(env, *d);
          ready_new = 0;
          problems.clear();
          not_ready.clear();
          running_not_ready = false;
          for (const auto& p : pods.current) {
            if (before.count(Uid(*p))) continue;
            if (PodReady(*p)) {
              ++ready_new;
              continue;
            }
            not_ready.push_back(absl::StrCat(PodName(*p), " (", PodWaitingReason(*p), ")"));
            running_not_ready |= PodStarted(*p);
            if (auto problem = PodFailure(*p, env.settings, env.clock.Now())) problems.push_back(*problem);
          }
          c.Progress(ready_new);
          return ready_new >= static_cast<int32_t>(batch.size()) || !problems.empty();
        },
        deadline);
    if (gone) return c.Failed(v1::FAILURE_REASON_NOT_FOUND, absl::NotFoundError(absl::StrCat(g.key(), " was deleted during the purge")));
    if (!st.ok() || !problems.empty() || other_count != surge) {
      if (absl::IsCancelled(st) && op.hand_over_requested() && !op.cancel_requested()) return false;
      // The old pods are all still there: going back to the count is all
      // it takes to leave the Deployment as it was.
      absl::Status back = scale(base);
      std::string undo = back.ok() ? absl::StrCat(g.key(), " scaled back to ", base)
                                   : absl::StrCat("scaling back failed: ", back.message());
      if (absl::IsCancelled(st)) return c.Stop(undo);
      if (other_count != surge) {
        return c.Failed(v1::FAILURE_REASON_CONFLICT,
                        absl::AbortedError(absl::StrCat(g.key(), " was scaled to ", other_count,
                                                        " by someone else (a HorizontalPodAutoscaler?) while herd had it at ",
                                                        surge, "; ", undo)));
      }
      absl::Status error;
      v1::Failure f = !problems.empty()
                          ? FailureForProblems(problems, &error)
                          : FailureForDeadline(not_ready, running_not_ready,
                                               absl::StrCat(batch.size(), " replacements for ", g.key(), " not Ready within ",
                                                            absl::FormatDuration(limit), ": ", ready_new, " are"),
                                               &error);
      return c.Failed(f, absl::Status(error.code(), absl::StrCat(error.message(), "; ", undo)));
    }
    if (!evict_first) {
      for (const auto& p : batch) {
        Json patch = {{"metadata", {{"annotations", {{kDeletionCostAnnotation, kDeletionCost}}}}}};
        auto marked = WriteAt(env, op, "purge.mark-pod", [&] {
          return env.kube.Patch(kube::kPods, c.ns, p.name, kube::PatchType::kMerge, patch.dump());
        });
        if (!marked.ok() && !kube::IsNotFound(marked.status())) {
          (void)scale(base);
          return c.Failed(ReasonForApiError(marked.status()), marked.status());
        }
      }
    } else {
      for (const auto& p : batch) {
        absl::Status evicted = EvictPatiently(c, p, deadline);
        if (evicted.ok()) continue;
        (void)scale(base);
        if (absl::IsCancelled(evicted)) return c.Stop(absl::StrCat(g.key(), " scaled back to ", base));
        v1::Failure f;
        f.set_reason(kube::IsTooManyRequests(evicted) ? v1::FAILURE_REASON_DISRUPTION_BUDGET : ReasonForApiError(evicted));
        f.set_budget(BudgetFromRefusal(evicted));
        return c.Failed(f, absl::Status(evicted.code(), absl::StrCat("evicting pod ", p.name, ": ", evicted.message())));
      }
    }
    if (auto s = scale(base); !s.ok()) return c.Failed(ReasonForApiError(s), s);
    bool ignored = false;
    st = ops::AwaitCluster(
        env, op,
        [&] {
          c.Progress(static_cast<int32_t>(batch.size()));
          kube::ObjectPtr d = c.deployments->Get(c.ns, g.name);
          if (!d) {
            gone = true;
            return true;
          }
          bool all_gone = std::none_of(batch.begin(), batch.end(), [&](const OldPod& p) { return c.Present(p); });
          DeploymentPods pods = SplitDeploymentPods(env, *d);
          int32_t active = static_cast<int32_t>(pods.current.size());
          for (const auto& p : pods.old) active += PodTerminating(*p) ? 0 : 1;
          const Json status = (*d).value("status", Json::object());
          bool settled = status.value("observedGeneration", int64_t{0}) >= (*d)["metadata"].value("generation", int64_t{0}) &&
                         (*d)["spec"].value("replicas", 1) == base && active == base;
          if (all_gone && settled) return true;
          // The controller is done and an annotated pod still runs: it
          // took other pods (it ignores pod-deletion-cost).
          if (!evict_first && settled &&
              std::any_of(batch.begin(), batch.end(), [&](const OldPod& p) { return c.Running(p); })) {
            ignored = true;
            return true;
          }
          return false;
        },
        deadline);
    if (gone) return c.Failed(v1::FAILURE_REASON_NOT_FOUND, absl::NotFoundError(absl::StrCat(g.key(), " was deleted during the purge")));
    if (absl::IsCancelled(st)) return c.Stop("");
    if (!st.ok()) {
      std::vector<std::string> left_names;
      for (const auto& p : batch) {
        if (c.Present(p)) left_names.push_back(p.name);
      }
      return c.Failed(v1::FAILURE_REASON_DEADLINE_EXCEEDED,
                      absl::DeadlineExceededError(absl::StrCat("old pods of ", g.key(), " not gone within ",
                                                               absl::FormatDuration(limit), ": ",
                                                               absl::StrJoin(left_names, ", "))));
    }
    if (ignored) {
      op.SetCheckpoint(ck_evict, "true");
      op.AddEvent(absl::StrCat("the ReplicaSet controller of ", g.key(),
                               " removed other pods than the ones marked with ", kDeletionCostAnnotation,
                               ": replacing the rest by evicting them after their replacements are Ready"));
      continue;
    }
    c.ready_done += static_cast<int32_t>(batch.size());
    op.AddEvent(absl::StrCat(g.key(), ": replaced ", batch.size(), " old pod", batch.size() == 1 ? "" : "s"));
  }
  op.AddEvent(absl::StrCat(g.key(), ": every selected pod replaced"));
  return true;
}

bool PurgeEngine::ReplaceStatefulSetPods(Ctx& c, const Group& g) {
  ops::EngineEnv& env = c.env;
  LiveOperation& op = c.op;
  WorkloadName sw{c.ns, &kube::kStatefulSets, g.name};
  auto set = GetWorkload(env, sw);
  if (!set.ok()) return c.Failed(ReasonForApiError(set.status()), set.status());
  absl::Duration limit = ProgressDeadline(*set, env.settings.default_deadline);
  std::vector<OldPod> order = g.pods;
  std::sort(order.begin(), order.end(), [&](const OldPod& a, const OldPod& b) {
    return PodOrdinal(g.name, a.name) > PodOrdinal(g.name, b.name);
  });
  for (const auto& p : order) {
    if (op.interrupted()) return c.Stop("");
    absl::Time step0 = env.clock.Now();
    absl::Time deadline = step0 + limit;
    if (c.Running(p)) {
      absl::Status st = EvictPatiently(c, p, deadline);
      if (absl::IsCancelled(st)) return c.Stop("");
      if (kube::IsTooManyRequests(st)) {
        std::string budget = BudgetFromRefusal(st);
        std::string cause = kube::DisruptionBudgetCause(st);
        v1::Failure f;
        f.set_reason(v1::FAILURE_REASON_DISRUPTION_BUDGET);
        f.set_budget(budget);
        auto* problem = f.add_pods();
        problem->set_pod(p.name);
        problem->set_reason("DisruptionBudget");
        problem->set_message(cause);
        return c.Failed(f, absl::FailedPreconditionError(absl::StrCat(
                               "PodDisruptionBudget ", budget.empty() ? "(unnamed)" : budget, " refused to let pod ",
                               p.name, " go for ", absl::FormatDuration(limit), ": ", cause)));
      }
      if (!st.ok()) {
        return c.Failed(ReasonForApiError(st),
                        absl::Status(st.code(), absl::StrCat("evicting pod ", p.name, ": ", st.message())));
      }
      op.AddEvent(absl::StrCat("evicted pod ", p.name));
    }
    const int ordinal = PodOrdinal(g.name, p.name);
    std::optional<v1::PodProblem> problem;
    std::string why;
    bool started = false;
    absl::Status st = ops::AwaitCluster(
        env, op,
        [&] {
          c.Progress(0);
          kube::ObjectPtr cur = c.pods->Get(c.ns, p.name);
          if (!cur || Uid(*cur) == p.uid || PodTerminating(*cur)) {
            // No replacement comes for an ordinal the set no longer has.
            kube::ObjectPtr s = c.sets->Get(c.ns, g.name);
            why = cur ? "Terminating" : "Pending";
            return !cur && (!s || ordinal >= (*s)["spec"].value("replicas", 1));
          }
          if (PodReady(*cur)) return true;
          why = PodWaitingReason(*cur);
          started = PodStarted(*cur);
          problem = PodFailure(*cur, env.settings, env.clock.Now());
          return problem.has_value();
        },
        deadline);
    if (absl::IsCancelled(st)) return c.Stop("");
    if (problem) {
      absl::Status error;
      v1::Failure f = FailureForProblems({*problem}, &error);
      return c.Failed(f, error);
    }
    if (!st.ok()) {
      absl::Status error;
      v1::Failure f = FailureForDeadline({absl::StrCat(p.name, " (", why, ")")}, started,
                                         absl::StrCat("the replacement of pod ", p.name, " is not Ready after ",
                                                      absl::FormatDuration(limit)),
                                         &error);
      return c.Failed(f, error);
    }
    c.ready_done++;
    op.AddEvent(absl::StrCat("pod ", p.name, " replaced and Ready"));
  }
  return true;
}

bool PurgeEngine::Burn(Ctx& c) {
  ops::EngineEnv& env = c.env;
  LiveOperation& op = c.op;
  // Replacements are told from the pods that were there by their creation
  // time, which the API gives to the second: anything created since a
  // second before the first deletion is new (a controller may replace the
  // first pods before the last is deleted).
  // The start is recorded with the selection, before the first delete
  // (Run); the deletes carry the selected pods' uids, so repeating them
  // after an adoption never touches a replacement.
  absl::Time started_at, burned_at;
  if (auto saved = k8s::ParseTime(op.Checkpoint("burn-started")); saved.ok()) started_at = *saved;
  if (auto saved = k8s::ParseTime(op.Checkpoint("burned")); saved.ok()) {
    burned_at = *saved;
    if (started_at == absl::Time()) started_at = burned_at;
  } else {
    absl::Time t0 = env.clock.Now();
    if (started_at == absl::Time()) started_at = t0;
    int deleted = 0;
    for (const auto& g : c.groups) {
      for (const auto& p : g.pods) {
        kube::DeleteOptions o;
        o.precondition_uid = p.uid;
        auto out = WriteAt(env, op, "purge.burn-delete", [&] { return env.kube.Delete(kube::kPods, c.ns, p.name, o); });
        if (!out.ok() && !kube::IsNotFound(out.status()) && !kube::IsConflict(out.status())) {
          return c.Failed(ReasonForApiError(out.status()),
                          absl::Status(out.status().code(),
                                       absl::StrCat("deleting pod ", p.name, ": ", out.status().message(), " (", deleted,
                                                    " pods deleted before stay deleted)")));
        }
        ++deleted;
      }
    }
    burned_at = env.clock.Now();
    op.SetCheckpoint("burned", k8s::FormatMicroTime(burned_at));
    op.AddTiming("api-write", burned_at - t0);
    op.AddEvent(absl::StrCat("deleted ", deleted, " pod", deleted == 1 ? "" : "s"));
  }
  std::set<std::string> old_uids;
  for (const auto& g : c.groups) {
    for (const auto& p : g.pods) old_uids.insert(p.uid);
  }
  // The pods that now run for a group's controller.
  auto owned = [&](const Group& g) -> std::vector<kube::ObjectPtr> {
    if (g.kind == GroupKind::kDeployment) {
      kube::ObjectPtr d = c.deployments->Get(c.ns, g.name);
      if (!d) return {};
      DeploymentPods pods = SplitDeploymentPods(env, *d);
      pods.current.insert(pods.current.end(), pods.old.begin(), pods.old.end());
      return pods.current;
    }
    return c.pods->ByOwner(g.uid);
  };
  absl::Time deadline = burned_at + env.settings.default_deadline;
  std::vector<v1::PodProblem> problems;
  std::vector<std::string> waiting;
  bool running_not_ready = false;
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        problems.clear();
        waiting.clear();
        running_not_ready = false;
        int32_t ready = 0;
        bool done = true;
        for (const auto& g : c.groups) {
          if (!g.replaced()) {
            for (const auto& p : g.pods) {
              if (c.Present(p)) {
                done = false;
                waiting.push_back(absl::StrCat(p.name, " (Terminating)"));
              }
            }
            continue;
          }
          int32_t fresh_ready = 0;
          for (const auto& p : owned(g)) {
            if (old_uids.count(Uid(*p)) || PodTerminating(*p) || PodCreated(*p) < started_at - absl::Seconds(1)) continue;
            if (PodReady(*p)) {
              ++fresh_ready;
              continue;
            }
            waiting.push_back(absl::StrCat(PodName(*p), " (", PodWaitingReason(*p), ")"));
            running_not_ready |= PodStarted(*p);
            if (auto problem = PodFailure(*p, env.settings, env.clock.Now())) problems.push_back(*problem);
          }
          ready += std::min<int32_t>(fresh_ready, static_cast<int32_t>(g.pods.size()));
          if (fresh_ready < static_cast<int32_t>(g.pods.size())) done = false;
        }
        c.Progress(ready);
        return done || !problems.empty();
      },
      deadline);
  if (absl::IsCancelled(st)) return c.Stop("the pods are deleted already");
  if (!problems.empty()) {
    absl::Status error;
    v1::Failure f = FailureForProblems(problems, &error);
    return c.Failed(f, error);
  }
  if (!st.ok()) {
    absl::Status error;
    v1::Failure f = FailureForDeadline(waiting, running_not_ready,
                                       absl::StrCat("replacements not Ready within ",
                                                    absl::FormatDuration(env.settings.default_deadline)),
                                       &error);
    return c.Failed(f, error);
  }
  op.AddTiming("pods-ready", env.clock.Now() - burned_at);
  return true;
}

void PurgeEngine::Run(ops::EngineEnv& env, LiveOperation& op, bool /*resumed*/) {
  Ctx c{env, op, ns()};
  c.pods = &env.informers.For(kube::kPods, c.ns);
  c.rss = &env.informers.For(kube::kReplicaSets, c.ns);
  c.deployments = &env.informers.For(kube::kDeployments, c.ns);
  c.sets = &env.informers.For(kube::kStatefulSets, c.ns);
  c.budgets = &env.informers.For(kube::kPodDisruptionBudgets, c.ns);
  if (auto st = env.informers.WaitForSync(env.clock.Now() + absl::Seconds(30)); !st.ok()) {
    return Fail(op, v1::FAILURE_REASON_API_ERROR, st);
  }

  // What to replace is decided once, when the operation starts, and kept:
  // replacements must never be taken for old pods.
  std::vector<Group> skipped;
  Json saved = Json::parse(op.Checkpoint("selection"), nullptr, false);
  std::vector<Group> all;
  if (saved.is_array()) {
    for (const auto& g : saved) all.push_back(Group::FromJson(g));
  } else {
    absl::Time t0 = ops::FromProto(op.Snapshot().create_time());
    auto sel = Select(env, t0, ReadFrom::kApi);
    if (!sel.ok()) return Fail(op, ReasonForApiError(sel.status()), sel.status());
    Json list = Json::array();
    for (const auto& g : sel->groups) list.push_back(g.ToJson());
    op.SetCheckpoint("selection", list.dump());
    if (burn()) op.SetCheckpoint("burn-started", k8s::FormatMicroTime(env.clock.Now()));
    all = sel->groups;
    // Once pods are replaced, selecting again would pick the replacements:
    // the selection is in the record before anything changes.
    bool writes = false;
    for (const auto& g : all) {
      writes = writes || (!g.pods.empty() && (burn() || g.kind == GroupKind::kDeployment || g.kind == GroupKind::kStatefulSet));
    }
    if (writes && !PersistBeforeWrite(op)) return;
  }
  // A purge by selector changes only the workloads it locked: one whose
  // pods came to match after the call is left alone.
  std::optional<std::vector<std::string>> locked = LockedWorkloads(op.checkpoint());
  for (auto& g : all) {
    if (locked && !LockOf(g).empty() && std::find(locked->begin(), locked->end(), LockOf(g)) == locked->end()) {
      op.AddEvent(absl::StrCat(g.key(), " was left alone: its pods came to match after the call, and it was not locked"));
      continue;
    }
    if (burn() || g.kind == GroupKind::kDeployment || g.kind == GroupKind::kStatefulSet) {
      c.groups.push_back(std::move(g));
    } else {
      skipped.push_back(std::move(g));
    }
  }
  if (!skipped.empty()) {
    std::vector<std::string> names;
    for (const auto& g : skipped) {
      for (const auto& p : g.pods) names.push_back(absl::StrCat(p.name, " (", g.key(), ")"));
    }
    op.AddEvent(absl::StrCat("skipped ", names.size(), " pod", names.size() == 1 ? "" : "s",
                             " that no Deployment or StatefulSet replaces (only BURN deletes them): ",
                             absl::StrJoin(names, ", ")));
  }
  c.Progress(0);
  if (c.groups.empty()) {
    op.AddEvent(older_than() > absl::ZeroDuration()
                    ? absl::StrCat("no pods older than ", absl::FormatDuration(older_than()), ": nothing to do")
                    : "no pods to replace: nothing to do");
    return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
  }
  if (burn()) {
    if (!Burn(c)) return;
  } else {
    std::set<std::string> done;
    Json d = Json::parse(op.Checkpoint("done"), nullptr, false);
    if (d.is_array()) {
      for (const auto& k : d) {
        if (k.is_string()) done.insert(k.get<std::string>());
      }
    }
    for (const auto& g : c.groups) {
      if (done.count(g.key())) continue;
      // A group already begun (a restart written or being reverted, a
      // surge) is taken to its end or undone by its own step, also when
      // the operation was cancelled before this replica adopted it.
      const bool begun = !op.Checkpoint(absl::StrCat("restart:", g.key())).empty() ||
                         !op.Checkpoint(absl::StrCat("base:", g.key())).empty();
      if (op.interrupted() && !begun) {
        c.Stop("");
        return;
      }
      bool ok = true;
      if (g.kind == GroupKind::kStatefulSet) {
        ok = ReplaceStatefulSetPods(c, g);
      } else {
        auto dep = c.deployments->Get(c.ns, g.name);
        if (!dep) {
          op.AddEvent(absl::StrCat(g.key(), " is gone: nothing to replace"));
        } else {
          // An adopted operation goes on the way it started.
          bool restart = !op.Checkpoint(absl::StrCat("restart:", g.key())).empty() ||
                         (op.Checkpoint(absl::StrCat("base:", g.key())).empty() && FastRestart(g, *dep));
          ok = restart ? RestartDeployment(c, g) : ReplaceInBatches(c, g);
        }
      }
      if (!ok) return;
      done.insert(g.key());
      op.SetCheckpoint("done", Json(std::vector<std::string>(done.begin(), done.end())).dump());
    }
  }
  c.Progress(0);
  int total = 0;
  for (const auto& g : c.groups) total += static_cast<int>(g.pods.size());
  op.AddEvent(absl::StrCat("purged: ", total, " pod", total == 1 ? "" : "s", " replaced",
                           skipped.empty() ? "" : absl::StrCat(", ", skipped.size(), " group(s) skipped")));
  op.Finish(v1::OPERATION_STATE_SUCCEEDED);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ops::Engine>> NewPurgeEngine(const v1::PurgeRequest& request) {
  std::optional<WorkloadName> w;
  if (!request.workload().empty()) {
    if (!request.namespace_().empty() || !request.label_selector().empty()) {
      return absl::InvalidArgumentError("give a workload or a namespace and label_selector, not both");
    }
    auto parsed = ops::ParseWorkloadName(request.workload(), {"deployments", "statefulsets"});
    if (!parsed.ok()) return parsed.status();
    w = *parsed;
  } else {
    if (request.namespace_().empty() || request.label_selector().empty()) {
      return absl::InvalidArgumentError(
          "give a workload (namespaces/NS/deployments/NAME or …/statefulsets/NAME) or a namespace and a non-empty "
          "label_selector");
    }
    auto sel = k8s::LabelSelector::Parse(request.label_selector());
    if (!sel.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("label_selector \"", request.label_selector(), "\": ", sel.status().message()));
    }
  }
  if (request.has_older_than() && ops::FromProto(request.older_than()) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("older_than cannot be negative");
  }
  if (request.batch_size() < 0) return absl::InvalidArgumentError("batch_size cannot be negative");
  if (request.oldest() < 0) return absl::InvalidArgumentError("oldest cannot be negative");
  return std::unique_ptr<ops::Engine>(new PurgeEngine(std::move(w), request));
}

}  // namespace herd::engines
