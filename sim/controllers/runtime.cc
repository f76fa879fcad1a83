#include "sim/controllers/runtime.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "common/log/log.h"

namespace herd::sim {

// ---- ThrottledWriter ----

ThrottledWriter::ThrottledWriter(EventLoop& loop, double qps, int burst)
    : loop_(loop), qps_(qps), burst_(std::max(1, burst)), tokens_(burst_), last_(absl::Now()) {}

ThrottledWriter::~ThrottledWriter() { Stop(); }

void ThrottledWriter::Stop() {
  stopped_ = true;
  queue_.clear();
  if (timer_) loop_.Cancel(timer_);
  timer_ = 0;
}

void ThrottledWriter::Submit(std::function<void()> write) {
  if (stopped_) return;
  queue_.push_back(std::move(write));
  if (!timer_) Drain();
}

void ThrottledWriter::Drain() {
  timer_ = 0;
  while (!queue_.empty() && !stopped_) {
    if (qps_ > 0) {
      absl::Time now = absl::Now();
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * qps_);
      last_ = now;
      if (tokens_ < 1) {
        absl::Duration wait = absl::Seconds((1 - tokens_) / qps_);
        timer_ = loop_.PostAfter(wait, [this] { Drain(); });
        return;
      }
      tokens_ -= 1;
    }
    auto fn = std::move(queue_.front());
    queue_.pop_front();
    fn();
  }
}

// ---- OwnerIndex ----

OwnerIndex::OwnerIndex(Store& store) : store_(store) {
  for (int r = 0; r < kResourceCount; ++r) {
    auto id = store_.Watch(static_cast<ResourceId>(r), "", 0, [this](const Event& e) { Track(e); });
    if (id.ok()) watches_.push_back(*id);
    store_.Scan(static_cast<ResourceId>(r), "", "", [&](const ObjectPtr& o) {
      Track(Event{EventType::kAdded, static_cast<ResourceId>(r), o, nullptr});
      return true;
    });
  }
}

OwnerIndex::~OwnerIndex() {
  for (auto w : watches_) store_.Unwatch(w);
}

void OwnerIndex::Track(const Event& e) {
  std::pair<int, std::string> entry{e.resource, Store::KeyOf(e.object->ns(), e.object->name())};
  auto owners_of = [](const ObjectPtr& o) {
    std::vector<std::string> uids;
    if (!o) return uids;
    const Json& meta = o->object["metadata"];
    if (meta.contains("ownerReferences") && meta["ownerReferences"].is_array()) {
      for (const auto& ref : meta["ownerReferences"]) uids.push_back(ref.value("uid", ""));
    }
    return uids;
  };
  for (const auto& uid : owners_of(e.old)) {
    auto it = deps_.find(uid);
    if (it == deps_.end()) continue;
    it->second.erase(entry);
    if (it->second.empty()) deps_.erase(it);
  }
  if (e.type == EventType::kDeleted) return;
  for (const auto& uid : owners_of(e.object)) deps_[uid].insert(entry);
}

std::vector<ObjectPtr> OwnerIndex::Dependents(ResourceId r, const std::string& owner_uid) const {
  std::vector<ObjectPtr> out;
  auto it = deps_.find(owner_uid);
  if (it == deps_.end()) return out;
  for (const auto& [res, key] : it->second) {
    if (res != r) continue;
    size_t slash = key.find('/');
    std::string ns = slash == std::string::npos ? "" : key.substr(0, slash);
    std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
    if (auto o = store_.Get(r, ns, name)) out.push_back(std::move(o));
  }
  return out;
}

std::vector<std::pair<ResourceId, ObjectPtr>> OwnerIndex::AllDependents(const std::string& owner_uid) const {
  std::vector<std::pair<ResourceId, ObjectPtr>> out;
  auto it = deps_.find(owner_uid);
  if (it == deps_.end()) return out;
  for (const auto& [res, key] : it->second) {
    size_t slash = key.find('/');
    ResourceId r = static_cast<ResourceId>(res);
    std::string ns = Resource(r).namespaced ? key.substr(0, slash) : "";
    std::string name = Resource(r).namespaced ? key.substr(slash + 1) : key;
    if (auto o = store_.Get(r, ns, name)) out.emplace_back(r, std::move(o));
  }
  return out;
}

// ---- Controller ----

Controller::Controller(std::string name, EventLoop& loop, ApiServer& api, const OwnerIndex& owners, double qps,
                       int burst, absl::Duration reaction_delay)
    : loop_(loop), api_(api), owners_(owners), name_(std::move(name)), reaction_delay_(reaction_delay),
      writer_(loop, qps, burst) {}

Controller::~Controller() { Stop(); }

void Controller::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto w : watches_) api_.store().Unwatch(w);
  watches_.clear();
  for (auto t : timers_) loop_.Cancel(t);
  timers_.clear();
  writer_.Stop();
}

