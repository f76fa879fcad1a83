// An event loop: tasks and timers run on the loop's own threads.
//
//   herd::EventLoop loop;
//   loop.Start();                       // one thread
//   loop.Post([] { ... });              // from any thread
//   auto id = loop.PostAfter(absl::Milliseconds(50), [] { ... });
//   loop.Cancel(id);
//
// With one thread, everything posted to a loop runs in order on that thread,
// so state touched only from loop tasks needs no lock (kubesim relies on it).
#ifndef HERD_COMMON_EVENT_LOOP_EVENT_LOOP_H_
#define HERD_COMMON_EVENT_LOOP_EVENT_LOOP_H_

#include <cstdint>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace boost::asio {
class io_context;
}

namespace herd {

class EventLoop {
 public:
  using Task = absl::AnyInvocable<void()>;
  using TimerId = uint64_t;

  EventLoop();
  // Stops the loop and joins its threads.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts `threads` threads running the loop. Call once.
  void Start(int threads = 1);
  // Stops the loop and joins its threads; tasks not yet run are dropped.
  // Must not be called from a loop thread.
  void Stop();

  // Runs `task` on a loop thread. Thread-safe.
  void Post(Task task);
  // Runs `task` on a loop thread after `delay`, unless cancelled first.
  // Thread-safe.
  TimerId PostAfter(absl::Duration delay, Task task);
  // Cancels a timer; true when it had not run yet. Thread-safe.
  bool Cancel(TimerId id);

  // Whether the caller runs on one of this loop's threads.
  bool InLoop() const;

  // The asio context behind the loop, for modules built on asio.
  boost::asio::io_context& context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd

#endif  // HERD_COMMON_EVENT_LOOP_EVENT_LOOP_H_
