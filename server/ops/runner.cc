#include "server/ops/runner.h"

#include <algorithm>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "server/kube/errors.h"
#include "server/ops/names.h"

namespace herd::ops {
namespace {

// `op` ended FAILED with `why`: what a record says of an operation that
// could not start.
v1::Operation FailedWith(v1::Operation op, const absl::Status& why) {
  op.set_state(v1::OPERATION_STATE_FAILED);
  op.mutable_error()->set_code(static_cast<int>(why.code()));
  op.mutable_error()->set_message(std::string(why.message()));
  return op;
}

}  // namespace

OperationRunner::OperationRunner(EngineEnv env, OperationStore& store, WorkloadLocks& locks, EngineFactory factory,
                                 RunnerHooks hooks, RunnerOptions options)
    : env_(env), store_(store), locks_(locks), factory_(std::move(factory)), hooks_(std::move(hooks)),
      options_(std::move(options)) {}

OperationRunner::~OperationRunner() { HandOver(); }

void OperationRunner::Start() {
  if (loop_.joinable()) return;
  loop_ = std::thread([this] { Loop(); });
  renew_loop_ = std::thread([this] {
    while (!stop_renew_.WaitForNotificationWithTimeout(options_.renew_period)) RenewLocks();
  });
}

size_t OperationRunner::Running() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [name, slot] : slots_) n += slot->finished ? 0 : 1;
  return n;
}

bool OperationRunner::RunsHere(const std::string& name) {
  absl::MutexLock lock(&mu_);
  return slots_.count(name) > 0 || launching_.count(name) > 0;
}

std::shared_ptr<LiveOperation> OperationRunner::Find(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : it->second->op;
}

std::vector<std::shared_ptr<LiveOperation>> OperationRunner::Local() {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<LiveOperation>> out;
  for (const auto& [name, slot] : slots_) out.push_back(slot->op);
  return out;
}

absl::StatusOr<v1::Operation> OperationRunner::Launch(std::unique_ptr<Engine> engine, v1::Operation initial) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("herdd is shutting down; try another replica");
    if (slots_.count(initial.name())) return absl::AlreadyExistsError(absl::StrCat(initial.name(), " exists"));
    if (!launching_.insert(initial.name()).second) {
      // The same request, sent twice at once: the first is starting it.
      return absl::UnavailableError(absl::StrCat(initial.name(), " is being started by a call in flight; send it again"));
    }
  }
  // Unmarked by StartSlot once the slot exists, or here when it fails to start.
  absl::Cleanup unmark = [this, name = initial.name()] {
    absl::MutexLock lock(&mu_);
    launching_.erase(name);
  };
  std::string key = engine->lock_key();
  // An engine that locks no workload still holds a Lease (on its own name,
  // which no one else can want) so that it can be adopted.
  const bool own_name = key.empty();
  if (own_name) {
    key = initial.name();
  } else {
    // An operation that runs on a workload is of the moment it takes it
    // (the call may have waited for the operation before it to end).
    const absl::Time now = env_.clock.Now();
    SetTime(now, initial.mutable_create_time());
    SetTime(now, initial.mutable_update_time());
    for (auto& e : *initial.mutable_events()) SetTime(now, e.mutable_time());
  }
  std::vector<std::string> keys = LockKeys(*engine, key);
  // The locks are taken while the record is written: one round trip to the
  // API server instead of two. A record is adopted only once its lease can
  // be had, and one whose locks cannot be taken goes again (Withdraw).
  Record record;
  record.request_json = engine->request_json();
  record.owner = locks_.identity();
  record.op = initial;
  record.checkpoint = engine->InitialCheckpoint();
  absl::Status locked, created;
  bool found_free = false;
  {
    std::thread lease([&] { locked = AcquireAll(keys, initial.name(), &found_free); });
    created = store_.Create(record);
    lease.join();
  }
  if (!locked.ok()) {
    if (created.ok()) {
      if (auto adopted = Withdraw(record, locked)) return *std::move(adopted);
    }
    return locked;
  }
  if (!created.ok()) {
    ReleaseAll(keys, initial.name());
    return created;
  }
  if (!own_name) {
    if (absl::Status st = PlanHoldingLocks(*engine, record, keys, found_free); !st.ok()) {
      Withdraw(record, st);
      ReleaseAll(keys, initial.name());
      return st;
    }
    initial = record.op;
  }
  auto slot = std::make_unique<Slot>();
  slot->op = std::make_shared<LiveOperation>(initial, record.checkpoint);
  slot->engine = std::move(engine);
  slot->lock_keys = keys;
  {
    absl::MutexLock lock(&slot->save_mu);
    slot->saved_version = slot->op->version();
  }
  std::shared_ptr<LiveOperation> op = slot->op;
  if (hooks_.on_start) hooks_.on_start(initial);
  std::move(unmark).Cancel();
  StartSlot(std::move(slot), false);
  return op->Published();
}

