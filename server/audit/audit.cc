#include "server/audit/audit.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "server/kube/resource.h"

namespace herd::audit {
namespace {

using Json = nlohmann::json;

// The API server refuses longer Event messages (core/v1 NoteLengthLimit).
constexpr size_t kMaxMessageBytes = 1024;
constexpr size_t kMaxNameBytes = 253;
constexpr absl::string_view kComponent = "herd";

std::string Truncate(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  // Back off to the start of a UTF-8 character (never inside one).
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

const kube::Resource* ResourceForKind(absl::string_view kind) {
  static constexpr const kube::Resource* kKnown[] = {
      &kube::kDeployments, &kube::kStatefulSets, &kube::kCronJobs, &kube::kPods,
      &kube::kJobs,        &kube::kReplicaSets,  &kube::kPodDisruptionBudgets, &kube::kConfigMaps};
  for (const kube::Resource* r : kKnown) {
    if (r->kind == kind) return r;
  }
  return nullptr;
}

// "cronjob-run" → "CronjobRun"; the known verbs have spellings of their own.
std::string CamelCase(absl::string_view verb) {
  if (verb == "cronjob") return "CronJob";
  std::string out;
  bool upper = true;
  for (char c : verb) {
    if (c == '-' || c == '_' || c == ' ') {
      upper = true;
      continue;
    }
    out.push_back(upper ? absl::ascii_toupper(c) : c);
    upper = false;
  }
  return out;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "herd";
  return buf;
}

bool IsWarning(Outcome outcome) { return outcome == Outcome::kFailed || outcome == Outcome::kRolledBack; }

}  // namespace

std::string ResultText(const AuditEntry& entry) {
  switch (entry.outcome) {
    case Outcome::kStarted: return "started";
    case Outcome::kSucceeded: return "succeeded";
    case Outcome::kFailed: return absl::StrCat("failed: ", entry.error.empty() ? "unknown error" : entry.error);
    case Outcome::kCancelled:
      // The error usually says so already ("cancelled by alice: …").
      if (entry.error.empty()) return "cancelled";
      return absl::StartsWith(entry.error, "cancelled") ? entry.error : absl::StrCat("cancelled: ", entry.error);
    case Outcome::kRolledBack:
      return absl::StrCat("rolled back: ", entry.error.empty() ? "unknown error" : entry.error);
    case Outcome::kHeld: return "held for approval";
    case Outcome::kApproved: return "approved";
    case Outcome::kRejected: return "rejected";
  }
  return "unknown";
}

std::string TargetText(const Target& target) {
  return absl::StrCat(target.ns, "/", target.kind, "/", target.name);
}

std::string EventMessage(const AuditEntry& entry) {
  std::string msg = absl::StrCat(entry.principal, ": ", entry.verb);
  if (!entry.detail.empty()) absl::StrAppend(&msg, " ", entry.detail);
  if (!entry.reason.empty()) absl::StrAppend(&msg, " (reason: ", entry.reason, ")");
  absl::StrAppend(&msg, " \xE2\x80\x94 ", ResultText(entry));  // an em dash
  return Truncate(std::move(msg), kMaxMessageBytes);
}

std::string EventReason(absl::string_view verb) { return absl::StrCat("Herd", CamelCase(verb)); }

Json BuildEvent(const AuditEntry& entry, const Json& involved, absl::Time now, const std::string& name,
                const std::string& reporting_instance) {
  Json annotations = Json::object();
  if (!entry.operation_id.empty()) annotations["herd.dev/operation"] = entry.operation_id;
  annotations["herd.dev/principal"] = entry.principal;
  std::string ts = k8s::FormatTime(now);
  // Both the legacy fields (firstTimestamp, source: what `kubectl
  // describe` shows as Age and From) and the newer ones (eventTime,
  // reporting*, action: what the API server requires once eventTime is set).
  return Json{
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", entry.target.ns}, {"annotations", annotations}}},
      {"involvedObject", involved},
      {"reason", EventReason(entry.verb)},
      {"message", EventMessage(entry)},
      {"type", IsWarning(entry.outcome) ? "Warning" : "Normal"},
      {"source", {{"component", kComponent}}},
      {"firstTimestamp", ts},
      {"lastTimestamp", ts},
      {"eventTime", k8s::FormatMicroTime(now)},
      {"count", 1},
      {"action", CamelCase(entry.verb)},
      {"reportingComponent", kComponent},
      {"reportingInstance", Truncate(reporting_instance, 128)},
  };
}

Auditor::Auditor(kube::KubeClient* kube, AuditorOptions options)
    : kube_(kube),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : kube::Clock::Real()),
      instance_(options_.reporting_instance.empty() ? HostName() : options_.reporting_instance),
      worker_([this] { Run(); }) {}

Auditor::~Auditor() {
  size_t dropped;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dropped = queue_.size();
  }
  worker_.join();
  if (dropped > 0) log::Warn("audit events not written at shutdown", {{"dropped", dropped}});
}

