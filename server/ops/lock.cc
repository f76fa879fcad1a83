#include "server/ops/lock.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"
#include "server/kube/errors.h"
#include "server/ops/names.h"

namespace herd::ops {
namespace {
constexpr char kOperationAnnotation[] = "herd.dev/operation";
constexpr char kKeyAnnotation[] = "herd.dev/lock";
}  // namespace

WorkloadLocks::WorkloadLocks(kube::KubeClient& kube, std::string ns, std::string identity,
                             absl::Duration lease_duration, kube::Clock* clock)
    : kube_(kube), ns_(std::move(ns)), identity_(std::move(identity)), duration_(lease_duration),
      clock_(clock ? clock : kube::Clock::Real()) {}

std::string WorkloadLocks::LeaseName(const std::string& key) { return SafeName("herd-lock-", {key}); }

kube::Json WorkloadLocks::NewLease(const std::string& key, const std::string& operation) const {
  std::string now = k8s::FormatMicroTime(clock_->Now());
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata",
           {{"name", LeaseName(key)},
            {"namespace", ns_},
            {"labels", {{"app.kubernetes.io/managed-by", "herd"}}},
            {"annotations", {{kOperationAnnotation, operation}, {kKeyAnnotation, key}}}}},
          {"spec",
           {{"holderIdentity", identity_},
            {"leaseDurationSeconds", static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(duration_)))},
            {"acquireTime", now},
            {"renewTime", now}}}};
}

absl::StatusOr<LockInfo> WorkloadLocks::InfoOf(const kube::Json& lease) const {
  LockInfo info;
  const kube::Json spec = lease.value("spec", kube::Json::object());
  info.holder = spec.value("holderIdentity", "");
  info.operation = lease["metadata"].value("annotations", kube::Json::object()).value(kOperationAnnotation, "");
  info.duration = absl::Seconds(spec.value("leaseDurationSeconds", 0));
  auto renewed = k8s::ParseTime(spec.value("renewTime", ""));
  info.renewed = renewed.ok() ? *renewed : absl::InfinitePast();
  info.expired = info.holder.empty() || info.renewed + info.duration < clock_->Now();
  return info;
}

absl::Status WorkloadLocks::Acquire(const std::string& key, const std::string& operation,
                                    const MayTakeOver& may_take_over, bool* found_free) {
  if (found_free) *found_free = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto created = kube_.Create(kube::kLeases, ns_, NewLease(key, operation));
    if (created.ok()) {
      Remember(key, operation, *created);
      if (found_free) *found_free = attempt == 0;
      return absl::OkStatus();
    }
    if (!kube::IsAlreadyExists(created.status())) return created.status();
    auto current = kube_.Get(kube::kLeases, ns_, LeaseName(key));
    if (!current.ok()) {
      if (kube::IsNotFound(current.status())) continue;  // released meanwhile
      return current.status();
    }
    auto info = InfoOf(*current);
    if (!info.ok()) return info.status();
    // Held for this operation under this replica's name: by this process,
    // or by a process of the same name that died (a restarted container):
    // renewed below, so no other replica takes it over meanwhile.
    const bool ours = info->operation == operation && info->holder == identity_;
    if (!ours && !info->expired) {
      return absl::AbortedError(absl::StrCat(key, " is busy with ", info->operation, " (held by ", info->holder,
                                             "); wait for it to end or cancel it"));
    }
    if (!ours && info->operation != operation && !info->operation.empty() && may_take_over &&
        !may_take_over(info->operation)) {
      return absl::AbortedError(absl::StrCat(key, " is busy with ", info->operation, " (", info->holder,
                                             " stopped renewing its lease; another replica takes it over); wait for "
                                             "it to end or cancel it"));
    }
    // Expired (or ours): take it over, guarded by the version we saw.
    kube::Json lease = NewLease(key, operation);
    lease["metadata"]["resourceVersion"] = (*current)["metadata"].value("resourceVersion", "");
    auto taken = kube_.Update(kube::kLeases, ns_, lease);
    if (taken.ok()) {
      Remember(key, operation, *taken);
      return absl::OkStatus();
    }
    // Changed or released (its operation ended) since it was read: again.
    if (!kube::IsConflict(taken.status()) && !kube::IsNotFound(taken.status())) return taken.status();
  }
  return absl::AbortedError(absl::StrCat(key, " is contended; try again"));
}

