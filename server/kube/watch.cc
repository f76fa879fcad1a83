#include "server/kube/watch.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/log/log.h"
#include "server/kube/errors.h"

namespace herd::kube {

Reflector::Reflector(KubeClient& client, const Resource& resource, ReflectorOptions options, ReflectorStore& store)
    : client_(client),
      resource_(resource),
      options_(std::move(options)),
      store_(store),
      backoff_(options_.min_backoff) {}

Reflector::~Reflector() { Stop(); }

void Reflector::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void Reflector::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (current_ != nullptr) current_->Cancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool Reflector::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

std::string Reflector::last_resource_version() const {
  absl::MutexLock lock(&mu_);
  return resource_version_;
}

int64_t Reflector::watches() const {
  absl::MutexLock lock(&mu_);
  return watches_;
}

int64_t Reflector::lists() const {
  absl::MutexLock lock(&mu_);
  return lists_;
}

void Reflector::Run() {
  while (!stopping()) {
    if (relist_ && !ListOnce()) continue;
    WatchOnce();
  }
}

bool Reflector::Backoff(const absl::Status& why) {
  absl::Duration wait = backoff_ * absl::Uniform(rng_, 0.5, 1.0);
  backoff_ = std::min(options_.max_backoff, backoff_ * 2);
  log::Warn("kube reflector backing off",
            {{"resource", resource_.GroupResource()},
             {"namespace", options_.ns},
             {"delay_ms", absl::ToInt64Milliseconds(wait)},
             {"code", absl::StatusCodeToString(why.code())},
             {"error", why.message()}});
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
  return !stopping_;
}

bool Reflector::ListOnce() {
  ListOptions lo{.label_selector = options_.label_selector,
                 .field_selector = options_.field_selector,
                 .limit = options_.page_size};
  absl::StatusOr<ObjectList> list = client_.ListAll(resource_, options_.ns, lo, options_.each_listed);
  if (!list.ok()) {
    Backoff(list.status());
    return false;
  }
  if (stopping()) return false;
  size_t n = list->items.size();
  store_.Replace(std::move(list->items), list->resource_version);
  {
    absl::MutexLock lock(&mu_);
    resource_version_ = list->resource_version;
    ++lists_;
  }
  log::Debug("kube reflector listed", {{"resource", resource_.GroupResource()},
                                       {"namespace", options_.ns},
                                       {"items", n},
                                       {"resource_version", list->resource_version}});
  relist_ = false;
  backoff_ = options_.min_backoff;
  return true;
}

void Reflector::WatchOnce() {
  WatchOptions wo{.label_selector = options_.label_selector,
                  .field_selector = options_.field_selector,
                  .resource_version = last_resource_version(),
                  .allow_bookmarks = true,
                  .server_timeout = options_.watch_timeout};
  absl::StatusOr<std::unique_ptr<WatchStream>> stream = client_.Watch(resource_, options_.ns, wo);
  if (!stream.ok()) {
    if (IsGone(stream.status())) {
      relist_ = true;
      return;
    }
    Backoff(stream.status());
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    current_ = stream->get();
    ++watches_;
  }
  absl::Status end;
  absl::Time opened = absl::Now();
  bool any_event = false;
  while (true) {
    absl::StatusOr<WatchEvent> ev = (*stream)->Next();
    if (!ev.ok()) {
      end = ev.status();
      break;
    }
    std::string rv;
    if (auto meta = ev->object.find("metadata"); meta != ev->object.end() && meta->is_object()) {
      if (auto it = meta->find("resourceVersion"); it != meta->end() && it->is_string()) rv = it->get<std::string>();
    }
    if (ev->type != WatchEvent::Type::kBookmark) store_.Apply(*std::move(ev));
    any_event = true;
    backoff_ = options_.min_backoff;
    if (!rv.empty()) {
      absl::MutexLock lock(&mu_);
      resource_version_ = std::move(rv);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    current_ = nullptr;
  }
  stream->reset();
  if (end.code() == absl::StatusCode::kCancelled) return;
  if (IsGone(end)) {
    log::Info("kube watch expired, relisting",
              {{"resource", resource_.GroupResource()}, {"namespace", options_.ns}, {"error", end.message()}});
    relist_ = true;
    return;
  }
  if (end.code() == absl::StatusCode::kOutOfRange) {
    // The server ended it (its timeout): resume at once, unless it keeps
    // ending watches as soon as they open.
    if (any_event || absl::Now() - opened >= absl::Seconds(1)) return;
    end = absl::UnavailableError("the watch ended at once without an event");
  }
  Backoff(end);
}

}  // namespace herd::kube
