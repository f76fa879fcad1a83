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
#include "common/k8s/selector.h"
#include "google/protobuf/message.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/errors.h"
#include "server/ops/engine.h"
#include "server/ops/names.h"

namespace herd::engines {

namespace v1 = ::herd::v1;
using kube::Json;

inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// The annotation herd leaves on what an operation changed, naming it, so a
// replica that adopts the operation recognises its own writes.
inline constexpr char kOperationAnnotation[] = "herd.dev/operation";

// A message as JSON (protobuf's mapping): requests for Engine::request_json, checkpoints.
std::string ProtoJson(const google::protobuf::Message& request);
// A key as one token of a JSON pointer (RFC 6901: "~" → "~0", "/" → "~1"),
// for JSON patch paths such as /metadata/annotations/herd.dev~1operation.
std::string JsonPointerToken(const std::string& key);
// "operations/20261125-113045-k3x9q" → "20261125-113045-k3x9q".
std::string OperationId(const ops::LiveOperation& op);

// Where a read goes. Run decides on kApi (the API server's object as it
// is now). Prepare, which only plans and checks, reads kCache: herd's
// shared cache, no round trip, its answer as stale as the cache (harmless
// there: Run reads again before it decides, and a request the cache
// misjudged fails in Run the way Prepare would have refused it).
enum class ReadFrom { kApi, kCache };

// The workload's current object: from the API (engines decide on it), or,
// kCache, from the cache when it holds it and else from the API (one
// created a moment ago is still found). NOT_FOUND
// "namespaces/shop/deployments/web not found"; other errors as the API
// gave them.
absl::StatusOr<Json> GetWorkload(ops::EngineEnv& env, const ops::WorkloadName& w, ReadFrom from = ReadFrom::kApi);
// The objects of `r` in namespace `ns` that `selector` matches (all with
// an empty one): kCache from the cache once it has synced, else from the API.
absl::StatusOr<std::vector<Json>> ListObjects(ops::EngineEnv& env, const kube::Resource& r, const std::string& ns,
                                              const k8s::LabelSelector& selector, ReadFrom from);

// How often a write that failed for a transient reason (kube::IsTransient)
// is sent again, with a doubling pause from 100 ms, before the operation
// gives up on it.
inline constexpr int kWriteAttempts = 5;

// Runs `request` (one request to the cluster, or a step made of a few) and
// runs it again while it fails for a transient reason, up to
// kWriteAttempts times, unless `op` is handed over meanwhile (a cancel does
// not stop it). For the reads of the steps that carry out a cancel or a
// failure (a rollback, a revert), which must not give up on one transient
// error either; writes go through WriteAt.
template <typename Request>
auto Patiently(ops::EngineEnv& env, ops::LiveOperation& op, Request&& request) -> decltype(request()) {
  auto result = request();
  absl::Duration pause = absl::Milliseconds(100);
  for (int attempt = 1; attempt < kWriteAttempts && !StatusOf(result).ok() && kube::IsTransient(StatusOf(result)) &&
                        !op.hand_over_requested();
       ++attempt) {
    env.clock.SleepFor(pause);
    pause *= 2;
    result = request();
  }
  return result;
}

// One write to the cluster at the write point `point` (ops::AtWritePoint):
// `write` is sent again while it fails for a transient reason (Patiently:
// a cancel does not stop it: the writes that carry out a cancel, a
// rollback or a revert, must not give up on one transient error). Only for
// writes that may be repeated: absolute values, JSON patches that replace,
// deletes and evictions with a uid precondition.
template <typename Write>
auto WriteAt(ops::EngineEnv& env, ops::LiveOperation& op, const std::string& point, Write&& write)
    -> decltype(write()) {
  return ops::AtWritePoint(env, point, [&] { return Patiently(env, op, write); });
}

// Writes `op`'s record now (LiveOperation::Persist), before a write whose
// decision a replica that adopts the operation must find. When that fails,
// finishes `op` as FAILED (API_ERROR), saying that nothing more was
// changed, and returns false.
bool PersistBeforeWrite(ops::LiveOperation& op);

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
// The same, with what the crash-looping containers (the first three) of
// namespace `ns` last logged: each problem's log_tail, and the telling line
// of the first in `error` (so the audit entry and a CI log say why).
v1::Failure FailureForProblems(ops::EngineEnv& env, const std::string& ns, const std::vector<v1::PodProblem>& problems,
                               absl::Status* error);

// What to report when a deadline passed with pods still not Ready:
// READINESS_FAILING when some run but do not turn Ready, else
// DEADLINE_EXCEEDED. `not_ready` holds "name (why)" entries; `what` says
// what was not reached ("not scaled within 10m: 3/5 pods ready").
v1::Failure FailureForDeadline(const std::vector<std::string>& not_ready, bool running_not_ready,
                               const std::string& what, absl::Status* error);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_ENGINE_UTIL_H_
