// The ReplicaSet controller (see replicaset.cc).
#ifndef HERD_SIM_CONTROLLERS_REPLICASET_H_
#define HERD_SIM_CONTROLLERS_REPLICASET_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

class ReplicaSetController : public Controller {
 public:
  ReplicaSetController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;

 private:
  void CreatePods(const std::string& key, const ObjectPtr& rs, int64_t count);
  std::map<std::string, std::shared_ptr<std::function<void()>>> batches_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_REPLICASET_H_