std::vector<std::string> OperationRunner::LockKeys(const Engine& engine, const std::string& key) {
  std::vector<std::string> keys = {key};
  for (auto& k : engine.more_lock_keys(engine.InitialCheckpoint())) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  }
  return keys;
}

absl::Status OperationRunner::PlanHoldingLocks(Engine& engine, Record& record, std::vector<std::string>& keys,
                                               bool found_free) {
  const absl::Time locked_at = env_.clock.Now();
  const std::string& name = record.op.name();
  auto plan = PlanOf(engine, env_);
  if (!plan.ok()) return plan.status();
  // A purge by selector locks the workloads its pods belong to now.
  std::vector<std::string> now = LockKeys(engine, keys.front());
  std::vector<std::string> more, spare;
  for (const auto& k : now) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) more.push_back(k);
  }
  for (const auto& k : keys) {
    if (std::find(now.begin(), now.end(), k) == now.end()) spare.push_back(k);
  }
  if (absl::Status st = AcquireAll(more, name); !st.ok()) return st;
  found_free = found_free && more.empty();
  // The leases are renewed only once the operation runs: one that may
  // have run out while the cluster was read must be ours still.
  if (env_.clock.Now() - locked_at > locks_.lease_duration() / 4) {
    for (const auto& k : now) {
      absl::Status st = locks_.Renew(k, name);
      if (absl::IsFailedPrecondition(st)) st = absl::AbortedError(absl::StrCat(st.message(), " while it was planned; send it again"));
      if (!st.ok()) {
        ReleaseAll(more, name);
        return st;
      }
    }
  }
  ReleaseAll(spare, name);
  keys = std::move(now);
  // Planned from the caches, the plan is the call's unless the workload
  // changed in between (an operation that held it ended meanwhile): only
  // then is the record written again, with the plan, locks and times of
  // this moment. So it is when the locks were not free at once: the
  // operation that held them may have ended after the record was dated. A
  // lock free at once was let go, after its holder recorded its end (one
  // round trip) and read it (another), before the request that took it
  // arrived, sent after the record was dated.
  std::map<std::string, std::string> checkpoint = engine.InitialCheckpoint();
  if (found_free && plan->SerializeAsString() == record.op.plan().SerializeAsString() &&
      checkpoint == record.checkpoint) {
    return absl::OkStatus();
  }
  *record.op.mutable_plan() = *std::move(plan);
  record.checkpoint = std::move(checkpoint);
  SetTime(locked_at, record.op.mutable_create_time());
  SetTime(locked_at, record.op.mutable_update_time());
  // The events of an operation held for approval (asked for, approved)
  // keep the moments they tell of.
  if (!record.op.has_approval()) {
    for (auto& e : *record.op.mutable_events()) SetTime(locked_at, e.mutable_time());
  }
  return store_.Save(record.op, record.checkpoint, record.owner);
}

std::optional<v1::Operation> OperationRunner::Withdraw(const Record& record, const absl::Status& why) {
  // Nobody may adopt and run what the caller is told did not start. The
  // record goes, so that the same request id, sent again, starts the
  // operation; if it cannot go, it says the operation failed. Both are
  // refused (FAILED_PRECONDITION) once another replica took the record
  // over: it runs the operation, which the caller is then told of.
  const std::string& name = record.op.name();
  const std::string id = ParseOperationName(name).value_or("");
  absl::Status st = store_.Withdraw(id, locks_.identity());
  if (st.ok()) return std::nullopt;
  if (!absl::IsFailedPrecondition(st)) {
    st = store_.Save(FailedWith(record.op, why), record.checkpoint, locks_.identity());
    if (st.ok()) return std::nullopt;
    log::Warn("marking an operation that could not start failed", {{"op", name}, {"error", st}});
  }
  auto now = store_.Fetch(id);
  if (now.ok() && now->owner != locks_.identity()) {
    log::Info("an operation whose lock was refused was adopted meanwhile", {{"op", name}, {"owner", now->owner}});
    return now->op;
  }
  return std::nullopt;
}

