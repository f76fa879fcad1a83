#include "server/engines/workloads.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"
#include "server/engines/deployment_util.h"
#include "server/engines/pods.h"
#include "server/kube/types.h"

namespace herd::engines {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// The caches a summary reads, for one namespace or all: the objects of a
// workload are found by owner (uids are unique across namespaces).
struct Caches {
  kube::Informer* pods = nullptr;
  kube::Informer* replicasets = nullptr;
  kube::Informer* revisions = nullptr;
  kube::Informer* autoscalers = nullptr;
  kube::Informer* jobs = nullptr;
};

// The informer of `r` for `ns`, synced; UNAVAILABLE while it is not (at
// boot, before /readyz says ready; or an informer of a namespace outside
// the cover, listing for the first time).
absl::StatusOr<kube::Informer*> Synced(ops::EngineEnv& env, const kube::Resource& r, const std::string& ns) {
  kube::Informer& informer = env.informers.For(r, ns);
  if (absl::Status st = informer.WaitForSync(env.clock.Now() + absl::Seconds(10)); !st.ok()) {
    return absl::UnavailableError(absl::StrCat("herdd's cache has not synced yet (", st.message(), "); /readyz says when"));
  }
  return &informer;
}

absl::StatusOr<Caches> CachesFor(ops::EngineEnv& env, const std::string& ns) {
  Caches c;
  for (auto [r, out] : {std::pair{&kube::kPods, &c.pods}, std::pair{&kube::kReplicaSets, &c.replicasets},
                        std::pair{&kube::kControllerRevisions, &c.revisions},
                        std::pair{&kube::kHorizontalPodAutoscalers, &c.autoscalers}, std::pair{&kube::kJobs, &c.jobs}}) {
    auto informer = Synced(env, *r, ns);
    if (!informer.ok()) return informer.status();
    *out = *informer;
  }
  return c;
}

// A string field by reference (empty when absent or not a string): a
// summary reads many fields of many pods, and copies them only into the
// answer.
const std::string& StrAt(const Json& obj, std::initializer_list<const char*> path) {
  static const std::string* empty = new std::string;
  const Json& j = JsonAt(obj, path);
  return j.is_string() ? j.get_ref<const std::string&>() : *empty;
}

bool ControlledBy(const Json& obj, const std::string& uid) {
  for (const auto& ref : JsonAt(obj, {"metadata", "ownerReferences"})) {
    const Json& controller = JsonAt(ref, {"controller"});
    if (controller.is_boolean() && controller.get<bool>() && StrAt(ref, {"uid"}) == uid) return true;
  }
  return false;
}

int KindOrder(const kube::Resource* r) {
  if (r == &kube::kDeployments) return 0;
  if (r == &kube::kStatefulSets) return 1;
  return 2;
}

// One pass over the pod's fields, read in place (as kube::Pod reads them:
// Ready is the first Ready condition's status, restarts the sum over the
// containers' statuses).
v1::PodSummary SummarizePod(const kube::ObjectPtr& ptr) {
  const Json& pod = *ptr;
  const Json& status = JsonAt(pod, {"status"});
  v1::PodSummary s;
  s.set_name(StrAt(pod, {"metadata", "name"}));
  const std::string& phase = StrAt(status, {"phase"});
  s.set_phase(phase);
  for (const Json& c : JsonAt(status, {"conditions"})) {
    if (!c.is_object() || StrAt(c, {"type"}) != "Ready") continue;
    s.set_ready(StrAt(c, {"status"}) == "True");
    break;
  }
  int64_t restarts = 0;
  const std::string* terminated_reason = nullptr;
  for (const Json& cs : JsonAt(status, {"containerStatuses"})) {
    if (!cs.is_object()) continue;
    const Json& count = JsonAt(cs, {"restartCount"});
    if (count.is_number_integer()) restarts += count.get<int64_t>();
    const std::string& reason = StrAt(cs, {"state", "terminated", "reason"});
    if (!reason.empty()) terminated_reason = &reason;
  }
  s.set_restarts(static_cast<int32_t>(std::clamp<int64_t>(restarts, std::numeric_limits<int32_t>::min(),
                                                          std::numeric_limits<int32_t>::max())));
  s.set_node(StrAt(pod, {"spec", "nodeName"}));
  if (auto created = k8s::ParseTime(StrAt(pod, {"metadata", "creationTimestamp"})); created.ok()) {
    ops::SetTime(*created, s.mutable_create_time());
  }
  if (const Json& started = JsonAt(status, {"startTime"}); started.is_string()) {
    if (auto t = k8s::ParseTime(started.get_ref<const std::string&>()); t.ok()) ops::SetTime(*t, s.mutable_start_time());
  }
  if (const Json& deleted = JsonAt(pod, {"metadata", "deletionTimestamp"}); deleted.is_string()) {
    s.set_terminating(k8s::ParseTime(deleted.get_ref<const std::string&>()).ok());
  }
  if (PodFinished(pod)) {
    s.set_reason(terminated_reason != nullptr ? *terminated_reason : phase);
  } else {
    s.set_reason(PodWaitingReason(pod));
  }
  for (const Json& c : JsonAt(pod, {"spec", "containers"})) {
    if (c.is_object()) s.add_images(StrAt(c, {"image"}));
  }
  return s;
}

void AddPods(std::vector<kube::ObjectPtr> pods, absl::Time now, v1::Workload* out) {
  std::sort(pods.begin(), pods.end(), [](const kube::ObjectPtr& a, const kube::ObjectPtr& b) {
    return StrAt(*a, {"metadata", "name"}) < StrAt(*b, {"metadata", "name"});
  });
  absl::Time oldest = absl::InfiniteFuture(), newest = absl::InfinitePast();
  for (const kube::ObjectPtr& p : pods) {
    *out->add_pods() = SummarizePod(p);
    if (PodTerminating(*p) || PodFinished(*p)) continue;
    absl::Time created = PodCreated(*p);
    if (created == absl::InfinitePast()) continue;
    oldest = std::min(oldest, created);
    newest = std::max(newest, created);
  }
  if (oldest != absl::InfiniteFuture()) {
    ops::SetDuration(std::max(absl::ZeroDuration(), now - oldest), out->mutable_oldest_pod_age());
    ops::SetDuration(std::max(absl::ZeroDuration(), now - newest), out->mutable_newest_pod_age());
  }
}

void AddContainers(const Json& pod_template, v1::Workload* out) {
  const Json& containers = JsonAt(pod_template, {"spec", "containers"});
  if (!containers.is_array()) return;
  for (const auto& c : containers) {
    auto* container = out->add_containers();
    container->set_name(c.value("name", ""));
    container->set_image(c.value("image", ""));
  }
}

// One revision: its number, template images, creation and pods.
v1::Revision RevisionEntry(const Json& obj, int64_t number, const Json& pod_template, int32_t pods) {
  v1::Revision rev;
  rev.set_revision(number);
  for (const Json& c : JsonAt(pod_template, {"spec", "containers"})) {
    if (!c.is_object()) continue;
    v1::Container* out = rev.add_containers();
    out->set_name(StrAt(c, {"name"}));
    out->set_image(StrAt(c, {"image"}));
  }
  if (const Json& created = JsonAt(obj, {"metadata", "creationTimestamp"}); created.is_string()) {
    if (auto t = k8s::ParseTime(created.get_ref<const std::string&>()); t.ok()) ops::SetTime(*t, rev.mutable_create_time());
  }
  rev.set_pods(pods);
  rev.set_change_cause(StrAt(obj, {"metadata", "annotations", "kubernetes.io/change-cause"}));
  return rev;
}

// A Deployment's or StatefulSet's revisions, newest first, as `kubectl
// rollout history` finds them: the ReplicaSets it controls (their revision
// annotation), or the ControllerRevisions (their pods by the
// controller-revision-hash label), each with the pods it has now.
void AddRevisions(const Json& obj, const kube::Resource* r, const Caches& caches, const std::string& uid,
                  v1::Workload* w) {
  if (r == &kube::kDeployments) {
    for (const kube::ObjectPtr& rs : caches.replicasets->ByOwner(uid)) {
      if (!ControlledBy(*rs, uid)) continue;
      // Its pods as the cache holds them (a ReplicaSet's status lags its pods).
      const std::string& rs_uid = StrAt(*rs, {"metadata", "uid"});
      int32_t pods = 0;
      for (const kube::ObjectPtr& p : caches.pods->ByOwner(rs_uid)) pods += ControlledBy(*p, rs_uid) ? 1 : 0;
      v1::Revision rev = RevisionEntry(*rs, RevisionOf(*rs), JsonAt(*rs, {"spec", "template"}), pods);
      rev.set_current(rev.revision() == w->revision());
      *w->add_revisions() = std::move(rev);
    }
  } else if (r == &kube::kStatefulSets) {
    std::map<std::string, int32_t> pods;  // by controller-revision-hash
    for (const kube::ObjectPtr& p : caches.pods->ByOwner(uid)) {
      if (ControlledBy(*p, uid)) ++pods[StrAt(*p, {"metadata", "labels", "controller-revision-hash"})];
    }
    const std::string& update = StrAt(obj, {"status", "updateRevision"});
    for (const kube::ObjectPtr& cr : caches.revisions->ByOwner(uid)) {
      if (!ControlledBy(*cr, uid)) continue;
      const std::string& name = StrAt(*cr, {"metadata", "name"});
      const Json& number = JsonAt(*cr, {"revision"});
      v1::Revision rev = RevisionEntry(*cr, number.is_number_integer() ? number.get<int64_t>() : 0,
                                       JsonAt(*cr, {"data", "spec", "template"}), pods[name]);
      rev.set_current(!update.empty() && name == update);
      *w->add_revisions() = std::move(rev);
    }
  }
  std::sort(w->mutable_revisions()->begin(), w->mutable_revisions()->end(),
            [](const v1::Revision& a, const v1::Revision& b) { return a.revision() > b.revision(); });
}

v1::Workload Summarize(const kube::ObjectPtr& ptr, const kube::Resource* r, const Caches& caches, absl::Time now,
                       bool with_revisions = false) {
  const Json& obj = *ptr;
  kube::Object o(ptr);
  v1::Workload w;
  w.set_name(o.name());
  w.set_namespace_(o.ns());
  w.set_kind(std::string(r->kind));
  w.set_resource_version(o.resource_version());
  for (const auto& [k, v] : o.labels()) (*w.mutable_labels())[k] = v;
  const Json& spec = JsonAt(obj, {"spec"});
  const Json& status = JsonAt(obj, {"status"});
  std::vector<kube::ObjectPtr> pods;
  // The pods an owner (a ReplicaSet, a StatefulSet, a Job) controls.
  auto add_pods_of = [&](const std::string& uid) {
    for (kube::ObjectPtr& p : caches.pods->ByOwner(uid)) {
      if (ControlledBy(*p, uid)) pods.push_back(std::move(p));
    }
  };
  if (r == &kube::kCronJobs) {
    kube::CronJob cj(ptr);
    w.set_schedule(cj.schedule());
    w.set_suspended(cj.suspend());
    if (auto t = cj.last_schedule_time()) ops::SetTime(*t, w.mutable_last_schedule_time());
    AddContainers(JsonAt(spec, {"jobTemplate", "spec", "template"}), &w);
    // Running Jobs: those the CronJob lists as active and those it owns
    // (a Job started by hand, as RunCronJob does, is never in its list).
    std::map<std::string, kube::ObjectPtr> jobs;  // by name
    for (kube::ObjectPtr& j : caches.jobs->ByOwner(o.uid())) {
      if (ControlledBy(*j, o.uid())) {
        add_pods_of(kube::Object(j).uid());
        jobs.emplace(kube::Object(j).name(), std::move(j));
      }
    }
    for (const auto& ref : cj.active()) {
      if (kube::ObjectPtr j = caches.jobs->Get(o.ns(), ref.name)) jobs.emplace(ref.name, std::move(j));
    }
    int32_t active = 0;
    for (const auto& [name, j] : jobs) {
      kube::Job job(j);
      if (!job.finished() && !job.terminating()) ++active;
    }
    w.set_active_jobs(active);
    AddPods(pods, now, &w);
    return w;
  }
  AddContainers(JsonAt(spec, {"template"}), &w);
  w.set_desired_replicas(spec.value("replicas", 1));
  w.set_ready_replicas(status.value("readyReplicas", 0));
  w.set_available_replicas(status.value("availableReplicas", 0));
  w.set_updated_replicas(status.value("updatedReplicas", 0));
  if (r == &kube::kDeployments) {
    w.set_revision(RevisionOf(obj));
    for (const kube::ObjectPtr& rs : caches.replicasets->ByOwner(o.uid())) {
      if (ControlledBy(*rs, o.uid())) add_pods_of(kube::Object(rs).uid());
    }
  } else {
    std::string update = status.value("updateRevision", "");
    if (kube::ObjectPtr cr = update.empty() ? nullptr : caches.revisions->Get(o.ns(), update)) {
      w.set_revision(cr->value("revision", int64_t{0}));
    }
    add_pods_of(o.uid());
  }
  AddPods(pods, now, &w);
  if (with_revisions) AddRevisions(obj, r, caches, o.uid(), &w);
  for (const kube::ObjectPtr& h : caches.autoscalers->List(o.ns())) {
    kube::HorizontalPodAutoscaler hpa(h);
    if (hpa.target_kind() != r->kind || hpa.target_name() != o.name()) continue;
    w.set_autoscaler(hpa.name());
    w.set_autoscaler_min(hpa.min_replicas());
    w.set_autoscaler_max(hpa.max_replicas());
  }
  return w;
}

// Positions in the listing order: namespace, kind, name.
std::string OrderKey(const std::string& ns, int kind, const std::string& name) {
  return absl::StrCat(ns, "\x1f", kind, "\x1f", name);
}

}  // namespace

