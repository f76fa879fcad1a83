#include "server/herdd/timed_work.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "server/engines/scale.h"

namespace herd::herdd {

TimedWork::TimedWork(ops::EngineEnv& env, ops::WorkloadLocks& locks, TimedWorkOptions options)
    : env_(env), locks_(locks), options_(options) {}

TimedWork::~TimedWork() { Stop(); }

void TimedWork::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void TimedWork::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  changes_.Notify();
  if (thread_.joinable()) thread_.join();
  for (auto& [informer, handlers] : hpas_) informer->RemoveHandlers(handlers);
  hpas_.clear();
  if (leading_.exchange(false)) locks_.Release(kLeaderKey, kLeaderKey);
}

absl::Time TimedWork::RestoreDue(absl::Time now) {
  absl::Time next = absl::InfiniteFuture();
  bool due = false;
  for (auto& [informer, handlers] : hpas_) {
    for (const kube::ObjectPtr& h : informer->List()) {
      const kube::Json annotations = (*h)["metadata"].value("annotations", kube::Json::object());
      if (!annotations.contains(engines::kHpaRestoreAtAnnotation)) continue;
      auto at = k8s::ParseTime(annotations.value(engines::kHpaRestoreAtAnnotation, ""));
      if (!at.ok() || *at <= now) {
        due = true;
      } else {
        next = std::min(next, *at);
      }
    }
  }
  if (due) {
    auto restored = engines::RestoreExpiredHpaHolds(env_, now);
    if (!restored.ok()) {
      log::Warn("restoring ended HorizontalPodAutoscaler holds failed; trying again", {{"error", restored.status()}});
      next = std::min(next, now + absl::Seconds(1));
    }
  }
  return next;
}

void TimedWork::Loop() {
  absl::Time next_lead = absl::InfinitePast();
  while (!stop_.HasBeenNotified()) {
    uint64_t seen = changes_.version();
    absl::Time now = env_.clock.Now();
    if (now >= next_lead) {
      absl::Status st = locks_.Acquire(kLeaderKey, kLeaderKey);
      bool was = leading_.exchange(st.ok());
      if (st.ok() && !was) {
        log::Info("leading herd's timed work", {{"identity", locks_.identity()}});
        if (options_.lead_taken) options_.lead_taken();
      }
      if (!st.ok() && was) log::Warn("lost the lead of herd's timed work", {{"error", st}});
      next_lead = now + options_.lead_period;
    }
    absl::Time wake = next_lead;
    if (leading_.load()) {
      if (hpas_.empty()) {
        // The shared cache, in the namespaces herdd covers (a herd confined
        // by --namespaces may not list the others); its changes wake this
        // loop through a handler, not the engines.
        auto wake_up = [this](const kube::ObjectPtr&) { changes_.Notify(); };
        for (const std::string& ns : env_.informers.NamespacesFor("")) {
          kube::Informer& informer = env_.informers.For(kube::kHorizontalPodAutoscalers, ns);
          int id = informer.AddHandlers(
              {.on_add = wake_up,
               .on_update = [wake_up](const kube::ObjectPtr&, const kube::ObjectPtr& obj) { wake_up(obj); },
               .on_delete = wake_up});
          hpas_.emplace_back(&informer, id);
        }
      }
      bool synced = std::all_of(hpas_.begin(), hpas_.end(), [](const auto& h) { return h.first->HasSynced(); });
      if (synced) wake = std::min(wake, RestoreDue(now));
      if (options_.policies) wake = std::min(wake, options_.policies(next_lead));
    }
    wake = std::min(wake, now + options_.max_sleep);
    if (stop_.HasBeenNotified()) break;
    changes_.WaitForChange(seen, std::max(wake, now + absl::Milliseconds(10)));
  }
}

}  // namespace herd::herdd
