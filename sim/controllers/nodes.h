// The scheduler and the simulated nodes. Pod behaviour is driven by the
// image name, so tests can ask for faults without any extra API:
//   "crashloop"            starts, fails after a moment, restarts with back-off
//   "pullfail"             ErrImagePull, then ImagePullBackOff; never starts
//   "unready"              runs but never turns Ready
//   "slow5s", "slow500ms"  becomes Ready that much later than the start delay
//   "slowstop"             ignores SIGTERM: removed only when the grace period ends
//   "exit1"                a Job's container fails instead of succeeding
#ifndef HERD_SIM_CONTROLLERS_NODES_H_
#define HERD_SIM_CONTROLLERS_NODES_H_

#include <map>
#include <set>
#include <string>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

struct ImageFault {
  bool crash_loop = false;
  bool pull_failure = false;
  bool never_ready = false;
  bool fails = false;
  bool slow_stop = false;
  absl::Duration extra_start = absl::ZeroDuration();
};
ImageFault ImageFaults(const std::string& image);

// A new Ready node with room for `pods` pods.
Json NewNode(const std::string& name, int index, int pods);

// Binds pending pods to the least loaded node that fits (cordoned nodes,
// node selectors and pod capacity respected).
class Scheduler : public Controller {
 public:
  Scheduler(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;

 private:
  void Track(const Event& e);
  std::map<std::string, int> load_;         // node → active pods bound to it
  std::set<std::string> unschedulable_;     // pods waiting for room
};

// Every node's kubelet: starts bound pods after the start delay, reports
// their status, plays out image faults, runs Job pods to completion and
// removes terminating pods.
class Kubelet : public Controller {
 public:
  Kubelet(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string&) override {}

 private:
  enum class Stage { kNew, kCreating, kPullFailing, kCrashRunning, kCrashBackOff, kJobRunning };
  struct PodState {
    std::string uid;
    absl::Time bound;
    Stage stage = Stage::kNew;
    absl::Time next;
    int crashes = 0;
    bool backoff_written = false;
  };
  void ArmTick();
  void Tick();
  // Advances one pod; true when the kubelet is done with it.
  bool Step(const std::string& key, PodState& s, absl::Time now);
  static std::string name_list(const Json& spec);
  void RecordPodEvent(const ObjectPtr& pod, const std::string& type, const std::string& reason,
                      const std::string& message);

  ControllerOptions options_;
  std::map<std::string, PodState> pods_;  // pods that still need the kubelet
  bool tick_armed_ = false;
  int next_ip_ = 0;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_NODES_H_
