// The list-then-watch loop under every informer (client-go's Reflector):
// list everything (in pages), then watch from the list's resourceVersion,
// remembering the last version seen (bookmarks included) so that a watch
// that ends is resumed where it stopped; a watch too old for the server
// (410 Gone / Expired) is replaced by a fresh list; errors back off.
//
//   class Cache : public herd::kube::ReflectorStore { ... };
//   Cache cache;
//   herd::kube::Reflector r(client, herd::kube::kPods, {.ns = "shop"}, cache);
//   r.Start();
//   ...
//   r.Stop();
#ifndef HERD_SERVER_KUBE_WATCH_H_
#define HERD_SERVER_KUBE_WATCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/kube/client.h"

namespace herd::kube {

// Where a Reflector delivers what it learns. Called from the reflector's
// thread only, one call at a time.
class ReflectorStore {
 public:
  virtual ~ReflectorStore() = default;
  // The whole state after a (re)list; objects missing from `items` are gone.
  virtual void Replace(std::vector<Json> items, const std::string& resource_version) = 0;
  // One ADDED, MODIFIED or DELETED event (bookmarks are not passed on).
  virtual void Apply(WatchEvent event) = 0;
};

struct ReflectorOptions {
  std::string ns;  // "" for all namespaces (or a cluster-scoped resource)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  // How long the server keeps each watch open before ending it.
  absl::Duration watch_timeout = absl::Minutes(5);
  // Backoff after errors: doubles from min to max, with jitter; reset once
  // a list succeeds or a watch delivers an event.
  absl::Duration min_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
  // Applied to each listed object as its page arrives (may be empty).
  std::function<void(Json&)> each_listed;
};

class Reflector {
 public:
  // `client` and `store` must outlive the reflector.
  Reflector(KubeClient& client, const Resource& resource, ReflectorOptions options, ReflectorStore& store);
  // Stops it.
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Starts the loop on its own thread. Call once.
  void Start();
  // Cancels the open watch or backoff wait and joins the thread; a list or
  // watch request in flight finishes first (bounded by the client's
  // request timeout). Idempotent; thread-safe.
  void Stop();

  // The version the next watch starts from ("" before the first list).
  std::string last_resource_version() const;
  // How many (re)lists completed.
  int64_t lists() const;
  // How many watches were opened (the first, then each after one ended).
  int64_t watches() const;

 private:
  void Run();
  // Lists every page; false when stopping or failed (then it backed off).
  bool ListOnce();
  // Watches until the stream ends; sets relist_ on 410.
  void WatchOnce();
  // Waits out the current backoff unless stopped first; false when stopping.
  bool Backoff(const absl::Status& why);
  bool stopping() const;

  KubeClient& client_;
  const Resource resource_;  // a copy: callers may pass temporaries
  const ReflectorOptions options_;
  ReflectorStore& store_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  WatchStream* current_ ABSL_GUARDED_BY(mu_) = nullptr;  // owned by the loop
  std::string resource_version_ ABSL_GUARDED_BY(mu_);
  int64_t lists_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t watches_ ABSL_GUARDED_BY(mu_) = 0;

  // Reflector thread only.
  bool relist_ = true;
  absl::Duration backoff_;
  absl::BitGen rng_;
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_WATCH_H_
