// The CronJob controller, after upstream's (v2, 1.26): every
// `cronjob_period` it looks at each CronJob; for the most recent unmet
// schedule time (from lastScheduleTime, or creation, bounded by
// startingDeadlineSeconds) it creates the Job <cronjob>-<minutes since the
// epoch>, whose name makes a second creation for the same time impossible.
// Forbid skips a run while one is active, Replace deletes the active ones
// first. Jobs are owned by their CronJob; finished ones leave the active
// list and update lastSuccessfulTime, and the oldest finished beyond
// successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted.
// spec.timeZone takes any zone of the system's tz database (UTC without
// it); the clock comes from ControllerOptions::clock so tests can move it.
#include "sim/controllers/cronjob.h"

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "common/k8s/cron.h"
#include "sim/controllers/internal/object_util.h"
#include "sim/errors.h"

namespace herd::sim {

using ::herd::k8s::CronSchedule;
using ::herd::k8s::LoadCronTimeZone;
namespace {

using internal::Deleting;
using internal::Field;
using internal::Int;
using internal::Str;
using internal::Uid;

constexpr char kScheduledAnnotation[] = "batch.kubernetes.io/cronjob-scheduled-timestamp";

// "Complete" or "Failed" when the Job has finished, else "".
std::string Finished(const Json& job) {
  const Json& status = Field(job, "status");
  if (internal::ConditionTrue(status, "Complete")) return "Complete";
  if (internal::ConditionTrue(status, "Failed")) return "Failed";
  return "";
}

bool InActive(const Json& status, const std::string& uid) {
  const Json& active = Field(status, "active");
  if (!active.is_array()) return false;
  for (const auto& ref : active) {
    if (Str(ref, "uid") == uid) return true;
  }
  return false;
}

void RemoveFromActive(Json& status, const std::string& uid) {
  if (!status.contains("active") || !status["active"].is_array()) return;
  Json kept = Json::array();
  for (const auto& ref : status["active"]) {
    if (Str(ref, "uid") != uid) kept.push_back(ref);
  }
  if (kept.empty()) {
    status.erase("active");
  } else {
    status["active"] = std::move(kept);
  }
}

// Go's time.RFC3339 in `tz`: "Z" for a zero offset, else "+hh:mm".
std::string Rfc3339In(absl::Time t, const absl::TimeZone& tz) {
  if (tz.At(t).offset == 0) return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, tz);
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", t, tz);
}

struct Missed {
  absl::Time time = absl::InfinitePast();  // InfinitePast: none due
  int64_t count = 0;
};

// getMostRecentScheduleTime: the latest activation in (earliest, now].
// Walks the activations (upstream extrapolates from the first two, which
// is the same for evenly spaced schedules), and stops counting at a bound.
Missed MostRecent(const CronSchedule& s, absl::Time earliest, absl::Time now, const absl::TimeZone& tz) {
  Missed m;
  absl::Time t = s.Next(earliest, tz);
  while (t <= now && m.count < 100000) {
    m.time = t;
    ++m.count;
    t = s.Next(t, tz);
  }
  return m;
}

}  // namespace

CronJobController::CronJobController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners,
                                     const ControllerOptions& o)
    : Controller("cronjob-controller", loop, api, owners, o.controller_qps, o.controller_burst),
      clock_(o.clock),
      period_(o.cronjob_period) {}

void CronJobController::Start() {
  Observe(kCronJobs, [this](const Event& e) {
    // Its own status writes need no second look; spec changes do.
    if (e.type == EventType::kDeleted) {
      due_.erase(KeyOf(e.object));
      return;
    }
    if (e.old && Field(e.old->object, "spec") == Field(e.object->object, "spec") &&
        Deleting(e.old->object) == Deleting(e.object->object)) {
      return;
    }
    Enqueue(KeyOf(e.object));
  });
  Observe(kJobs, [this](const Event& e) {
    for (const ObjectPtr& o : {e.old, e.object}) {
      if (!o) continue;
      if (const Json* ref = ControllerRef(o->object, "CronJob")) Enqueue(Store::KeyOf(o->ns(), Str(*ref, "name")));
    }
  });
  Tick();
}

void CronJobController::Tick() {
  After(period_, [this] {
    absl::Time now = Now();
    api_.store().Scan(kCronJobs, "", "", [&](const ObjectPtr& cj) {
      std::string key = KeyOf(cj);
      auto it = due_.find(key);
      if (it == due_.end() || it->second <= now) Enqueue(key);
      return true;
    });
    Tick();
  });
}