void OperationRunner::LetGoAll(const std::vector<std::string>& keys, const std::string& operation) {
  for (const auto& key : keys) locks_.LetGo(key, operation);
}

absl::StatusOr<v1::Operation> OperationRunner::Hold(const Engine& engine, v1::Operation initial) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("herdd is shutting down; try another replica");
  }
  if (initial.state() != v1::OPERATION_STATE_PENDING_APPROVAL || !initial.has_approval()) {
    return absl::InternalError("only an operation waiting for approval is held");
  }
  Record record;
  record.request_json = engine.request_json();
  record.owner = locks_.identity();
  record.op = initial;
  record.checkpoint = engine.InitialCheckpoint();
  if (absl::Status st = store_.Create(record); !st.ok()) return st;
  if (hooks_.on_held) hooks_.on_held(initial);
  return initial;
}

namespace {

// The edit of a record that ends an operation held for approval, without
// running it: CANCELLED with `why`.
absl::Status EndHeld(Record& rec, v1::ApprovalDecision decision, const std::string& who, const std::string& comment,
                     absl::Time now, const absl::Status& why, const std::string& event) {
  if (rec.op.state() != v1::OPERATION_STATE_PENDING_APPROVAL) {
    return absl::FailedPreconditionError(absl::StrCat(rec.op.name(), " waits for no approval (it is ",
                                                      v1::OperationState_Name(rec.op.state()), ")"));
  }
  rec.op.set_state(v1::OPERATION_STATE_CANCELLED);
  v1::Approval* a = rec.op.mutable_approval();
  a->set_decision(decision);
  a->set_decided_by(who);
  a->set_comment(comment);
  SetTime(now, a->mutable_decide_time());
  rec.op.mutable_error()->set_code(static_cast<int>(why.code()));
  rec.op.mutable_error()->set_message(std::string(why.message()));
  SetTime(now, rec.op.mutable_end_time());
  SetTime(now, rec.op.mutable_update_time());
  auto* e = rec.op.add_events();
  SetTime(now, e->mutable_time());
  e->set_message(event);
  return absl::OkStatus();
}

std::string WithComment(std::string text, const std::string& comment) {
  return comment.empty() ? text : absl::StrCat(text, ": ", comment);
}

}  // namespace

