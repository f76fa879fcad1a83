#include "server/engines/cronjob.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"
#include "server/kube/types.h"
#include "server/ops/names.h"

namespace herd::engines {
namespace {

using ops::LiveOperation;
using ops::WorkloadName;

constexpr char kInstantiateAnnotation[] = "cronjob.kubernetes.io/instantiate";

// `<cronjob>-manual-<unix seconds>`, as herd names the Jobs it starts; the
// CronJob's part is cut so the whole stays a valid label value (≤ 63), as
// the job-name label on its pods must be.
std::string ManualJobName(const std::string& cronjob, absl::Time now) {
  std::string suffix = absl::StrCat("-manual-", absl::ToUnixSeconds(now));
  std::string base = cronjob.substr(0, 63 - suffix.size());
  while (!base.empty() && (base.back() == '-' || base.back() == '.')) base.pop_back();
  return base + suffix;
}

bool OwnedBy(const Json& obj, const std::string& uid) {
  for (const auto& ref : obj["metadata"].value("ownerReferences", Json::array())) {
    if (ref.value("uid", "") == uid && ref.value("controller", false)) return true;
  }
  return false;
}

// Whether `job` is the one operation `op` created (its annotation names it).
bool StartedBy(const Json& job, const LiveOperation& op) {
  return job["metadata"].value("annotations", Json::object()).value(kOperationAnnotation, "") == OperationId(op);
}

struct JobRef {
  std::string name;
  std::string uid;
};

class CronJobEngine : public ops::Engine {
 public:
  CronJobEngine(v1::OperationKind kind, WorkloadName w, v1::CronJobRequest req)
      : kind_(kind), w_(std::move(w)), req_(std::move(req)) {}

  v1::OperationKind kind() const override { return kind_; }
  std::string target() const override { return w_.ToString(); }
  std::string lock_key() const override { return w_.ToString(); }
  std::string request_json() const override { return ProtoJson(req_); }

  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv& env) override;
  void Run(ops::EngineEnv& env, LiveOperation& op, bool resumed) override;
  std::vector<v1::Permission> Writes() const override {
    switch (kind_) {
      case v1::OPERATION_KIND_CRONJOB_RUN:
        // A Job made from the template; deleted again when the run is cancelled.
        return {ops::Permit("create", kube::kJobs, w_.ns), ops::Permit("delete", kube::kJobs, w_.ns)};
      case v1::OPERATION_KIND_CRONJOB_SUSPEND:
      case v1::OPERATION_KIND_CRONJOB_RESUME:
        return {ops::Permit("patch", kube::kCronJobs, w_.ns, w_.name)};
      default:
        return {ops::Permit("delete", kube::kJobs, w_.ns)};
    }
  }

 private:
  // The Jobs of the CronJob that have not finished: those it lists as
  // active and those it owns.
  absl::StatusOr<std::vector<kube::Job>> RunningJobs(ops::EngineEnv& env, const kube::CronJob& cj,
                                                     ReadFrom from = ReadFrom::kApi);
  void RunJob(ops::EngineEnv& env, LiveOperation& op);
  void SetSuspend(ops::EngineEnv& env, LiveOperation& op, bool suspend);
  void KillJobs(ops::EngineEnv& env, LiveOperation& op);

