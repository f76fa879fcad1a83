// herdd --crash-at: ends the process with SIGKILL at one of the engines'
// write points (ops::WritePoints), right before or right after that write,
// so tests can check what a replica that adopts the operation makes of it
// (test/e2e/crash_test.py; server/ops/CRASH_CONSISTENCY.md).
//
//   auto point = ParseCrashPoint("purge.burn-delete:after@2");   // the 2nd delete
//   env.write_hook = CrashHook(*point);
#ifndef HERD_SERVER_HERDD_CRASH_POINT_H_
#define HERD_SERVER_HERDD_CRASH_POINT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/ops/engine.h"

namespace herd::herdd {

struct CrashPoint {
  std::string point;  // one of ops::WritePoints()
  ops::WriteMoment moment = ops::WriteMoment::kBefore;
  int nth = 1;  // the how-manieth time the point is reached
};

// "POINT:before|after[@N]". INVALID_ARGUMENT naming the known points for
// an unknown one.
absl::StatusOr<CrashPoint> ParseCrashPoint(absl::string_view spec);

// A write hook that logs and SIGKILLs this process when `p` is reached.
ops::WriteHook CrashHook(CrashPoint p);

}  // namespace herd::herdd

#endif  // HERD_SERVER_HERDD_CRASH_POINT_H_
