#include "server/policies/scheduler.h"

#include <algorithm>
#include <set>
#include <vector>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "server/ops/operation.h"
#include "server/policies/age.h"
#include "server/policies/schedule.h"

namespace herd::policies {
namespace {

// Errors a start may get that can pass: herd unavailable or shutting down
// (a call cut off may have started the operation: the request id makes
// trying again safe), the workload busy, a deadline.
bool Retryable(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown: return true;
    default: return false;
  }
}

v1::PolicyDecision Decision(absl::Time now, absl::Time scheduled, v1::PolicyOutcome outcome, std::string message) {
  v1::PolicyDecision d;
  ops::SetTime(now, d.mutable_time());
  ops::SetTime(scheduled, d.mutable_scheduled_time());
  d.set_outcome(outcome);
  d.set_message(std::move(message));
  return d;
}

// What a load-scaling policy's memory is kept under: a policy deleted and
// made again under its id starts afresh.
std::string ScalingKey(const v1::Policy& p) { return absl::StrCat(IdOf(p), "@", p.create_time().seconds()); }

std::string SkipMessage(const Due& due, absl::Duration window) {
  const std::string why = absl::StrCat("no herdd led then, and it was found past its late window (",
                                       k8s::HumanDuration(window), ")");
  if (due.skipped < 0) {
    return absl::StrCat("more than a million runs from ", k8s::FormatTime(due.first_skipped), " on missed: ", why);
  }
  if (due.skipped == 1) return absl::StrCat("run missed: ", why);
  return absl::StrCat(due.skipped, " runs missed, from ", k8s::FormatTime(due.first_skipped), " to ",
                      k8s::FormatTime(due.last_skipped), ": ", why);
}

}  // namespace

Scheduler::Scheduler(PolicyStore& store, Launch launch, FindRun find, kube::Clock& clock, SchedulerOptions options)
    : store_(store), launch_(std::move(launch)), find_(std::move(find)), clock_(clock), options_(options) {}

absl::Time Scheduler::RunDue(absl::Time deadline) {
  absl::Time next = absl::InfiniteFuture();
  if (!store_.HasSynced()) return clock_.Now() + options_.retry;
  const std::vector<StoredPolicy> all = store_.List();
  // Forget load-scaling policies deleted since.
  std::set<std::string> kept;
  for (const StoredPolicy& p : all) kept.insert(ScalingKey(p.policy));
  for (auto it = scaling_.begin(); it != scaling_.end();) it = kept.count(it->first) ? std::next(it) : scaling_.erase(it);
  for (const StoredPolicy& p : all) {
    const absl::Time now = clock_.Now();
    if (now >= deadline) return now;  // the rest after the Lease is renewed
    next = std::min(next, RunOne(p, now, deadline));
  }
  return next;
}

absl::Time Scheduler::RunOne(const StoredPolicy& p, absl::Time now, absl::Time deadline) {
  const std::string id = IdOf(p.policy);
  if (p.policy.has_max_pod_age()) return KeepYoung(p, now);
  if (p.policy.has_load_scaling()) return KeepScaled(p, now, deadline);
  if (!p.policy.has_schedule()) return absl::InfiniteFuture();
  auto spec = ParseSchedule(p.policy.schedule());
  if (!spec.ok()) {
    log::Warn("a policy's schedule is unreadable; it does not run", {{"policy", id}, {"error", spec.status()}});
    return absl::InfiniteFuture();
  }
  // Runs decided and not yet settled (their decider died, or their start
  // failed on an error that may pass) come first, paused or not.
  absl::Time next = absl::InfiniteFuture();
  for (const v1::PolicyDecision& d : p.policy.decisions()) {
    if (d.outcome() == v1::POLICY_OUTCOME_STARTING) {
      next = std::min(next, Start(id, p.policy, ops::FromProto(d.scheduled_time()), spec->late_window, now));
    }
  }
  if (p.policy.paused()) return next;

  Due due = DueAt(*spec, p.last_scheduled, now);
  if (!due.run && due.skipped == 0) return std::min(next, due.next);
  const absl::Time decided = due.run ? *due.run : due.last_skipped != absl::InfinitePast() ? due.last_skipped : now;
  if (options_.write_hook) options_.write_hook("policy.decide", ops::WriteMoment::kBefore);
  auto claimed = store_.Update(id, [&](StoredPolicy& s) -> absl::Status {
    if (s.last_scheduled != p.last_scheduled || s.policy.paused()) {
      return absl::AbortedError("decided elsewhere, or paused, since it was read");
    }
    if (due.skipped != 0) {
      AddDecision(s.policy, Decision(now, due.last_skipped != absl::InfinitePast() ? due.last_skipped : due.first_skipped,
                                     v1::POLICY_OUTCOME_SKIPPED, SkipMessage(due, spec->late_window)));
    }
    if (due.run) AddDecision(s.policy, Decision(now, *due.run, v1::POLICY_OUTCOME_STARTING, ""));
    s.last_scheduled = decided;
    return absl::OkStatus();
  });
  if (options_.write_hook) options_.write_hook("policy.decide", ops::WriteMoment::kAfter);
  if (!claimed.ok()) {
    // Aborted: the cache was behind; a look at the next change will do.
    if (!absl::IsAborted(claimed.status()) && !absl::IsNotFound(claimed.status())) {
      log::Warn("could not record a policy's decision; trying again", {{"policy", id}, {"error", claimed.status()}});
    }
    return now + options_.retry;
  }
  if (due.skipped != 0) log::Warn("a policy's runs were missed", {{"policy", id}, {"message", SkipMessage(due, spec->late_window)}});
  if (due.run) next = std::min(next, Start(id, claimed->policy, *due.run, spec->late_window, now));
  return std::min(next, due.next);
}

