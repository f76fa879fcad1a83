// Reading pods the way herd's engines need: readiness, and what is wrong
// with a pod that does not come up (crash loops, image pulls, scheduling).
#ifndef HERD_SERVER_ENGINES_PODS_H_
#define HERD_SERVER_ENGINES_PODS_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/informer.h"
#include "server/ops/engine.h"

namespace herd::engines {

namespace v1 = ::herd::v1;
using kube::Json;

bool PodReady(const Json& pod);
bool PodTerminating(const Json& pod);
bool PodScheduled(const Json& pod);
// Every container has started (running).
bool PodStarted(const Json& pod);
std::string PodName(const Json& pod);
// Total container restarts.
int PodRestarts(const Json& pod);

// A reason this pod will not become Ready by itself, judged at `now`:
// crash looping, image pull failing, unschedulable for too long.
std::optional<v1::PodProblem> PodFailure(const Json& pod, const ops::EngineSettings& settings, absl::Time now);
// The last `lines` lines the crashed run of the problem's container wrote
// (its previous run's log; the current one's when there is none), oldest
// first. Empty when the log cannot be read: it only adds to a report.
std::vector<std::string> CrashLogTail(kube::KubeClient& kube, const std::string& ns, const v1::PodProblem& problem,
                                      int lines = 20);
// The line of a log tail that says best why the container died (the first
// error, fatal or panic line; else the last non-empty one).
std::string TellingLine(const std::vector<std::string>& tail);
// Why a pod is not ready yet, for reports (never null: "" when it is ready).
std::string PodWaitingReason(const Json& pod);

// The value at `path` (object keys) read in place, or an empty object when
// a key is missing or a value on the way is not an object: cached objects
// are read many times a second, and copying them (Json::value) would cost
// more than the read.
const Json& JsonAt(const Json& obj, std::initializer_list<const char*> path);

// The failure reason that describes a set of pod problems.
v1::FailureReason FailureReasonOf(const std::string& pod_reason);

// Median time from creation to Ready of the given pods: what one pod start
// costs on this cluster for this workload (30 s when none tells).
absl::Duration TypicalStart(const std::vector<kube::ObjectPtr>& pods);
// When the pod was created (InfinitePast when unknown).
absl::Time PodCreated(const Json& pod);
// spec.terminationGracePeriodSeconds (30 when absent).
int64_t PodGracePeriod(const Json& pod);
// Succeeded or Failed: nothing runs in it any more.
bool PodFinished(const Json& pod);
// The ordinal of a StatefulSet pod ("db-2" → 2); -1 when the name has none.
int PodOrdinal(const std::string& set_name, const std::string& pod_name);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_PODS_H_