void Controller::Observe(ResourceId r, std::function<void(const Event&)> fn) {
  api_.store().Scan(r, "", "", [&](const ObjectPtr& o) {
    fn(Event{EventType::kAdded, r, o, nullptr});
    return true;
  });
  auto id = api_.store().Watch(r, "", 0, [this, fn](const Event& e) {
    if (!stopped_) fn(e);
  });
  if (id.ok()) watches_.push_back(*id);
}

void Controller::Enqueue(const std::string& key, absl::Duration delay) {
  if (stopped_) return;
  if (delay > absl::ZeroDuration()) {
    After(delay, [this, key] { Enqueue(key); });
    return;
  }
  if (!queued_.insert(key).second) return;
  queue_.push_back(key);
  if (!running_) {
    running_ = true;
    if (reaction_delay_ > absl::ZeroDuration()) {
      After(reaction_delay_, [this] { RunQueue(); });
    } else {
      loop_.Post([this] { RunQueue(); });
    }
  }
}

void Controller::RunQueue() {
  // Keys queued while syncing wait for the next turn of the loop, so one
  // burst of changes makes one sync.
  std::deque<std::string> batch;
  batch.swap(queue_);
  for (const auto& k : batch) queued_.erase(k);
  running_ = false;
  for (const auto& key : batch) {
    if (stopped_) return;
    if (WritesPending(key)) continue;  // re-queued when they finish
    Sync(key);
  }
}

void Controller::Write(const std::string& key, std::function<void()> write) {
  pending_[key]++;
  writer_.Submit([this, key, write = std::move(write)] {
    write();
    auto it = pending_.find(key);
    if (it != pending_.end() && --it->second <= 0) {
      pending_.erase(it);
      Enqueue(key);
    }
  });
}

bool Controller::WritesPending(const std::string& key) const { return pending_.count(key) > 0; }

void Controller::Emit(const Json& about, const std::string& type, const std::string& reason,
                      const std::string& message) {
  Json copy = about;
  writer_.Submit([this, copy = std::move(copy), type, reason, message] {
    api_.RecordEvent(copy, type, reason, message, name_);
  });
}

void Controller::After(absl::Duration delay, std::function<void()> fn) {
  if (stopped_) return;
  // Fired timers are dropped from the list lazily: keep it bounded.
  if (timers_.size() > 4096) timers_.erase(timers_.begin(), timers_.begin() + 2048);
  timers_.push_back(loop_.PostAfter(delay, [this, fn = std::move(fn)] {
    if (!stopped_) fn();
  }));
}

std::pair<std::string, std::string> Controller::SplitKey(const std::string& key) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

const Json* Controller::ControllerRef(const Json& obj, const std::string& kind) {
  const Json& meta = obj["metadata"];
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return nullptr;
  for (const auto& ref : meta["ownerReferences"]) {
    if (ref.value("controller", false) && ref.value("kind", "") == kind) return &ref;
  }
  return nullptr;
}

// ---- pod helpers ----

bool PodActive(const Json& pod) {
  std::string phase = pod["status"].value("phase", "");
  return phase != "Succeeded" && phase != "Failed" && !pod["metadata"].contains("deletionTimestamp");
}

bool PodReady(const Json& pod) { return PodConditionTrue(pod, "Ready"); }

bool PodAvailable(const Json& pod, absl::Duration min_ready, absl::Time now) {
  if (!PodReady(pod)) return false;
  if (min_ready <= absl::ZeroDuration()) return true;
  for (const auto& c : pod["status"]["conditions"]) {
    if (c.value("type", "") != "Ready") continue;
    auto t = k8s::ParseTime(c.value("lastTransitionTime", ""));
    return t.ok() && *t + min_ready <= now;
  }
  return false;
}

Json OwnerReference(const Json& owner, bool block_owner_deletion) {
  Json ref = {{"apiVersion", owner.value("apiVersion", "")},
              {"kind", owner.value("kind", "")},
              {"name", owner["metadata"].value("name", "")},
              {"uid", owner["metadata"].value("uid", "")},
              {"controller", true}};
  if (block_owner_deletion) ref["blockOwnerDeletion"] = true;
  return ref;
}

Json NewPodFromTemplate(const Json& tmpl, const Json& owner, const std::string& generate_name) {
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  Json meta = Json::object();
  const Json tmeta = tmpl.value("metadata", Json::object());
  if (tmeta.contains("labels")) meta["labels"] = tmeta["labels"];
  if (tmeta.contains("annotations")) meta["annotations"] = tmeta["annotations"];
  if (tmeta.contains("finalizers")) meta["finalizers"] = tmeta["finalizers"];
  if (!generate_name.empty()) meta["generateName"] = generate_name;
  meta["ownerReferences"] = Json::array({OwnerReference(owner)});
  pod["metadata"] = std::move(meta);
  pod["spec"] = tmpl.value("spec", Json::object());
  return pod;
}

}  // namespace herd::sim