void Auditor::Record(AuditEntry entry) {
  std::string result = ResultText(entry);
  log::Info("audit", {{"audit", true},
                      {"principal", entry.principal},
                      {"verb", entry.verb},
                      {"target", TargetText(entry.target)},
                      {"op", entry.operation_id},
                      {"reason", entry.reason},
                      {"detail", entry.detail},
                      {"result", result},
                      {"dry_run", entry.dry_run}});
  bool wants_event = kube_ != nullptr && !entry.dry_run && !entry.target.ns.empty() &&
                     !entry.target.name.empty();
  bool dropped = false;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.recorded;
    if (wants_event) {
      if (queue_.size() >= options_.queue_capacity || stopping_) {
        ++stats_.events_dropped;
        dropped = true;
      } else {
        queue_.push_back(std::move(entry));
      }
    }
  }
  if (dropped) {
    log::Warn("audit event dropped: queue full",
              {{"target", TargetText(entry.target)}, {"op", entry.operation_id}, {"result", result},
               {"capacity", options_.queue_capacity}});
  }
}

bool Auditor::Flush(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && !busy_; };
  return mu_.AwaitWithDeadline(absl::Condition(&drained), deadline);
}

Auditor::Stats Auditor::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Auditor::Run() {
  for (;;) {
    AuditEntry entry;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      entry = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    Write(entry);
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }
}

std::string Auditor::NextEventName(absl::string_view object_name, absl::Time now) {
  int64_t nanos = std::max(absl::ToUnixNanos(now), last_name_nanos_ + 1);
  last_name_nanos_ = nanos;
  std::string suffix = absl::StrFormat(".%x", static_cast<uint64_t>(nanos));
  return absl::StrCat(object_name.substr(0, kMaxNameBytes - suffix.size()), suffix);
}

void Auditor::Write(const AuditEntry& entry) {
  const Target& t = entry.target;
  auto fail = [&](absl::string_view what, const absl::Status& status) {
    log::Warn(what, {{"target", TargetText(t)}, {"op", entry.operation_id}, {"error", status}});
    absl::MutexLock lock(&mu_);
    ++stats_.events_failed;
  };

  Json involved;
  if (!t.uid.empty() && !t.api_version.empty()) {
    involved = {{"apiVersion", t.api_version}, {"kind", t.kind}, {"namespace", t.ns}, {"name", t.name},
                {"uid", t.uid}};
  } else {
    const kube::Resource* r = ResourceForKind(t.kind);
    if (r == nullptr) {
      fail("audit event not written", absl::InvalidArgumentError(absl::StrCat(
                                          "unknown kind \"", t.kind, "\" and no uid/apiVersion given")));
      return;
    }
    absl::StatusOr<Json> object = kube_->Get(*r, t.ns, t.name);
    if (object.ok()) {
      const Json& meta = (*object)["metadata"];
      involved = {{"apiVersion", object->value("apiVersion", r->ApiVersion())},
                  {"kind", std::string(r->kind)},
                  {"namespace", t.ns},
                  {"name", t.name},
                  {"uid", meta.value("uid", "")},
                  {"resourceVersion", meta.value("resourceVersion", "")}};
    } else if (absl::IsNotFound(object.status())) {
      // Gone already (a killed pod, a purged one): the Event still names it,
      // without the uid, and `kubectl get events --field-selector
      // involvedObject.name=…` still finds it. The record of a kill matters
      // most once its pod is gone.
      involved = {{"apiVersion", r->ApiVersion()}, {"kind", std::string(r->kind)}, {"namespace", t.ns}, {"name", t.name}};
    } else {
      fail("audit event not written: the target could not be read", object.status());
      return;
    }
  }

  absl::Time now = clock_->Now();
  Json event = BuildEvent(entry, involved, now, NextEventName(t.name, now), instance_);
  absl::StatusOr<Json> created = kube_->Create(kube::kEvents, t.ns, event);
  if (!created.ok()) {
    fail("audit event not written", created.status());
    return;
  }
  absl::MutexLock lock(&mu_);
  ++stats_.events_written;
}

}  // namespace herd::audit
