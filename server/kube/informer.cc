#include "server/kube/informer.h"

// malloc_trim belongs to glibc's allocator: not with a sanitizer's own.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HERD_MALLOC_TRIM 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#undef HERD_MALLOC_TRIM
#endif
#endif
#ifdef HERD_MALLOC_TRIM
#include <malloc.h>
#endif

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace herd::kube {
namespace {

const Json* Field(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string StringOf(const Json* j) { return j != nullptr && j->is_string() ? j->get<std::string>() : ""; }

const Json& Metadata(const Json& obj) {
  static const Json* empty = new Json(Json::object());
  const Json* m = Field(obj, "metadata");
  return m != nullptr && m->is_object() ? *m : *empty;
}

std::string Namespace(const Json& obj) { return StringOf(Field(Metadata(obj), "namespace")); }
std::string ResourceVersion(const Json& obj) { return StringOf(Field(Metadata(obj), "resourceVersion")); }

// "ns/name", or "name" for cluster-scoped objects; "" when nameless.
std::string KeyOf(const Json& obj) {
  std::string name = StringOf(Field(Metadata(obj), "name"));
  if (name.empty()) return "";
  std::string ns = Namespace(obj);
  return ns.empty() ? name : absl::StrCat(ns, "/", name);
}

std::string KeyOf(absl::string_view ns, absl::string_view name) {
  return ns.empty() ? std::string(name) : absl::StrCat(ns, "/", name);
}

std::vector<std::string> LabelKeys(const Json& obj) {
  std::vector<std::string> out;
  const Json* labels = Field(Metadata(obj), "labels");
  if (labels == nullptr || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it.value().is_string()) out.push_back(absl::StrCat(it.key(), "=", it.value().get<std::string>()));
  }
  return out;
}

std::vector<std::string> OwnerUids(const Json& obj) {
  std::vector<std::string> out;
  const Json* refs = Field(Metadata(obj), "ownerReferences");
  if (refs == nullptr || !refs->is_array()) return out;
  for (const Json& ref : *refs) {
    std::string uid = StringOf(Field(ref, "uid"));
    if (!uid.empty()) out.push_back(std::move(uid));
  }
  return out;
}

const Json& Labels(const Json& obj) {
  static const Json* null = new Json();
  const Json* labels = Field(Metadata(obj), "labels");
  return labels != nullptr ? *labels : *null;
}

// The transform, for the reflector to apply to each listed page.
std::function<void(Json&)> EachListed(const Resource& r,
                                      const std::function<void(const Resource&, Json&)>& transform) {
  if (!transform) return {};
  return [r, transform](Json& obj) { transform(r, obj); };
}

// Gives the memory a relist freed back to the system: the old cache and
// the list's pages are gone, but glibc keeps freed pages of its heaps (one
// per thread that allocated) until asked, and a cache's resident size would
// keep the high-water mark of every relist. Only after a relist of many
// objects (a small one frees little, and each trim walks every heap), and
// one trim at a time: informers that list at once (at boot) would each
// walk the heaps the first one has just trimmed.
constexpr size_t kTrimAfterObjects = 1000;

void ReleaseFreedMemory(size_t objects) {
#ifdef HERD_MALLOC_TRIM
  if (objects < kTrimAfterObjects) return;
  static absl::Mutex* trimming = new absl::Mutex;
  if (!trimming->TryLock()) return;
  malloc_trim(0);
  trimming->Unlock();
#else
  (void)objects;
#endif
}

void RemoveFromIndex(absl::flat_hash_map<std::string, std::set<std::string>>& index, const std::string& value,
                     const std::string& key) {
  auto it = index.find(value);
  if (it == index.end()) return;
  it->second.erase(key);
  if (it->second.empty()) index.erase(it);
}

}  // namespace

// ---- ChangeNotifier ---------------------------------------------------------

void ChangeNotifier::Notify() {
  absl::MutexLock lock(&mu_);
  ++version_;
}

uint64_t ChangeNotifier::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

uint64_t ChangeNotifier::WaitForChange(uint64_t seen, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return version_ != seen; };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  return version_;
}

