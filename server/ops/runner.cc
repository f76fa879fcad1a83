#include "server/ops/runner.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "server/ops/names.h"

namespace herd::ops {

OperationRunner::OperationRunner(EngineEnv env, OperationStore& store, WorkloadLocks& locks, EngineFactory factory,
                                 RunnerHooks hooks, RunnerOptions options)
    : env_(env), store_(store), locks_(locks), factory_(std::move(factory)), hooks_(std::move(hooks)),
      options_(std::move(options)) {}

OperationRunner::~OperationRunner() { HandOver(); }

void OperationRunner::Start() {
  if (loop_.joinable()) return;
  loop_ = std::thread([this] { Loop(); });
}

size_t OperationRunner::Running() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [name, slot] : slots_) n += slot->finished ? 0 : 1;
  return n;
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
  }
  std::string key = engine->lock_key();
  // An engine that locks no workload still holds a Lease (on its own name,
  // which no one else can want) so that it can be adopted: take it while the
  // record is written, one round trip to the API server instead of two.
  const bool own_name = key.empty();
  if (own_name) key = initial.name();
  Record record;
  record.op = initial;
  record.request_json = engine->request_json();
  record.checkpoint = engine->InitialCheckpoint();
  record.owner = locks_.identity();
  absl::Status locked, created;
  if (own_name) {
    std::thread lease([&] { locked = locks_.Acquire(key, initial.name()); });
    created = store_.Create(record);
    lease.join();
  } else {
    locked = locks_.Acquire(key, initial.name());
    if (locked.ok()) created = store_.Create(record);
  }
  if (!locked.ok()) {
    if (own_name && created.ok()) {
      // Nobody may adopt and run what the caller is told did not start.
      v1::Operation failed = initial;
      failed.set_state(v1::OPERATION_STATE_FAILED);
      failed.mutable_error()->set_code(static_cast<int>(locked.code()));
      failed.mutable_error()->set_message(std::string(locked.message()));
      if (auto st = store_.Save(failed, record.checkpoint, locks_.identity()); !st.ok()) {
        log::Warn("marking an operation that could not start failed", {{"op", initial.name()}, {"error", st}});
      }
    }
    return locked;
  }
  if (!created.ok()) {
    locks_.Release(key, initial.name());
    return created;
  }
  auto slot = std::make_unique<Slot>();
  slot->op = std::make_shared<LiveOperation>(initial, record.checkpoint);
  slot->engine = std::move(engine);
  slot->lock_key = key;
  {
    absl::MutexLock lock(&slot->save_mu);
    slot->saved_version = slot->op->version();
  }
  std::shared_ptr<LiveOperation> op = slot->op;
  if (hooks_.on_start) hooks_.on_start(initial);
  StartSlot(std::move(slot), false);
  return op->Snapshot();
}

void OperationRunner::StartSlot(std::unique_ptr<Slot> slot, bool resumed) {
  Slot* raw = slot.get();
  // A cancel or hand-over must wake an engine waiting on the cluster.
  kube::ChangeNotifier* notifier = &env_.informers.notifier();
  raw->op->SetOnChange([notifier] { notifier->Notify(); });
  raw->op->SetPersister([this, raw] { return SaveSlot(raw, true); });
  std::string name = raw->op->name();
  absl::MutexLock lock(&mu_);
  slots_[name] = std::move(slot);
  raw->thread = std::thread([this, raw, resumed] { RunSlot(raw, resumed); });
}

absl::Status OperationRunner::SaveSlot(Slot* slot, bool force) {
  absl::MutexLock lock(&slot->save_mu);
  LiveOperation::ForRecord now = slot->op->SnapshotForRecord();
  if (!force && now.version == slot->saved_version) return absl::OkStatus();
  absl::Status st = store_.Save(now.op, now.checkpoint, locks_.identity());
  if (st.ok()) slot->saved_version = now.version;
  return st;
}

