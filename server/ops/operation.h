// The live state of one operation: what its engine reports (state,
// progress, events, timings, failure) and what watchers and the record
// writer read. Also the engine's view of cancellation and hand-over.
//
//   LiveOperation op(initial);
//   op.Update([](v1::Operation& o) { o.mutable_progress()->set_ready(3); });
//   op.AddEvent("3/4 new pods ready");
//   uint64_t v = op.version();
//   v = op.WaitForChange(v, absl::Now() + absl::Seconds(30));  // a watcher
//
// Thread-safe.
#ifndef HERD_SERVER_OPS_OPERATION_H_
#define HERD_SERVER_OPS_OPERATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"

namespace herd::ops {

namespace v1 = ::herd::v1;

bool IsFinal(v1::OperationState state);

class LiveOperation {
 public:
  explicit LiveOperation(v1::Operation initial, std::map<std::string, std::string> checkpoint = {});

  v1::Operation Snapshot() const;
  // What callers of the API are shown: as Snapshot, but a final state only
  // once MarkEndRecorded says the record holds it. Until then it reads as
  // RUNNING (no end time, error or failure): a replica that dies between
  // the end and its record write leaves the operation to be adopted and
  // finished again, perhaps otherwise, and a state once shown as final
  // must never change.
  v1::Operation Published() const;
  // The final state is in the record (the runner wrote it).
  void MarkEndRecorded();
  std::string name() const;
  uint64_t version() const;
  bool Done() const;

  // Applies `edit` and stamps update_time; wakes watchers.
  void Update(const std::function<void(v1::Operation&)>& edit);
  // Appends to the event log (the newest 50 are kept).
  void AddEvent(const std::string& message);
  void AddTiming(const std::string& phase, absl::Duration d);
  // Moves to a final state (end_time set). Later calls change nothing.
  void Finish(v1::OperationState state, const absl::Status& error = absl::OkStatus(),
              const v1::Failure* failure = nullptr);

  // Blocks until the version differs from `seen` or `deadline`; returns the
  // current version.
  uint64_t WaitForChange(uint64_t seen, absl::Time deadline) const;

  // Cancellation, asked for by a caller; the engine decides how to stop.
  void RequestCancel(const std::string& reason);
  bool cancel_requested() const;
  std::string cancel_reason() const;
  // Shutdown: the engine stops without finishing so another replica (or
  // this one after a restart) adopts the operation.
  void RequestHandOver();
  bool hand_over_requested() const;
  // Wakes anything waiting on `interrupted()`.
  bool interrupted() const { return cancel_requested() || hand_over_requested(); }

  // Engine state persisted with the record, for resuming after adoption.
  void SetCheckpoint(const std::string& key, const std::string& value);
  std::string Checkpoint(const std::string& key) const;
  std::map<std::string, std::string> checkpoint() const;
  // Bumped on every change of state or checkpoint: the record writer
  // compares it with what it last wrote.
  uint64_t dirty_version() const { return version(); }

  // Called after every change (under no lock), e.g. to wake informers'
  // waiters that also watch cancellation.
  void SetOnChange(std::function<void()> fn);

  // The state, checkpoint and version at one instant, for the record writer.
  struct ForRecord {
    v1::Operation op;
    std::map<std::string, std::string> checkpoint;
    uint64_t version = 0;
  };
  ForRecord SnapshotForRecord() const;

  // Writes the record (state and checkpoint) now and returns once it is in
  // the cluster, through the writer the runner installed (OK without one).
  // An engine calls it after setting the checkpoint entries that say what
  // it decided and before the write that changes what it would decide from
  // the cluster next: what a replica that adopts the operation must know
  // is stored before the cluster changes (server/ops/CRASH_CONSISTENCY.md).
  absl::Status Persist();
  void SetPersister(std::function<absl::Status()> fn);

 private:
  void Changed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  v1::Operation op_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> checkpoint_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  bool cancel_ ABSL_GUARDED_BY(mu_) = false;
  std::string cancel_reason_ ABSL_GUARDED_BY(mu_);
  bool hand_over_ ABSL_GUARDED_BY(mu_) = false;
  bool end_recorded_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_change_ ABSL_GUARDED_BY(mu_);
  std::function<absl::Status()> persister_ ABSL_GUARDED_BY(mu_);
};

// Proto timestamps and durations from absl.
void SetTime(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromProto(const google::protobuf::Timestamp& t);
void SetDuration(absl::Duration d, google::protobuf::Duration* out);
absl::Duration FromProto(const google::protobuf::Duration& d);

}  // namespace herd::ops

#endif  // HERD_SERVER_OPS_OPERATION_H_
