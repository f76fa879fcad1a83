#include "server/engines/kill.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/selector.h"
#include "server/engines/budgets.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"

namespace herd::engines {
namespace {

using ops::LiveOperation;

// One pod to kill, as chosen when the operation started. The uid keeps a
// resumed operation from killing a StatefulSet's replacement of the same name.
struct Victim {
  std::string name;
  std::string uid;
  int64_t grace = 30;
};

Json VictimsToJson(const std::vector<Victim>& victims) {
  Json out = Json::array();
  for (const auto& v : victims) out.push_back({{"name", v.name}, {"uid", v.uid}, {"grace", v.grace}});
  return out;
}

std::vector<Victim> VictimsFromJson(const std::string& text) {
  std::vector<Victim> out;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (!v.is_object()) continue;
    out.push_back({v.value("name", ""), v.value("uid", ""), v.value("grace", int64_t{30})});
  }
  return out;
}

class KillEngine : public ops::Engine {
 public:
  explicit KillEngine(v1::KillRequest req) : req_(std::move(req)) {}

  v1::OperationKind kind() const override { return v1::OPERATION_KIND_KILL; }
  std::string target() const override {
    if (req_.pods_size() == 1) return absl::StrCat("namespaces/", req_.namespace_(), "/pods/", req_.pods(0));
    if (req_.pods_size() > 1) {
      return absl::StrCat("namespaces/", req_.namespace_(), "/pods?names=", absl::StrJoin(req_.pods(), ","));
    }
    return absl::StrCat("namespaces/", req_.namespace_(), "/pods?labelSelector=", req_.label_selector());
  }
  // Killing pods does not change a workload's spec, so it takes no
  // workload's lock: killing a stuck pod during a rollout is allowed.
  std::string lock_key() const override { return ""; }
  std::string request_json() const override { return ProtoJson(req_); }

  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv& env) override;
  // The pods chosen (names, uids, grace periods): a kill adopted after its
  // first eviction kills those, never pods that match the request later.
  std::map<std::string, std::string> InitialCheckpoint() const override;
  std::vector<v1::Permission> Writes() const override {
    std::vector<v1::Permission> out;
    for (const Victim& v : VictimsOf(prepared_.value_or(std::vector<Json>{}))) {
      out.push_back(req_.force() ? ops::Permit("delete", kube::kPods, req_.namespace_(), v.name)
                                 : ops::Permit("create", kube::kPods, req_.namespace_(), v.name, "eviction"));
    }
    return out;
  }
  void Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) override;

 private:
  std::vector<Victim> VictimsOf(const std::vector<Json>& pods) const {
    std::vector<Victim> out;
    for (const Json& p : pods) {
      out.push_back({PodName(p), p["metadata"].value("uid", ""),
                     req_.has_grace_period_seconds() ? req_.grace_period_seconds() : PodGracePeriod(p)});
    }
    return out;
  }
  int max_pods(const ops::EngineSettings& s) const { return req_.max_pods() > 0 ? req_.max_pods() : s.default_max_kill; }
  // The pods the request selects, by name; NOT_FOUND or FAILED_PRECONDITION
  // (the guard) with nothing touched.
  absl::StatusOr<std::vector<Json>> Select(ops::EngineEnv& env) const;
  // Fails `op` for a budget's refusal to evict `pod`.
  void FailOnRefusal(ops::EngineEnv& env, LiveOperation& op, const Json* pod, const std::string& name,
                     const absl::Status& st, int killed);

  v1::KillRequest req_;
  // The pods Prepare chose, for Run to kill without asking again.
  std::optional<std::vector<Json>> prepared_;
};