const std::vector<const kube::Resource*>& CachedResources() {
  static const auto* all = new std::vector<const kube::Resource*>{
      &kube::kDeployments,         &kube::kReplicaSets, &kube::kStatefulSets,
      &kube::kControllerRevisions, &kube::kCronJobs,    &kube::kJobs,
      &kube::kPods,                &kube::kPodDisruptionBudgets, &kube::kHorizontalPodAutoscalers};
  return *all;
}

absl::Status CheckCovered(ops::EngineEnv& env, const std::string& ns) {
  std::string cover = env.informers.CoverDescription();
  if (cover.empty() || env.informers.Covers(ns)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("herdd caches and acts in ", cover, " (--namespaces), not in namespace \"", ns, "\""));
}

absl::StatusOr<v1::Workload> DescribeWorkload(ops::EngineEnv& env, const ops::WorkloadName& w) {
  if (w.resource != &kube::kDeployments && w.resource != &kube::kStatefulSets && w.resource != &kube::kCronJobs) {
    return absl::InvalidArgumentError(absl::StrCat(w.ToString(), " is not a Deployment, StatefulSet or CronJob"));
  }
  if (absl::Status st = CheckCovered(env, w.ns); !st.ok()) return st;
  auto workloads = Synced(env, *w.resource, w.ns);
  if (!workloads.ok()) return workloads.status();
  auto caches = CachesFor(env, w.ns);
  if (!caches.ok()) return caches.status();
  kube::ObjectPtr obj = (*workloads)->Get(w.ns, w.name);
  if (obj == nullptr) return absl::NotFoundError(absl::StrCat(w.ToString(), " not found"));
  return Summarize(obj, w.resource, *caches, env.clock.Now(), /*with_revisions=*/true);
}