absl::Status WorkloadLocks::Renew(const std::string& key, const std::string& operation) {
  auto current = kube_.Get(kube::kLeases, ns_, LeaseName(key));
  if (!current.ok()) {
    if (kube::IsNotFound(current.status())) return absl::FailedPreconditionError(absl::StrCat("lost the lock of ", key));
    return current.status();
  }
  auto info = InfoOf(*current);
  if (!info.ok()) return info.status();
  if (info->holder != identity_ || info->operation != operation) {
    return absl::FailedPreconditionError(
        absl::StrCat("lost the lock of ", key, " to ", info->holder, " (", info->operation, ")"));
  }
  kube::Json lease = *current;
  lease["spec"]["renewTime"] = k8s::FormatMicroTime(clock_->Now());
  auto updated = kube_.Update(kube::kLeases, ns_, lease);
  if (!updated.ok()) {
    if (kube::IsConflict(updated.status())) return Renew(key, operation);
    if (kube::IsNotFound(updated.status())) return absl::FailedPreconditionError(absl::StrCat("lost the lock of ", key));
    return updated.status();
  }
  Remember(key, operation, *updated);
  return absl::OkStatus();
}

void WorkloadLocks::Remember(const std::string& key, const std::string& operation, const kube::Json& lease) {
  std::string version;
  if (auto meta = lease.find("metadata"); meta != lease.end() && meta->is_object()) {
    version = meta->value("resourceVersion", "");
  }
  absl::MutexLock lock(&written_mu_);
  if (version.empty()) {
    written_.erase(key);
  } else {
    written_[key] = {operation, std::move(version)};
  }
}

std::optional<WorkloadLocks::Written> WorkloadLocks::Forget(const std::string& key) {
  absl::MutexLock lock(&written_mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return std::nullopt;
  Written w = std::move(it->second);
  written_.erase(it);
  return w;
}

void WorkloadLocks::Release(const std::string& key, const std::string& operation) {
  // As last written here: one request, refused (409) if anyone wrote the
  // Lease since, when it is read and looked at first.
  if (std::optional<Written> mine = Forget(key); mine && mine->operation == operation) {
    kube::DeleteOptions o;
    o.precondition_resource_version = mine->resource_version;
    auto deleted = kube_.Delete(kube::kLeases, ns_, LeaseName(key), o);
    if (deleted.ok() || kube::IsNotFound(deleted.status())) return;
  }
  auto current = kube_.Get(kube::kLeases, ns_, LeaseName(key));
  if (!current.ok()) return;
  auto info = InfoOf(*current);
  if (!info.ok() || info->holder != identity_ || info->operation != operation) return;
  kube::DeleteOptions o;
  o.precondition_resource_version = (*current)["metadata"].value("resourceVersion", "");
  (void)kube_.Delete(kube::kLeases, ns_, LeaseName(key), o);
}

void WorkloadLocks::LetGo(const std::string& key, const std::string& operation) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto current = kube_.Get(kube::kLeases, ns_, LeaseName(key));
    if (!current.ok()) return;
    auto info = InfoOf(*current);
    if (!info.ok() || info->holder != identity_ || info->operation != operation) return;
    kube::Json lease = *current;
    lease["spec"]["holderIdentity"] = "";
    Forget(key);
    auto updated = kube_.Update(kube::kLeases, ns_, lease);
    if (updated.ok() || !kube::IsConflict(updated.status())) return;
  }
}

void WorkloadLocks::StartCache(kube::ChangeNotifier* notifier) {
  cache_ = std::make_unique<kube::Informer>(kube_, kube::kLeases, ns_, kube::InformerOptions{}, notifier);
  cache_->Start();
}

absl::Status WorkloadLocks::WaitForCacheSync(absl::Time deadline) const {
  return cache_ ? cache_->WaitForSync(deadline) : absl::OkStatus();
}

absl::StatusOr<LockInfo> WorkloadLocks::Peek(const std::string& key) {
  if (!cache_ || !cache_->HasSynced()) return Inspect(key);
  kube::ObjectPtr lease = cache_->Get(ns_, LeaseName(key));
  if (lease == nullptr) return absl::NotFoundError(absl::StrCat(key, " is not locked"));
  return InfoOf(*lease);
}

absl::StatusOr<LockInfo> WorkloadLocks::Inspect(const std::string& key) {
  auto current = kube_.Get(kube::kLeases, ns_, LeaseName(key));
  if (!current.ok()) {
    if (kube::IsNotFound(current.status())) return absl::NotFoundError(absl::StrCat(key, " is not locked"));
    return current.status();
  }
  return InfoOf(*current);
}

}  // namespace herd::ops
