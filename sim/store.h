// kubesim's storage: every object of every served type, a cluster-wide
// resourceVersion counter (like etcd's revision), a bounded history of
// changes per type for watches that resume, and the fan-out of changes to
// watchers. Not thread-safe: kubesim calls it from its one loop thread only.
//
//   Store store({.history_per_resource = 5000});
//   auto obj = store.Put(kPods, std::move(pod_json), /*created=*/true);
//   auto w = store.Watch(kPods, "shop", /*from_rv=*/0, [](const Event& e) { … });
#ifndef HERD_SIM_STORE_H_
#define HERD_SIM_STORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "sim/resources.h"

namespace herd::sim {

using Json = nlohmann::json;

// One stored version of an object: immutable once stored, shared by the
// store, the history and watchers. Its JSON text is made once: ItemJson()
// is the form list items take (no kind/apiVersion, as the API server
// sends them); FullJson() puts kind and apiVersion first.
class StoredObject {
 private:
  // Declared first: the constructor fills it while it normalizes `object`.
  std::string item_;

 public:
  StoredObject(Json obj, uint64_t version);

  const Json object;
  const uint64_t rv;

  const std::string& ns() const { return ns_; }
  const std::string& name() const { return name_; }
  const std::string& ItemJson() const { return item_; }
  const std::string& FullJson() const;

 private:
  static Json Normalize(Json obj, std::string* item);
  std::string ns_;
  std::string name_;
  mutable std::string full_;  // made on first use, on the loop thread
};
using ObjectPtr = std::shared_ptr<const StoredObject>;

enum class EventType { kAdded, kModified, kDeleted };

struct Event {
  EventType type;
  ResourceId resource;
  ObjectPtr object;  // the new state; for kDeleted the last state, at the deletion's version
  ObjectPtr old;     // the previous state (nullptr for kAdded)
  uint64_t rv() const { return object->rv; }
};

struct StoreOptions {
  // Changes kept per type for resuming watches; older versions get 410.
  size_t history_per_resource = 10000;
};

class Store {
 public:
  using Sink = std::function<void(const Event&)>;
  using WatchId = uint64_t;

  explicit Store(StoreOptions options = {});

  uint64_t rv() const { return rv_; }

  ObjectPtr Get(ResourceId r, const std::string& ns, const std::string& name) const;
  size_t Count(ResourceId r) const { return objects_[r].size(); }

  // Objects of `r` in key order (namespace, then name), optionally in one
  // namespace, starting after `after_key` (a key from KeyOf). `fn` returns
  // false to stop.
  void Scan(ResourceId r, const std::string& ns, const std::string& after_key,
            const std::function<bool(const ObjectPtr&)>& fn) const;
  // The ordering key of an object: "ns/name" (or "name" for cluster types).
  static std::string KeyOf(const std::string& ns, const std::string& name);

  // Stores `object` (whose metadata must carry name and, for namespaced
  // types, namespace) at a new resourceVersion, written into
  // metadata.resourceVersion. Emits ADDED when `created`, else MODIFIED.
  ObjectPtr Put(ResourceId r, Json object, bool created);
  // Removes the object; emits DELETED carrying its last state at a new
  // resourceVersion. Returns that state, or nullptr when absent.
  ObjectPtr Remove(ResourceId r, const std::string& ns, const std::string& name);

  // Sends `sink` every change of `r` (in `ns`, or all when empty) after
  // resourceVersion `from_rv`: first those still in the history, then live
  // ones. from_rv 0 means "from now". Fails with 410 Expired when changes
  // after `from_rv` are no longer all kept.
  absl::StatusOr<WatchId> Watch(ResourceId r, const std::string& ns, uint64_t from_rv, Sink sink);
  void Unwatch(WatchId id);
  size_t WatcherCount() const;

  // The oldest resourceVersion a watch of `r` can resume from.
  uint64_t OldestResumable(ResourceId r) const;

 private:
  struct Watcher {
    WatchId id;
    ResourceId resource;
    std::string ns;
    Sink sink;
  };
  void Emit(const Event& e);

  StoreOptions options_;
  uint64_t rv_ = 1;
  std::vector<std::map<std::string, ObjectPtr>> objects_;
  std::vector<std::deque<Event>> history_;
  // The version of the newest change dropped from each history (0: none).
  std::vector<uint64_t> dropped_rv_;
  WatchId next_watch_ = 1;
  std::map<WatchId, Watcher> watchers_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_STORE_H_
