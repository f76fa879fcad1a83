// CronJob actions:
//   RUN       creates a Job from the CronJob's jobTemplate, as
//             `kubectl create job --from=cronjob/NAME` does, and waits
//             until it completes (SUCCEEDED), fails (FAILED with the Job's
//             reason) or EngineSettings::job_deadline passes.
//   SUSPEND   sets spec.suspend (already suspended: succeeds, saying so).
//   RESUME    clears it.
//   KILL_JOBS deletes the CronJob's unfinished Jobs (propagation
//             Background) and waits until their pods are gone.
//
//   auto engine = NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_RUN, request);
//   auto plan = (*engine)->Prepare(env);     // NOT_FOUND for a missing CronJob
//   (*engine)->Run(env, op, /*resumed=*/false);
#ifndef HERD_SERVER_ENGINES_CRONJOB_H_
#define HERD_SERVER_ENGINES_CRONJOB_H_

#include <memory>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"

namespace herd::engines {

// `kind` is one of OPERATION_KIND_CRONJOB_{RUN,SUSPEND,RESUME,KILL_JOBS}.
absl::StatusOr<std::unique_ptr<ops::Engine>> NewCronJobEngine(v1::OperationKind kind, const v1::CronJobRequest& request);

}  // namespace herd::engines

#endif  // HERD_SERVER_ENGINES_CRONJOB_H_
