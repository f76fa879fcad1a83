// Standing policies, kept in the cluster: one ConfigMap per policy in
// herd's namespace ("herd-policy-<id>", labelled herd.dev/policy=true),
// holding the policy as JSON (with its decisions) and the time of the last
// run it decided. herdd keeps nothing of them on disk.
//
//   PolicyStore store(kube, "herd-system");
//   store.Start();
//   store.Create({.policy = p, .last_scheduled = now});   // ALREADY_EXISTS: id taken
//   store.Update("nightly", [](StoredPolicy& s) { s.policy.set_paused(true); return absl::OkStatus(); });
//
// Thread-safe.
#ifndef HERD_SERVER_POLICIES_STORE_H_
#define HERD_SERVER_POLICIES_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/informer.h"

namespace herd::policies {

namespace v1 = ::herd::v1;

// How many decisions a policy keeps, newest first.
inline constexpr int kMaxDecisions = 20;

// "policies/{id}" → id.
inline std::string IdOf(const v1::Policy& p) { return p.name().substr(p.name().find('/') + 1); }
// Adds `d` as `p`'s newest decision (decisions are kept newest first).
void AddDecision(v1::Policy& p, v1::PolicyDecision d);

struct StoredPolicy {
  v1::Policy policy;  // next_runs is never stored
  // The last run decided (started, skipped or refused), or the creation or
  // resumption time before any: runs after it are still to be decided.
  absl::Time last_scheduled = absl::InfinitePast();
};

class PolicyStore {
 public:
  // `kube` must outlive the store.
  PolicyStore(kube::KubeClient& kube, std::string ns);
  ~PolicyStore();

  void Start();
  void Stop();
  bool HasSynced() const;
  absl::Status WaitForSync(absl::Time deadline);
  // Wakes waiters whenever a policy changes.
  kube::ChangeNotifier& notifier() { return notifier_; }
  // Calls `fn` after every change to a policy (after Start; on the
  // informer's thread: it must not block).
  void OnChange(std::function<void()> fn);

  // ALREADY_EXISTS when a policy with its id exists.
  absl::Status Create(const StoredPolicy& p);
  // From the watched cache, else from the API. NOT_FOUND when absent.
  absl::StatusOr<StoredPolicy> Get(const std::string& id) const;
  // Every policy in the cache, by id.
  std::vector<StoredPolicy> List() const;
  // Reads the policy from the API, lets `edit` change it, and writes it back
  // guarded by the version read (a write in between makes it read and edit
  // again). An error from `edit` is returned with nothing written. Returns
  // the policy as written. NOT_FOUND when absent; ABORTED when it kept
  // changing (5 tries).
  absl::StatusOr<StoredPolicy> Update(const std::string& id, const std::function<absl::Status(StoredPolicy&)>& edit);
  // Deletes the policy, guarded by the version read; returns it as it was.
  absl::StatusOr<StoredPolicy> Delete(const std::string& id);

  static std::string ConfigMapName(const std::string& id) { return "herd-policy-" + id; }

 private:
  absl::StatusOr<StoredPolicy> Parse(const kube::Json& cm) const;
  // From the API, with the version read (what a guarded write names).
  absl::StatusOr<StoredPolicy> Fetch(const std::string& id, std::string* resource_version);
  kube::Json ToConfigMap(const StoredPolicy& p) const;

  kube::KubeClient& kube_;
  const std::string ns_;
  kube::ChangeNotifier notifier_;
  std::unique_ptr<kube::Informer> informer_;
};

}  // namespace herd::policies

#endif  // HERD_SERVER_POLICIES_STORE_H_