  v1::OperationKind kind_;
  WorkloadName w_;
  v1::CronJobRequest req_;
};

absl::StatusOr<std::vector<kube::Job>> CronJobEngine::RunningJobs(ops::EngineEnv& env, const kube::CronJob& cj,
                                                                  ReadFrom from) {
  auto jobs = ListObjects(env, kube::kJobs, w_.ns, {}, from);
  if (!jobs.ok()) return jobs.status();
  std::set<std::string> active;
  for (const auto& ref : cj.active()) active.insert(ref.name);
  std::vector<kube::Job> out;
  for (auto& obj : *jobs) {
    kube::Job j(std::move(obj));
    if (j.finished() || j.terminating()) continue;
    if (active.count(j.name()) || OwnedBy(j.json(), cj.uid())) out.push_back(j);
  }
  std::sort(out.begin(), out.end(), [](const kube::Job& a, const kube::Job& b) { return a.name() < b.name(); });
  return out;
}

absl::StatusOr<v1::Plan> CronJobEngine::Prepare(ops::EngineEnv& env) {
  // Planned from the cache: Run decides on what the API answers.
  auto obj = GetWorkload(env, w_, ReadFrom::kCache);
  if (!obj.ok()) return obj.status();
  kube::CronJob cj(*std::move(obj));
  v1::Plan plan;
  switch (kind_) {
    case v1::OPERATION_KIND_CRONJOB_RUN: {
      if (!cj.job_template() || !cj.job_template()->is_object()) {
        return absl::FailedPreconditionError(absl::StrCat(w_.Short(), " has no jobTemplate to start a Job from"));
      }
      std::string name = ManualJobName(w_.name, env.clock.Now());
      plan.set_summary(absl::StrCat("start a Job from ", w_.Short(), "'s jobTemplate (as kubectl create job --from=cronjob/",
                                    w_.name, ") and wait until it completes"));
      plan.add_changes(absl::StrCat("create Job ", name, " (annotated ", kInstantiateAnnotation, ": manual)"));
      // The last finished run tells how long one takes.
      auto jobs = ListObjects(env, kube::kJobs, w_.ns, {}, ReadFrom::kCache);
      if (jobs.ok()) {
        absl::Time latest = absl::InfinitePast();
        for (auto& job : *jobs) {
          kube::Job j(std::move(job));
          if (!OwnedBy(j.json(), cj.uid()) || !j.complete() || !j.start_time() || !j.completion_time()) continue;
          if (*j.completion_time() > latest) {
            latest = *j.completion_time();
            ops::SetDuration(*j.completion_time() - *j.start_time(), plan.mutable_estimated_duration());
          }
        }
      }
      break;
    }
    case v1::OPERATION_KIND_CRONJOB_SUSPEND:
    case v1::OPERATION_KIND_CRONJOB_RESUME: {
      bool want = kind_ == v1::OPERATION_KIND_CRONJOB_SUSPEND;
      if (cj.suspend() == want) {
        plan.set_summary(absl::StrCat(w_.Short(), " is already ", want ? "suspended" : "active", ": nothing to do"));
      } else {
        plan.set_summary(want ? absl::StrCat("suspend ", w_.Short(), ": no new Jobs (running ones keep running)")
                              : absl::StrCat("resume ", w_.Short(), ": Jobs start again on its schedule"));
        plan.add_changes(absl::StrCat("spec.suspend: ", want ? "false → true" : "true → false"));
      }
      break;
    }
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS: {
      auto jobs = RunningJobs(env, cj, ReadFrom::kCache);
      if (!jobs.ok()) return jobs.status();
      auto pods = ListObjects(env, kube::kPods, w_.ns, {}, ReadFrom::kCache);
      if (!pods.ok()) return pods.status();
      for (const auto& j : *jobs) {
        plan.add_changes(absl::StrCat("delete Job ", j.name(), " (propagationPolicy Background)"));
        for (const Json& p : *pods) {
          if (!OwnedBy(p, j.uid())) continue;
          auto* a = plan.add_pods();
          a->set_pod(PodName(p));
          a->set_action("delete");
        }
      }
      plan.set_summary(jobs->empty() ? absl::StrCat(w_.Short(), " has no running Jobs: nothing to do")
                                     : absl::StrCat("delete the ", jobs->size(), " running Job",
                                                    jobs->size() == 1 ? "" : "s", " of ", w_.Short(), " and their ",
                                                    plan.pods_size(), " pod", plan.pods_size() == 1 ? "" : "s"));
      ops::SetDuration(absl::Seconds(plan.pods_size() > 0 ? 3 : 1), plan.mutable_estimated_duration());
      break;
    }
    default:
      return absl::InvalidArgumentError("not a CronJob action");
  }
  return plan;
}

void CronJobEngine::Run(ops::EngineEnv& env, LiveOperation& op, bool /*resumed*/) {
  switch (kind_) {
    case v1::OPERATION_KIND_CRONJOB_RUN:
      return RunJob(env, op);
    case v1::OPERATION_KIND_CRONJOB_SUSPEND:
      return SetSuspend(env, op, true);
    case v1::OPERATION_KIND_CRONJOB_RESUME:
      return SetSuspend(env, op, false);
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS:
      return KillJobs(env, op);
    default:
      return Fail(op, v1::FAILURE_REASON_UNSPECIFIED, absl::InvalidArgumentError("not a CronJob action"));
  }
}

void CronJobEngine::RunJob(ops::EngineEnv& env, LiveOperation& op) {
  absl::Time t0 = ops::FromProto(op.Snapshot().create_time());
  auto& jobs = env.informers.For(kube::kJobs, w_.ns);
  auto& pods = env.informers.For(kube::kPods, w_.ns);
  // The name is saved before the Job is created, so a replica that adopts
  // the operation looks for that Job instead of starting a second one.
  std::string name = op.Checkpoint("job");
  bool exists = false;
  if (!name.empty()) {
    auto job = env.kube.Get(kube::kJobs, w_.ns, name);
    if (!job.ok() && !kube::IsNotFound(job.status())) return Fail(op, v1::FAILURE_REASON_API_ERROR, job.status());
    exists = job.ok() && StartedBy(*job, op);
  }
  if (!exists) {
    auto obj = GetWorkload(env, w_);
    if (!obj.ok()) return Fail(op, ReasonForApiError(obj.status()), obj.status());
    kube::CronJob cj(*std::move(obj));
    const Json* tmpl = cj.job_template();
    if (!tmpl || !tmpl->is_object()) {
      return Fail(op, v1::FAILURE_REASON_UNSPECIFIED,
                  absl::FailedPreconditionError(absl::StrCat(w_.Short(), " has no jobTemplate to start a Job from")));
    }
    if (name.empty()) {
      name = ManualJobName(w_.name, env.clock.Now());
      op.SetCheckpoint("job", name);
      if (!PersistBeforeWrite(op)) return;
    }
    const Json meta = tmpl->value("metadata", Json::object());
    Json annotations = meta.value("annotations", Json::object());
    annotations[kInstantiateAnnotation] = "manual";
    annotations[kOperationAnnotation] = OperationId(op);
    Json job = {{"apiVersion", "batch/v1"},
                {"kind", "Job"},
                {"metadata",
                 {{"name", name},
                  {"namespace", w_.ns},
                  {"annotations", annotations},
                  {"ownerReferences", Json::array({{{"apiVersion", "batch/v1"},
                                                    {"kind", "CronJob"},
                                                    {"name", cj.name()},
                                                    {"uid", cj.uid()},
                                                    {"controller", true}}})}}},
                {"spec", tmpl->value("spec", Json::object())}};
    if (meta.contains("labels")) job["metadata"]["labels"] = meta["labels"];
    absl::Time written = env.clock.Now();
    // A Create is not repeated blindly: the name recorded makes a repeat
    // that finds the Job (AlreadyExists) the same as success.
    auto created = WriteAt(env, op, "cronjob.create-job", [&] { return env.kube.Create(kube::kJobs, w_.ns, job); });
    if (!created.ok() && !kube::IsAlreadyExists(created.status())) {
      return Fail(op, ReasonForApiError(created.status()),
                  absl::Status(created.status().code(),
                               absl::StrCat("creating Job ", name, ": ", created.status().message())));
    }
    if (!created.ok()) {
      // Ours when an earlier attempt got through; else the name is taken.
      auto found = env.kube.Get(kube::kJobs, w_.ns, name);
      if (!found.ok() || !StartedBy(*found, op)) {
        return Fail(op, v1::FAILURE_REASON_CONFLICT,
                    absl::AlreadyExistsError(absl::StrCat("a Job named ", name, " exists already and was not started by ",
                                                          op.name(), "; nothing was started")));
      }
    }
    op.AddTiming("api-write", env.clock.Now() - written);
    op.AddEvent(absl::StrCat("created Job ", name, " from ", w_.Short()));
  }

  absl::Time deadline = t0 + env.settings.job_deadline;
  if (auto st = env.informers.WaitForSync(std::min(deadline, env.clock.Now() + absl::Seconds(30))); !st.ok()) {
    return Fail(op, v1::FAILURE_REASON_API_ERROR, st);
  }
  bool gone = false;
  bool seen = false;
  std::vector<v1::PodProblem> problems;
  kube::Job last;
  int32_t last_succeeded = -1;
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        kube::ObjectPtr obj = jobs.Get(w_.ns, name);
        if (!obj) {
          // Absent from a cache that has not caught up with the create yet
          // is not gone: only the API can tell until the cache shows it.
          gone = seen || absl::IsNotFound(env.kube.Get(kube::kJobs, w_.ns, name).status());
          return gone;
        }
        seen = true;
        last = kube::Job(obj);
        op.Update([&](v1::Operation& o) {
          auto* p = o.mutable_progress();
          p->set_desired(last.completions());
          p->set_ready(last.succeeded());
          p->set_remaining(std::max(0, last.completions() - last.succeeded()));
        });
        if (last.succeeded() != last_succeeded) {
          if (last.succeeded() > 0) op.AddEvent(absl::StrCat(last.succeeded(), "/", last.completions(), " completions"));
          last_succeeded = last.succeeded();
        }
        if (last.complete() || last.succeeded() >= last.completions() || last.failed_condition()) return true;
        // A Job retries failing pods itself (its backoffLimit); pods that
        // cannot even start never fail it, so herd calls those.
        problems.clear();
        for (const auto& p : pods.ByOwner(last.uid())) {
          auto problem = PodFailure(*p, env.settings, env.clock.Now());
          if (problem && problem->reason() != "CrashLoopBackOff") problems.push_back(*problem);
        }
        return !problems.empty();
      },
      deadline);
  if (absl::IsCancelled(st)) {
    if (op.hand_over_requested() && !op.cancel_requested()) return;
    kube::DeleteOptions del;
    del.propagation_policy = "Background";
    auto deleted = WriteAt(env, op, "cronjob.delete-job", [&] { return env.kube.Delete(kube::kJobs, w_.ns, name, del); });
    op.AddEvent(deleted.ok() || kube::IsNotFound(deleted.status())
                    ? absl::StrCat("cancelled: deleted Job ", name, " and its pods")
                    : absl::StrCat("cancelled, but Job ", name, " could not be deleted: ", deleted.status().message()));
    v1::Failure f;
    f.set_reason(v1::FAILURE_REASON_CANCELLED);
    return op.Finish(v1::OPERATION_STATE_CANCELLED, absl::CancelledError(op.cancel_reason()),
                     &f);
  }
  if (!st.ok()) {
    absl::Status error = absl::DeadlineExceededError(
        absl::StrCat("Job ", name, " did not complete within ", absl::FormatDuration(env.settings.job_deadline), " (",
                     last.succeeded(), "/", last.completions(), " completions, ", last.active(),
                     " running); it is left running"));
    op.AddEvent(std::string(error.message()));
    return Fail(op, v1::FAILURE_REASON_DEADLINE_EXCEEDED, error);
  }
  if (gone) {
    return Fail(op, v1::FAILURE_REASON_NOT_FOUND,
                absl::NotFoundError(absl::StrCat("Job ", name, " was deleted before it completed")));
  }
  if (last.complete() || (last.succeeded() >= last.completions() && !last.failed_condition())) {
    op.AddTiming("job-run", env.clock.Now() - t0);
    op.AddEvent(absl::StrCat("Job ", name, " completed"));
    return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
  }
  if (last.failed_condition()) {
    std::string reason, message;
    for (const auto& c : last.conditions()) {
      if (c.type == "Failed" && c.IsTrue()) {
        reason = c.reason;
        message = c.message;
      }
    }
    v1::Failure f;
    f.set_reason(reason == "DeadlineExceeded" ? v1::FAILURE_REASON_DEADLINE_EXCEEDED : v1::FAILURE_REASON_UNSPECIFIED);
    for (const auto& p : pods.ByOwner(last.uid())) {
      kube::Pod pod(p);
      if (pod.phase() != "Failed") continue;
      auto* problem = f.add_pods();
      problem->set_pod(pod.name());
      for (const auto& cs : pod.container_statuses()) {
        if (cs.terminated_reason.empty()) continue;
        problem->set_container(cs.name);
        problem->set_reason(cs.terminated_reason);
        if (cs.exit_code) problem->set_message(absl::StrCat("exit code ", *cs.exit_code));
      }
    }
    absl::Status error = absl::FailedPreconditionError(absl::StrCat(
        "Job ", name, " failed", reason.empty() ? "" : absl::StrCat(": ", reason), message.empty() ? "" : ": ", message));
    op.AddEvent(std::string(error.message()));
    return op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
  }
  absl::Status error;
  v1::Failure f = FailureForProblems(problems, &error);
  error = absl::FailedPreconditionError(absl::StrCat(error.message(), "; Job ", name, " is left as it is"));
  op.AddEvent(std::string(error.message()));
  op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
}

