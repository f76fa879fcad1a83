#include "server/policies/schedule.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"
#include "server/ops/names.h"
#include "server/policies/age.h"
#include "server/policies/scaling.h"
#include "server/policies/store.h"

namespace herd::policies {
namespace {

// Past this many runs between two looks (an @every 1s policy after a week
// down), the count of skipped runs is not walked run by run.
constexpr int kMaxWalk = 1000000;

absl::Status CheckOptions(const v1::MutationOptions& o, absl::string_view action) {
  if (o.dry_run()) return absl::InvalidArgumentError(absl::StrCat("schedule.", action, ".options.dry_run cannot be set: a policy's runs are real"));
  if (!o.request_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("schedule.", action,
                                                   ".options.request_id cannot be set: each run gets its own"));
  }
  if (o.reason().size() > 1024) return absl::InvalidArgumentError("the reason is longer than 1024 characters");
  return absl::OkStatus();
}

absl::StatusOr<ops::WorkloadName> Workload(const std::string& text, absl::string_view field,
                                           const std::vector<std::string>& kinds) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  auto w = ops::ParseWorkloadName(text, kinds);
  if (!w.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", w.status().message()));
  return w;
}

}  // namespace

absl::StatusOr<std::string> ParsePolicyName(absl::string_view name) {
  if (!absl::StartsWith(name, "policies/")) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a policy name (policies/{id})"));
  }
  std::string id(name.substr(9));
  if (absl::Status st = CheckPolicyId(id); !st.ok()) return st;
  return id;
}

absl::Status CheckPolicyId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= 40 && absl::ascii_islower(id.front()) && id.back() != '-';
  for (char c : id) ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("policy id \"", absl::CHexEscape(id),
                                                 "\": lower-case letters, digits and '-', starting with a letter, "
                                                 "not ending with '-', at most 40 characters"));
}

absl::StatusOr<ScheduleSpec> ParseSchedule(const v1::Schedule& s) {
  ScheduleSpec spec;
  if (s.cron().empty()) return absl::InvalidArgumentError("schedule.cron is required");
  auto cron = k8s::CronSchedule::Parse(s.cron());
  if (!cron.ok()) return absl::InvalidArgumentError(absl::StrCat("schedule.cron \"", s.cron(), "\": ", cron.status().message()));
  if (!cron->zone().empty()) {
    return absl::InvalidArgumentError("schedule.cron: give the time zone in schedule.time_zone, not as a TZ= prefix");
  }
  spec.cron = *std::move(cron);
  if (spec.cron.Next(absl::Now(), absl::UTCTimeZone()) == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError(absl::StrCat("schedule.cron \"", s.cron(), "\" never runs (not within 5 years)"));
  }
  spec.zone = absl::UTCTimeZone();
  if (!s.time_zone().empty() && !k8s::LoadCronTimeZone(s.time_zone(), &spec.zone)) {
    return absl::InvalidArgumentError(absl::StrCat("schedule.time_zone \"", absl::CHexEscape(s.time_zone()),
                                                   "\" is not a time zone of the IANA database (e.g. Europe/Paris)"));
  }
  if (s.has_late_window()) {
    const auto& d = s.late_window();
    if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= 1'000'000'000 ||
        absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()) < kMinLateWindow ||
        absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()) > kMaxLateWindow) {
      return absl::InvalidArgumentError("schedule.late_window must be from 1m to 168h");
    }
    spec.late_window = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  }
  return spec;
}

