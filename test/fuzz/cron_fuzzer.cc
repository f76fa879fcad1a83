// CronJob schedules as kubesim's CronJob controller reads them
// (common/k8s/cron.h): a spec from a CronJob object, with its optional
// TZ= prefix, then the next activations from a fixed time in two zones. A
// spec is parsed or refused with robfig/cron's message; the next activation
// of a parsed one lies after the time asked about, also across clock changes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/k8s/cron.h"

namespace {
absl::TimeZone new_york;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!absl::LoadTimeZone("America/New_York", &new_york)) new_york = absl::FixedTimeZone(-5 * 3600);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view spec(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<herd::k8s::CronSchedule> s = herd::k8s::CronSchedule::Parse(spec);
  if (!s.ok()) return 0;
  // From New Year, and from around New York's clock changes of 2026: just
  // before it skips 02:00-03:00 (March 8) and in both passes of the hour it
  // repeats (November 1).
  static constexpr int64_t kStarts[] = {1767225600, 1772953170, 1793511000, 1793514600};
  for (const absl::TimeZone& tz : {absl::UTCTimeZone(), new_york}) {
    for (int64_t start : kStarts) {
      absl::Time t = absl::FromUnixSeconds(start);
      for (int i = 0; i < 3; ++i) {
        absl::Time next = s->Next(t, tz);
        if (next <= t) __builtin_trap();  // the next activation comes after t
        if (next == absl::InfiniteFuture()) break;
        t = next;
      }
    }
  }
  return 0;
}