void CronJobController::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr cj_obj = api_.store().Get(kCronJobs, ns, name);
  if (!cj_obj) return;
  const Json& cj = cj_obj->object;
  const Json& spec = Field(cj, "spec");
  const Json& old_status = Field(cj, "status");
  auto status = std::make_shared<Json>(old_status.is_object() ? old_status : Json::object());
  const std::string uid = Uid(cj);
  const absl::Time now = Now();

  std::vector<ObjectPtr> jobs;
  std::set<std::string> children;
  for (const ObjectPtr& j : owners_.Dependents(kJobs, uid)) {
    const Json* ref = ControllerRef(j->object, "CronJob");
    if (!ref || Str(*ref, "uid") != uid) continue;
    jobs.push_back(j);
    children.insert(Uid(j->object));
  }
  for (const ObjectPtr& j : jobs) {
    const Json& job = j->object;
    std::string finished = Finished(job);
    bool found = InActive(*status, Uid(job));
    if (!found && finished.empty()) {
      Emit(cj, "Warning", "UnexpectedJob",
           absl::StrCat("Saw a job that the controller did not create or forgot: ", j->name()));
    } else if (found && !finished.empty()) {
      RemoveFromActive(*status, Uid(job));
      Emit(cj, "Normal", "SawCompletedJob", absl::StrCat("Saw completed job: ", j->name(), ", status: ", finished));
    } else if (!finished.empty()) {
      // Finished and no longer active: its completion counts as the last success.
      absl::Time done = internal::TimeField(Field(job, "status"), "completionTime");
      if (done != absl::InfinitePast() && done > internal::TimeField(*status, "lastSuccessfulTime")) {
        (*status)["lastSuccessfulTime"] = k8s::FormatTime(done);
      }
    }
  }
  const Json active_copy = Field(*status, "active");
  if (active_copy.is_array()) {
    for (const auto& ref : active_copy) {
      if (children.count(Str(ref, "uid"))) continue;
      ObjectPtr live = api_.store().Get(kJobs, Str(ref, "namespace"), Str(ref, "name"));
      if (live) continue;
      Emit(cj, "Normal", "MissingJob", absl::StrCat("Active job went missing: ", Str(ref, "name")));
      RemoveFromActive(*status, Str(ref, "uid"));
    }
  }

  auto write_status = [this, key, ns = ns, name = name, status, old = old_status] {
    Write(key, [this, ns, name, status, old] {
      if (*status == old) return;
      (void)api_.Modify(kCronJobs, ns, name,
                        [&](Json& o) {
                          o["status"] = *status;
                          return absl::OkStatus();
                        },
                        {.subresource = "status"});
    });
  };
  // The history limits apply whatever happens to the schedule below.
  auto cleanup = [&] {
    std::vector<ObjectPtr> succeeded, failed;
    for (const ObjectPtr& j : jobs) {
      std::string f = Finished(j->object);
      if (f == "Complete") succeeded.push_back(j);
      if (f == "Failed") failed.push_back(j);
    }
    auto trim = [&](std::vector<ObjectPtr>& list, const char* limit_field) {
      if (!Field(spec, limit_field).is_number_integer()) return;
      int64_t extra = static_cast<int64_t>(list.size()) - spec[limit_field].get<int64_t>();
      if (extra <= 0) return;
      // Oldest start first; jobs that never started go last.
      std::sort(list.begin(), list.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
        absl::Time sa = internal::TimeField(Field(a->object, "status"), "startTime");
        absl::Time sb = internal::TimeField(Field(b->object, "status"), "startTime");
        bool na = sa == absl::InfinitePast(), nb = sb == absl::InfinitePast();
        if (na != nb) return nb;
        if (sa == sb) return a->name() < b->name();
        return sa < sb;
      });
      for (int64_t i = 0; i < extra; ++i) {
        const ObjectPtr& j = list[static_cast<size_t>(i)];
        RemoveFromActive(*status, Uid(j->object));
        Write(key, [this, cj, ns = j->ns(), job_name = j->name()] {
          DeleteOptions del;
          del.propagation_policy = "Background";
          auto deleted = api_.Delete(kJobs, ns, job_name, del);
          if (deleted.ok()) {
            Emit(cj, "Normal", "SuccessfulDelete", absl::StrCat("Deleted job ", job_name));
          } else {
            Emit(cj, "Warning", "FailedDelete", absl::StrCat("Deleted job: ", deleted.status().message()));
          }
        });
      }
    };
    trim(succeeded, "successfulJobsHistoryLimit");
    trim(failed, "failedJobsHistoryLimit");
  };
  auto finish = [&] {
    cleanup();
    write_status();
  };

  // Suspension, bad zones or schedules wait for a change of the spec.
  due_[key] = absl::InfiniteFuture();
  if (Deleting(cj)) return finish();
  absl::TimeZone tz = absl::UTCTimeZone();
  const Json& zone = Field(spec, "timeZone");
  std::string schedule_text = Str(spec, "schedule");
  if (zone.is_string()) {
    std::string zone_name = zone.get<std::string>();
    if (!LoadCronTimeZone(zone_name, &tz)) {
      Emit(cj, "Warning", "UnknownTimeZone",
           absl::StrCat("invalid timeZone: \"", zone_name, "\": unknown time zone ", zone_name));
      return finish();
    }
  }
  if (Field(spec, "suspend").is_boolean() && spec["suspend"].get<bool>()) return finish();
  if (absl::StrContains(schedule_text, "TZ")) {
    Emit(cj, "Warning", "UnsupportedSchedule",
         absl::StrCat("CRON_TZ or TZ used in schedule \"", schedule_text,
                      "\" is not officially supported, see "
                      "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"));
  }
  auto sched = CronSchedule::Parse(schedule_text);
  if (!sched.ok()) {
    Emit(cj, "Warning", "UnparseableSchedule",
         absl::StrCat("unparseable schedule: \"", schedule_text, "\" : ", sched.status().message()));
    return finish();
  }
  due_[key] = sched->Next(now, tz);

  // getNextScheduleTime.
  absl::Time earliest = internal::TimeField(*status, "lastScheduleTime");
  if (earliest == absl::InfinitePast()) earliest = internal::TimeField(Field(cj, "metadata"), "creationTimestamp");
  const Json& sds = Field(spec, "startingDeadlineSeconds");
  if (sds.is_number_integer()) earliest = std::max(earliest, now - absl::Seconds(sds.get<int64_t>()));
  Missed missed = MostRecent(*sched, earliest, now, tz);
  if (missed.count > 100) {
    Emit(cj, "Warning", "TooManyMissedTimes",
         absl::StrCat("too many missed start times: ", missed.count,
                      ". Set or decrease .spec.startingDeadlineSeconds or check clock skew"));
  }
  if (missed.count == 0) return finish();
  absl::Time scheduled = missed.time;
  if (sds.is_number_integer() && scheduled + absl::Seconds(sds.get<int64_t>()) < now) {
    Emit(cj, "Warning", "MissSchedule",
         absl::StrCat("Missed scheduled time to start a job: ",
                      absl::FormatTime("%a, %d %b %Y %H:%M:%S %z", scheduled, absl::UTCTimeZone())));
    return finish();
  }
  std::string job_name = absl::StrCat(name, "-", absl::ToUnixSeconds(scheduled) / 60);
  const Json& active = Field(*status, "active");
  bool already = Str(*status, "lastScheduleTime") == k8s::FormatTime(scheduled);
  if (active.is_array()) {
    for (const auto& ref : active) already |= Str(ref, "name") == job_name;
  }
  if (already) return finish();
  bool has_active = active.is_array() && !active.empty();
  std::string policy = Str(spec, "concurrencyPolicy");
  if (policy == "Forbid" && has_active) {
    Emit(cj, "Normal", "JobAlreadyActive",
         "Not starting job because prior execution is running and concurrency policy is Forbid");
    return finish();
  }
  if (policy == "Replace" && has_active) {
    for (const auto& ref : Json(active)) {
      ObjectPtr j = api_.store().Get(kJobs, Str(ref, "namespace"), Str(ref, "name"));
      if (!j) {
        Emit(cj, "Warning", "FailedGet",
             absl::StrCat("Get job: ", NotFound(Resource(kJobs), Str(ref, "name")).message()));
        return finish();
      }
      RemoveFromActive(*status, Uid(j->object));
      Write(key, [this, cj, ns = j->ns(), job = j->name()] {
        DeleteOptions del;
        del.propagation_policy = "Background";
        auto deleted = api_.Delete(kJobs, ns, job, del);
        if (deleted.ok()) {
          Emit(cj, "Normal", "SuccessfulDelete", absl::StrCat("Deleted job ", job));
        } else {
          Emit(cj, "Warning", "FailedDelete", absl::StrCat("Deleted job: ", deleted.status().message()));
        }
      });
    }
  }

  // getJobFromTemplate2.
  const Json& jt = Field(spec, "jobTemplate");
  Json meta = {{"name", job_name}, {"namespace", ns}, {"ownerReferences", Json::array({OwnerReference(cj)})}};
  const Json& labels = Field(Field(jt, "metadata"), "labels");
  if (labels.is_object() && !labels.empty()) meta["labels"] = labels;
  Json annotations = Field(Field(jt, "metadata"), "annotations");
  if (!annotations.is_object()) annotations = Json::object();
  annotations[kScheduledAnnotation] = Rfc3339In(scheduled, tz);
  meta["annotations"] = annotations;
  Json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", meta}, {"spec", Field(jt, "spec")}};
  std::string scheduled_text = k8s::FormatTime(scheduled);
  Write(key, [this, cj, ns = ns, job, status, scheduled_text] {
    auto created = api_.Create(kJobs, ns, job);
    if (!created.ok()) {
      // One that exists was made for this time already (by an earlier sync).
      if (StatusObject(created.status()).value("reason", "") != "AlreadyExists") {
        Emit(cj, "Warning", "FailedCreate", absl::StrCat("Error creating job: ", created.status().message()));
      }
      return;
    }
    Emit(cj, "Normal", "SuccessfulCreate", absl::StrCat("Created job ", (*created)->name()));
    Json& list = (*status)["active"];
    if (!list.is_array()) list = Json::array();
    list.push_back(ApiServer::Reference((*created)->object));
    (*status)["lastScheduleTime"] = scheduled_text;
  });
  finish();
}

}  // namespace herd::sim