absl::StatusOr<Action> ActionOf(const v1::Schedule& s) {
  Action a;
  switch (s.action_case()) {
    case v1::Schedule::kPurge: {
      const v1::PurgeRequest& r = s.purge();
      if (absl::Status st = CheckOptions(r.options(), "purge"); !st.ok()) return st;
      a.verb = auth::Verb::kPurge;
      if (!r.workload().empty()) {
        auto w = Workload(r.workload(), "schedule.purge.workload", {"deployments", "statefulsets"});
        if (!w.ok()) return w.status();
        a.ns = w->ns;
        a.workload = w->name;
      } else if (r.namespace_().empty() || r.label_selector().empty()) {
        return absl::InvalidArgumentError("schedule.purge needs a workload, or a namespace and a label selector");
      } else {
        a.ns = r.namespace_();
      }
      return a;
    }
    case v1::Schedule::kScale: {
      if (absl::Status st = CheckOptions(s.scale().options(), "scale"); !st.ok()) return st;
      auto w = Workload(s.scale().workload(), "schedule.scale.workload", {"deployments", "statefulsets"});
      if (!w.ok()) return w.status();
      return Action{auth::Verb::kScale, w->ns, w->name};
    }
    case v1::Schedule::kKill: {
      const v1::KillRequest& r = s.kill();
      if (absl::Status st = CheckOptions(r.options(), "kill"); !st.ok()) return st;
      if (r.namespace_().empty()) return absl::InvalidArgumentError("schedule.kill.namespace is required");
      // Named pods: one is that name's rules; several, every workload's.
      return Action{auth::Verb::kKill, r.namespace_(), r.pods_size() == 1 ? r.pods(0) : ""};
    }
    case v1::Schedule::kRestart: {
      const v1::RolloutRequest& r = s.restart();
      if (absl::Status st = CheckOptions(r.options(), "restart"); !st.ok()) return st;
      if (!r.images().empty() || !r.tag().empty() || !r.restart()) {
        return absl::InvalidArgumentError(
            "schedule.restart must set restart and no images or tag: a schedule restarts pods (setting the same "
            "images again would change nothing)");
      }
      auto w = Workload(r.workload(), "schedule.restart.workload", {"deployments", "statefulsets"});
      if (!w.ok()) return w.status();
      return Action{auth::Verb::kRollout, w->ns, w->name};
    }
    case v1::Schedule::kCronjob: {
      const v1::ScheduledCronJobAction& c = s.cronjob();
      if (c.kind() != v1::OPERATION_KIND_CRONJOB_RUN && c.kind() != v1::OPERATION_KIND_CRONJOB_SUSPEND &&
          c.kind() != v1::OPERATION_KIND_CRONJOB_RESUME && c.kind() != v1::OPERATION_KIND_CRONJOB_KILL_JOBS) {
        return absl::InvalidArgumentError(
            "schedule.cronjob.kind must be one of OPERATION_KIND_CRONJOB_RUN, _SUSPEND, _RESUME, _KILL_JOBS");
      }
      if (absl::Status st = CheckOptions(c.request().options(), "cronjob.request"); !st.ok()) return st;
      auto w = Workload(c.request().cronjob(), "schedule.cronjob.request.cronjob", {"cronjobs"});
      if (!w.ok()) return w.status();
      return Action{auth::Verb::kCronJob, w->ns, w->name};
    }
    case v1::Schedule::ACTION_NOT_SET: break;
  }
  return absl::InvalidArgumentError("schedule needs an action: purge, scale, kill, restart or cronjob");
}

absl::StatusOr<absl::Duration> MaxAgeOf(const v1::MaxPodAge& m) {
  const auto& d = m.max_age();
  const absl::Duration age = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  if (!m.has_max_age() || d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= 1'000'000'000 || age < kMinMaxPodAge ||
      age > kMaxMaxPodAge) {
    return absl::InvalidArgumentError("max_pod_age.max_age must be from 10s to 365 days");
  }
  return age;
}