absl::Status ChangeNotifier::WaitUntil(const std::function<bool()>& predicate, absl::Time deadline) {
  // The version is read before each evaluation: a change during the
  // evaluation then ends the next wait at once instead of being missed.
  uint64_t seen = version();
  if (predicate()) return absl::OkStatus();
  while (true) {
    uint64_t now = WaitForChange(seen, deadline);
    if (now == seen) return absl::DeadlineExceededError("the condition was not met before the deadline");
    seen = now;
    if (predicate()) return absl::OkStatus();
    // Changes that never satisfy the predicate must not outlast the deadline.
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("the condition was not met before the deadline");
  }
}

// ---- Informer ---------------------------------------------------------------

Informer::Informer(KubeClient& client, const Resource& resource, std::string ns, InformerOptions options,
                   ChangeNotifier* notifier)
    : resource_(resource),
      ns_(std::move(ns)),
      transform_(options.transform),
      notifier_(notifier),
      reflector_(client, resource,
                 ReflectorOptions{.ns = ns_,
                                  .label_selector = options.label_selector,
                                  .field_selector = options.field_selector,
                                  .page_size = options.page_size,
                                  .watch_timeout = options.watch_timeout,
                                  .min_backoff = options.min_backoff,
                                  .max_backoff = options.max_backoff,
                                  .each_listed = EachListed(resource, options.transform)},
                 *this) {}

Informer::~Informer() { Stop(); }

void Informer::Start() { reflector_.Start(); }
void Informer::Stop() { reflector_.Stop(); }

bool Informer::HasSynced() const {
  absl::ReaderMutexLock lock(&mu_);
  return synced_;
}

absl::Status Informer::WaitForSync(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  if (mu_.AwaitWithDeadline(absl::Condition(&synced_), deadline)) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(resource_.GroupResource(), ns_.empty() ? "" : " in namespace ", ns_,
                                                  " did not sync before the deadline"));
}

