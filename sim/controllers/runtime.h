// What every simulated controller is built from: a rate-limited writer (a
// controller's API client), a deduplicating work queue driven by store
// changes, and an index of objects by owner.
#ifndef HERD_SIM_CONTROLLERS_RUNTIME_H_
#define HERD_SIM_CONTROLLERS_RUNTIME_H_

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/event_loop/event_loop.h"
#include "nlohmann/json.hpp"
#include "sim/apiserver.h"
#include "sim/store.h"

namespace herd::sim {

using Json = nlohmann::json;

// A token bucket in front of a controller's writes, like client-go's
// default rate limiter: `burst` writes at once, then `qps` per second.
// Writes run in the order submitted, on the loop thread.
class ThrottledWriter {
 public:
  ThrottledWriter(EventLoop& loop, double qps, int burst);
  ~ThrottledWriter();
  void Submit(std::function<void()> write);
  size_t pending() const { return queue_.size(); }
  void Stop();

 private:
  void Drain();

  EventLoop& loop_;
  double qps_;
  double burst_;
  double tokens_;
  absl::Time last_;
  std::deque<std::function<void()>> queue_;
  EventLoop::TimerId timer_ = 0;
  bool stopped_ = false;
};

// Owner UID → dependents, for every resource type, kept current from the
// store's changes. Shared by the controllers.
class OwnerIndex {
 public:
  explicit OwnerIndex(Store& store);
  ~OwnerIndex();
  // The objects of type `r` that name `owner_uid` in their ownerReferences.
  std::vector<ObjectPtr> Dependents(ResourceId r, const std::string& owner_uid) const;
  // Every dependent of `owner_uid`, of any type.
  std::vector<std::pair<ResourceId, ObjectPtr>> AllDependents(const std::string& owner_uid) const;

 private:
  void Track(const Event& e);
  Store& store_;
  std::vector<Store::WatchId> watches_;
  // owner uid → (resource, object key) set.
  std::map<std::string, std::set<std::pair<int, std::string>>> deps_;
};

// A controller: watches the store, queues keys ("ns/name"), syncs them one
// at a time on the loop thread, and writes through its ThrottledWriter.
class Controller {
 public:
  Controller(std::string name, EventLoop& loop, ApiServer& api, const OwnerIndex& owners, double qps, int burst,
             absl::Duration reaction_delay = absl::ZeroDuration());
  virtual ~Controller();
  virtual void Start() = 0;
  void Stop();
  const std::string& name() const { return name_; }

 protected:
  virtual void Sync(const std::string& key) = 0;

  // Calls `fn` for every change of `r` (existing objects first, as ADDED).
  void Observe(ResourceId r, std::function<void(const Event&)> fn);
  void Enqueue(const std::string& key, absl::Duration delay = absl::ZeroDuration());
  // A rate-limited write for `key`; the key is re-synced when its last
  // pending write is done, and Sync is held back while writes are pending
  // (the "expectations" of the real controllers).
  void Write(const std::string& key, std::function<void()> write);
  bool WritesPending(const std::string& key) const;
  // An Event through the same rate limit, as a controller's recorder.
  void Emit(const Json& about, const std::string& type, const std::string& reason, const std::string& message);
  // Runs `fn` after `delay` unless stopped.
  void After(absl::Duration delay, std::function<void()> fn);

  static std::string KeyOf(const ObjectPtr& o) { return Store::KeyOf(o->ns(), o->name()); }
  static std::pair<std::string, std::string> SplitKey(const std::string& key);
  // The controller owner reference of `obj` of the given kind, or null.
  static const Json* ControllerRef(const Json& obj, const std::string& kind);

  EventLoop& loop_;
  ApiServer& api_;
  const OwnerIndex& owners_;
  bool stopped_ = false;

 private:
  void RunQueue();

  std::string name_;
  absl::Duration reaction_delay_;
  ThrottledWriter writer_;
  std::vector<Store::WatchId> watches_;
  std::vector<EventLoop::TimerId> timers_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;
  std::map<std::string, int> pending_;
  bool running_ = false;
};

// Pod helpers shared by controllers.
bool PodActive(const Json& pod);     // not finished and not being deleted
bool PodReady(const Json& pod);      // Ready condition True
// Ready for at least `min_ready` at `now`.
bool PodAvailable(const Json& pod, absl::Duration min_ready, absl::Time now);
// A pod spec from a template, with labels, owner and name prefix.
Json NewPodFromTemplate(const Json& tmpl, const Json& owner, const std::string& generate_name);
Json OwnerReference(const Json& owner, bool block_owner_deletion = true);

}  // namespace herd::sim

#endif  // HERD_SIM_CONTROLLERS_RUNTIME_H_