absl::StatusOr<std::vector<Json>> KillEngine::Select(ops::EngineEnv& env) const {
  const std::string& ns = req_.namespace_();
  std::vector<Json> pods;
  if (req_.pods_size() > 0) {
    std::set<std::string> names(req_.pods().begin(), req_.pods().end());
    std::vector<std::string> missing;
    // The cache answers without a round trip; a pod it does not hold yet is
    // asked for. (A cached pod since replaced under the same name fails the
    // eviction's uid precondition: the pod chosen is gone, as asked.)
    kube::Informer& cache = env.informers.For(kube::kPods, ns);
    const bool cached = cache.HasSynced();
    for (const auto& name : names) {
      if (kube::ObjectPtr p = cached ? cache.Get(ns, name) : nullptr) {
        pods.push_back(*p);
        continue;
      }
      auto pod = env.kube.Get(kube::kPods, ns, name);
      if (pod.ok()) {
        pods.push_back(*std::move(pod));
      } else if (kube::IsNotFound(pod.status())) {
        missing.push_back(name);
      } else {
        return pod.status();
      }
    }
    if (!missing.empty()) {
      return absl::NotFoundError(absl::StrCat(missing.size() == 1 ? "pod " : "pods ", absl::StrJoin(missing, ", "),
                                              " not found in namespace ", ns, "; nothing was killed"));
    }
  } else {
    auto list = env.kube.ListAll(kube::kPods, ns, {.label_selector = req_.label_selector()});
    if (!list.ok()) return list.status();
    int terminating = 0;
    for (auto& p : list->items) {
      if (PodTerminating(p)) {
        ++terminating;
        continue;
      }
      pods.push_back(std::move(p));
    }
    if (pods.empty()) {
      return absl::NotFoundError(absl::StrCat("no pods in namespace ", ns, " match \"", req_.label_selector(), "\"",
                                              terminating > 0 ? absl::StrCat(" (", terminating, " already terminating)")
                                                              : ""));
    }
  }
  int limit = max_pods(env.settings);
  if (static_cast<int>(pods.size()) > limit) {
    return absl::FailedPreconditionError(absl::StrCat("would kill ", pods.size(), " pods, more than max_pods ", limit,
                                                      "; raise max_pods to go on"));
  }
  std::sort(pods.begin(), pods.end(), [](const Json& a, const Json& b) { return PodName(a) < PodName(b); });
  return pods;
}

absl::StatusOr<v1::Plan> KillEngine::Prepare(ops::EngineEnv& env) {
  auto pods = Select(env);
  if (!pods.ok()) return pods.status();
  v1::Plan plan;
  const std::string& ns = req_.namespace_();
  int64_t grace = 0;
  for (const Json& p : *pods) grace = std::max(grace, req_.has_grace_period_seconds() ? req_.grace_period_seconds() : PodGracePeriod(p));
  if (req_.force()) {
    for (const Json& p : *pods) {
      auto* a = plan.add_pods();
      a->set_pod(PodName(p));
      a->set_action("delete");
      a->set_verdict("not consulted: force deletes without eviction");
      plan.add_changes(absl::StrCat("delete pod ", PodName(p)));
    }
    plan.set_summary(absl::StrCat("delete ", pods->size(), " pod", pods->size() == 1 ? "" : "s", " in namespace ", ns,
                                  " (force: PodDisruptionBudgets are not consulted)"));
  } else {
    // A kill must answer fast: the plan comes from the caches, the API
    // server judges each eviction anyway.
    auto budgets = Budgets::Cached(env.informers, env.kube, ns);
    if (!budgets.ok()) return budgets.status();
    int refused = budgets->PlanEvictions(*pods, "evict", &plan);
    for (const Json& p : *pods) plan.add_changes(absl::StrCat("evict pod ", PodName(p)));
    std::vector<std::string> blocking;
    for (const auto& b : plan.budgets()) {
      if (b.blocks()) blocking.push_back(b.budget());
    }
    plan.set_summary(absl::StrCat(
        "evict ", pods->size(), " pod", pods->size() == 1 ? "" : "s", " in namespace ", ns,
        " (PodDisruptionBudgets honoured)",
        refused == 0 ? ""
                     : absl::StrCat("; ", refused, " eviction", refused == 1 ? "" : "s", " would be refused",
                                    blocking.empty() ? "" : absl::StrCat(" by ", absl::StrJoin(blocking, ", ")),
                                    " and the kill would stop there")));
  }
  if (req_.has_grace_period_seconds()) {
    plan.add_changes(absl::StrCat("grace period ", req_.grace_period_seconds(), "s"));
  }
  // Pods that stop on SIGTERM go within a couple of seconds; the grace
  // period is the most it can take.
  ops::SetDuration(std::min(absl::Seconds(2), absl::Seconds(grace)) + absl::Seconds(1), plan.mutable_estimated_duration());
  prepared_ = *std::move(pods);
  return plan;
}

std::map<std::string, std::string> KillEngine::InitialCheckpoint() const {
  if (!prepared_) return {};
  return {{"pods", VictimsToJson(VictimsOf(*prepared_)).dump()}};
}

