// The Job controller, after upstream's (1.26, tracking with finalizers):
// pods <job>-<random> are made from the template with the
// batch.kubernetes.io/job-tracking finalizer; a finished pod is counted in
// status.succeeded / status.failed, and only then does its finalizer go, so
// no pod is counted twice or lost. Up to `parallelism` pods run while
// completions remain (or, without completions, until one succeeds). More
// failures than backoffLimit, or running past activeDeadlineSeconds, fail
// the Job (its remaining pods deleted); reaching completions completes it.
// Suspending deletes the active pods; resuming restarts the clock.
// Replacement pods wait out an exponential back-off after failures.
#include "sim/controllers/job.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "sim/controllers/internal/object_util.h"

namespace herd::sim {
namespace {

using internal::Deleting;
using internal::Field;
using internal::HasFinalizer;
using internal::Int;
using internal::Str;
using internal::Uid;

constexpr char kTrackingFinalizer[] = "batch.kubernetes.io/job-tracking";
constexpr char kOrphanPrefix[] = "pod|";
constexpr absl::Duration kMaxBackoff = absl::Minutes(6);

std::string Phase(const Json& pod) { return Str(Field(pod, "status"), "phase"); }

// The finished condition (Complete or Failed, True), or "".
std::string FinishedType(const Json& job) {
  const Json& status = Field(job, "status");
  if (internal::ConditionTrue(status, "Complete")) return "Complete";
  if (internal::ConditionTrue(status, "Failed")) return "Failed";
  return "";
}

int Restarts(const Json& pod) {
  int n = 0;
  const Json& cs = Field(Field(pod, "status"), "containerStatuses");
  if (cs.is_array()) {
    for (const auto& c : cs) n += static_cast<int>(Int(c, "restartCount"));
  }
  return n;
}

// controller.ActivePods ordering: the pods to delete first come first.
bool RemoveFirst(const ObjectPtr& a, const ObjectPtr& b) {
  const Json& pa = a->object;
  const Json& pb = b->object;
  bool sa = !Str(Field(pa, "spec"), "nodeName").empty(), sb = !Str(Field(pb, "spec"), "nodeName").empty();
  if (sa != sb) return !sa;
  auto rank = [](const std::string& phase) { return phase == "Pending" ? 0 : phase == "Unknown" ? 1 : 2; };
  if (rank(Phase(pa)) != rank(Phase(pb))) return rank(Phase(pa)) < rank(Phase(pb));
  bool ra = PodReady(pa), rb = PodReady(pb);
  if (ra != rb) return !ra;
  if (Restarts(pa) != Restarts(pb)) return Restarts(pa) > Restarts(pb);
  std::string ca = Str(Field(pa, "metadata"), "creationTimestamp"),
              cb = Str(Field(pb, "metadata"), "creationTimestamp");
  if (ca != cb) return ca > cb;
  return a->name() > b->name();
}

Json NewCondition(const std::string& type, const std::string& reason, const std::string& message) {
  std::string now = k8s::FormatTime(absl::Now());
  Json c = {{"type", type}, {"status", "True"}, {"lastProbeTime", now}, {"lastTransitionTime", now}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

// ensureJobConditionStatus: true when the list changed. A missing
// condition is only added when it would be True.
bool EnsureCondition(Json& status, const std::string& type, bool value, const std::string& reason,
                     const std::string& message) {
  std::string st = value ? "True" : "False";
  if (!status.contains("conditions") || !status["conditions"].is_array()) {
    if (!value) return false;
    status["conditions"] = Json::array();
  }
  for (auto& c : status["conditions"]) {
    if (Str(c, "type") != type) continue;
    if (Str(c, "status") == st && Str(c, "reason") == reason && Str(c, "message") == message) return false;
    c["status"] = st;
    c["lastTransitionTime"] = k8s::FormatTime(absl::Now());
    c["reason"] = reason;
    c["message"] = message;
    return true;
  }
  if (!value) return false;
  Json c = NewCondition(type, reason, message);
  status["conditions"].push_back(std::move(c));
  return true;
}

}  // namespace

JobController::JobController(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o)
    : Controller("job-controller", loop, api, owners, o.controller_qps, o.controller_burst, o.reaction_delay),
      backoff_base_(o.job_backoff) {}

void JobController::Start() {
  Observe(kJobs, [this](const Event& e) {
    if (e.type == EventType::kDeleted) {
      backoff_.erase(KeyOf(e.object));
      return;
    }
    Enqueue(KeyOf(e.object));
  });
  Observe(kPods, [this](const Event& e) {
    const Json* ref = ControllerRef(e.object->object, "Job");
    if (!ref) {
      // Orphaned (its Job deleted with propagation Orphan): nothing counts it any more.
      if (e.type != EventType::kDeleted && HasFinalizer(e.object->object, kTrackingFinalizer)) {
        Enqueue(absl::StrCat(kOrphanPrefix, KeyOf(e.object)));
      }
      return;
    }
    std::string job_key = Store::KeyOf(e.object->ns(), Str(*ref, "name"));
    Enqueue(job_key);
    const Json& pod = e.object->object;
    if (e.type == EventType::kDeleted || !HasFinalizer(pod, kTrackingFinalizer)) return;
    ObjectPtr job = api_.store().Get(kJobs, e.object->ns(), Str(*ref, "name"));
    if (!job || Uid(job->object) != Str(*ref, "uid")) Enqueue(absl::StrCat(kOrphanPrefix, KeyOf(e.object)));
  });
}

void JobController::ReleasePod(const std::string& key, const ObjectPtr& pod) {
  Write(key, [this, ns = pod->ns(), name = pod->name()] {
    (void)api_.Modify(kPods, ns, name, [&](Json& p) {
      internal::RemoveFinalizer(p, kTrackingFinalizer);
      return absl::OkStatus();
    });
  });
}

void JobController::DeletePod(const std::string& key, const Json& job, const ObjectPtr& pod) {
  // The finalizer goes first, so the deleted pod is not counted as a failure.
  ReleasePod(key, pod);
  Write(key, [this, job, ns = pod->ns(), name = pod->name()] {
    auto deleted = api_.Delete(kPods, ns, name, {});
    if (deleted.ok()) {
      Emit(job, "Normal", "SuccessfulDelete", absl::StrCat("Deleted pod: ", name));
    } else if (!absl::IsNotFound(deleted.status())) {
      Emit(job, "Warning", "FailedDelete", absl::StrCat("Error deleting: ", deleted.status().message()));
    }
  });
}

void JobController::SyncOrphanPod(const std::string& key) {
  auto [ns, name] = SplitKey(key.substr(sizeof(kOrphanPrefix) - 1));
  ObjectPtr pod = api_.store().Get(kPods, ns, name);
  if (!pod || !HasFinalizer(pod->object, kTrackingFinalizer)) return;
  const Json* ref = ControllerRef(pod->object, "Job");
  ObjectPtr job = ref ? api_.store().Get(kJobs, ns, Str(*ref, "name")) : nullptr;
  if (job && Uid(job->object) == Str(*ref, "uid")) return;  // its Job counts it
  ReleasePod(key, pod);
}

void JobController::Sync(const std::string& key) {
  if (key.rfind(kOrphanPrefix, 0) == 0) return SyncOrphanPod(key);
  auto [ns, name] = SplitKey(key);
  ObjectPtr job_obj = api_.store().Get(kJobs, ns, name);
  if (!job_obj) return;
  const Json& job = job_obj->object;
  const Json& spec = Field(job, "spec");
  const Json& old_status = Field(job, "status");
  const std::string uid = Uid(job);
  const absl::Time now = absl::Now();

  std::vector<ObjectPtr> pods;
  for (const ObjectPtr& p : owners_.Dependents(kPods, uid)) {
    const Json* ref = ControllerRef(p->object, "Job");
    if (ref && Str(*ref, "uid") == uid) pods.push_back(p);
  }
  std::string finished = FinishedType(job);
  if (Deleting(job) || !finished.empty()) {
    // Nothing more to run or count: pods that still hold the finalizer are let go.
    for (const ObjectPtr& p : pods) {
      if (!HasFinalizer(p->object, kTrackingFinalizer)) continue;
      if (Deleting(job) || !PodActive(p->object)) ReleasePod(key, p);
    }
    return;
  }

  bool suspended = Field(spec, "suspend").is_boolean() && spec["suspend"].get<bool>();
  std::vector<ObjectPtr> active_pods, to_release;
  int64_t new_succeeded = 0, new_failed = 0, ready = 0;
  for (const ObjectPtr& p : pods) {
    const Json& pod = p->object;
    if (PodActive(pod)) {
      active_pods.push_back(p);
      if (PodReady(pod)) ++ready;
    }
    if (!HasFinalizer(pod, kTrackingFinalizer)) continue;  // already counted
    std::string phase = Phase(pod);
    if (phase == "Succeeded") {
      ++new_succeeded;
      to_release.push_back(p);
    } else if (phase == "Failed" || Deleting(pod)) {
      // A pod deleted from under the Job counts as failed, as upstream.
      ++new_failed;
      to_release.push_back(p);
    }
  }
  Backoff& bo = backoff_[key];
  if (new_succeeded > 0) bo.failures = 0;
  if (new_failed > 0) {
    bo.failures += new_failed;
    bo.last = now;
  }
  int64_t active = static_cast<int64_t>(active_pods.size());
  int64_t succeeded = Int(old_status, "succeeded") + new_succeeded;
  int64_t failed = Int(old_status, "failed") + new_failed;

  Json status = old_status.is_object() ? old_status : Json::object();
  if (!status.contains("startTime") && !suspended) status["startTime"] = k8s::FormatTime(now);
  int64_t parallelism = Int(spec, "parallelism", 1);
  bool has_completions = Field(spec, "completions").is_number_integer();
  int64_t completions = Int(spec, "completions", 1);
  int64_t backoff_limit = Int(spec, "backoffLimit", 6);
  bool new_failure = failed > Int(old_status, "failed");

  std::string fail_reason, fail_message;
  const Json& deadline = Field(spec, "activeDeadlineSeconds");
  absl::Time started = internal::TimeField(status, "startTime");
  if (new_failure && active != parallelism && failed > backoff_limit) {
    fail_reason = "BackoffLimitExceeded";
    fail_message = "Job has reached the specified backoff limit";
  } else if (deadline.is_number_integer() && !suspended && started != absl::InfinitePast() &&
             now - started >= absl::Seconds(deadline.get<int64_t>())) {
    fail_reason = "DeadlineExceeded";
    fail_message = "Job was active longer than specified deadline";
  } else if (deadline.is_number_integer() && !suspended && started != absl::InfinitePast()) {
    Enqueue(key, started + absl::Seconds(deadline.get<int64_t>()) - now);
  }

  bool complete = false;
  struct Note {
    std::string type, reason, message;
  };
  std::vector<Note> events;  // emitted after the status, as upstream records them
  if (!fail_reason.empty()) {
    for (const ObjectPtr& p : active_pods) DeletePod(key, job, p);
    failed += active;
    active = 0;
  } else {
    // manageJob.
    if (suspended) {
      for (const ObjectPtr& p : active_pods) DeletePod(key, job, p);
      active = 0;
    } else {
      int64_t want;
      if (!has_completions) {
        want = succeeded > 0 ? active : parallelism;
      } else {
        want = std::clamp<int64_t>(completions - succeeded, 0, parallelism);
      }
      if (active > want) {
        std::sort(active_pods.begin(), active_pods.end(), RemoveFirst);
        for (int64_t i = 0; i < active - want; ++i) DeletePod(key, job, active_pods[static_cast<size_t>(i)]);
        active = want;
      } else if (active < want) {
        absl::Duration wait = absl::ZeroDuration();
        if (bo.failures > 0) {
          absl::Duration delay =
              std::min(backoff_base_ * (int64_t{1} << std::min<int64_t>(bo.failures - 1, 20)), kMaxBackoff);
          wait = bo.last + delay - now;
        }
        if (wait > absl::ZeroDuration()) {
          Enqueue(key, wait);
        } else {
          int64_t diff = std::min<int64_t>(want - active, 500);
          Json tmpl = Field(spec, "template");
          for (int64_t i = 0; i < diff; ++i) {
            Write(key, [this, job, tmpl, ns = ns, name = name] {
              Json pod = NewPodFromTemplate(tmpl, job, name + "-");
              Json& fins = pod["metadata"]["finalizers"];
              if (!fins.is_array()) fins = Json::array();
              fins.push_back(kTrackingFinalizer);
              auto created = api_.Create(kPods, ns, std::move(pod));
              if (created.ok()) {
                Emit(job, "Normal", "SuccessfulCreate", absl::StrCat("Created pod: ", (*created)->name()));
              } else {
                Emit(job, "Warning", "FailedCreate", absl::StrCat("Error creating: ", created.status().message()));
              }
            });
          }
          active += diff;
        }
      }
    }
    complete = has_completions ? (succeeded >= completions && active == 0) : (succeeded > 0 && active == 0);
    if (!complete) {
      if (suspended) {
        if (EnsureCondition(status, "Suspended", true, "JobSuspended", "Job suspended")) {
          events.push_back({"Normal", "Suspended", "Job suspended"});
        }
      } else if (EnsureCondition(status, "Suspended", false, "JobResumed", "Job resumed")) {
        events.push_back({"Normal", "Resumed", "Job resumed"});
        // The deadline counts time active: it restarts with the Job.
        status["startTime"] = k8s::FormatTime(now);
      }
    }
  }
  if (!fail_reason.empty()) {
    if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
    status["conditions"].push_back(NewCondition("Failed", fail_reason, fail_message));
    events.push_back({"Warning", fail_reason, fail_message});
  } else if (complete) {
    if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
    status["conditions"].push_back(NewCondition("Complete", "", ""));
    status["completionTime"] = k8s::FormatTime(now);
    events.push_back({"Normal", "Completed", "Job completed"});
  }

  auto set_count = [&](const char* k, int64_t v) {
    if (v > 0) {
      status[k] = v;
    } else {
      status.erase(k);
    }
  };
  set_count("active", active);
  set_count("succeeded", succeeded);
  set_count("failed", failed);
  status["ready"] = ready;
  status["uncountedTerminatedPods"] = Json::object();
  if (status != old_status) {
    Write(key, [this, ns = ns, name = name, status] {
      (void)api_.Modify(kJobs, ns, name,
                        [&](Json& o) {
                          o["status"] = status;
                          return absl::OkStatus();
                        },
                        {.subresource = "status"});
    });
  }
  for (const auto& ev : events) Emit(job, ev.type, ev.reason, ev.message);
  // Counted in the status written above: the pods may go now.
  for (const ObjectPtr& p : to_release) ReleasePod(key, p);
}

}  // namespace herd::sim
