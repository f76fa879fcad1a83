// The control plane behind kubesim's API: scheduler, nodes (kubelets) and
// the controllers of kube-controller-manager that herd depends on. They
// react to changes in the store and write through the same ApiServer as
// any client, with the rate limits the real components have, so rollout
// timing comes out as on a real control plane.
#ifndef HERD_SIM_CONTROLLERS_CONTROLLERS_H_
#define HERD_SIM_CONTROLLERS_CONTROLLERS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/event_loop/event_loop.h"

namespace herd::sim {

class ApiServer;

struct ControllerOptions {
  // From a pod's binding to its containers running and Ready.
  absl::Duration pod_start_delay = absl::Seconds(2);
  // How long a controller takes to react to a change it watches: the watch
  // and work-queue latency of a real control plane, per hop. Changes that
  // arrive meanwhile are handled in the same sync.
  absl::Duration reaction_delay = absl::Milliseconds(100);
  // How often a simulated node looks at its pods.
  absl::Duration kubelet_poll = absl::Milliseconds(250);
  // How long a Job's pod runs before it succeeds.
  absl::Duration job_pod_run_time = absl::Seconds(1);
  // The first crash-loop back-off (doubling up to 5 minutes, as the kubelet).
  absl::Duration crash_loop_backoff = absl::Seconds(10);
  // How long a crash-looping container runs before it fails.
  absl::Duration crash_after = absl::Seconds(1);
  // Each controller's API client is limited as kube-controller-manager's
  // clients are by default (--kube-api-qps=20, --kube-api-burst=30), the
  // scheduler's as kube-scheduler's (50/100). 0 QPS = unlimited.
  double controller_qps = 20;
  int controller_burst = 30;
  double scheduler_qps = 50;
  int scheduler_burst = 100;
  // How often the CronJob and HPA controllers look at the clock.
  absl::Duration cronjob_period = absl::Seconds(1);
  absl::Duration hpa_period = absl::Seconds(15);
  // The time CronJob schedules and HPA stabilization go by (absl::Now when
  // empty): tests move it instead of waiting for minutes to pass.
  std::function<absl::Time()> clock;
  // A failed Job pod is replaced after this back-off, doubling with each
  // further failure up to 6 minutes (upstream's 10 s).
  absl::Duration job_backoff = absl::Seconds(10);
  // An HPA scales down no lower than its highest recommendation of this window.
  absl::Duration hpa_downscale_stabilization = absl::Minutes(5);
};

// Node names and sizes of the simulated cluster.
struct NodePool {
  std::vector<std::string> names;
  int pods_per_node = 110;
};

class Controller;

// Owns and starts every controller. Runs on the simulator's loop.
class ControllerManager {
 public:
  ControllerManager(EventLoop& loop, ApiServer& api, ControllerOptions options, NodePool nodes);
  ~ControllerManager();
  // Creates the nodes and starts every controller. On the loop thread.
  void Start();
  // Stops reacting (pending timers are dropped). On the loop thread.
  void Stop();

 private:
  EventLoop& loop_;
  ApiServer& api_;
  ControllerOptions options_;
  NodePool nodes_;
  struct Index;
  std::unique_ptr<Index> index_;
  std::vector<std::unique_ptr<Controller>> controllers_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_CONTROLLERS_H_
