// Informers: a cache of one resource type kept current by a Reflector
// (list + watch), with indexes, event handlers, and a way to wait for a
// condition on the cache without polling.
//
//   herd::kube::InformerSet informers(client);
//   auto& pods = informers.For(herd::kube::kPods, "shop");
//   auto& deploys = informers.For(herd::kube::kDeployments, "shop");
//   informers.Start();
//   if (auto st = informers.WaitForSync(absl::Now() + absl::Seconds(30)); !st.ok()) return st;
//
//   auto sel = herd::k8s::LabelSelector::Parse("app=web");
//   std::vector<ObjectPtr> web = pods.List("shop", *sel);
//   // Wakes up only when one of the set's informers changed:
//   absl::Status st = informers.WaitUntil(
//       [&] { return ReadyPods(pods.List("shop", *sel)) >= 20; }, absl::Now() + absl::Minutes(5));
//
// Objects in the cache are immutable and shared (ObjectPtr); callers keep
// them as long as they like.
#ifndef HERD_SERVER_KUBE_INFORMER_H_
#define HERD_SERVER_KUBE_INFORMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/k8s/selector.h"
#include "server/kube/client.h"
#include "server/kube/watch.h"

namespace herd::kube {

using ObjectPtr = std::shared_ptr<const Json>;

// A change counter that informers bump and waiters sleep on. Thread-safe.
class ChangeNotifier {
 public:
  // Wakes every waiter. Informers call it after each change to their cache;
  // anyone else may too (e.g. to make a waiter re-check a cancel flag that
  // its predicate reads).
  void Notify();
  uint64_t version() const;

  // Returns OK as soon as `predicate` is true: evaluated now, then again
  // after every Notify(), never in between. DEADLINE_EXCEEDED when it is
  // still false at `deadline`. The predicate runs on the caller's thread
  // without any informer lock held, so it may read informers freely.
  absl::Status WaitUntil(const std::function<bool()>& predicate, absl::Time deadline);

  // Blocks until version() != `seen` or `deadline`; returns version().
  uint64_t WaitForChange(uint64_t seen, absl::Time deadline);

 private:
  mutable absl::Mutex mu_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

// Callbacks for changes to an informer's cache. Each may be empty. They run
// on the informer's thread, in order, one at a time, after the cache has
// changed; they must not block for long nor add or remove handlers.
struct EventHandlers {
  std::function<void(const ObjectPtr& obj)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  // The last state known: the watch's final object, or after a relist the
  // last one cached.
  std::function<void(const ObjectPtr& obj)> on_delete;
};

struct InformerOptions {
  // Applied to every object before it is cached (e.g. TrimForCache of
  // server/kube/trim.h); may be empty.
  std::function<void(const Resource& r, Json& obj)> transform;
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  absl::Duration watch_timeout = absl::Minutes(5);
  absl::Duration min_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
};

class Informer : private ReflectorStore {
 public:
  // `ns` empty: all namespaces. `client` and `notifier` (may be null) must
  // outlive the informer.
  Informer(KubeClient& client, const Resource& resource, std::string ns, InformerOptions options = {},
           ChangeNotifier* notifier = nullptr);
  ~Informer() override;
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts listing and watching on a thread of its own. Further calls do
  // nothing; an informer does not restart after Stop().
  void Start();
  // Stops and joins; the cache keeps its last state. Idempotent.
  void Stop();

  const Resource& resource() const { return resource_; }
  const std::string& ns() const { return ns_; }

  // Whether the first list has been stored.
  bool HasSynced() const;
  // OK once synced; DEADLINE_EXCEEDED naming the resource otherwise.
  absl::Status WaitForSync(absl::Time deadline) const;

  // The object, or null. Cluster-scoped resources: `ns` is "".
  ObjectPtr Get(absl::string_view ns, absl::string_view name) const;
  // Objects in `ns` ("" for all) whose labels match `selector`, sorted by
  // namespace/name. Equality requirements are answered from the label index.
  std::vector<ObjectPtr> List(absl::string_view ns = "", const k8s::LabelSelector& selector = {}) const;
  // Objects with an ownerReference to `uid`, sorted by namespace/name.
  std::vector<ObjectPtr> ByOwner(absl::string_view uid) const;
  size_t size() const;
  // The resourceVersion of the last list or event applied.
  std::string LastSyncResourceVersion() const;

  // Registers handlers and replays the current cache to them as adds (in
  // order, before any later event). Returns an id for RemoveHandlers.
  // Must not be called from a handler.
  int AddHandlers(EventHandlers handlers);
  // After it returns the handlers are never called again.
  void RemoveHandlers(int id);

