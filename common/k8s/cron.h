// Cron schedules as the CronJob controller reads them (robfig/cron's
// standard parser): five fields — minute, hour, day of month, month, day of
// week — each "*", "?", a number or name (JAN-DEC, SUN-SAT), a range a-b,
// a list a,b,c, and steps (*/n, a-b/n, a/n meaning a-max/n); or a
// descriptor: @yearly (@annually), @monthly, @weekly, @daily (@midnight),
// @hourly, @every DURATION. An optional "TZ=Zone " or "CRON_TZ=Zone " prefix
// names the time zone. When both day fields are restricted a day matches
// either, as in Vixie cron.
//
//   auto s = CronSchedule::Parse("*/5 9-17 * * MON-FRI");
//   if (!s.ok()) return s.status();               // robfig's error wording
//   absl::Time next = s->Next(now, absl::UTCTimeZone());
#ifndef HERD_COMMON_K8S_CRON_H_
#define HERD_COMMON_K8S_CRON_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herd::k8s {

// Loads the IANA time zone `name` as the CronJob API accepts one: every
// '/'-separated part 1 to 14 characters of [A-Za-z0-9._+-], not "." or
// ".." and not starting with '-' (Kubernetes' validation), and present in
// the zone database. absl's own forms ("libc:localtime", "file:…",
// absolute paths) are refused, and names that are not in the database never
// reach absl, which would keep every name it was asked about for ever.
// False when the zone cannot be used.
bool LoadCronTimeZone(absl::string_view name, absl::TimeZone* tz);

class CronSchedule {
 public:
  // INVALID_ARGUMENT with robfig/cron's message on a malformed spec.
  static absl::StatusOr<CronSchedule> Parse(absl::string_view spec);

  // The first activation strictly after `t` (whole seconds), reading the
  // fields in `tz` (or in the spec's own TZ= zone, which wins);
  // InfiniteFuture when none comes within five years.
  absl::Time Next(absl::Time t, const absl::TimeZone& tz) const;

  // The zone named by a TZ= / CRON_TZ= prefix ("" if none).
  const std::string& zone() const { return zone_name_; }

 private:
  uint64_t minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;
  absl::Duration every_ = absl::ZeroDuration();  // @every
  std::string zone_name_;
  absl::TimeZone zone_;
};

}  // namespace herd::k8s

#endif  // HERD_COMMON_K8S_CRON_H_
