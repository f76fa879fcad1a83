#include "sim/controllers/controllers.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "sim/apiserver.h"
#include "sim/controllers/cronjob.h"
#include "sim/controllers/deployment.h"
#include "sim/controllers/disruption.h"
#include "sim/controllers/garbagecollector.h"
#include "sim/controllers/hpa.h"
#include "sim/controllers/job.h"
#include "sim/controllers/namespace.h"
#include "sim/controllers/nodes.h"
#include "sim/controllers/replicaset.h"
#include "sim/controllers/runtime.h"
#include "sim/controllers/statefulset.h"

namespace herd::sim {

struct ControllerManager::Index {
  explicit Index(Store& store) : owners(store) {}
  OwnerIndex owners;
};

ControllerManager::ControllerManager(EventLoop& loop, ApiServer& api, ControllerOptions options, NodePool nodes)
    : loop_(loop), api_(api), options_(options), nodes_(std::move(nodes)) {}

ControllerManager::~ControllerManager() { Stop(); }

void ControllerManager::Start() {
  for (size_t i = 0; i < nodes_.names.size(); ++i) {
    Json node = NewNode(nodes_.names[i], static_cast<int>(i), nodes_.pods_per_node);
    Json status = node["status"];
    // Nodes register themselves: their kubelet writes them.
    auto created = api_.Create(kNodes, "", std::move(node), {.field_manager = "kubelet"});
    if (!created.ok()) {
      log::Error("cannot create a simulated node", {{"node", nodes_.names[i]}, {"error", created.status()}});
      continue;
    }
    (void)api_.Modify(kNodes, "", nodes_.names[i], [&](Json& n) {
      n["status"] = status;
      return absl::OkStatus();
    }, {.subresource = "status", .field_manager = "kubelet"});
  }
  index_ = std::make_unique<Index>(api_.store());
  const OwnerIndex& owners = index_->owners;
  controllers_.push_back(std::make_unique<Scheduler>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<Kubelet>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<ReplicaSetController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<DeploymentController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<StatefulSetController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<JobController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<CronJobController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<DisruptionController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<HorizontalPodAutoscalerController>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<GarbageCollector>(loop_, api_, owners, options_));
  controllers_.push_back(std::make_unique<NamespaceController>(loop_, api_, owners, options_));
  for (auto& c : controllers_) c->Start();
}

void ControllerManager::Stop() {
  // Stopped controllers stay allocated until the manager goes: work they
  // posted to the loop before stopping may still run, and finds them stopped.
  for (auto& c : controllers_) c->Stop();
}

}  // namespace herd::sim
