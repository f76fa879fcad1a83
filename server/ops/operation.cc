#include "server/ops/operation.h"

#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/status.pb.h"

namespace herd::ops {

bool IsFinal(v1::OperationState state) {
  switch (state) {
    case v1::OPERATION_STATE_SUCCEEDED:
    case v1::OPERATION_STATE_FAILED:
    case v1::OPERATION_STATE_CANCELLED:
    case v1::OPERATION_STATE_ROLLED_BACK:
      return true;
    default:
      return false;
  }
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

LiveOperation::LiveOperation(v1::Operation initial, std::map<std::string, std::string> checkpoint)
    : op_(std::move(initial)), checkpoint_(std::move(checkpoint)) {}

v1::Operation LiveOperation::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return op_;
}

v1::Operation LiveOperation::Published() const {
  absl::MutexLock lock(&mu_);
  v1::Operation out = op_;
  if (IsFinal(out.state()) && !end_recorded_) {
    out.set_state(v1::OPERATION_STATE_RUNNING);
    out.clear_end_time();
    out.clear_error();
    out.clear_failure();
  }
  return out;
}

void LiveOperation::MarkEndRecorded() {
  std::function<void()> notify;
  {
    absl::MutexLock lock(&mu_);
    if (end_recorded_ || !IsFinal(op_.state())) return;
    end_recorded_ = true;
    ++version_;
    notify = on_change_;
  }
  if (notify) notify();
}

std::string LiveOperation::name() const {
  absl::MutexLock lock(&mu_);
  return op_.name();
}

uint64_t LiveOperation::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

bool LiveOperation::Done() const {
  absl::MutexLock lock(&mu_);
  return IsFinal(op_.state());
}

void LiveOperation::Changed() {
  ++version_;
  SetTime(absl::Now(), op_.mutable_update_time());
}

void LiveOperation::Update(const std::function<void(v1::Operation&)>& edit) {
  std::function<void()> notify;
  {
    absl::MutexLock lock(&mu_);
    if (IsFinal(op_.state())) return;
    v1::Operation before = op_;
    edit(op_);
    // Engines report progress each time they look at the cluster: only a
    // real change is one (else whoever waits on changes would spin).
    if (google::protobuf::util::MessageDifferencer::Equals(before, op_)) return;
    Changed();
    notify = on_change_;
  }
  if (notify) notify();
}

void LiveOperation::AddEvent(const std::string& message) {
  Update([&](v1::Operation& o) {
    auto* e = o.add_events();
    SetTime(absl::Now(), e->mutable_time());
    e->set_message(message);
    if (o.events_size() > 50) o.mutable_events()->DeleteSubrange(0, o.events_size() - 50);
  });
}

void LiveOperation::AddTiming(const std::string& phase, absl::Duration d) {
  Update([&](v1::Operation& o) {
    for (auto& t : *o.mutable_timings()) {
      if (t.phase() == phase) {
        SetDuration(d, t.mutable_duration());
        return;
      }
    }
    auto* t = o.add_timings();
    t->set_phase(phase);
    SetDuration(d, t->mutable_duration());
  });
}

void LiveOperation::Finish(v1::OperationState state, const absl::Status& error, const v1::Failure* failure) {
  std::function<void()> notify;
  {
    absl::MutexLock lock(&mu_);
    if (IsFinal(op_.state())) return;
    op_.set_state(state);
    SetTime(absl::Now(), op_.mutable_end_time());
    if (!error.ok()) {
      op_.mutable_error()->set_code(static_cast<int>(error.code()));
      op_.mutable_error()->set_message(std::string(error.message()));
    }
    if (failure) *op_.mutable_failure() = *failure;
    Changed();
    notify = on_change_;
  }
  if (notify) notify();
}

uint64_t LiveOperation::WaitForChange(uint64_t seen, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != seen; };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  return version_;
}

void LiveOperation::RequestCancel(const std::string& reason) {
  std::function<void()> notify;
  {
    absl::MutexLock lock(&mu_);
    if (cancel_ || IsFinal(op_.state())) return;
    cancel_ = true;
    cancel_reason_ = reason;
    ++version_;
    notify = on_change_;
  }
  if (notify) notify();
}

bool LiveOperation::cancel_requested() const {
  absl::MutexLock lock(&mu_);
  return cancel_;
}

std::string LiveOperation::cancel_reason() const {
  absl::MutexLock lock(&mu_);
  return cancel_reason_;
}

void LiveOperation::RequestHandOver() {
  std::function<void()> notify;
  {
    absl::MutexLock lock(&mu_);
    hand_over_ = true;
    notify = on_change_;
  }
  if (notify) notify();
}

bool LiveOperation::hand_over_requested() const {
  absl::MutexLock lock(&mu_);
  return hand_over_;
}

void LiveOperation::SetCheckpoint(const std::string& key, const std::string& value) {
  absl::MutexLock lock(&mu_);
  checkpoint_[key] = value;
  ++version_;
}

std::string LiveOperation::Checkpoint(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = checkpoint_.find(key);
  return it == checkpoint_.end() ? "" : it->second;
}

std::map<std::string, std::string> LiveOperation::checkpoint() const {
  absl::MutexLock lock(&mu_);
  return checkpoint_;
}

void LiveOperation::SetOnChange(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  on_change_ = std::move(fn);
}

LiveOperation::ForRecord LiveOperation::SnapshotForRecord() const {
  absl::MutexLock lock(&mu_);
  return {op_, checkpoint_, version_};
}

absl::Status LiveOperation::Persist() {
  std::function<absl::Status()> persist;
  {
    absl::MutexLock lock(&mu_);
    persist = persister_;
  }
  return persist ? persist() : absl::OkStatus();
}

void LiveOperation::SetPersister(std::function<absl::Status()> fn) {
  absl::MutexLock lock(&mu_);
  persister_ = std::move(fn);
}

}  // namespace herd::ops
