#include "sim/store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "sim/errors.h"
#include "sim/json_text.h"

namespace herd::sim {

Json StoredObject::Normalize(Json obj, std::string* item) {
  Json kind = obj["kind"], api_version = obj["apiVersion"];
  obj.erase("kind");
  obj.erase("apiVersion");
  *item = JsonText(obj);
  obj["kind"] = std::move(kind);
  obj["apiVersion"] = std::move(api_version);
  return obj;
}

StoredObject::StoredObject(Json obj, uint64_t version) : object(Normalize(std::move(obj), &item_)), rv(version) {
  const Json& meta = object["metadata"];
  ns_ = meta.value("namespace", "");
  name_ = meta.value("name", "");
}

const std::string& StoredObject::FullJson() const {
  if (full_.empty()) {
    full_ = absl::StrCat("{\"kind\":", JsonText(object["kind"]), ",\"apiVersion\":", JsonText(object["apiVersion"]));
    if (item_.size() > 2) {
      full_.push_back(',');
      full_.append(item_, 1, std::string::npos);
    } else {
      full_.push_back('}');
    }
  }
  return full_;
}

Store::Store(StoreOptions options)
    : options_(options), objects_(kResourceCount), history_(kResourceCount), dropped_rv_(kResourceCount, 0) {}

std::string Store::KeyOf(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : absl::StrCat(ns, "/", name);
}

ObjectPtr Store::Get(ResourceId r, const std::string& ns, const std::string& name) const {
  const auto& m = objects_[r];
  auto it = m.find(KeyOf(ns, name));
  return it == m.end() ? nullptr : it->second;
}

void Store::Scan(ResourceId r, const std::string& ns, const std::string& after_key,
                 const std::function<bool(const ObjectPtr&)>& fn) const {
  const auto& m = objects_[r];
  std::string prefix = ns.empty() ? "" : ns + "/";
  auto it = after_key.empty() ? m.lower_bound(prefix) : m.upper_bound(after_key);
  for (; it != m.end(); ++it) {
    if (!prefix.empty() && it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (!fn(it->second)) break;
  }
}

ObjectPtr Store::Put(ResourceId r, Json object, bool created) {
  uint64_t version = ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(version);
  auto stored = std::make_shared<const StoredObject>(std::move(object), version);
  std::string key = KeyOf(stored->ns(), stored->name());
  auto& slot = objects_[r][key];
  ObjectPtr old = std::exchange(slot, stored);
  Emit({created || !old ? EventType::kAdded : EventType::kModified, r, stored, old});
  return stored;
}

ObjectPtr Store::Remove(ResourceId r, const std::string& ns, const std::string& name) {
  auto& m = objects_[r];
  auto it = m.find(KeyOf(ns, name));
  if (it == m.end()) return nullptr;
  ObjectPtr old = std::move(it->second);
  m.erase(it);
  uint64_t version = ++rv_;
  Json last = old->object;
  last["metadata"]["resourceVersion"] = std::to_string(version);
  auto stored = std::make_shared<const StoredObject>(std::move(last), version);
  Emit({EventType::kDeleted, r, stored, old});
  return stored;
}

void Store::Emit(const Event& e) {
  auto& h = history_[e.resource];
  h.push_back(e);
  while (h.size() > options_.history_per_resource) {
    dropped_rv_[e.resource] = h.front().rv();
    h.pop_front();
  }
  // Sinks may add or remove watchers: iterate over a snapshot of ids.
  std::vector<WatchId> ids;
  ids.reserve(watchers_.size());
  for (const auto& [id, w] : watchers_) {
    if (w.resource == e.resource && (w.ns.empty() || w.ns == e.object->ns())) ids.push_back(id);
  }
  for (WatchId id : ids) {
    auto it = watchers_.find(id);
    if (it == watchers_.end()) continue;
    Sink sink = it->second.sink;  // the sink may unwatch itself
    sink(e);
  }
}

uint64_t Store::OldestResumable(ResourceId r) const { return dropped_rv_[r]; }

absl::StatusOr<Store::WatchId> Store::Watch(ResourceId r, const std::string& ns, uint64_t from_rv, Sink sink) {
  if (from_rv != 0 && from_rv < dropped_rv_[r]) {
    return Expired(absl::StrCat("too old resource version: ", from_rv, " (", dropped_rv_[r] + 1, ")"));
  }
  WatchId id = next_watch_++;
  if (from_rv != 0) {
    // Replay what this watcher missed, in order.
    for (const Event& e : history_[r]) {
      if (e.rv() <= from_rv) continue;
      if (!ns.empty() && e.object->ns() != ns) continue;
      sink(e);
    }
  }
  watchers_.emplace(id, Watcher{id, r, ns, std::move(sink)});
  return id;
}

void Store::Unwatch(WatchId id) { watchers_.erase(id); }

size_t Store::WatcherCount() const { return watchers_.size(); }

}  // namespace herd::sim
