// One running operation per workload: a coordination.k8s.io/v1 Lease per
// lock key in herd's namespace, held by the replica running the operation
// and renewed while it runs. A lease left by a replica that died expires,
// and another replica may take it over (and adopt the operation).
//
//   WorkloadLocks locks(kube, "herd-system", "herdd-7f9c-x2", absl::Seconds(15));
//   absl::Status st = locks.Acquire("namespaces/shop/deployments/web", "operations/…");
//   // ABORTED: "namespaces/shop/deployments/web is busy with operations/… (held by herdd-…)"
//   locks.Renew(key, op); … locks.Release(key, op);
//
// Thread-safe.
#ifndef HERD_SERVER_OPS_LOCK_H_
#define HERD_SERVER_OPS_LOCK_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/kube/client.h"
#include "server/kube/clock.h"
#include "server/kube/informer.h"

namespace herd::ops {

struct LockInfo {
  std::string holder;     // replica identity
  std::string operation;  // operations/{id}
  absl::Time renewed;
  absl::Duration duration;
  bool expired = false;
};

class WorkloadLocks {
 public:
  // `kube` and `clock` (null: real) must outlive this.
  WorkloadLocks(kube::KubeClient& kube, std::string ns, std::string identity,
                absl::Duration lease_duration = absl::Seconds(15), kube::Clock* clock = nullptr);

  const std::string& identity() const { return identity_; }
  absl::Duration lease_duration() const { return duration_; }

  // Whether an expired lease held for another operation may be taken over:
  // only once that operation has ended (else its replica, slow or dead, is
  // to be adopted, not overrun by a second operation).
  using MayTakeOver = std::function<bool(const std::string& other_operation)>;

  // Takes the lock of `key` for `operation`. ABORTED naming the operation
  // that holds it when held and not expired, or expired but held for an
  // operation `may_take_over` (if given) says has not ended; else an
  // expired lease is taken over. A lease this identity holds for the same
  // operation is renewed and OK (this process, or one of the same name
  // before a restart). `found_free` (if given) says whether the Lease was
  // created by the first request: no lease was there when it was asked for.
  absl::Status Acquire(const std::string& key, const std::string& operation, const MayTakeOver& may_take_over = {},
                       bool* found_free = nullptr);
  // Extends the lease. FAILED_PRECONDITION when it is no longer ours.
  absl::Status Renew(const std::string& key, const std::string& operation);
  // Gives the lock up (if still ours): the operation has ended.
  void Release(const std::string& key, const std::string& operation);
  // Lets the lock go (if still ours) without ending the operation: the
  // Lease stays, expired and naming it, so that another replica adopts the
  // operation at once and nothing else takes the workload before that
  // operation has ended (Acquire's `may_take_over`).
  void LetGo(const std::string& key, const std::string& operation);
  // The current holder; NOT_FOUND when unlocked.
  absl::StatusOr<LockInfo> Inspect(const std::string& key);

  // Starts a cache of the locks (a watch on the Leases of the namespace)
  // for Peek; `notifier` (may be null) hears of its changes. Call once.
  void StartCache(kube::ChangeNotifier* notifier = nullptr);
  // OK once the cache has synced (readiness).
  absl::Status WaitForCacheSync(absl::Time deadline) const;
  // The cache (null before StartCache), and the namespace of the Leases.
  const kube::Informer* cache() const { return cache_.get(); }
  const std::string& ns() const { return ns_; }
  // Inspect answered from the cache, for reads (a workload's running
  // operation): no request to the API server. Before the cache has synced
  // (or without one), Inspect.
  absl::StatusOr<LockInfo> Peek(const std::string& key);

  // The Lease's name for a lock key.
  static std::string LeaseName(const std::string& key);

 private:
  absl::StatusOr<LockInfo> InfoOf(const kube::Json& lease) const;

  std::unique_ptr<kube::Informer> cache_;
  kube::Json NewLease(const std::string& key, const std::string& operation) const;

  // The version of each Lease as this process last wrote it, for the
  // operation it holds it for: Release deletes it in one request, guarded
  // by that version (a Lease changed since is read first).
  struct Written {
    std::string operation;
    std::string resource_version;
  };
  void Remember(const std::string& key, const std::string& operation, const kube::Json& lease);
  std::optional<Written> Forget(const std::string& key);

  kube::KubeClient& kube_;
  const std::string ns_;
  const std::string identity_;
  const absl::Duration duration_;
  kube::Clock* const clock_;
  absl::Mutex written_mu_;
  std::map<std::string, Written> written_ ABSL_GUARDED_BY(written_mu_);
};

}  // namespace herd::ops

#endif  // HERD_SERVER_OPS_LOCK_H_
