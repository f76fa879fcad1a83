// Standing policies' schedules: what a CreatePolicy request must hold, and
// which run is due when (herd.v1.Schedule).
//
//   auto spec = ParseSchedule(policy.schedule());     // INVALID_ARGUMENT, with why
//   Due due = DueAt(*spec, last_scheduled, now);
//   if (due.run) … start the run of *due.run …
//   // due.skipped: missed runs to record; due.next: when to look again
#ifndef HERD_SERVER_POLICIES_SCHEDULE_H_
#define HERD_SERVER_POLICIES_SCHEDULE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/k8s/cron.h"
#include "herd/v1/herd.pb.h"
#include "server/auth/policy.h"

namespace herd::policies {

namespace v1 = ::herd::v1;

inline constexpr absl::Duration kDefaultLateWindow = absl::Hours(1);
inline constexpr absl::Duration kMinLateWindow = absl::Minutes(1);
inline constexpr absl::Duration kMaxLateWindow = absl::Hours(24 * 7);

struct ScheduleSpec {
  k8s::CronSchedule cron;
  absl::TimeZone zone;
  absl::Duration late_window = kDefaultLateWindow;
};

// "policies/{id}" → id; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> ParsePolicyName(absl::string_view name);
// An id: lower-case letters, digits and '-', starting with a letter, not
// ending with '-', at most 40 characters.
absl::Status CheckPolicyId(absl::string_view id);

// The cron expression, zone and late window; INVALID_ARGUMENT naming the
// field that is wrong.
absl::StatusOr<ScheduleSpec> ParseSchedule(const v1::Schedule& schedule);

// What a schedule's action does and to what: the verb the caller needs,
// on which namespace and workload ("" for every workload of the namespace:
// a selector), and its operation's request, as herd's service takes it.
// INVALID_ARGUMENT when there is none, or its options ask for a dry run or
// give a request id.
struct Action {
  auth::Verb verb = auth::Verb::kRead;
  std::string ns;
  std::string workload;
};
absl::StatusOr<Action> ActionOf(const v1::Schedule& schedule);

// What a policy does and to what (a schedule's action; a max-pod-age
// policy's purges), checking every field; INVALID_ARGUMENT naming the
// field that is wrong.
absl::StatusOr<Action> ActionOf(const v1::Policy& policy);
// A max-pod-age policy's maximum age; INVALID_ARGUMENT out of its range.
absl::StatusOr<absl::Duration> MaxAgeOf(const v1::MaxPodAge& m);
// The purge a max-pod-age policy replaces its workload's `oldest` oldest
// pods with: ROLLING, one at a time.
v1::PurgeRequest MaxPodAgePurge(const v1::Policy& policy, int oldest, const std::string& request_id);

// The request id of the run at `scheduled` of policy `id`: one run, one
// operation, whoever starts it and however often.
std::string RunRequestId(absl::string_view id, absl::Time scheduled);

struct Due {
  // The run to start now: the latest that came after `last` and by `now`,
  // when `now` is within the late window of it.
  std::optional<absl::Time> run;
  // Runs that came after `last` and by `now` that will not be made: how
  // many (-1: more than a million, not counted), the earliest and the
  // latest of them (InfinitePast when not known).
  int64_t skipped = 0;
  absl::Time first_skipped = absl::InfinitePast();
  absl::Time last_skipped = absl::InfinitePast();
  // The first run after `now` (InfiniteFuture when none comes).
  absl::Time next = absl::InfiniteFuture();
};

// Decides at `now` for a policy whose last decided run was at `last` (its
// creation or resumption time before any).
Due DueAt(const ScheduleSpec& spec, absl::Time last, absl::Time now);

// The first `n` runs after `after`.
std::vector<absl::Time> NextRuns(const ScheduleSpec& spec, absl::Time after, int n);

}  // namespace herd::policies

#endif  // HERD_SERVER_POLICIES_SCHEDULE_H_
