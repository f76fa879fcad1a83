#include "server/engines/workloads.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/k8s/selector.h"
#include "server/engines/deployment_util.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"
#include "server/kube/types.h"

namespace herd::engines {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// What the summaries of one namespace's workloads need, listed once.
struct NamespaceData {
  std::vector<Json> pods;
  std::vector<Json> replicasets;
  std::vector<Json> revisions;
  std::vector<Json> autoscalers;
  std::vector<Json> jobs;
};

absl::StatusOr<NamespaceData> LoadNamespace(ops::EngineEnv& env, const std::string& ns) {
  NamespaceData d;
  struct Want {
    const kube::Resource* r;
    std::vector<Json>* out;
    bool optional;  // a cluster may not serve it
  };
  for (const Want& w : {Want{&kube::kPods, &d.pods, false}, Want{&kube::kReplicaSets, &d.replicasets, false},
                        Want{&kube::kControllerRevisions, &d.revisions, true},
                        Want{&kube::kHorizontalPodAutoscalers, &d.autoscalers, true}, Want{&kube::kJobs, &d.jobs, true}}) {
    auto list = env.kube.ListAll(*w.r, ns);
    if (!list.ok()) {
      if (w.optional && absl::IsNotFound(list.status())) continue;
      return list.status();
    }
    *w.out = std::move(list->items);
  }
  return d;
}

bool ControlledBy(const Json& obj, const std::string& uid) {
  for (const auto& ref : obj["metadata"].value("ownerReferences", Json::array())) {
    if (ref.value("uid", "") == uid && ref.value("controller", false)) return true;
  }
  return false;
}

int KindOrder(const kube::Resource* r) {
  if (r == &kube::kDeployments) return 0;
  if (r == &kube::kStatefulSets) return 1;
  return 2;
}

v1::PodSummary SummarizePod(const Json& pod) {
  kube::Pod p(pod);
  v1::PodSummary s;
  s.set_name(p.name());
  s.set_phase(p.phase());
  s.set_ready(p.ready());
  s.set_restarts(p.restart_count());
  s.set_node(p.node_name());
  if (auto t = p.start_time()) ops::SetTime(*t, s.mutable_start_time());
  s.set_terminating(p.terminating());
  if (PodFinished(pod)) {
    std::string reason;
    for (const auto& cs : p.container_statuses()) {
      if (!cs.terminated_reason.empty()) reason = cs.terminated_reason;
    }
    s.set_reason(reason.empty() ? p.phase() : reason);
  } else {
    s.set_reason(PodWaitingReason(pod));
  }
  for (const auto& c : p.containers()) s.add_images(c.image);
  return s;
}

void AddPods(const std::vector<const Json*>& pods, absl::Time now, v1::Workload* out) {
  std::vector<const Json*> sorted = pods;
  std::sort(sorted.begin(), sorted.end(), [](const Json* a, const Json* b) { return PodName(*a) < PodName(*b); });
  absl::Time oldest = absl::InfiniteFuture(), newest = absl::InfinitePast();
  for (const Json* p : sorted) {
    *out->add_pods() = SummarizePod(*p);
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
  for (const auto& c : pod_template.value("spec", Json::object()).value("containers", Json::array())) {
    auto* container = out->add_containers();
    container->set_name(c.value("name", ""));
    container->set_image(c.value("image", ""));
  }
}

v1::Workload Summarize(const Json& obj, const kube::Resource* r, const NamespaceData& data, absl::Time now) {
  kube::Object o(obj);
  v1::Workload w;
  w.set_name(o.name());
  w.set_namespace_(o.ns());
  w.set_kind(std::string(r->kind));
  for (const auto& [k, v] : o.labels()) (*w.mutable_labels())[k] = v;
  const Json spec = obj.value("spec", Json::object());
  const Json status = obj.value("status", Json::object());
  std::vector<const Json*> pods;
  if (r == &kube::kCronJobs) {
    kube::CronJob cj(obj);
    w.set_schedule(cj.schedule());
    w.set_suspended(cj.suspend());
    if (auto t = cj.last_schedule_time()) ops::SetTime(*t, w.mutable_last_schedule_time());
    AddContainers(spec.value("jobTemplate", Json::object()).value("spec", Json::object()).value("template", Json::object()), &w);
    // Running Jobs: those the CronJob lists as active and those it owns
    // (a Job started by hand, as RunCronJob does, is never in its list).
    std::set<std::string> listed;
    for (const auto& ref : cj.active()) listed.insert(ref.name);
    std::set<std::string> job_uids;
    int32_t active = 0;
    for (const Json& j : data.jobs) {
      const bool owned = ControlledBy(j, o.uid());
      if (owned) job_uids.insert(j["metadata"].value("uid", ""));
      kube::Job job(j);
      if ((owned || listed.count(job.name())) && !job.finished() && !job.terminating()) ++active;
    }
    w.set_active_jobs(active);
    for (const Json& p : data.pods) {
      for (const auto& ref : p["metadata"].value("ownerReferences", Json::array())) {
        if (job_uids.count(ref.value("uid", ""))) {
          pods.push_back(&p);
          break;
        }
      }
    }
    AddPods(pods, now, &w);
    return w;
  }
  AddContainers(spec.value("template", Json::object()), &w);
  w.set_desired_replicas(spec.value("replicas", 1));
  w.set_ready_replicas(status.value("readyReplicas", 0));
  w.set_available_replicas(status.value("availableReplicas", 0));
  w.set_updated_replicas(status.value("updatedReplicas", 0));
  if (r == &kube::kDeployments) {
    w.set_revision(RevisionOf(obj));
    std::set<std::string> rs_uids;
    for (const Json& rs : data.replicasets) {
      if (ControlledBy(rs, o.uid())) rs_uids.insert(rs["metadata"].value("uid", ""));
    }
    for (const Json& p : data.pods) {
      for (const auto& ref : p["metadata"].value("ownerReferences", Json::array())) {
        if (ref.value("controller", false) && rs_uids.count(ref.value("uid", ""))) {
          pods.push_back(&p);
          break;
        }
      }
    }
  } else {
    std::string update = status.value("updateRevision", "");
    for (const Json& cr : data.revisions) {
      if (cr["metadata"].value("name", "") == update) w.set_revision(cr.value("revision", int64_t{0}));
    }
    for (const Json& p : data.pods) {
      if (ControlledBy(p, o.uid())) pods.push_back(&p);
    }
  }
  AddPods(pods, now, &w);
  for (const Json& h : data.autoscalers) {
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

absl::StatusOr<v1::Workload> DescribeWorkload(ops::EngineEnv& env, const ops::WorkloadName& w) {
  if (w.resource != &kube::kDeployments && w.resource != &kube::kStatefulSets && w.resource != &kube::kCronJobs) {
    return absl::InvalidArgumentError(absl::StrCat(w.ToString(), " is not a Deployment, StatefulSet or CronJob"));
  }
  auto obj = GetWorkload(env, w);
  if (!obj.ok()) return obj.status();
  auto data = LoadNamespace(env, w.ns);
  if (!data.ok()) return data.status();
  return Summarize(*obj, w.resource, *data, env.clock.Now());
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

  struct Entry {
    std::string key;
    const kube::Resource* r;
    Json obj;
  };
  std::vector<Entry> entries;
  for (const kube::Resource* r : kinds) {
    auto list = env.kube.ListAll(*r, request.namespace_(), {.label_selector = request.label_selector()});
    if (!list.ok()) return list.status();
    for (Json& item : list->items) {
      std::string key = OrderKey(item["metadata"].value("namespace", ""), KindOrder(r), item["metadata"].value("name", ""));
      if (!after.empty() && key <= after) continue;
      entries.push_back({std::move(key), r, std::move(item)});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  v1::ListWorkloadsResponse out;
  bool more = static_cast<int>(entries.size()) > page_size;
  if (more) entries.resize(static_cast<size_t>(page_size));
  // Pods and the rest are listed only for the namespaces on this page.
  std::map<std::string, NamespaceData> data;
  absl::Time now = env.clock.Now();
  for (const Entry& e : entries) {
    std::string ns = e.obj["metadata"].value("namespace", "");
    auto it = data.find(ns);
    if (it == data.end()) {
      auto loaded = LoadNamespace(env, ns);
      if (!loaded.ok()) return loaded.status();
      it = data.emplace(ns, *std::move(loaded)).first;
    }
    *out.add_workloads() = Summarize(e.obj, e.r, it->second, now);
  }
  if (more && !entries.empty()) out.set_next_page_token(absl::WebSafeBase64Escape(entries.back().key));
  return out;
}

}  // namespace herd::engines
