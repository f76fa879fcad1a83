// What kubesim's simulated containers write to their logs: a few believable
// lines (start, configuration, listening, ready, then a request now and
// then), and for the faulty images why they fail: a crash-looping container
// writes an error and a Go-style panic with its stack trace before each
// exit, a failing Job's container its error; a container whose image could
// not be pulled never ran and wrote nothing.
//
// Logs are not stored: they are a pure function of a container run (its
// image, start and end), so 10,000 pods cost nothing until someone reads.
//
//   ContainerRun run{.pod = "web-1", .container = "web", .image = "web:2-crashloop",
//                    .started = t0, .finished = t1, .exit_code = 1};
//   for (const LogLine& l : ContainerLog(run, now)) …   // l.time, l.text
//
// Thread-safe (no state).
#ifndef HERD_SIM_LOGS_LOGS_H_
#define HERD_SIM_LOGS_LOGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace herd::sim {

struct LogLine {
  absl::Time time;
  std::string text;
};

// One run of a container: from its start to its end (none while running).
struct ContainerRun {
  std::string pod;
  std::string container;
  std::string image;
  absl::Time started;
  std::optional<absl::Time> finished;
  int exit_code = 0;
  bool job = false;  // restartPolicy Never/OnFailure: works, then exits
};

// The lines the run wrote up to `until` (its end when it has finished),
// oldest first; at most the newest `max_lines`.
std::vector<LogLine> ContainerLog(const ContainerRun& run, absl::Time until, size_t max_lines = 5000);

// How often a running service container logs a request.
inline constexpr absl::Duration kRequestLogInterval = absl::Seconds(5);

// "2026-12-02T22:31:50.123456789Z", as the kubelet prefixes lines with
// ?timestamps=true.
std::string LogTimestamp(absl::Time t);

}  // namespace herd::sim

#endif  // HERD_SIM_LOGS_LOGS_H_
