// The HorizontalPodAutoscaler controller (see hpa.cc).
#ifndef HERD_SIM_CONTROLLERS_HPA_H_
#define HERD_SIM_CONTROLLERS_HPA_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/controllers/controllers.h"
#include "sim/controllers/runtime.h"

namespace herd::sim {

// The annotation on an HPA that stands in for a metrics server: the pods'
// average CPU use, in percent of their request ("NN").
inline constexpr char kCpuUtilizationAnnotation[] = "kubesim.herd.dev/cpu-utilization";

// Every `hpa_period`, keeps each autoscaling/v2 HPA's target within
// [minReplicas, maxReplicas] and, when the simulated CPU utilization is
// given, scales it towards the target utilization.
class HorizontalPodAutoscalerController : public Controller {
 public:
  HorizontalPodAutoscalerController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                    const ControllerOptions& o);
  void Start() override;

 protected:
  void Sync(const std::string& key) override;

 private:
  struct Recommendation {
    int64_t replicas;
    absl::Time at;
  };
  void Tick();
  absl::Time Now() const { return clock_ ? clock_() : absl::Now(); }
  // The highest recommendation of the stabilization window, `desired` recorded.
  int64_t Stabilize(const std::string& key, int64_t desired);

  std::function<absl::Time()> clock_;
  absl::Duration period_;
  absl::Duration stabilization_;
  std::map<std::string, std::vector<Recommendation>> recommendations_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_HPA_H_
