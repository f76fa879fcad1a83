#include "server/engines/budgets.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"

namespace herd::engines {

absl::StatusOr<Budgets> Budgets::Load(kube::KubeClient& kube, const std::string& ns) {
  auto list = kube::Api<kube::PodDisruptionBudget>(kube).List(ns);
  if (!list.ok()) return list.status();
  return Budgets(*std::move(list));
}

absl::StatusOr<Budgets> Budgets::Cached(kube::InformerSet& informers, kube::KubeClient& kube, const std::string& ns) {
  kube::Informer& informer = informers.For(kube::kPodDisruptionBudgets, ns);
  if (!informer.HasSynced()) return Load(kube, ns);
  std::vector<kube::PodDisruptionBudget> pdbs;
  for (auto& obj : informer.List(ns)) pdbs.emplace_back(std::move(obj));
  return Budgets(std::move(pdbs));
}

std::vector<const kube::PodDisruptionBudget*> Budgets::Selecting(const Json& pod) const {
  std::vector<const kube::PodDisruptionBudget*> out;
  const Json labels = pod["metadata"].value("labels", Json::object());
  for (const auto& b : pdbs_) {
    auto sel = b.label_selector();
    // An empty selector selects nothing in policy/v1 (everything in v1beta1).
    if (sel.ok() && !sel->Empty() && sel->Matches(labels)) out.push_back(&b);
  }
  return out;
}

int Budgets::PlanEvictions(const std::vector<Json>& pods, const std::string& action, v1::Plan* plan) const {
  struct Left {
    int32_t allowed = 0;
    int32_t healthy = 0;
    int32_t needed = 0;
    bool blocks = false;
  };
  std::map<std::string, Left> left;  // budget name → what is left of it as the plan goes
  std::vector<std::string> order;
  int refused = 0;
  for (const Json& pod : pods) {
    auto* a = plan->add_pods();
    a->set_pod(PodName(pod));
    a->set_action(action);
    if (PodTerminating(pod) || PodFinished(pod)) {
      a->set_verdict("allowed (the pod is already terminating or finished)");
      continue;
    }
    auto budgets = Selecting(pod);
    if (budgets.empty()) {
      a->set_verdict("allowed (no PodDisruptionBudget selects it)");
      continue;
    }
    if (budgets.size() > 1) {
      std::vector<std::string> names;
      for (const auto* b : budgets) names.push_back(b->name());
      a->set_verdict(absl::StrCat("refused: more than one PodDisruptionBudget selects it (", absl::StrJoin(names, ", "),
                                  "), which the eviction API does not support"));
      ++refused;
      continue;
    }
    const kube::PodDisruptionBudget& b = *budgets[0];
    if (!left.count(b.name())) {
      left[b.name()] = {b.disruptions_allowed(), b.current_healthy(), 0, false};
      order.push_back(b.name());
    }
    Left& l = left[b.name()];
    if (b.observed_generation() < b.generation()) {
      a->set_verdict(absl::StrCat("refused: the disruption budget ", b.name(), " is still being processed"));
      l.blocks = true;
      ++refused;
      continue;
    }
    bool healthy = PodReady(pod);
    bool always_allow_unhealthy = b.json()["spec"].value("unhealthyPodEvictionPolicy", "") == "AlwaysAllow";
    if (!healthy && (always_allow_unhealthy || l.healthy >= b.desired_healthy())) {
      a->set_verdict(absl::StrCat("allowed: not Ready, and ", b.name(), " is met without it"));
      continue;
    }
    l.needed++;
    if (l.allowed <= 0) {
      a->set_verdict(absl::StrCat("refused by ", b.name(), ": it needs ", b.desired_healthy(), " healthy pods and has ",
                                  l.healthy, " (no disruption allowed)"));
      l.blocks = true;
      ++refused;
      continue;
    }
    a->set_verdict(absl::StrCat("allowed by ", b.name(), " (", l.allowed, " disruption", l.allowed == 1 ? "" : "s",
                                " allowed)"));
    l.allowed--;
    if (healthy) l.healthy--;
  }
  for (const auto& name : order) {
    for (const auto& b : pdbs_) {
      if (b.name() != name) continue;
      auto* v = plan->add_budgets();
      v->set_budget(name);
      v->set_disruptions_allowed(b.disruptions_allowed());
      v->set_disruptions_needed(left[name].needed);
      v->set_blocks(left[name].blocks);
    }
  }
  return refused;
}

std::string BudgetFromRefusal(const absl::Status& status) {
  std::string cause = kube::DisruptionBudgetCause(status);
  constexpr absl::string_view kPrefix = "The disruption budget ";
  if (!absl::StartsWith(cause, kPrefix)) return "";
  std::string rest = cause.substr(kPrefix.size());
  return rest.substr(0, rest.find(' '));
}

}  // namespace herd::engines