void OperationRunner::RunSlot(Slot* slot, bool resumed) {
  LiveOperation& op = *slot->op;
  slot->engine->Run(env_, op, resumed);
  v1::Operation final = op.Snapshot();
  // The record is written before the lock goes, so whoever takes the lock
  // next sees the final state.
  absl::Status saved = SaveSlot(slot, true);
  for (int i = 0; !saved.ok() && i < 5 && !op.hand_over_requested(); ++i) {
    log::Warn("saving an operation failed; retrying", {{"op", final.name()}, {"error", saved}});
    env_.clock.SleepFor(absl::Milliseconds(200) * (i + 1));
    saved = SaveSlot(slot, true);
  }
  locks_.Release(slot->lock_key, final.name());
  {
    absl::MutexLock lock(&mu_);
    slot->finished = true;
  }
  if (IsFinal(final.state()) && hooks_.on_finish) hooks_.on_finish(final);
  if (!IsFinal(final.state())) log::Info("operation handed over", {{"op", final.name()}});
}

absl::Status OperationRunner::Cancel(const std::string& name, const std::string& reason) {
  if (auto live = Find(name)) {
    if (live->Done()) return absl::FailedPreconditionError(absl::StrCat(name, " has already ended"));
    live->RequestCancel(reason.empty() ? "cancelled" : reason);
    return absl::OkStatus();
  }
  auto id = ParseOperationName(name);
  if (!id.ok()) return id.status();
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
      if (!slot->finished) held.emplace_back(slot->lock_key, slot->op);
    }
  }
  for (auto& [key, op] : held) {
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

void OperationRunner::AdoptNow() { (void)Adopt(); }

absl::Time OperationRunner::Adopt() {
  absl::Time next = absl::InfiniteFuture();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return next;
  }
  for (auto& rec : store_.List()) {
    if (IsFinal(rec.op.state()) || rec.op.dry_run()) continue;
    if (Find(rec.op.name())) continue;
    auto engine = factory_(rec);
    if (!engine.ok()) {
      log::Error("cannot rebuild an operation's engine", {{"op", rec.op.name()}, {"error", engine.status()}});
      continue;
    }
    std::string key = (*engine)->lock_key();
    if (key.empty()) key = rec.op.name();
    auto info = locks_.Inspect(key);
    if (info.ok() && info->operation != rec.op.name()) continue;  // the lock serves another operation now
    // A live lease held under this replica's name for an operation it does
    // not run was left by this process's predecessor: adopt it now.
    const bool predecessor = info.ok() && info->holder == locks_.identity();
    if (info.ok() && !info->expired && !predecessor) {
      // Its replica is alive, or was until lately: look again when the lease runs out.
      next = std::min(next, info->renewed + info->duration + absl::Milliseconds(50));
      continue;
    }
    if (!locks_.Acquire(key, rec.op.name()).ok()) continue;
    log::Info("adopting an operation", {{"op", rec.op.name()}, {"previous_owner", rec.owner}});
    auto slot = std::make_unique<Slot>();
    slot->op = std::make_shared<LiveOperation>(rec.op, rec.checkpoint);
    slot->engine = std::move(*engine);
    slot->lock_key = key;
    slot->op->AddEvent(absl::StrCat("adopted by ", locks_.identity(), " from ", rec.owner));
    if (!rec.cancel_reason.empty()) slot->op->RequestCancel(rec.cancel_reason);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        locks_.Release(key, rec.op.name());
        return absl::InfiniteFuture();
      }
    }
    if (hooks_.on_start) hooks_.on_start(slot->op->Snapshot());
    StartSlot(std::move(slot), true);
  }
  return next;
}

void OperationRunner::Loop() {
  absl::Time next_renew = absl::Now() + options_.renew_period;
  absl::Time next_adopt = absl::Now();
  absl::Time next_gc = absl::Now() + absl::Minutes(1);
  while (!stop_loop_.WaitForNotificationWithTimeout(options_.save_period)) {
    SaveDirty();
    absl::Time now = absl::Now();
    if (now >= next_renew) {
      RenewLocks();
      next_renew = now + options_.renew_period;
    }
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
