// Kubernetes timestamps and ages: the wire forms of metav1.Time and
// metav1.MicroTime, and the short ages kubectl prints in AGE columns.
//
//   obj["metadata"]["creationTimestamp"] = herd::k8s::FormatTime(now);      // "2026-11-25T10:44:58Z"
//   lease["spec"]["renewTime"] = herd::k8s::FormatMicroTime(now);           // "2026-11-25T10:44:58.123456Z"
//   absl::StatusOr<absl::Time> t = herd::k8s::ParseTime(text);             // either form, or "+02:00"
//   std::string age = herd::k8s::HumanDuration(now - *t);                   // "5m", "2d3h", "8d"
//
// All functions are pure and thread-safe. Call FormatTime qualified
// (k8s::FormatTime): absl::FormatTime(absl::Time) exists too, and
// argument-dependent lookup finds it.
#ifndef HERD_COMMON_K8S_TIME_H_
#define HERD_COMMON_K8S_TIME_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herd::k8s {

// metav1.Time: RFC 3339 in UTC with whole seconds ("2026-11-25T10:44:58Z").
// Sub-second parts are dropped (truncated), as the API server does.
std::string FormatTime(absl::Time t);

// metav1.MicroTime (events, leases): always six fractional digits, UTC
// ("2026-11-25T10:44:58.123456Z"), truncated to the microsecond.
std::string FormatMicroTime(absl::Time t);

// Parses RFC 3339 as Go's time.RFC3339 does: "YYYY-MM-DDThh:mm:ss", optional
// fraction (up to nanoseconds; more digits are truncated), then "Z" or a
// "+hh:mm" / "-hh:mm" offset. Fields out of range (Feb 30, 24:00) are errors.
// Errors are INVALID_ARGUMENT naming the text.
absl::StatusOr<absl::Time> ParseTime(absl::string_view text);

// k8s.io/apimachinery/pkg/util/duration.HumanDuration: about two significant
// figures, e.g. "0s", "59s", "119s", "2m3s", "5m", "3h", "3h30m", "2d3h",
// "8d", "2y3d", "9y". A skew of up to -1s gives "0s"; anything more negative
// gives "<invalid>".
std::string HumanDuration(absl::Duration d);

}  // namespace herd::k8s

#endif  // HERD_COMMON_K8S_TIME_H_