void Scheduler::Tell(const StoredPolicy& p, v1::PolicyDecision d) {
  auto same = [&](const v1::Policy& policy) {
    if (policy.decisions().empty()) return false;
    const v1::PolicyDecision& last = policy.decisions(0);
    if (!d.operation().empty()) return last.operation() == d.operation();  // found again: told already
    return last.outcome() == d.outcome() && last.message() == d.message() && last.operation().empty();
  };
  if (same(p.policy)) return;
  const std::string id = IdOf(p.policy);
  auto written = store_.Update(id, [&](StoredPolicy& s) -> absl::Status {
    if (same(s.policy)) return absl::AlreadyExistsError("told already");
    AddDecision(s.policy, d);
    return absl::OkStatus();
  });
  if (!written.ok() && !absl::IsAlreadyExists(written.status()) && !absl::IsNotFound(written.status())) {
    log::Warn("could not record a policy's decision", {{"policy", id}, {"error", written.status()}});
  }
}

absl::Time Scheduler::KeepYoung(const StoredPolicy& p, absl::Time now) {
  if (p.policy.paused() || !options_.inspect || !options_.replace) return absl::InfiniteFuture();
  const std::string id = IdOf(p.policy);
  const absl::Time again = now + options_.age_check;
  auto max_age = MaxAgeOf(p.policy.max_pod_age());
  if (!max_age.ok()) {
    log::Warn("a policy's maximum pod age is unreadable; it does not run", {{"policy", id}, {"error", max_age.status()}});
    return absl::InfiniteFuture();
  }
  absl::StatusOr<v1::Workload> w = options_.inspect(p.policy);
  if (!w.ok()) {
    if (!Retryable(w.status().code())) {
      Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED, std::string(w.status().message())));
    }
    return again;
  }
  // Settled: as many live pods as desired, each Ready, none going, all of
  // the current revision, and no operation acting on it (a rollout, a
  // scale, a replacement of ours). Finished pods (Failed, Succeeded) are
  // not counted, as a purge does not count them.
  const int desired = w->desired_replicas();
  bool settled = w->running_operation().empty() && desired > 0 && w->ready_replicas() == desired &&
                 w->updated_replicas() == desired;
  std::vector<AgedPod> pods;
  for (const v1::PodSummary& pod : w->pods()) {
    if (pod.phase() == "Succeeded" || pod.phase() == "Failed") continue;
    settled = settled && pod.ready() && !pod.terminating() && pod.has_create_time();
    pods.push_back({pod.name(), ops::FromProto(pod.create_time())});
  }
  settled = settled && static_cast<int>(pods.size()) == desired;
  if (!settled) return again;
  const AgeVerdict v = PodsPastTheirTurn(pods, desired, *max_age, now);
  if (v.replace == 0) return std::min(again, v.next);
  // One purge per set of pods: the oldest pod and when it started name it,
  // so a leader that looks again before it has started finds it.
  const AgedPod& oldest = *std::min_element(pods.begin(), pods.end(), [](const AgedPod& a, const AgedPod& b) {
    return a.started != b.started ? a.started < b.started : a.name < b.name;
  });
  std::string request_id = absl::StrCat("policy-", id, "-", oldest.name, "-", absl::ToUnixSeconds(oldest.started));
  absl::StatusOr<v1::Operation> op = options_.replace(p.policy, v.replace, request_id);
  if (op.ok() && ops::IsFinal(op->state())) {
    // That purge ended and the pod is still here (it failed, was
    // cancelled, or replaced another pod): say so once, and start anew.
    if (op->state() != v1::OPERATION_STATE_SUCCEEDED) {
      Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED,
                       absl::StrCat("the replacement ", op->name(), " ended ", v1::OperationState_Name(op->state()),
                                    op->error().message().empty() ? "" : ": ", op->error().message(),
                                    "; trying again")));
    }
    absl::StrAppend(&request_id, "-", absl::ToUnixSeconds(now));
    op = options_.replace(p.policy, v.replace, request_id);
  }
  if (!op.ok()) {
    if (Retryable(op.status().code())) {
      log::Warn("a policy's replacement could not start yet; trying again", {{"policy", id}, {"error", op.status()}});
      return now + options_.retry;
    }
    log::Warn("a policy's replacement was refused", {{"policy", id}, {"error", op.status()}});
    Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED, std::string(op.status().message())));
    return again;
  }
  log::Info("a policy replaces pods past their turn", {{"policy", id}, {"op", op->name()}, {"why", v.why}});
  v1::PolicyDecision d = Decision(now, now, v1::POLICY_OUTCOME_STARTED,
                                  absl::StrCat("replacing the ", v.replace == 1 ? "oldest pod" : absl::StrCat(v.replace, " oldest pods"),
                                               ", because ", v.why));
  d.set_operation(op->name());
  Tell(p, std::move(d));
  return again;
}

