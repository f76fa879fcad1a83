// The Deployment controller (see deployment.cc).
#ifndef HERD_SIM_CONTROLLERS_DEPLOYMENT_H_
#define HERD_SIM_CONTROLLERS_DEPLOYMENT_H_

#include <string>
#include <vector>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

namespace internal {

// A ReplicaSet as one deployment sync sees it: `replicas` is what the sync
// intends spec.replicas to be, which may differ from the stored object.
struct RsView {
  ObjectPtr obj;
  std::string name;
  int64_t replicas = 0;
  int64_t status_replicas = 0;
  int64_t ready = 0;
  int64_t available = 0;
  int64_t revision = 0;
  std::string created;
  nlohmann::json annotations;
};

// One sync's view: the deployment, its ReplicaSets and the status being built.
struct DeploymentSync {
  std::string key;
  nlohmann::json d;
  nlohmann::json status;
  nlohmann::json annotations;
  std::vector<RsView> all;
  RsView* new_rs = nullptr;
  std::vector<RsView*> old;  // oldest first
  bool scaled = false;
};

}  // namespace internal

class DeploymentController : public Controller {
 public:
  DeploymentController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;

 private:
  using SyncState = internal::DeploymentSync;

  void CheckPaused(SyncState& s);
  int64_t MaxOldRevision(const SyncState& s) const;
  bool SyncRevision(SyncState& s, bool create);
  int64_t NewReplicas(const SyncState& s, int64_t new_current) const;
  void ScaleRs(SyncState& s, internal::RsView& rs, int64_t to);
  bool IsScalingEvent(SyncState& s);
  void Scale(SyncState& s);
  void RolloutRolling(SyncState& s);
  bool ReconcileOld(SyncState& s);
  void RolloutRecreate(SyncState& s);
  bool Complete(const SyncState& s) const;
  void Cleanup(SyncState& s);
  nlohmann::json CalculateStatus(const SyncState& s) const;
  void WriteStatus(SyncState& s, bool rollout);
  void RequeueIfStuck(const SyncState& s, const nlohmann::json& status);
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_DEPLOYMENT_H_
