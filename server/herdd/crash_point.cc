#include "server/herdd/crash_point.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"

namespace herd::herdd {

absl::StatusOr<CrashPoint> ParseCrashPoint(absl::string_view spec) {
  CrashPoint p;
  absl::string_view rest = spec;
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    if (!absl::SimpleAtoi(rest.substr(at + 1), &p.nth) || p.nth < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--crash-at=", spec, ": the count after @ must be 1 or more"));
    }
    rest = rest.substr(0, at);
  }
  size_t colon = rest.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--crash-at=", spec, ": give POINT:before or POINT:after"));
  }
  absl::string_view moment = rest.substr(colon + 1);
  if (moment == "before") {
    p.moment = ops::WriteMoment::kBefore;
  } else if (moment == "after") {
    p.moment = ops::WriteMoment::kAfter;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--crash-at=", spec, ": \"", moment, "\" is neither before nor after"));
  }
  p.point = std::string(rest.substr(0, colon));
  const auto& known = ops::WritePoints();
  if (std::find(known.begin(), known.end(), p.point) == known.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--crash-at=", spec, ": unknown write point \"", p.point, "\"; known: ", absl::StrJoin(known, ", ")));
  }
  return p;
}

ops::WriteHook CrashHook(CrashPoint p) {
  auto seen = std::make_shared<std::atomic<int>>(0);
  return [p = std::move(p), seen](const std::string& point, ops::WriteMoment moment) {
    if (point != p.point || moment != p.moment) return;
    if (seen->fetch_add(1) + 1 != p.nth) return;
    log::Error("crash point reached: SIGKILL", {{"point", point},
                                                {"moment", moment == ops::WriteMoment::kBefore ? "before" : "after"},
                                                {"nth", p.nth}});
    std::raise(SIGKILL);
  };
}

}  // namespace herd::herdd
