// Makes absl::Mutex and absl::Notification visible to ThreadSanitizer when
// abseil itself was built without it (Debian's libabsl is): without this,
// TSan sees none of the happens-before edges those locks create and reports
// every guarded access as a race.
//
// Linked into test binaries only in -fsanitize=thread builds. Each function
// below takes the place of abseil's exported one (the executable's symbol
// wins at dynamic link time), tells TSan what it does, and calls the real
// one found with dlsym(RTLD_NEXT). Await and CondVar::Wait are modelled as
// an unlock and a relock by a writer: herd never waits holding a reader
// lock.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

template <typename F>
F Real(const char* symbol) {
  void* p = dlsym(RTLD_NEXT, symbol);
  if (p == nullptr) {
    std::fprintf(stderr, "tsan_absl: %s not found\n", symbol);
    std::abort();
  }
  return reinterpret_cast<F>(p);
}

// abseil's own functions call each other through the same exported
// symbols (LockWhenWithTimeout calls LockWhenWithDeadline, Notification
// locks its Mutex): only the outermost call on a thread is annotated.
thread_local int depth = 0;
struct Outer {
  Outer() : outer(depth++ == 0) {}
  ~Outer() { --depth; }
  const bool outer;
};

// abseil evaluates a waiter's condition with the mutex held, but inside
// its own (unannotated) code: sometimes in the waiter between our unlock
// and relock annotations, sometimes in another thread's Unlock. So the
// condition passed on is a wrapper that first acquires what the waiter
// published (the caller's Condition object) and what the mutex last
// released (the guarded state), and releases to the mutex afterwards. The wrapper Condition itself is built by
// abseil's out-of-line constructor, so TSan never sees its fields.
struct AcquiringCondition {
  const absl::Condition* cond;
  void* mu;
};

bool EvalAcquiring(void* arg) {
  __tsan_acquire(arg);
  auto* a = static_cast<AcquiringCondition*>(arg);
  __tsan_acquire(a->mu);
  bool result = a->cond->Eval();
  // The evaluation ran under the lock: the next holder comes after it.
  __tsan_release(a->mu);
  return result;
}

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;
constexpr unsigned kTryFailed = __tsan_mutex_try_lock_failed;

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

#define HERD_REAL(type, symbol) \
  static const auto real = Real<type>(symbol); \
  const Outer scope

void Mutex::Lock() {
  HERD_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  real(this);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLock() {
  HERD_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  if (scope.outer) __tsan_mutex_pre_lock(this, kRead);
  real(this);
  if (scope.outer) __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::TryLock() {
  HERD_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  if (scope.outer) __tsan_mutex_pre_lock(this, kTry);
  bool ok = real(this);
  if (scope.outer) __tsan_mutex_post_lock(this, ok ? kTry : kTry | kTryFailed, 0);
  return ok;
}

bool Mutex::ReaderTryLock() {
  HERD_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  if (scope.outer) __tsan_mutex_pre_lock(this, kRead | kTry);
  bool ok = real(this);
  if (scope.outer) __tsan_mutex_post_lock(this, ok ? kRead | kTry : kRead | kTry | kTryFailed, 0);
  return ok;
}

void Mutex::Unlock() {
  HERD_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  if (scope.outer) __tsan_mutex_pre_unlock(this, 0);
  real(this);
  if (scope.outer) __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  HERD_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  if (scope.outer) __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  if (scope.outer) __tsan_mutex_post_unlock(this, kRead);
}

void Mutex::LockWhen(const Condition& cond) {
  HERD_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  real(this, wrapped);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  HERD_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_lock(this, kRead);
  real(this, wrapped);
  if (scope.outer) __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  HERD_REAL(bool (*)(Mutex*, const Condition&, Duration),
            "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  bool ok = real(this, wrapped, timeout);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
  return ok;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  HERD_REAL(bool (*)(Mutex*, const Condition&, Time),
            "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  bool ok = real(this, wrapped, deadline);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
  return ok;
}

// Await*: the caller holds the lock; it is released while waiting.
void Mutex::Await(const Condition& cond) {
  HERD_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_unlock(this, 0);
  if (scope.outer) __tsan_mutex_post_unlock(this, 0);
  real(this, wrapped);
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  HERD_REAL(bool (*)(Mutex*, const Condition&, Duration),
            "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_unlock(this, 0);
  if (scope.outer) __tsan_mutex_post_unlock(this, 0);
  bool ok = real(this, wrapped, timeout);
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
  return ok;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  HERD_REAL(bool (*)(Mutex*, const Condition&, Time),
            "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(&acquiring);
  const Condition wrapped(&EvalAcquiring, static_cast<void*>(&acquiring));
  if (scope.outer) __tsan_mutex_pre_unlock(this, 0);
  if (scope.outer) __tsan_mutex_post_unlock(this, 0);
  bool ok = real(this, wrapped, deadline);
  if (scope.outer) __tsan_mutex_pre_lock(this, 0);
  if (scope.outer) __tsan_mutex_post_lock(this, 0, 0);
  return ok;
}

void CondVar::Wait(Mutex* mu) {
  HERD_REAL(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  if (scope.outer) __tsan_mutex_pre_unlock(mu, 0);
  if (scope.outer) __tsan_mutex_post_unlock(mu, 0);
  real(this, mu);
  if (scope.outer) __tsan_mutex_pre_lock(mu, 0);
  if (scope.outer) __tsan_mutex_post_lock(mu, 0, 0);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  HERD_REAL(bool (*)(CondVar*, Mutex*, Duration),
            "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  if (scope.outer) __tsan_mutex_pre_unlock(mu, 0);
  if (scope.outer) __tsan_mutex_post_unlock(mu, 0);
  bool r = real(this, mu, timeout);
  if (scope.outer) __tsan_mutex_pre_lock(mu, 0);
  if (scope.outer) __tsan_mutex_post_lock(mu, 0, 0);
  return r;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  HERD_REAL(bool (*)(CondVar*, Mutex*, Time), "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  if (scope.outer) __tsan_mutex_pre_unlock(mu, 0);
  if (scope.outer) __tsan_mutex_post_unlock(mu, 0);
  bool r = real(this, mu, deadline);
  if (scope.outer) __tsan_mutex_pre_lock(mu, 0);
  if (scope.outer) __tsan_mutex_post_lock(mu, 0, 0);
  return r;
}

Mutex::~Mutex() {
  HERD_REAL(void (*)(Mutex*), "_ZN4absl7debian35MutexD1Ev");
  if (scope.outer) __tsan_mutex_destroy(this, 0);
  real(this);
}

void Notification::Notify() {
  HERD_REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  if (scope.outer) __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  HERD_REAL(void (*)(const Notification*), "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  if (scope.outer) __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  HERD_REAL(bool (*)(const Notification*, Duration),
            "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  bool r = real(this, timeout);
  if (r && scope.outer) __tsan_acquire(const_cast<Notification*>(this));
  return r;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  HERD_REAL(bool (*)(const Notification*, Time),
            "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  bool r = real(this, deadline);
  if (r && scope.outer) __tsan_acquire(const_cast<Notification*>(this));
  return r;
}

#undef HERD_REAL

ABSL_NAMESPACE_END
}  // namespace absl