absl::StatusOr<v1::Operation> OperationRunner::Decide(const std::string& name, v1::ApprovalDecision decision,
                                                      const std::string& who, const std::string& comment) {
  auto id = ParseOperationName(name);
  if (!id.ok()) return id.status();
  const absl::Time now = env_.clock.Now();
  auto edit = [&](Record& rec) -> absl::Status {
    if (rec.op.state() == v1::OPERATION_STATE_PENDING_APPROVAL &&
        now >= FromProto(rec.op.approval().deadline())) {
      return absl::FailedPreconditionError(absl::StrCat(name, " was not approved by its deadline (",
                                                        absl::FormatTime(FromProto(rec.op.approval().deadline())),
                                                        "): it ends, and nothing can be decided any more"));
    }
    switch (decision) {
      case v1::APPROVAL_DECISION_APPROVED: {
        if (rec.op.state() != v1::OPERATION_STATE_PENDING_APPROVAL) {
          return absl::FailedPreconditionError(absl::StrCat(name, " waits for no approval (it is ",
                                                            v1::OperationState_Name(rec.op.state()), ")"));
        }
        if (who == rec.op.approval().requester()) {
          return absl::PermissionDeniedError(
              absl::StrCat(who, " asked for ", name, " and may not approve it: another approver must"));
        }
        v1::Approval* a = rec.op.mutable_approval();
        a->set_decision(decision);
        a->set_decided_by(who);
        a->set_comment(comment);
        SetTime(now, a->mutable_decide_time());
        // Accepted, not started: it starts once it holds its workload.
        rec.op.set_state(v1::OPERATION_STATE_PENDING);
        SetTime(now, rec.op.mutable_update_time());
        auto* e = rec.op.add_events();
        SetTime(now, e->mutable_time());
        e->set_message(WithComment(absl::StrCat("approved by ", who), comment));
        return absl::OkStatus();
      }
      case v1::APPROVAL_DECISION_REJECTED:
        return EndHeld(rec, decision, who, comment, now,
                       absl::PermissionDeniedError(WithComment(absl::StrCat("rejected by ", who), comment)),
                       WithComment(absl::StrCat("rejected by ", who), comment));
      case v1::APPROVAL_DECISION_UNSPECIFIED:
        // Withdrawn (cancelled) before anyone decided.
        return EndHeld(rec, decision, who, comment, now,
                       absl::CancelledError(WithComment(absl::StrCat("cancelled by ", who, " before it was approved"),
                                                        comment)),
                       WithComment(absl::StrCat("cancelled by ", who, " before it was approved"), comment));
      default:
        return absl::InvalidArgumentError("an approval is approved, rejected or withdrawn");
    }
  };
  auto rec = store_.Update(*id, edit);
  if (!rec.ok()) return rec.status();
  if (IsFinal(rec->op.state())) {
    if (hooks_.on_finish) hooks_.on_finish(rec->op);
    return rec->op;
  }
  // Started here at once when its workload is free; else by whichever
  // replica finds it free first (Adopt). Marked as launching meanwhile, so
  // that this replica's adoption passes leave it to this call.
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || !launching_.insert(name).second) return rec->op;
  }
  (void)AdoptOne(*rec, /*approved_here=*/true);
  {
    absl::MutexLock lock(&mu_);
    launching_.erase(name);
  }
  if (auto live = Find(name)) return live->Published();
  // Not started (its workload busy, or its start failed): as recorded.
  auto recorded = store_.Fetch(*id);
  return recorded.ok() ? recorded->op : rec->op;
}

absl::Time OperationRunner::ExpireIfDue(const Record& rec) {
  const absl::Time deadline = FromProto(rec.op.approval().deadline());
  const absl::Time now = env_.clock.Now();
  if (now < deadline) return deadline + absl::Milliseconds(50);
  auto id = ParseOperationName(rec.op.name());
  if (!id.ok()) return absl::InfiniteFuture();
  const std::string text = absl::StrCat("not approved by its deadline, ", absl::FormatTime(deadline),
                                        " (approval rule ", rec.op.approval().rule(), "): nothing was done");
  auto ended = store_.Update(*id, [&](Record& r) {
    return EndHeld(r, v1::APPROVAL_DECISION_EXPIRED, "", "", now, absl::DeadlineExceededError(text), text);
  });
  if (ended.ok()) {
    log::Info("an operation waiting for approval expired", {{"op", rec.op.name()}});
    if (hooks_.on_finish) hooks_.on_finish(ended->op);
  } else if (!absl::IsFailedPrecondition(ended.status()) && !absl::IsNotFound(ended.status())) {
    // Decided, or expired by another replica, meanwhile: nothing to do.
    log::Warn("ending an expired approval failed; trying again", {{"op", rec.op.name()}, {"error", ended.status()}});
    return now + options_.adopt_period;
  }
  return absl::InfiniteFuture();
}

bool OperationRunner::AwaitsItsWorkload(const Record& record) {
  if (IsFinal(record.op.state()) || record.op.dry_run() || RunsHere(record.op.name()) ||
      record.op.state() == v1::OPERATION_STATE_PENDING_APPROVAL) {
    return false;
  }
  auto engine = factory_(record);
  if (!engine.ok()) return false;
  std::string key = (*engine)->lock_key();
  if (key.empty()) key = record.op.name();
  // The cache first; a Lease taken a moment ago may not be in it yet.
  auto names_it = [&](const absl::StatusOr<LockInfo>& info) {
    return !absl::IsNotFound(info.status()) && (!info.ok() || info->operation == record.op.name());
  };
  return !names_it(locks_.Peek(key)) && !names_it(locks_.Inspect(key));
}

void OperationRunner::StartSlot(std::unique_ptr<Slot> slot, bool resumed) {
  Slot* raw = slot.get();
  // A cancel or hand-over must wake an engine waiting on the cluster.
  kube::ChangeNotifier* notifier = &env_.informers.notifier();
  raw->op->SetOnChange([notifier] { notifier->Notify(); });
  raw->op->SetPersister([this, raw] { return SaveSlot(raw, true); });
  std::string name = raw->op->name();
  absl::MutexLock lock(&mu_);
  launching_.erase(name);
  slots_[name] = std::move(slot);
  raw->thread = std::thread([this, raw, resumed] { RunSlot(raw, resumed); });
}

