// Kill: pods by name or label selector, through the eviction API
// (PodDisruptionBudgets honoured) or, with `force`, by deletion.
//
// Every named pod must exist, and no more pods than max_pods (default
// EngineSettings::default_max_kill) may be selected; otherwise nothing is
// touched. The evictions are sent at the start of Run, one after another;
// a budget's refusal stops there and fails the operation with
// FAILURE_REASON_DISRUPTION_BUDGET naming the budget (the pods killed
// before it stay killed and are counted). Done means: every killed pod is
// gone from the API, not just terminating.
//
//   auto engine = NewKillEngine(request);    // INVALID_ARGUMENT for a bad request
//   auto plan = (*engine)->Prepare(env);     // the dry run: each pod's budget verdict
//   (*engine)->Run(env, op, /*resumed=*/false);
#ifndef HERD_SERVER_ENGINES_KILL_H_
#define HERD_SERVER_ENGINES_KILL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"

namespace herd::engines {

// INVALID_ARGUMENT for a request that names neither pods nor a selector
// (or both), or carries a bad selector or negative numbers.
absl::StatusOr<std::unique_ptr<ops::Engine>> NewKillEngine(const v1::KillRequest& request);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_KILL_H_