ObjectPtr Informer::Get(absl::string_view ns, absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = objects_.find(KeyOf(resource_.namespaced ? ns : "", name));
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::Collect(const std::set<std::string>& keys) const {
  std::vector<ObjectPtr> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) {
    auto it = objects_.find(k);
    if (it != objects_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<ObjectPtr> Informer::List(absl::string_view ns, const k8s::LabelSelector& selector) const {
  absl::ReaderMutexLock lock(&mu_);
  // The narrowest index that answers part of the question.
  const std::set<std::string>* candidates = nullptr;
  static const std::set<std::string>* none = new std::set<std::string>;
  for (const auto& req : selector.requirements()) {
    bool equality = (req.op == k8s::LabelSelector::Op::kEquals || req.op == k8s::LabelSelector::Op::kIn) &&
                    req.values.size() == 1;
    if (!equality) continue;
    auto it = by_label_.find(absl::StrCat(req.key, "=", req.values[0]));
    const std::set<std::string>* set = it == by_label_.end() ? none : &it->second;
    if (candidates == nullptr || set->size() < candidates->size()) candidates = set;
  }
  if (candidates == nullptr && !ns.empty()) {
    auto it = by_namespace_.find(ns);
    candidates = it == by_namespace_.end() ? none : &it->second;
  }
  std::vector<ObjectPtr> out;
  auto consider = [&](const ObjectPtr& obj) {
    if (!ns.empty() && Namespace(*obj) != ns) return;
    if (!selector.Empty() && !selector.Matches(Labels(*obj))) return;
    out.push_back(obj);
  };
  if (candidates != nullptr) {
    for (const ObjectPtr& obj : Collect(*candidates)) consider(obj);
    return out;
  }
  std::vector<std::pair<absl::string_view, const ObjectPtr*>> all;
  all.reserve(objects_.size());
  for (const auto& [k, obj] : objects_) all.emplace_back(k, &obj);
  std::sort(all.begin(), all.end());
  for (const auto& [k, obj] : all) consider(*obj);
  return out;
}

std::vector<ObjectPtr> Informer::ByOwner(absl::string_view uid) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_owner_.find(uid);
  if (it == by_owner_.end()) return {};
  return Collect(it->second);
}

size_t Informer::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return objects_.size();
}

std::string Informer::LastSyncResourceVersion() const {
  absl::ReaderMutexLock lock(&mu_);
  return resource_version_;
}

int Informer::AddHandlers(EventHandlers handlers) {
  absl::MutexLock dispatch(&dispatch_mu_);
  if (handlers.on_add) {
    for (const ObjectPtr& obj : List()) handlers.on_add(obj);
  }
  int id = next_handler_id_++;
  handlers_.emplace(id, std::move(handlers));
  return id;
}

void Informer::RemoveHandlers(int id) {
  absl::MutexLock dispatch(&dispatch_mu_);
  handlers_.erase(id);
}

void Informer::Insert(const std::string& key, ObjectPtr obj) {
  Erase(key);
  by_namespace_[Namespace(*obj)].insert(key);
  for (const std::string& label : LabelKeys(*obj)) by_label_[label].insert(key);
  for (const std::string& uid : OwnerUids(*obj)) by_owner_[uid].insert(key);
  objects_.emplace(key, std::move(obj));
}

void Informer::Erase(const std::string& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  const Json& obj = *it->second;
  RemoveFromIndex(by_namespace_, Namespace(obj), key);
  for (const std::string& label : LabelKeys(obj)) RemoveFromIndex(by_label_, label, key);
  for (const std::string& uid : OwnerUids(obj)) RemoveFromIndex(by_owner_, uid, key);
  objects_.erase(it);
}

void Informer::Dispatch(const std::vector<Event>& events) {
  for (const Event& ev : events) {
    for (const auto& [id, h] : handlers_) {
      switch (ev.kind) {
        case Event::kAdd:
          if (h.on_add) h.on_add(ev.new_obj);
          break;
        case Event::kUpdate:
          if (h.on_update) h.on_update(ev.old_obj, ev.new_obj);
          break;
        case Event::kDelete:
          if (h.on_delete) h.on_delete(ev.old_obj);
          break;
      }
    }
  }
}

void Informer::Replace(std::vector<Json> items, const std::string& resource_version) {
  size_t relisted = 0;  // objects before and after
  {
    absl::MutexLock dispatch(&dispatch_mu_);
    std::vector<Event> events;
    {
      absl::MutexLock lock(&mu_);
      relisted = items.size() + objects_.size();
      absl::flat_hash_map<std::string, ObjectPtr> fresh;
      fresh.reserve(items.size());
      std::vector<std::string> order;
      for (Json& item : items) {  // transformed page by page as listed
        std::string key = KeyOf(item);
        if (key.empty()) {
          log::Warn("kube informer: listed object without a name", {{"resource", resource_.GroupResource()}});
          continue;
        }
        order.push_back(key);
        fresh[key] = std::make_shared<const Json>(std::move(item));
      }
      std::sort(order.begin(), order.end());
      // Deletions first: an object gone from the list was deleted while the
      // watch was not looking.
      std::vector<std::string> gone;
      for (const auto& [key, obj] : objects_) {
        if (!fresh.contains(key)) gone.push_back(key);
      }
      std::sort(gone.begin(), gone.end());
      for (const std::string& key : gone) {
        events.push_back({Event::kDelete, objects_[key], nullptr});
        Erase(key);
      }
      for (const std::string& key : order) {
        ObjectPtr& obj = fresh[key];
        auto it = objects_.find(key);
        if (it == objects_.end()) {
          events.push_back({Event::kAdd, nullptr, obj});
          Insert(key, obj);
        } else if (ResourceVersion(*it->second) != ResourceVersion(*obj) || ResourceVersion(*obj).empty()) {
          events.push_back({Event::kUpdate, it->second, obj});
          Insert(key, obj);
        }
      }
      resource_version_ = resource_version;
      synced_ = true;
    }
    Dispatch(events);
  }
  ReleaseFreedMemory(relisted);
  if (notifier_ != nullptr) notifier_->Notify();
}

void Informer::Apply(WatchEvent event) {
  if (transform_) transform_(resource_, event.object);
  std::string key = KeyOf(event.object);
  if (key.empty()) {
    log::Warn("kube informer: watch event for an object without a name", {{"resource", resource_.GroupResource()}});
    return;
  }
  {
    absl::MutexLock dispatch(&dispatch_mu_);
    std::vector<Event> events;
    {
      absl::MutexLock lock(&mu_);
      std::string rv = ResourceVersion(event.object);
      if (!rv.empty()) resource_version_ = rv;
      auto obj = std::make_shared<const Json>(std::move(event.object));
      auto it = objects_.find(key);
      ObjectPtr old = it == objects_.end() ? nullptr : it->second;
      if (event.type == WatchEvent::Type::kDeleted) {
        if (old == nullptr) return;  // never seen: nothing changed
        Erase(key);
        events.push_back({Event::kDelete, obj, nullptr});
      } else {
        Insert(key, obj);
        events.push_back(old == nullptr ? Event{Event::kAdd, nullptr, obj} : Event{Event::kUpdate, old, obj});
      }
    }
    Dispatch(events);
  }
  if (notifier_ != nullptr) notifier_->Notify();
}

// ---- InformerSet ------------------------------------------------------------

InformerSet::InformerSet(KubeClient& client, InformerOptions options)
    : client_(client), options_(std::move(options)) {}

InformerSet::~InformerSet() { Stop(); }

Informer& InformerSet::For(const Resource& resource, absl::string_view ns) {
  absl::MutexLock lock(&mu_);
  if (!resource.namespaced || (covered_ && cover_.empty())) ns = "";
  std::string key = absl::StrCat(resource.ApiVersion(), "/", resource.plural, "@", resource.namespaced ? ns : "");
  auto it = informers_.find(key);
  if (it != informers_.end()) return *it->second;
  auto informer = std::make_unique<Informer>(client_, resource, std::string(resource.namespaced ? ns : ""),
                                             options_, &notifier_);
  if (started_) informer->Start();
  return *informers_.emplace(std::move(key), std::move(informer)).first->second;
}

void InformerSet::Cover(std::vector<std::string> namespaces) {
  absl::MutexLock lock(&mu_);
  covered_ = true;
  cover_ = std::set<std::string>(namespaces.begin(), namespaces.end());
  cover_.erase("");
}

bool InformerSet::Covers(absl::string_view ns) {
  absl::MutexLock lock(&mu_);
  return covered_ && (cover_.empty() || (!ns.empty() && cover_.count(std::string(ns)) > 0));
}

std::vector<std::string> InformerSet::NamespacesFor(absl::string_view ns) {
  absl::MutexLock lock(&mu_);
  if (covered_ && cover_.empty()) return {""};
  if (ns.empty() && covered_) return {cover_.begin(), cover_.end()};
  return {std::string(ns)};
}

std::string InformerSet::CoverDescription() {
  absl::MutexLock lock(&mu_);
  if (!covered_) return "";
  if (cover_.empty()) return "all namespaces";
  return absl::StrJoin(cover_, ", ");
}

void InformerSet::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  for (auto& [key, informer] : informers_) informer->Start();
}

void InformerSet::Stop() {
  std::vector<Informer*> all;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  for (Informer* informer : all) informer->Stop();
}

InformerStats StatsOf(const Informer& informer) {
  return {.resource = informer.resource().GroupResource(),
          .ns = informer.ns(),
          .objects = informer.size(),
          .lists = informer.reflector().lists(),
          .watches = informer.reflector().watches()};
}

std::vector<InformerStats> InformerSet::Stats() {
  absl::MutexLock lock(&mu_);
  std::vector<InformerStats> out;
  for (const auto& [key, informer] : informers_) out.push_back(StatsOf(*informer));
  return out;
}

absl::Status InformerSet::WaitForSync(absl::Time deadline) {
  std::vector<Informer*> all;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  for (Informer* informer : all) {
    if (absl::Status st = informer->WaitForSync(deadline); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace herd::kube