void CronJobEngine::SetSuspend(ops::EngineEnv& env, LiveOperation& op, bool suspend) {
  auto obj = GetWorkload(env, w_);
  if (!obj.ok()) return Fail(op, ReasonForApiError(obj.status()), obj.status());
  kube::CronJob cj(*std::move(obj));
  if (cj.suspend() == suspend) {
    op.AddEvent(absl::StrCat(w_.Short(), " is already ", suspend ? "suspended" : "active", ": nothing to do"));
    return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
  }
  Json patch = {{"spec", {{"suspend", suspend}}}};
  absl::Time t0 = env.clock.Now();
  auto written = WriteAt(env, op, "cronjob.set-suspend", [&] {
    return env.kube.Patch(kube::kCronJobs, w_.ns, w_.name, kube::PatchType::kMerge, patch.dump());
  });
  if (!written.ok()) return Fail(op, ReasonForApiError(written.status()), written.status());
  op.AddTiming("api-write", env.clock.Now() - t0);
  size_t running = cj.active().size();
  op.AddEvent(absl::StrCat(suspend ? "suspended " : "resumed ", w_.Short(),
                           suspend && running > 0
                               ? absl::StrCat("; its ", running, " running Job", running == 1 ? "" : "s",
                                              " keep", running == 1 ? "s" : "", " running (killJobs stops them)")
                               : ""));
  op.Finish(v1::OPERATION_STATE_SUCCEEDED);
}