absl::Status OperationRunner::SaveSlot(Slot* slot, bool force) {
  absl::MutexLock lock(&slot->save_mu);
  LiveOperation::ForRecord now = slot->op->SnapshotForRecord();
  if (!force && now.version == slot->saved_version) return absl::OkStatus();
  absl::Status st = store_.Save(now.op, now.checkpoint, locks_.identity());
  if (st.ok()) slot->saved_version = now.version;
  if (absl::IsFailedPrecondition(st)) {
    // Another replica adopted the operation (this one's lease ran out
    // unnoticed) or ended it: stop here, writing nothing more.
    log::Warn("the operation's record was taken over; stopping it here", {{"op", now.op.name()}, {"error", st}});
    slot->op->RequestHandOver();
  }
  return st;
}

void OperationRunner::RunSlot(Slot* slot, bool resumed) {
  LiveOperation& op = *slot->op;
  if (!options_.client_for) {
    slot->engine->Run(env_, op, resumed);
  } else if (auto client = options_.client_for(op.Snapshot()); !client.ok()) {
    op.AddEvent(absl::StrCat("not started: ", client.status().message()));
    op.Finish(v1::OPERATION_STATE_FAILED, client.status());
  } else {
    EngineEnv env{.kube = **client,
                  .informers = env_.informers,
                  .clock = env_.clock,
                  .settings = env_.settings,
                  .write_hook = env_.write_hook};
    slot->engine->Run(env, op, resumed);
  }
  v1::Operation final = op.Snapshot();
  // The record is written before the lock goes, so whoever takes the lock
  // next sees the final state.
  absl::Status saved = SaveSlot(slot, true);
  for (int i = 0; !saved.ok() && i < 5 && !op.hand_over_requested(); ++i) {
    log::Warn("saving an operation failed; retrying", {{"op", final.name()}, {"error", saved}});
    env_.clock.SleepFor(absl::Milliseconds(200) * (i + 1));
    saved = SaveSlot(slot, true);
  }
  // An end recorded frees the workload; an operation handed over, or whose
  // end could not be recorded, keeps its Lease, let go, so that another
  // replica (or this one) adopts and finishes it before anything else
  // takes the workload.
  if (saved.ok() && IsFinal(final.state())) {
    ReleaseAll(slot->lock_keys, final.name());
  } else {
    LetGoAll(slot->lock_keys, final.name());
  }
  // Callers see the end only now that the record holds it (unsaved, it
  // stays running for them) and the workload is free again: a caller told
  // the operation ended may start the next one at once.
  if (saved.ok()) op.MarkEndRecorded();
  {
    absl::MutexLock lock(&mu_);
    slot->finished = true;
  }
  if (saved.ok() && IsFinal(final.state()) && hooks_.on_finish) hooks_.on_finish(final);
  if (!saved.ok() || !IsFinal(final.state())) log::Info("operation handed over", {{"op", final.name()}});
}

absl::Status OperationRunner::Cancel(const std::string& name, const std::string& reason) {
  auto id = ParseOperationName(name);
  if (!id.ok()) return id.status();
  if (auto live = Find(name)) {
    if (live->Done()) return absl::FailedPreconditionError(absl::StrCat(name, " has already ended"));
    live->RequestCancel(reason.empty() ? "cancelled" : reason);
    // Also in the record: a replica that adopts the operation after this
    // one died carries the cancel out instead of finishing the operation.
    if (auto st = store_.RequestCancel(*id, reason.empty() ? "cancelled" : reason); !st.ok()) {
      log::Warn("recording a cancel failed; it holds while this replica runs the operation",
                {{"op", name}, {"error", st}});
    }
    return absl::OkStatus();
  }
  auto rec = store_.Get(*id);
  if (!rec.ok()) return rec.status();
  if (IsFinal(rec->op.state())) return absl::FailedPreconditionError(absl::StrCat(name, " has already ended"));
  return store_.RequestCancel(*id, reason.empty() ? "cancelled" : reason);
}

