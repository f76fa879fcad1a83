// The demo workloads herdd --sim starts with: web services and workers of
// different sizes, a StatefulSet, a CronJob, a disruption budget and an
// autoscaler, so every herd verb has something to act on.
#ifndef HERD_SERVER_HERDD_DEMO_H_
#define HERD_SERVER_HERDD_DEMO_H_

#include "absl/status/status.h"
#include "server/kube/client.h"

namespace herd::herdd {

// Creates them (existing ones are left alone).
absl::Status CreateDemoWorkloads(kube::KubeClient& kube);

}  // namespace herd::herdd

#endif  // HERD_SERVER_HERDD_DEMO_H_
