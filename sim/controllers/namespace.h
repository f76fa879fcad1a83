// The namespace controller (see namespace.cc).
#ifndef HERD_SIM_CONTROLLERS_NAMESPACE_H_
#define HERD_SIM_CONTROLLERS_NAMESPACE_H_

#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// Empties namespaces being deleted and then releases them (their
// "kubernetes" finalizer), reporting progress in status.conditions.
class NamespaceController : public Controller {
 public:
  NamespaceController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_NAMESPACE_H_