void KillEngine::FailOnRefusal(ops::EngineEnv& env, LiveOperation& op, const Json* pod, const std::string& name,
                               const absl::Status& st, int killed) {
  std::string cause = kube::DisruptionBudgetCause(st);
  std::string budget = BudgetFromRefusal(st);
  if (budget.empty()) {
    // The refusal did not say which budget: find the one that selects the pod.
    auto budgets = Budgets::Load(env.kube, req_.namespace_());
    auto current = env.kube.Get(kube::kPods, req_.namespace_(), name);
    if (budgets.ok() && (current.ok() || pod)) {
      auto selecting = budgets->Selecting(current.ok() ? *current : *pod);
      if (selecting.size() == 1) budget = selecting[0]->name();
    }
  }
  v1::Failure f;
  f.set_reason(v1::FAILURE_REASON_DISRUPTION_BUDGET);
  f.set_budget(budget);
  auto* p = f.add_pods();
  p->set_pod(name);
  p->set_reason("DisruptionBudget");
  p->set_message(cause.empty() ? std::string(st.message()) : cause);
  absl::Status error = absl::FailedPreconditionError(absl::StrCat(
      "eviction of pod ", name, " refused by PodDisruptionBudget ", budget.empty() ? "(unnamed)" : budget, ": ",
      cause.empty() ? std::string(st.message()) : cause,
      killed > 0 ? absl::StrCat("; the ", killed, " pod", killed == 1 ? "" : "s", " killed before stay killed") : ""));
  op.AddEvent(std::string(error.message()));
  op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
}

