// PodDisruptionBudgets as the eviction API applies them, for plans (which
// budget selects a pod, whether its eviction would be refused) and for
// reading a refusal.
//
//   auto budgets = Budgets::Load(env.kube, "shop");
//   budgets->PlanEvictions(pods, "evict", &plan);   // verdict per pod and per budget
//   …
//   absl::Status st = env.kube.Evict("shop", "web-1");
//   if (kube::IsTooManyRequests(st)) std::string name = BudgetFromRefusal(st);   // "web-pdb"
#ifndef HERD_SERVER_ENGINES_BUDGETS_H_
#define HERD_SERVER_ENGINES_BUDGETS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/informer.h"
#include "server/kube/types.h"

namespace herd::engines {

namespace v1 = ::herd::v1;
using kube::Json;

// A snapshot of one namespace's budgets. Immutable; thread-safe to read.
class Budgets {
 public:
  static absl::StatusOr<Budgets> Load(kube::KubeClient& kube, const std::string& ns);
  // From the informer cache once it has synced (it is started for the next
  // call otherwise, and this one lists): for plans, which the API server's
  // own verdict on each eviction then confirms.
  static absl::StatusOr<Budgets> Cached(kube::InformerSet& informers, kube::KubeClient& kube, const std::string& ns);
  explicit Budgets(std::vector<kube::PodDisruptionBudget> pdbs) : pdbs_(std::move(pdbs)) {}

  // The budgets whose selector matches the pod's labels.
  std::vector<const kube::PodDisruptionBudget*> Selecting(const Json& pod) const;

  // Judges evicting `pods` one after the other as the API server would
  // (each allowed eviction uses up one of its budget's disruptions), and
  // adds a PodAction per pod (with `action`, the verdict: "allowed…" or why
  // it would be refused) and a BudgetVerdict per budget concerned to
  // `plan`. Returns how many evictions would be refused.
  int PlanEvictions(const std::vector<Json>& pods, const std::string& action, v1::Plan* plan) const;

 private:
  std::vector<kube::PodDisruptionBudget> pdbs_;
};

// The name of the budget an eviction refusal (429) names, from its
// DisruptionBudget cause ("The disruption budget web-pdb needs 4 healthy
// pods and has 4 currently" → "web-pdb"); "" when it names none.
std::string BudgetFromRefusal(const absl::Status& status);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_BUDGETS_H_