void CronJobEngine::KillJobs(ops::EngineEnv& env, LiveOperation& op) {
  auto& job_cache = env.informers.For(kube::kJobs, w_.ns);
  auto& pod_cache = env.informers.For(kube::kPods, w_.ns);
  std::vector<JobRef> targets;
  Json saved = Json::parse(op.Checkpoint("jobs"), nullptr, false);
  if (saved.is_array()) {
    for (const auto& j : saved) targets.push_back({j.value("name", ""), j.value("uid", "")});
  } else {
    auto obj = GetWorkload(env, w_);
    if (!obj.ok()) return Fail(op, ReasonForApiError(obj.status()), obj.status());
    auto running = RunningJobs(env, kube::CronJob(*std::move(obj)));
    if (!running.ok()) return Fail(op, v1::FAILURE_REASON_API_ERROR, running.status());
    Json list = Json::array();
    for (const auto& j : *running) {
      targets.push_back({j.name(), j.uid()});
      list.push_back({{"name", j.name()}, {"uid", j.uid()}});
    }
    op.SetCheckpoint("jobs", list.dump());
    // Jobs started after the first delete are not this operation's to kill.
    if (!targets.empty() && !PersistBeforeWrite(op)) return;
  }
  if (targets.empty()) {
    op.AddEvent(absl::StrCat(w_.Short(), " has no running Jobs: nothing to do"));
    return op.Finish(v1::OPERATION_STATE_SUCCEEDED);
  }
  op.Update([&](v1::Operation& o) { o.mutable_progress()->set_desired(static_cast<int32_t>(targets.size())); });
  absl::Time t0 = env.clock.Now();
  int deleted = 0;
  for (const auto& j : targets) {
    kube::DeleteOptions del;
    del.propagation_policy = "Background";
    del.precondition_uid = j.uid;
    auto out = WriteAt(env, op, "cronjob.delete-job", [&] { return env.kube.Delete(kube::kJobs, w_.ns, j.name, del); });
    if (!out.ok() && !kube::IsNotFound(out.status()) && !kube::IsConflict(out.status())) {
      return Fail(op, v1::FAILURE_REASON_API_ERROR,
                  absl::Status(out.status().code(), absl::StrCat("deleting Job ", j.name, ": ", out.status().message())));
    }
    ++deleted;
    op.AddEvent(absl::StrCat("deleted Job ", j.name));
    op.Update([&](v1::Operation& o) { o.mutable_progress()->set_killed(deleted); });
  }
  op.AddTiming("api-write", env.clock.Now() - t0);

  absl::Time deadline = env.clock.Now() + env.settings.default_deadline;
  if (auto st = env.informers.WaitForSync(std::min(deadline, env.clock.Now() + absl::Seconds(30))); !st.ok()) {
    return Fail(op, v1::FAILURE_REASON_API_ERROR, st);
  }
  std::vector<std::string> left;
  absl::Status st = ops::AwaitCluster(
      env, op,
      [&] {
        left.clear();
        for (const auto& j : targets) {
          kube::ObjectPtr job = job_cache.Get(w_.ns, j.name);
          if (job && (*job)["metadata"].value("uid", "") == j.uid) left.push_back(absl::StrCat("job/", j.name));
          for (const auto& p : pod_cache.ByOwner(j.uid)) left.push_back(PodName(*p));
        }
        op.Update([&](v1::Operation& o) { o.mutable_progress()->set_remaining(static_cast<int32_t>(left.size())); });
        return left.empty();
      },
      deadline);
  if (absl::IsCancelled(st)) {
    if (op.hand_over_requested() && !op.cancel_requested()) return;
    v1::Failure f;
    f.set_reason(v1::FAILURE_REASON_CANCELLED);
    return op.Finish(v1::OPERATION_STATE_CANCELLED,
                     absl::CancelledError(absl::StrCat("cancelled while the Jobs' pods terminate: ", op.cancel_reason())),
                     &f);
  }
  if (!st.ok()) {
    absl::Status error = absl::DeadlineExceededError(absl::StrCat(
        "the deleted Jobs' pods are not gone after ", absl::FormatDuration(env.settings.default_deadline), ": ",
        absl::StrJoin(left, ", ")));
    op.AddEvent(std::string(error.message()));
    return Fail(op, v1::FAILURE_REASON_DEADLINE_EXCEEDED, error);
  }
  op.AddTiming("old-pods-terminated", env.clock.Now() - t0);
  op.AddEvent(absl::StrCat("the ", targets.size(), " Job", targets.size() == 1 ? "" : "s", " and their pods are gone"));
  op.Finish(v1::OPERATION_STATE_SUCCEEDED);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ops::Engine>> NewCronJobEngine(v1::OperationKind kind, const v1::CronJobRequest& request) {
  switch (kind) {
    case v1::OPERATION_KIND_CRONJOB_RUN:
    case v1::OPERATION_KIND_CRONJOB_SUSPEND:
    case v1::OPERATION_KIND_CRONJOB_RESUME:
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(v1::OperationKind_Name(kind), " is not a CronJob action"));
  }
  auto w = ops::ParseWorkloadName(request.cronjob(), {"cronjobs"});
  if (!w.ok()) return w.status();
  return std::unique_ptr<ops::Engine>(new CronJobEngine(kind, *w, request));
}

}  // namespace herd::engines
