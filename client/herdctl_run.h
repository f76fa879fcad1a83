// Runs a parsed herdctl Command against a HerdClient and turns the result
// into output and an exit code. No globals: streams, terminal detection
// and the clock come in through Console, so tests run commands against
// the mock stub and read what a person would see.
//
//   absl::StatusOr<Command> cmd = ParseCommandLine(args, "default");
//   Console console{std::cout, std::cerr, isatty(1) != 0, isatty(2) != 0, [] { return absl::Now(); }};
//   return RunCommand(*cmd, *client, console);
#ifndef HERD_CLIENT_HERDCTL_RUN_H_
#define HERD_CLIENT_HERDCTL_RUN_H_

#include <functional>
#include <ostream>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/herd_client.h"
#include "client/herdctl_args.h"
#include "herd/v1/herd.pb.h"

namespace herd::herdctl {

// herdctl's exit codes, as `herdctl --help` documents them.
enum ExitCode : int {
  kExitSuccess = 0,
  // The operation failed, was rolled back or was cancelled.
  kExitOperationFailed = 1,
  // Unknown verb or flag, bad argument, unreadable token or certificate.
  kExitUsage = 2,
  // UNAVAILABLE, or no answer within the call's deadline.
  kExitUnreachable = 3,
  // The server refused: INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
  // UNAUTHENTICATED, FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS,
  // RESOURCE_EXHAUSTED, OUT_OF_RANGE.
  kExitRefused = 4,
  // --timeout passed while following an operation that still runs.
  kExitWaitTimeout = 5,
  // Anything else (INTERNAL, UNIMPLEMENTED, UNKNOWN, DATA_LOSS, CANCELLED).
  kExitError = 6,
};

// The exit code for a failed call (never kExitSuccess for a non-OK status;
// kExitSuccess for OK).
ExitCode ExitCodeForStatus(const absl::Status& status);

// The exit code for an operation as the server returned it: 1 when it ended
// FAILED, CANCELLED or ROLLED_BACK, 0 otherwise (SUCCEEDED, or still
// PENDING/RUNNING when not waiting).
ExitCode ExitCodeForOperation(const v1::Operation& op);

struct Console {
  std::ostream& out;
  std::ostream& err;
  // Whether out / err are terminals: the live progress bar is drawn only
  // there.
  bool out_tty = false;
  bool err_tty = false;
  std::function<absl::Time()> now;
};

// Prints `status` as a person should see it, given which server was asked
// ("Error from server (NOT_FOUND): …", "cannot reach herd at …"), and
// returns its exit code.
ExitCode ReportError(const absl::Status& status, absl::string_view server, std::ostream& err);

// Runs `cmd` (not kHelp) and returns the exit code.
ExitCode RunCommand(const Command& cmd, const client::HerdClient& client, const Console& console);

}  // namespace herd::herdctl

#endif  // HERD_CLIENT_HERDCTL_RUN_H_
