// Small pieces every engine needs: the stored form of a request, the id of
// an operation, a workload read that fails the way the API promises, and
// the report of pods that will not come up.
//
//   std::string json = engines::ProtoJson(request);        // for Engine::request_json
//   auto wl = engines::GetWorkload(env, w);                  // NOT_FOUND "namespaces/… not found"
//   absl::Status error;
//   v1::Failure f = engines::FailureForProblems(problems, &error);
#ifndef HERD_SERVER_ENGINES_ENGINE_UTIL_H_
#define HERD_SERVER_ENGINES_ENGINE_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/ops/engine.h"
#include "server/ops/names.h"

namespace herd::engines {

namespace v1 = ::herd::v1;
using kube::Json;

// The annotation herd leaves on what an operation changed, naming it, so a
// replica that adopts the operation recognises its own writes.
inline constexpr char kOperationAnnotation[] = "herd.dev/operation";

// A message as JSON (protobuf's mapping): requests for Engine::request_json, checkpoints.
std::string ProtoJson(const google::protobuf::Message& request);
// "operations/20261125-113045-k3x9q" → "20261125-113045-k3x9q".
std::string OperationId(const ops::LiveOperation& op);

// The workload's current object from the API (not a cache: engines decide
// on it). NOT_FOUND "namespaces/shop/deployments/web not found"; other
// errors as the API gave them.
absl::StatusOr<Json> GetWorkload(ops::EngineEnv& env, const ops::WorkloadName& w);

// Finishes `op` as FAILED with `reason` and `error`.
void Fail(ops::LiveOperation& op, v1::FailureReason reason, const absl::Status& error);
// The reason an error fails an operation with: NOT_FOUND, CONFLICT,
// UNSPECIFIED for requests that do not fit the cluster, else API_ERROR.
v1::FailureReason ReasonForApiError(const absl::Status& status);

// What to report for pods that will not become Ready by themselves:
// the reason of the first problem, every problem's pod, and an error
// naming the first ("CrashLoopBackOff in pod web-7f9-x: …"). `problems`
// must not be empty.
v1::Failure FailureForProblems(const std::vector<v1::PodProblem>& problems, absl::Status* error);

// What to report when a deadline passed with pods still not Ready:
// READINESS_FAILING when some run but do not turn Ready, else
// DEADLINE_EXCEEDED. `not_ready` holds "name (why)" entries; `what` says
// what was not reached ("not scaled within 10m: 3/5 pods ready").
v1::Failure FailureForDeadline(const std::vector<std::string>& not_ready, bool running_not_ready,
                               const std::string& what, absl::Status* error);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_ENGINE_UTIL_H_
