// Operation records, kept in the cluster: one ConfigMap per operation in
// herd's namespace ("herd-op-<id>", labelled herd.dev/operation=true),
// holding the operation as JSON, the request that started it (so another
// replica can adopt it), the engine's checkpoint and the replica running
// it. herdd itself keeps nothing on disk.
//
//   OperationStore store(kube, "herd-system");
//   store.Start();
//   store.Create(record);                    // ALREADY_EXISTS: same id (idempotent retry)
//   store.Save(op.Snapshot(), op.checkpoint(), "herdd-0");
//   auto r = store.Get("20261125-113045-k3x9q");
//
// Thread-safe.
#ifndef HERD_SERVER_OPS_STORE_H_
#define HERD_SERVER_OPS_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/kube/informer.h"

namespace herd::ops {

struct Record {
  v1::Operation op;
  // The request that started the operation, as JSON of its message type.
  std::string request_json;
  std::map<std::string, std::string> checkpoint;
  // The replica that runs (or last ran) it.
  std::string owner;
  // Set when someone asked to cancel through another replica.
  std::string cancel_reason;
  // When the record was created (the API server's clock, whole seconds).
  absl::Time created = absl::InfinitePast();
};

struct StoreOptions {
  // Finished records older than this are deleted…
  absl::Duration retention = absl::Hours(24 * 7);
  // …and so are the oldest finished ones beyond this many.
  size_t max_finished = 1000;
};

class OperationStore {
 public:
  // `kube` must outlive the store.
  OperationStore(kube::KubeClient& kube, std::string ns, StoreOptions options = {});
  ~OperationStore();

  const std::string& ns() const { return ns_; }

  // Starts watching the records.
  void Start();
  void Stop();
  absl::Status WaitForSync(absl::Time deadline);
  // The records' informer: what it holds, how often it listed and watched.
  kube::InformerStats Stats() const { return kube::StatsOf(*informer_); }

  // ALREADY_EXISTS when a record with this operation's id exists.
  absl::Status Create(const Record& record);
  // Writes the operation's current state, checkpoint and owner. The owner
  // is the record's fencing token: FAILED_PRECONDITION, with nothing
  // written, when the record has ended or another replica has taken it
  // over since (TakeOver), so a replica that lost its lease without knowing
  // never overwrites what the one that adopted the operation wrote.
  absl::Status Save(const v1::Operation& op, const std::map<std::string, std::string>& checkpoint,
                    const std::string& owner);
  // Makes `owner` the record's owner, changing nothing else, and returns
  // the record as it was taken over: what its previous owner (set in
  // `previous_owner` when given) persisted until then is in it, and
  // nothing it saves after gets in (Save). FAILED_PRECONDITION when the
  // operation has ended, NOT_FOUND when there is no record.
  absl::StatusOr<Record> TakeOver(const std::string& id, const std::string& owner,
                                  std::string* previous_owner = nullptr);
  // Reads the record from the API, lets `edit` change it, and writes it
  // back guarded by the version read (a write in between makes it read
  // and edit again). An error from `edit` is returned with nothing
  // written. Returns the record as written (TakeOver is one; so is an
  // approval decided). ABORTED when it kept changing (5 tries).
  absl::StatusOr<Record> Update(const std::string& id, const std::function<absl::Status(Record&)>& edit);
  // Asks for a cancel through the record (for operations run elsewhere).
  absl::Status RequestCancel(const std::string& id, const std::string& reason);

  // From the watched cache, else from the API. NOT_FOUND when absent.
  absl::StatusOr<Record> Get(const std::string& id);
  // From the API, never the cache: what a replica decides to act on (a
  // cache may still show a record before its last write). NOT_FOUND when
  // absent.
  absl::StatusOr<Record> Fetch(const std::string& id);
  // Removes a record (one whose operation never started). OK when absent.
  absl::Status Delete(const std::string& id);
  // Removes the record of an operation that could not start, only while
  // `owner` owns it and it has not ended, guarded by the version read (a
  // record another replica took over in between is never deleted under
  // it): FAILED_PRECONDITION when it is someone else's or ended. OK when
  // absent.
  absl::Status Withdraw(const std::string& id, const std::string& owner);
  // Every record in the cache, newest first.
  std::vector<Record> List();

  // Wakes waiters whenever a record changes.
  kube::ChangeNotifier& notifier() { return notifier_; }

  // Deletes finished records past the retention or the count limit.
  void CollectGarbage(absl::Time now);

  static std::string ConfigMapName(const std::string& id) { return "herd-op-" + id; }

 private:
  absl::StatusOr<Record> Parse(const kube::Json& cm) const;
  // Update; `remember`: keep what was written for Save's fast path (the
  // record is this replica's to run).
  absl::StatusOr<Record> ReadModifyWrite(const std::string& id, const std::function<absl::Status(Record&)>& edit,
                                         bool remember);
  kube::Json ToConfigMap(const Record& r) const;

  // What this store last wrote of a running operation's record: a save
  // builds on it and costs one request instead of a read and a write (a
  // conflict, e.g. with a cancel another replica wrote, falls back to
  // reading the record).
  struct Written {
    std::string resource_version;
    std::string request_json;
    std::string cancel_reason;
    std::string owner;
  };
  void Remember(const Record& r, const kube::Json& written);
  void Forget(const std::string& name);

  kube::KubeClient& kube_;
  const std::string ns_;
  const StoreOptions options_;
  kube::ChangeNotifier notifier_;
  std::unique_ptr<kube::Informer> informer_;
  absl::Mutex written_mu_;
  std::map<std::string, Written> written_ ABSL_GUARDED_BY(written_mu_);
};

}  // namespace herd::ops

#endif  // HERD_SERVER_OPS_STORE_H_