absl::Time Scheduler::KeepScaled(const StoredPolicy& p, absl::Time now, absl::Time deadline) {
  const std::string id = IdOf(p.policy);
  if (!options_.inspect || !options_.query_load || !options_.scale) {
    if (!p.policy.paused()) {
      Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED,
                       "this herdd has no Prometheus to ask (herdd --prometheus-url): the policy does not run"));
    }
    return absl::InfiniteFuture();
  }
  const std::string key = ScalingKey(p.policy);
  if (p.policy.paused()) {
    scaling_.erase(key);  // resumed, it watches its windows afresh
    return absl::InfiniteFuture();
  }
  auto spec = ParseLoadScaling(p.policy.load_scaling());
  if (!spec.ok()) {
    log::Warn("a policy's load scaling is unreadable; it does not run", {{"policy", id}, {"error", spec.status()}});
    return absl::InfiniteFuture();
  }
  Scaling& state = scaling_[key];
  if (now < state.next) return state.next;
  state.next = now + spec->interval;
  // An evaluation that decides nothing breaks the watch: the windows are
  // watched afresh from the next one that does.
  auto skipped = [&] {
    state.memory = ScalingMemory();
    return state.next;
  };
  absl::StatusOr<v1::Workload> w = options_.inspect(p.policy);
  if (!w.ok()) {
    if (!Retryable(w.status().code())) {
      Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED, std::string(w.status().message())));
    }
    return skipped();
  }
  if (!w->autoscaler().empty()) {
    Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED,
                     absl::StrCat("HorizontalPodAutoscaler ", w->autoscaler(), " manages the replicas (",
                                  w->autoscaler_min(), "–", w->autoscaler_max(), "): this policy stands back")));
    return skipped();
  }
  if (!w->running_operation().empty()) return skipped();  // no scaling across another operation
  // Bounded by the lead's deadline, so a hung Prometheus cannot outlast it.
  const absl::Duration timeout = std::clamp(deadline - now, absl::Milliseconds(100), std::min(spec->interval, absl::Seconds(5)));
  absl::StatusOr<double> value = options_.query_load(spec->query, timeout);
  if (!value.ok()) {
    Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED, absl::StrCat("the query failed: ", value.status().message())));
    return skipped();
  }
  absl::Time last_scaled = absl::InfinitePast();
  for (const v1::PolicyDecision& d : p.policy.decisions()) {
    if (d.outcome() == v1::POLICY_OUTCOME_STARTED) {
      last_scaled = ops::FromProto(d.time());
      break;
    }
  }
  const int current = w->desired_replicas();
  const ScalingVerdict v = DecideScale(*spec, state.memory, current, *value, now, last_scaled);
  if (v.replicas == current) {
    state.reported = -1;  // a dry run reports the next change again
    return state.next;
  }
  if (spec->dry_run) {
    if (state.reported != v.replicas) {
      Tell(p, Decision(now, now, v1::POLICY_OUTCOME_DRY_RUN, absl::StrCat("would scale: ", v.why)));
      state.reported = v.replicas;
    }
    return state.next;
  }
  const std::string request_id = absl::StrCat("policy-", id, "-", absl::ToUnixSeconds(now));
  absl::StatusOr<v1::Operation> op = options_.scale(p.policy, v.replicas, request_id);
  if (!op.ok()) {
    if (Retryable(op.status().code())) {
      log::Warn("a policy's scaling could not start yet; trying again", {{"policy", id}, {"error", op.status()}});
      state.next = now + options_.retry;
      return state.next;
    }
    Tell(p, Decision(now, now, v1::POLICY_OUTCOME_REFUSED, std::string(op.status().message())));
    return state.next;
  }
  log::Info("a policy scales with load", {{"policy", id}, {"op", op->name()}, {"why", v.why}});
  v1::PolicyDecision d = Decision(now, now, v1::POLICY_OUTCOME_STARTED, v.why);
  d.set_operation(op->name());
  Tell(p, std::move(d));
  return state.next;
}