  // The reflector underneath, for its resourceVersion and list count.
  const Reflector& reflector() const { return reflector_; }

 private:
  struct Event {
    enum Kind { kAdd, kUpdate, kDelete } kind;
    ObjectPtr old_obj;
    ObjectPtr new_obj;
  };

  void Replace(std::vector<Json> items, const std::string& resource_version) override;
  void Apply(WatchEvent event) override;

  void Insert(const std::string& key, ObjectPtr obj) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Erase(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<ObjectPtr> Collect(const std::set<std::string>& keys) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Dispatch(const std::vector<Event>& events) ABSL_EXCLUSIVE_LOCKS_REQUIRED(dispatch_mu_);

  const Resource resource_;  // a copy: callers may pass temporaries
  const std::string ns_;
  const std::function<void(const Resource&, Json&)> transform_;
  ChangeNotifier* const notifier_;

  // Held while handlers run, so events reach them in order; taken before mu_.
  absl::Mutex dispatch_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::map<int, EventHandlers> handlers_ ABSL_GUARDED_BY(dispatch_mu_);
  int next_handler_id_ ABSL_GUARDED_BY(dispatch_mu_) = 1;

  mutable absl::Mutex mu_;
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  std::string resource_version_ ABSL_GUARDED_BY(mu_);
  // namespace/name (or name) → object, and the indexes over it.
  absl::flat_hash_map<std::string, ObjectPtr> objects_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::set<std::string>> by_namespace_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::set<std::string>> by_label_ ABSL_GUARDED_BY(mu_);  // "k=v"
  absl::flat_hash_map<std::string, std::set<std::string>> by_owner_ ABSL_GUARDED_BY(mu_);  // uid

  Reflector reflector_;  // last: it calls into everything above
};

// What one informer holds, and how often it listed and watched (metrics).
struct InformerStats {
  std::string resource;  // "deployments.apps", "pods"
  std::string ns;        // "" for all namespaces
  size_t objects = 0;
  int64_t lists = 0;
  int64_t watches = 0;
};
InformerStats StatsOf(const Informer& informer);

// One informer per (resource, namespace), sharing a ChangeNotifier, started
// and stopped together. Thread-safe.
//
// A set may cover namespaces: then one informer per resource answers for
// all of them (the whole cluster), or one per covered namespace, whichever
// namespace the caller asks For. herdd covers what it may see at boot, so
// every engine and every read shares one cache.
class InformerSet {
 public:
  // `client` must outlive the set. `options` apply to every informer.
  explicit InformerSet(KubeClient& client, InformerOptions options = {});
  ~InformerSet();
  InformerSet(const InformerSet&) = delete;
  InformerSet& operator=(const InformerSet&) = delete;

  // The informer for `resource` in `ns` ("" for all namespaces), created on
  // first use and started at once when the set already runs. The reference
  // stays valid for the set's lifetime.
  Informer& For(const Resource& resource, absl::string_view ns = "");

  // Covers `namespaces`, or the whole cluster when it is empty. Call it
  // once, before the first For. After it, For(r, ns) of a namespaced `r`
  // gives the cluster-wide informer when the whole cluster is covered, the
  // namespace's own when `ns` is covered, and for any other namespace an
  // informer of its own as without a cover.
  void Cover(std::vector<std::string> namespaces);
  // Whether `ns` ("" for all namespaces) is covered.
  bool Covers(absl::string_view ns);
  // What For needs to be asked to read `ns` ("" for all namespaces) from
  // covering informers: {""} when the whole cluster is covered, the covered
  // namespaces when `ns` is "", {ns} otherwise.
  std::vector<std::string> NamespacesFor(absl::string_view ns);
  // "all namespaces", or the covered ones ("a, b"); "" without a cover.
  std::string CoverDescription();

  void Start();
  void Stop();
  // OK when every informer has synced.
  absl::Status WaitForSync(absl::Time deadline);
  // Every informer's, in the order of their keys.
  std::vector<InformerStats> Stats();

  ChangeNotifier& notifier() { return notifier_; }
  // notifier().WaitUntil: wakes when any informer of the set changes.
  absl::Status WaitUntil(const std::function<bool()>& predicate, absl::Time deadline) {
    return notifier_.WaitUntil(predicate, deadline);
  }

 private:
  KubeClient& client_;
  const InformerOptions options_;
  ChangeNotifier notifier_;
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool covered_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> cover_ ABSL_GUARDED_BY(mu_);  // empty with covered_: the whole cluster
  std::map<std::string, std::unique_ptr<Informer>> informers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_INFORMER_H_