void KillEngine::Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) {
  const std::string& ns = req_.namespace_();
  // Started now so its first list runs while the pods are being killed.
  auto& informer = env.informers.For(kube::kPods, ns);
  absl::Time t0 = env.clock.Now();

  // The victims are in the record from its creation (InitialCheckpoint);
  // an engine run without Prepare chooses them here and records them
  // before the first kill.
  std::vector<Victim> victims = VictimsFromJson(op.Checkpoint("pods"));
  std::vector<Json> selected;
  if (prepared_) selected = *std::move(prepared_);
  if (victims.empty()) {
    if (selected.empty()) {
      auto pods = Select(env);
      if (!pods.ok()) return Fail(op, ReasonForApiError(pods.status()), pods.status());
      selected = *std::move(pods);
    }
    victims = VictimsOf(selected);
    op.SetCheckpoint("pods", VictimsToJson(victims).dump());
    if (!PersistBeforeWrite(op)) return;
  }
  std::set<std::string> killed;
  {
    Json k = Json::parse(op.Checkpoint("killed"), nullptr, false);
    if (k.is_array()) {
      for (const auto& n : k) {
        if (n.is_string()) killed.insert(n.get<std::string>());
      }
    }
  }
  const int total = static_cast<int>(victims.size());
  op.Update([&](v1::Operation& o) {
    o.mutable_progress()->set_desired(total);
    o.mutable_progress()->set_killed(static_cast<int32_t>(killed.size()));
  });

  for (size_t i = 0; i < victims.size(); ++i) {
    const Victim& v = victims[i];
    if (killed.count(v.name)) continue;
    if (op.cancel_requested()) {
      v1::Failure f;
      f.set_reason(v1::FAILURE_REASON_CANCELLED);
      return op.Finish(v1::OPERATION_STATE_CANCELLED,
                       absl::CancelledError(absl::StrCat("cancelled after killing ", killed.size(), " of ", total,
                                                         " pods: ", op.cancel_reason())),
                       &f);
    }
    if (op.hand_over_requested()) return;
    kube::DeleteOptions o;
    if (req_.has_grace_period_seconds()) o.grace_period_seconds = req_.grace_period_seconds();
    o.precondition_uid = v.uid;
    absl::Status st = WriteAt(env, op, "kill.pod", [&] {
      return req_.force() ? env.kube.Delete(kube::kPods, ns, v.name, o).status() : env.kube.Evict(ns, v.name, o);
    });
    if (st.ok()) {
      op.AddEvent(absl::StrCat(req_.force() ? "deleted" : "evicted", " pod ", v.name));
    } else if (kube::IsNotFound(st) || (kube::IsConflict(st) && !v.uid.empty())) {
      // Gone already, or replaced by a new pod of the same name (the uid
      // precondition failed): either way the pod chosen is no more.
      op.AddEvent(absl::StrCat("pod ", v.name, " was already gone"));
    } else if (!req_.force() && kube::IsTooManyRequests(st)) {
      return FailOnRefusal(env, op, i < selected.size() ? &selected[i] : nullptr, v.name, st,
                           static_cast<int>(killed.size()));
    } else {
      op.AddEvent(absl::StrCat("cannot ", req_.force() ? "delete" : "evict", " pod ", v.name, ": ", st.message()));
      return Fail(op, ReasonForApiError(st),
                  absl::Status(st.code(), absl::StrCat(req_.force() ? "deleting" : "evicting", " pod ", v.name, ": ",
                                                       st.message(), killed.empty() ? "" : absl::StrCat(
                                                           "; the ", killed.size(), " pods killed before stay killed"))));
    }
    killed.insert(v.name);
    op.SetCheckpoint("killed", Json(std::vector<std::string>(killed.begin(), killed.end())).dump());
    op.Update([&](v1::Operation& x) { x.mutable_progress()->set_killed(static_cast<int32_t>(killed.size())); });
  }
  if (!resumed) op.AddTiming("api-write", env.clock.Now() - t0);

  int64_t grace = 0;
  for (const auto& v : victims) grace = std::max(grace, v.grace);
  // The grace period, then time for the kubelet to report and the API to
  // remove the pod.
  absl::Time deadline = env.clock.Now() + absl::Seconds(grace) + absl::Seconds(30);
  if (auto st = informer.WaitForSync(deadline); !st.ok()) return Fail(op, v1::FAILURE_REASON_API_ERROR, st);
  std::vector<std::string> left;
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        left.clear();
        for (const auto& v : victims) {
          kube::ObjectPtr p = informer.Get(ns, v.name);
          if (p && (v.uid.empty() || (*p)["metadata"].value("uid", "") == v.uid)) left.push_back(v.name);
        }
        op.Update([&](v1::Operation& x) { x.mutable_progress()->set_remaining(static_cast<int32_t>(left.size())); });
        return left.empty();
      },
      deadline);
  if (absl::IsCancelled(st)) {
    if (op.hand_over_requested() && !op.cancel_requested()) return;
    v1::Failure f;
    f.set_reason(v1::FAILURE_REASON_CANCELLED);
    return op.Finish(v1::OPERATION_STATE_CANCELLED,
                     absl::CancelledError(absl::StrCat("cancelled while the killed pods terminate: ", op.cancel_reason())),
                     &f);
  }
  if (!st.ok()) {
    v1::Failure f;
    f.set_reason(v1::FAILURE_REASON_DEADLINE_EXCEEDED);
    for (const auto& name : left) {
      auto* p = f.add_pods();
      p->set_pod(name);
      p->set_reason("Terminating");
    }
    absl::Status error = absl::DeadlineExceededError(absl::StrCat(
        left.size(), " killed pod", left.size() == 1 ? " is" : "s are", " still terminating: ", absl::StrJoin(left, ", ")));
    op.AddEvent(std::string(error.message()));
    return op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
  }
  if (!resumed) op.AddTiming("old-pods-terminated", env.clock.Now() - t0);
  op.AddEvent(absl::StrCat(total == 1 ? "the pod is" : absl::StrCat("all ", total, " pods are"), " gone"));
  op.Finish(v1::OPERATION_STATE_SUCCEEDED);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ops::Engine>> NewKillEngine(const v1::KillRequest& request) {
  if (request.namespace_().empty()) return absl::InvalidArgumentError("namespace is required");
  if (request.pods_size() == 0 && request.label_selector().empty()) {
    return absl::InvalidArgumentError("name the pods to kill or give a label_selector");
  }
  if (request.pods_size() > 0 && !request.label_selector().empty()) {
    return absl::InvalidArgumentError("give pod names or a label_selector, not both");
  }
  for (const auto& name : request.pods()) {
    if (name.empty() || name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a pod name"));
    }
  }
  if (!request.label_selector().empty()) {
    auto sel = k8s::LabelSelector::Parse(request.label_selector());
    if (!sel.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("label_selector \"", request.label_selector(), "\": ", sel.status().message()));
    }
  }
  if (request.max_pods() < 0) return absl::InvalidArgumentError("max_pods cannot be negative");
  if (request.has_grace_period_seconds() && request.grace_period_seconds() < 0) {
    return absl::InvalidArgumentError("grace_period_seconds cannot be negative");
  }
  return std::unique_ptr<ops::Engine>(new KillEngine(request));
}

}  // namespace herd::engines
