#include "server/policies/scaling.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"
#include "server/ops/names.h"
#include "server/policies/store.h"

namespace herd::policies {
namespace {

absl::StatusOr<absl::Duration> Window(const google::protobuf::Duration& d, bool set,
                                      absl::string_view field, absl::Duration fallback, absl::Duration min,
                                      absl::Duration max) {
  if (!set) return fallback;
  const absl::Duration v = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= 1'000'000'000 || v < min || v > max) {
    return absl::InvalidArgumentError(absl::StrCat("load_scaling.", field, " must be from ", k8s::HumanDuration(min),
                                                   " to ", k8s::HumanDuration(max)));
  }
  return v;
}

std::string Num(double v) {
  // Whole numbers without a fraction, others with up to 3 decimals.
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(std::round(v)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

absl::StatusOr<ScalingSpec> ParseLoadScaling(const v1::LoadScaling& s) {
  ScalingSpec spec;
  auto w = ops::ParseWorkloadName(s.workload(), {"deployments", "statefulsets"});
  if (s.workload().empty()) return absl::InvalidArgumentError("load_scaling.workload is required");
  if (!w.ok()) return absl::InvalidArgumentError(absl::StrCat("load_scaling.workload: ", w.status().message()));
  if (s.query().empty()) return absl::InvalidArgumentError("load_scaling.query is required (PromQL)");
  if (s.query().size() > 4096) return absl::InvalidArgumentError("load_scaling.query is longer than 4096 characters");
  spec.query = s.query();
  if (!(s.target_per_replica() > 0) || !std::isfinite(s.target_per_replica())) {
    return absl::InvalidArgumentError("load_scaling.target_per_replica must be more than 0");
  }
  spec.target = s.target_per_replica();
  spec.min = s.has_min_replicas() ? s.min_replicas() : 1;
  spec.max = s.max_replicas();
  if (spec.min < 0) return absl::InvalidArgumentError("load_scaling.min_replicas cannot be negative");
  if (spec.max < std::max(1, spec.min) || spec.max > kMaxScalingReplicas) {
    return absl::InvalidArgumentError(absl::StrCat("load_scaling.max_replicas must be from max(1, min_replicas) to ",
                                                   kMaxScalingReplicas, " (it is ", spec.max, ")"));
  }
  if (s.max_step_up() < 0 || s.max_step_down() < 0) {
    return absl::InvalidArgumentError("load_scaling.max_step_up and max_step_down cannot be negative");
  }
  spec.step_up = s.max_step_up();
  spec.step_down = s.max_step_down();
  auto up = Window(s.scale_up_stabilization(), s.has_scale_up_stabilization(), "scale_up_stabilization",
                   absl::ZeroDuration(), absl::ZeroDuration(), absl::Hours(1));
  if (!up.ok()) return up.status();
  auto down = Window(s.scale_down_stabilization(), s.has_scale_down_stabilization(), "scale_down_stabilization",
                     absl::Minutes(5), absl::ZeroDuration(), absl::Hours(1));
  if (!down.ok()) return down.status();
  auto cooldown = Window(s.cooldown(), s.has_cooldown(), "cooldown", absl::Minutes(1), absl::ZeroDuration(),
                         absl::Hours(1));
  if (!cooldown.ok()) return cooldown.status();
  auto interval = Window(s.interval(), s.has_interval(), "interval", absl::Seconds(30), absl::Seconds(1),
                         absl::Hours(1));
  if (!interval.ok()) return interval.status();
  spec.up_window = *up;
  spec.down_window = *down;
  spec.cooldown = *cooldown;
  spec.interval = *interval;
  spec.dry_run = s.dry_run();
  if (s.reason().size() > 1024) return absl::InvalidArgumentError("load_scaling.reason is longer than 1024 characters");
  return spec;
}

ScalingVerdict DecideScale(const ScalingSpec& spec, ScalingMemory& memory, int current, double value, absl::Time now,
                           absl::Time last_scaled) {
  ScalingVerdict v;
  const double want = !(value > 0) ? 0 : std::ceil(value / spec.target);  // NaN: none
  v.recommended = want >= spec.max ? spec.max : std::max(spec.min, static_cast<int>(want));
  v.replicas = current;
  if (memory.watching_since == absl::InfinitePast()) memory.watching_since = now;
  memory.recommendations.emplace_back(now, v.recommended);
  const absl::Duration keep = std::max(spec.up_window, spec.down_window);
  while (!memory.recommendations.empty() && memory.recommendations.front().first < now - keep) {
    memory.recommendations.pop_front();
  }
  v.why = absl::StrCat("value ", Num(value), " at ", Num(spec.target), " per replica → ", v.recommended, " (within ",
                       spec.min, "–", spec.max, ")");
  if (v.recommended == current) return v;
  const bool up = v.recommended > current;
  const absl::Duration window = up ? spec.up_window : spec.down_window;
  if (now - memory.watching_since < window) {
    absl::StrAppend(&v.why, "; held: the ", up ? "scale-up" : "scale-down", " window (", k8s::HumanDuration(window),
                    ") is not yet watched in full");
    return v;
  }
  // The most cautious recommendation of the window.
  int stable = v.recommended;
  for (const auto& [t, r] : memory.recommendations) {
    if (t < now - window) continue;
    stable = up ? std::min(stable, r) : std::max(stable, r);
  }
  if (stable != v.recommended) {
    absl::StrAppend(&v.why, "; ", up ? "lowest" : "highest", " of the last ", k8s::HumanDuration(window), ": ", stable);
  }
  if (up ? stable <= current : stable >= current) return v;
  int to = stable;
  const int step = up ? spec.step_up : spec.step_down;
  if (step > 0 && std::abs(to - current) > step) {
    to = up ? current + step : current - step;
    absl::StrAppend(&v.why, "; a step of at most ", step, ": ", to);
  }
  if (last_scaled != absl::InfinitePast() && now < last_scaled + spec.cooldown) {
    absl::StrAppend(&v.why, "; held: cooling down until ", k8s::FormatTime(last_scaled + spec.cooldown));
    return v;
  }
  v.replicas = to;
  absl::StrAppend(&v.why, "; ", current, " → ", to);
  return v;
}

v1::ScaleRequest LoadScalingScale(const v1::Policy& policy, int replicas, const std::string& request_id) {
  const v1::LoadScaling& s = policy.load_scaling();
  v1::ScaleRequest r;
  r.set_workload(s.workload());
  r.set_replicas(replicas);
  if (!request_id.empty()) r.mutable_options()->set_request_id(request_id);
  if (!s.reason().empty()) {
    r.mutable_options()->set_reason(s.reason());
  } else if (s.query().size() <= 960) {
    r.mutable_options()->set_reason(absl::StrCat("policy ", IdOf(policy), " (", s.query(), ")"));
  } else {
    r.mutable_options()->set_reason(absl::StrCat("policy ", IdOf(policy), " (load scaling)"));
  }
  return r;
}

}  // namespace herd::policies