void OperationRunner::HandOver() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !loop_.joinable()) return;
    stopping_ = true;
  }
  // The loop reaps finished slots: stop it before touching them.
  if (!stop_loop_.HasBeenNotified()) stop_loop_.Notify();
  if (loop_.joinable()) loop_.join();
  std::vector<Slot*> running;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, slot] : slots_) running.push_back(slot.get());
  }
  for (Slot* s : running) s->op->RequestHandOver();
  for (Slot* s : running) {
    if (s->thread.joinable()) s->thread.join();
  }
  if (!stop_renew_.HasBeenNotified()) stop_renew_.Notify();
  if (renew_loop_.joinable()) renew_loop_.join();
}

void OperationRunner::SaveDirty() {
  std::vector<Slot*> running;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, slot] : slots_) {
      if (!slot->finished) running.push_back(slot.get());
    }
  }
  // Slots are dropped only by this thread (Loop), so the pointers stay good.
  for (Slot* slot : running) {
    if (slot->op->Done()) continue;  // the operation's own thread writes the end
    if (absl::Status st = SaveSlot(slot, false); !st.ok()) {
      log::Warn("saving operation progress failed", {{"op", slot->op->name()}, {"error", st}});
    }
  }
  // Cancels asked for through the record (by another replica).
  for (auto& rec : store_.List()) {
    if (rec.cancel_reason.empty()) continue;
    if (auto live = Find(rec.op.name()); live && !live->Done()) live->RequestCancel(rec.cancel_reason);
  }
}

void OperationRunner::RenewLocks() {
  std::vector<std::pair<std::string, std::shared_ptr<LiveOperation>>> held;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, slot] : slots_) {
      if (slot->finished) continue;
      for (const auto& key : slot->lock_keys) held.emplace_back(key, slot->op);
    }
  }
  for (auto& [key, op] : held) {
    if (op->hand_over_requested()) continue;
    absl::Status st = locks_.Renew(key, op->name());
    if (absl::IsFailedPrecondition(st)) {
      // Someone took the operation over (we were cut off too long): stop
      // without touching anything more.
      log::Warn("lost an operation's lock; stopping it here", {{"op", op->name()}, {"error", st}});
      op->RequestHandOver();
    } else if (!st.ok()) {
      log::Warn("renewing an operation's lock failed", {{"op", op->name()}, {"error", st}});
    }
  }
}

absl::Status OperationRunner::AcquireAll(const std::vector<std::string>& keys, const std::string& operation,
                                         bool* found_free, bool let_go_on_failure) {
  // A lock refused for a transient reason (the API server's 5xx or 429) is
  // asked for again: taking it is idempotent for the same operation. The
  // tries end well within a lease, the time a record without one is left
  // alone by other replicas (Adopt).
  // A lease left by another operation is taken over only once that one has
  // ended (its record says so, from the API): one whose replica is slow or
  // died is adopted and finished first, never overrun by a second one.
  auto ended = [this](const std::string& other) {
    auto id = ParseOperationName(other);
    if (!id.ok()) return true;
    auto rec = store_.Fetch(*id);
    if (absl::IsNotFound(rec.status())) return true;
    return rec.ok() && IsFinal(rec->op.state());
  };
  absl::Time give_up = absl::Now() + locks_.lease_duration() / 2;
  if (found_free) *found_free = true;
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::Duration pause = absl::Milliseconds(50);
    bool at_once = false;
    absl::Status st = locks_.Acquire(keys[i], operation, ended, &at_once);
    while (!st.ok() && kube::IsTransient(st) && absl::Now() + pause < give_up) {
      env_.clock.SleepFor(pause);
      pause *= 2;
      st = locks_.Acquire(keys[i], operation, ended);
    }
    if (found_free) *found_free = *found_free && at_once;
    if (!st.ok()) {
      std::vector<std::string> taken(keys.begin(), keys.begin() + static_cast<long>(i));
      if (let_go_on_failure) {
        LetGoAll(taken, operation);
      } else {
        ReleaseAll(taken, operation);
      }
      return st;
    }
  }
  return absl::OkStatus();
}

void OperationRunner::ReleaseAll(const std::vector<std::string>& keys, const std::string& operation) {
  for (const auto& key : keys) locks_.Release(key, operation);
}