absl::Status Scheduler::Record(const std::string& id, absl::Time scheduled,
                               const std::function<void(v1::PolicyDecision&)>& edit) {
  if (options_.write_hook) options_.write_hook("policy.record", ops::WriteMoment::kBefore);
  auto written = store_.Update(id, [&](StoredPolicy& s) -> absl::Status {
    for (v1::PolicyDecision& d : *s.policy.mutable_decisions()) {
      if (d.outcome() == v1::POLICY_OUTCOME_STARTING && ops::FromProto(d.scheduled_time()) == scheduled) {
        edit(d);
        return absl::OkStatus();
      }
    }
    return absl::NotFoundError("settled elsewhere");
  });
  if (options_.write_hook) options_.write_hook("policy.record", ops::WriteMoment::kAfter);
  return written.ok() || absl::IsNotFound(written.status()) ? absl::OkStatus() : written.status();
}

absl::Time Scheduler::Start(const std::string& id, const v1::Policy& policy, absl::Time scheduled,
                            absl::Duration window, absl::Time now) {
  const bool late = now - scheduled > window;
  absl::Status recorded;
  if (policy.paused() || late) {
    // Not started any more: only what happened is recorded.
    absl::StatusOr<v1::Operation> found = find_(policy, scheduled);
    if (!found.ok() && !absl::IsNotFound(found.status())) return now + options_.retry;
    recorded = Record(id, scheduled, [&](v1::PolicyDecision& d) {
      ops::SetTime(now, d.mutable_time());
      if (found.ok()) {
        d.set_outcome(v1::POLICY_OUTCOME_STARTED);
        d.set_operation(found->name());
      } else {
        d.set_outcome(v1::POLICY_OUTCOME_SKIPPED);
        d.set_message(absl::StrCat(policy.paused() ? "not started: the policy was paused first"
                                                   : absl::StrCat("not started within its late window (",
                                                                  k8s::HumanDuration(window), ")"),
                                   d.message().empty() ? "" : absl::StrCat("; ", d.message())));
      }
    });
  } else {
    absl::StatusOr<v1::Operation> op = launch_(policy, scheduled);
    if (!op.ok() && Retryable(op.status().code())) {
      log::Warn("a policy's run could not start yet; trying again",
                {{"policy", id}, {"scheduled", k8s::FormatTime(scheduled)}, {"error", op.status()}});
      const std::string why = absl::StrCat("last try: ", op.status().message());
      const bool told = std::any_of(policy.decisions().begin(), policy.decisions().end(), [&](const auto& d) {
        return d.outcome() == v1::POLICY_OUTCOME_STARTING && ops::FromProto(d.scheduled_time()) == scheduled &&
               d.message() == why;
      });
      if (!told) {
        if (absl::Status st = Record(id, scheduled, [&](v1::PolicyDecision& d) { d.set_message(why); }); !st.ok()) {
          log::Warn("could not record a policy's run", {{"policy", id}, {"error", st}});
        }
      }
      return std::min(now + options_.retry, scheduled + window + absl::Seconds(1));
    }
    recorded = Record(id, scheduled, [&](v1::PolicyDecision& d) {
      ops::SetTime(now, d.mutable_time());
      if (op.ok()) {
        d.set_outcome(v1::POLICY_OUTCOME_STARTED);
        d.set_operation(op->name());
        d.clear_message();
      } else {
        d.set_outcome(v1::POLICY_OUTCOME_REFUSED);
        d.set_message(std::string(op.status().message()));
      }
    });
    if (op.ok()) {
      log::Info("a policy started its run", {{"policy", id}, {"scheduled", k8s::FormatTime(scheduled)}, {"op", op->name()}});
    } else {
      log::Warn("a policy's run was refused",
                {{"policy", id}, {"scheduled", k8s::FormatTime(scheduled)}, {"error", op.status()}});
    }
  }
  if (!recorded.ok()) {
    log::Warn("could not record a policy's run; trying again", {{"policy", id}, {"error", recorded}});
    return now + options_.retry;
  }
  return absl::InfiniteFuture();
}

}  // namespace herd::policies
