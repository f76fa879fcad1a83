#include "server/ops/engine.h"

namespace herd::ops {

absl::Status AwaitCluster(EngineEnv& env, LiveOperation& op, const std::function<bool()>& done, absl::Time deadline) {
  bool interrupted = false;
  absl::Status st = env.informers.WaitUntil(
      [&] {
        if (op.interrupted()) {
          interrupted = true;
          return true;
        }
        return done();
      },
      deadline);
  if (interrupted) return absl::CancelledError(op.cancel_requested() ? op.cancel_reason() : "handed over");
  return st;
}

}  // namespace herd::ops