absl::StatusOr<v1::ListWorkloadsResponse> ListWorkloads(ops::EngineEnv& env, const v1::ListWorkloadsRequest& request) {
  std::vector<const kube::Resource*> kinds;
  if (request.kind().empty()) {
    kinds = {&kube::kDeployments, &kube::kStatefulSets, &kube::kCronJobs};
  } else if (request.kind() == "deployments") {
    kinds = {&kube::kDeployments};
  } else if (request.kind() == "statefulsets") {
    kinds = {&kube::kStatefulSets};
  } else if (request.kind() == "cronjobs") {
    kinds = {&kube::kCronJobs};
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("kind \"", request.kind(), "\" is not one of deployments, statefulsets, cronjobs (or empty for all)"));
  }
  if (!request.label_selector().empty()) {
    if (auto sel = k8s::LabelSelector::Parse(request.label_selector()); !sel.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("label_selector \"", request.label_selector(), "\": ", sel.status().message()));
    }
  }
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size cannot be negative");
  int page_size = request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  std::string after;
  if (!request.page_token().empty() && !absl::WebSafeBase64Unescape(request.page_token(), &after)) {
    return absl::InvalidArgumentError("page_token is not one ListWorkloads returned");
  }

  if (!request.namespace_().empty()) {
    if (absl::Status st = CheckCovered(env, request.namespace_()); !st.ok()) return st;
  }
  k8s::LabelSelector selector;
  if (!request.label_selector().empty()) selector = *k8s::LabelSelector::Parse(request.label_selector());

  // A snapshot of the cache, sorted: pages continue after the last key
  // returned whatever came and went since.
  struct Entry {
    std::string key;
    const kube::Resource* r;
    kube::ObjectPtr obj;
    const Caches* caches;
  };
  std::vector<Entry> entries;
  std::map<std::string, Caches> caches;  // by the namespace For was asked
  for (const std::string& ns : env.informers.NamespacesFor(request.namespace_())) {
    auto c = CachesFor(env, ns);
    if (!c.ok()) return c.status();
    const Caches* cached = &caches.emplace(ns, *c).first->second;
    for (const kube::Resource* r : kinds) {
      auto informer = Synced(env, *r, ns);
      if (!informer.ok()) return informer.status();
      for (kube::ObjectPtr& obj : (*informer)->List(request.namespace_(), selector)) {
        kube::Object o(obj);
        std::string key = OrderKey(o.ns(), KindOrder(r), o.name());
        if (!after.empty() && key <= after) continue;
        entries.push_back({std::move(key), r, std::move(obj), cached});
      }
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  v1::ListWorkloadsResponse out;
  bool more = static_cast<int>(entries.size()) > page_size;
  if (more) entries.resize(static_cast<size_t>(page_size));
  absl::Time now = env.clock.Now();
  for (const Entry& e : entries) *out.add_workloads() = Summarize(e.obj, e.r, *e.caches, now);
  if (more && !entries.empty()) out.set_next_page_token(absl::WebSafeBase64Escape(entries.back().key));
  return out;
}

}  // namespace herd::engines
