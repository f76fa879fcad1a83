#include "common/event_loop/event_loop.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"

namespace herd {

namespace asio = boost::asio;

struct EventLoop::Impl {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::unordered_map<TimerId, std::shared_ptr<asio::steady_timer>> timers;  // guarded by mu
  std::atomic<TimerId> next_timer{1};
  std::atomic<bool> started{false};
};

namespace {
thread_local const EventLoop* t_current_loop = nullptr;
}

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Start(int threads) {
  if (impl_->started.exchange(true)) return;
  impl_->work.emplace(asio::make_work_guard(impl_->io));
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([this] {
      t_current_loop = this;
      impl_->io.run();
      t_current_loop = nullptr;
    });
  }
}

void EventLoop::Stop() {
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->timers.clear();
}

void EventLoop::Post(Task task) {
  auto shared = std::make_shared<Task>(std::move(task));
  asio::post(impl_->io, [shared] { (*shared)(); });
}

EventLoop::TimerId EventLoop::PostAfter(absl::Duration delay, Task task) {
  TimerId id = impl_->next_timer.fetch_add(1);
  auto timer = std::make_shared<asio::steady_timer>(impl_->io);
  timer->expires_after(absl::ToChronoNanoseconds(std::max(delay, absl::ZeroDuration())));
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->timers.emplace(id, timer);
  }
  auto shared = std::make_shared<Task>(std::move(task));
  timer->async_wait([this, id, shared](const boost::system::error_code& ec) {
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (impl_->timers.erase(id) == 0) return;  // cancelled
    }
    if (!ec) (*shared)();
  });
  return id;
}

bool EventLoop::Cancel(TimerId id) {
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->timers.find(id);
    if (it == impl_->timers.end()) return false;
    timer = std::move(it->second);
    impl_->timers.erase(it);
  }
  asio::post(impl_->io, [timer] { timer->cancel(); });
  return true;
}

bool EventLoop::InLoop() const { return t_current_loop == this; }

asio::io_context& EventLoop::context() { return impl_->io; }

}  // namespace herd