absl::StatusOr<Action> ActionOf(const v1::Policy& p) {
  switch (p.kind_case()) {
    case v1::Policy::kSchedule: return ActionOf(p.schedule());
    case v1::Policy::kMaxPodAge: {
      const v1::MaxPodAge& m = p.max_pod_age();
      auto w = Workload(m.workload(), "max_pod_age.workload", {"deployments", "statefulsets"});
      if (!w.ok()) return w.status();
      if (auto age = MaxAgeOf(m); !age.ok()) return age.status();
      if (m.reason().size() > 1024) return absl::InvalidArgumentError("max_pod_age.reason is longer than 1024 characters");
      return Action{auth::Verb::kPurge, w->ns, w->name};
    }
    case v1::Policy::kLoadScaling: {
      auto spec = ParseLoadScaling(p.load_scaling());
      if (!spec.ok()) return spec.status();
      auto w = Workload(p.load_scaling().workload(), "load_scaling.workload", {"deployments", "statefulsets"});
      if (!w.ok()) return w.status();
      return Action{auth::Verb::kScale, w->ns, w->name};
    }
    case v1::Policy::KIND_NOT_SET: break;
  }
  return absl::InvalidArgumentError("policy needs a kind: schedule, max_pod_age or load_scaling");
}

v1::PurgeRequest MaxPodAgePurge(const v1::Policy& p, int oldest, const std::string& request_id) {
  const v1::MaxPodAge& m = p.max_pod_age();
  v1::PurgeRequest r;
  r.set_workload(m.workload());
  r.set_mode(v1::PURGE_MODE_ROLLING);
  r.set_oldest(oldest);
  r.set_batch_size(1);
  r.mutable_options()->set_request_id(request_id);
  if (m.reason().empty()) {
    auto age = MaxAgeOf(m);
    r.mutable_options()->set_reason(absl::StrCat("policy ", IdOf(p), " (pods at most ",
                                                 k8s::HumanDuration(age.ok() ? *age : absl::ZeroDuration()), " old)"));
  } else {
    r.mutable_options()->set_reason(m.reason());
  }
  return r;
}

std::string RunRequestId(absl::string_view id, absl::Time scheduled) {
  return absl::StrCat("policy-", id, "-", absl::ToUnixSeconds(scheduled));
}

Due DueAt(const ScheduleSpec& spec, absl::Time last, absl::Time now) {
  Due due;
  // Every run after `last` and by `now`: how many, the first, the latest
  // and the one before it.
  int64_t missed = 0;
  absl::Time first = absl::InfinitePast(), latest = absl::InfinitePast(), before = absl::InfinitePast();
  auto walk = [&](absl::Time from) {
    absl::Time t = spec.cron.Next(from, spec.zone);
    for (int walked = 0; t <= now; ++walked) {
      if (walked == kMaxWalk) return false;
      if (missed == 0) first = t;
      before = latest;
      latest = t;
      ++missed;
      t = spec.cron.Next(t, spec.zone);
    }
    due.next = t;
    return true;
  };
  bool uncounted = false;
  if (!walk(last)) {
    // Too many to walk (an @every 1s policy after weeks down): the runs
    // within the late window are found from its start; those before it
    // are many, not counted.
    uncounted = true;
    missed = 0;
    first = latest = before = absl::InfinitePast();
    walk(now - spec.late_window - absl::Seconds(1));
  }
  if (missed == 0 && !uncounted) return due;
  if (missed > 0 && now - latest <= spec.late_window) {
    due.run = latest;
    --missed;
  }
  if (uncounted) {
    due.skipped = -1;
    due.first_skipped = spec.cron.Next(last, spec.zone);
    due.last_skipped = missed > 0 ? (due.run ? before : latest) : absl::InfinitePast();
    return due;
  }
  due.skipped = missed;
  if (missed > 0) {
    due.first_skipped = first;
    due.last_skipped = due.run ? before : latest;
  }
  return due;
}

std::vector<absl::Time> NextRuns(const ScheduleSpec& spec, absl::Time after, int n) {
  std::vector<absl::Time> out;
  absl::Time t = after;
  for (int i = 0; i < n; ++i) {
    t = spec.cron.Next(t, spec.zone);
    if (t == absl::InfiniteFuture()) break;
    out.push_back(t);
  }
  return out;
}

}  // namespace herd::policies