void OperationRunner::AdoptNow() { (void)Adopt(); }

absl::Time OperationRunner::Adopt() {
  absl::Time next = absl::InfiniteFuture();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return next;
  }
  for (auto& rec : store_.List()) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::InfiniteFuture();
    }
    next = std::min(next, AdoptOne(std::move(rec), /*approved_here=*/false));
  }
  return next;
}

absl::Time OperationRunner::AdoptOne(Record rec, bool approved_here) {
  absl::Time next = absl::InfiniteFuture();
  if (IsFinal(rec.op.state()) || rec.op.dry_run()) return next;
  if (rec.op.state() == v1::OPERATION_STATE_PENDING_APPROVAL) return ExpireIfDue(rec);
  const bool approved = rec.op.approval().decision() == v1::APPROVAL_DECISION_APPROVED;
  // Decide marks the operation it starts here as launching (so that this
  // replica's own adoption passes leave it alone meanwhile).
  if (!approved_here && RunsHere(rec.op.name())) return next;
  auto engine = factory_(rec);
  if (!engine.ok()) {
    log::Error("cannot rebuild an operation's engine", {{"op", rec.op.name()}, {"error", engine.status()}});
    return next;
  }
  std::string key = (*engine)->lock_key();
  if (key.empty()) key = rec.op.name();
  auto info = locks_.Inspect(key);
  if (!info.ok() && !absl::IsNotFound(info.status())) return next;
  // An operation that ran holds its Lease until its end is recorded (or
  // lets it go, naming it, when it is handed over or its end could not be
  // written). One whose Lease is absent or another's never held it: its
  // call's replica died between writing the record and taking the Lease,
  // or withdrawing the record once the Lease was refused. It starts once
  // the workload is free, as a call would then (PlanHoldingLocks).
  const bool never_locked = !info.ok() || info->operation != rec.op.name();
  // An operation that locks no workload (a kill, on a Lease of its own
  // name) runs from its record as it is: what it chose is in it.
  // Nor does an approved one that never ran (it would hold its Lease): it
  // is planned now, like one that waited for its workload.
  const bool relaunch = never_locked && (key != rec.op.name() || approved);
  // A live lease held under this replica's name for an operation it does
  // not run was left by this process's predecessor: adopt it now.
  const bool predecessor = !never_locked && info->holder == locks_.identity();
  if (info.ok() && !info->expired && !predecessor) {
    // Its replica is alive (or the workload busy with another operation),
    // or was until lately: look again when the lease runs out.
    next = std::min(next, info->renewed + info->duration + absl::Milliseconds(50));
    return next;
  }
  if (never_locked) {
    // Its replica may be taking the Lease right now (Launch): a record
    // younger than a lease is given that long; so is the replica that
    // recorded an approval (StartApproved), from that moment.
    absl::Time since = rec.created;
    if (approved) since = std::max(since, FromProto(rec.op.approval().decide_time()));
    absl::Time ripe = since + locks_.lease_duration() + absl::Seconds(1);
    if (!approved_here && absl::Now() < ripe) {
      next = std::min(next, ripe);
      return next;
    }
    // Ended since the cache saw it: nothing to adopt, no lock to take.
    auto id = ParseOperationName(rec.op.name());
    auto now = id.ok() ? store_.Fetch(*id) : absl::StatusOr<Record>(id.status());
    if (!now.ok() || IsFinal(now->op.state())) return next;
  }
  std::vector<std::string> keys = {key};
  for (auto& k : (*engine)->more_lock_keys(rec.checkpoint)) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  }
  // An adoption that stops half-way gives the locks back as it found
  // them. Those of an operation that ran are let go, still naming it:
  // released, they would tell the next pass that it never held its
  // workload, and it would be started afresh, its checkpoint dropped. (Its
  // Leases run out one after another: the first may be taken while the
  // next is still refused.)
  auto give_back = [&] {
    if (never_locked) {
      ReleaseAll(keys, rec.op.name());
    } else {
      LetGoAll(keys, rec.op.name());
    }
  };
  if (!AcquireAll(keys, rec.op.name(), /*found_free=*/nullptr, /*let_go_on_failure=*/!never_locked).ok()) return next;
  // The record names its runner before anything runs: the replica that
  // had it, should it still be alive, can no longer write it. The
  // operation goes on from the record as it was taken over, not as the
  // cache or an earlier read saw it: one that ended (its lock released
  // after its final write) or persisted a checkpoint since (its replica
  // alive, its lease run out unnoticed) must not be run again from an
  // older one.
  auto id = ParseOperationName(rec.op.name());
  std::string previous_owner;
  auto taken = id.ok() ? store_.TakeOver(*id, locks_.identity(), &previous_owner) : absl::StatusOr<Record>(id.status());
  if (!taken.ok()) {
    if (!absl::IsNotFound(taken.status()) && !absl::IsFailedPrecondition(taken.status())) {
      log::Warn("cannot take an operation's record over; trying later",
                {{"op", rec.op.name()}, {"error", taken.status()}});
      give_back();
    } else {
      // Gone, or ended: nothing to adopt, the workload is free.
      ReleaseAll(keys, rec.op.name());
    }
    return next;
  }
  rec = *std::move(taken);
  log::Info("adopting an operation",
            {{"op", rec.op.name()}, {"previous_owner", previous_owner}, {"starts_now", relaunch}});
  if (relaunch) {
    // Planned, dated and started now that the workload is free. An
    // approved one runs from now on (it was PENDING since its approval).
    if (approved) rec.op.set_state(v1::OPERATION_STATE_RUNNING);
    if (absl::Status st = PlanHoldingLocks(**engine, rec, keys, /*found_free=*/false); !st.ok()) {
      v1::Operation failed = FailedWith(rec.op, st);
      SetTime(env_.clock.Now(), failed.mutable_end_time());
      auto* e = failed.add_events();
      SetTime(env_.clock.Now(), e->mutable_time());
      e->set_message(absl::StrCat("not started: ", st.message()));
      absl::Status saved = store_.Save(failed, rec.checkpoint, locks_.identity());
      if (saved.ok()) {
        ReleaseAll(keys, rec.op.name());
        // Ended without running: audited and told like any other end.
        if (hooks_.on_finish) hooks_.on_finish(failed);
      } else {
        LetGoAll(keys, rec.op.name());
      }
      return next;
    }
  }
  auto slot = std::make_unique<Slot>();
  slot->op = std::make_shared<LiveOperation>(rec.op, rec.checkpoint);
  slot->engine = std::move(*engine);
  slot->lock_keys = keys;
  if (relaunch && approved) {
    slot->op->AddEvent(absl::StrCat("started by ", locks_.identity(), " after its approval"));
  } else {
    slot->op->AddEvent(relaunch ? absl::StrCat("started by ", locks_.identity(), " once ", keys.front(),
                                                   " was free (", previous_owner, " stopped before)")
                                    : absl::StrCat("adopted by ", locks_.identity(), " from ", previous_owner));
  }
  if (!rec.cancel_reason.empty()) slot->op->RequestCancel(rec.cancel_reason);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      give_back();
      return next;
    }
  }
  if (hooks_.on_start || hooks_.on_adopt) {
    v1::Operation snapshot = slot->op->Snapshot();
    if (hooks_.on_start) hooks_.on_start(snapshot);
    // Started where it was approved: nobody's operation was taken over.
    if (hooks_.on_adopt && !approved_here) hooks_.on_adopt(snapshot);
  }
  StartSlot(std::move(slot), !relaunch);
  return next;
}

void OperationRunner::Loop() {
  absl::Time next_adopt = absl::Now();
  absl::Time next_gc = absl::Now() + std::min(absl::Minutes(1), options_.gc_period);
  while (!stop_loop_.WaitForNotificationWithTimeout(options_.save_period)) {
    SaveDirty();
    absl::Time now = absl::Now();
    if (now >= next_adopt) {
      absl::Time expiry = Adopt();
      next_adopt = std::min(now + options_.adopt_period, expiry);
    }
    if (now >= next_gc) {
      store_.CollectGarbage(now);
      next_gc = now + options_.gc_period;
    }
    // Threads of finished operations are joined and their slots dropped.
    std::vector<std::unique_ptr<Slot>> done;
    {
      absl::MutexLock lock(&mu_);
      for (auto it = slots_.begin(); it != slots_.end();) {
        if (it->second->finished) {
          done.push_back(std::move(it->second));
          it = slots_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& s : done) {
      if (s->thread.joinable()) s->thread.join();
    }
  }
}

}  // namespace herd::ops
