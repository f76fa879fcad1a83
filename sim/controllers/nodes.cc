// The scheduler and the simulated nodes (kubelets).
#include "sim/controllers/nodes.h"

#include <algorithm>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "sim/names.h"

namespace herd::sim {
namespace {

std::string Now() { return k8s::FormatTime(absl::Now()); }

Json Condition(const std::string& type, bool status, const std::string& reason = "", const std::string& message = "") {
  Json c = {{"type", type}, {"status", status ? "True" : "False"}, {"lastProbeTime", nullptr},
            {"lastTransitionTime", Now()}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

// Sets condition `c` on a pod, keeping lastTransitionTime when the status
// did not change.
void SetCondition(Json& pod, Json c) {
  Json& conds = pod["status"]["conditions"];
  if (!conds.is_array()) conds = Json::array();
  for (auto& existing : conds) {
    // Json to Json: a condition someone wrote with a non-string type is
    // skipped, not a thrown type_error.
    if (!existing.is_object() || existing.value("type", Json()) != c["type"]) continue;
    if (existing.value("status", Json()) == c["status"]) c["lastTransitionTime"] = existing["lastTransitionTime"];
    existing = std::move(c);
    return;
  }
  conds.push_back(std::move(c));
}

}  // namespace

ImageFault ImageFaults(const std::string& image) {
  ImageFault f;
  std::string img = absl::AsciiStrToLower(image);
  f.crash_loop = absl::StrContains(img, "crashloop") || absl::StrContains(img, "crash-loop");
  f.pull_failure = absl::StrContains(img, "pullfail") || absl::StrContains(img, "pull-fail") ||
                   absl::StrContains(img, "no-such-image") || absl::StrContains(img, "imagepullbackoff");
  f.never_ready = absl::StrContains(img, "unready") || absl::StrContains(img, "neverready");
  f.fails = absl::StrContains(img, "exit1") || absl::StrContains(img, "jobfail");
  f.slow_stop = absl::StrContains(img, "slowstop") || absl::StrContains(img, "ignore-sigterm");
  static const std::regex slow("slow(?:start)?-?([0-9]+)(ms|s|m)");
  std::smatch m;
  if (std::regex_search(img, m, slow)) {
    int64_t n = 0;
    if (absl::SimpleAtoi(m[1].str(), &n)) {
      f.extra_start = m[2] == "ms" ? absl::Milliseconds(n) : m[2] == "s" ? absl::Seconds(n) : absl::Minutes(n);
    }
  }
  return f;
}

// ---- Scheduler ----

Scheduler::Scheduler(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o)
    : Controller("default-scheduler", loop, api, owners, o.scheduler_qps, o.scheduler_burst, o.reaction_delay) {}

void Scheduler::Start() {
  Observe(kNodes, [this](const Event&) {
    // A node came, went or changed: pods waiting for room may fit now.
    for (const auto& key : unschedulable_) Enqueue(key);
  });
  Observe(kPods, [this](const Event& e) {
    Track(e);
    const Json& pod = e.object->object;
    if (e.type == EventType::kDeleted) {
      unschedulable_.erase(KeyOf(e.object));
      // Room was freed on a node.
      for (const auto& key : unschedulable_) Enqueue(key);
      return;
    }
    if (pod["spec"].value("nodeName", "").empty() && !pod["metadata"].contains("deletionTimestamp") &&
        pod["spec"].value("schedulerName", "default-scheduler") == "default-scheduler") {
      Enqueue(KeyOf(e.object));
    }
  });
}

void Scheduler::Track(const Event& e) {
  auto node_of = [](const ObjectPtr& o) -> std::string {
    if (!o || !PodActive(o->object)) return "";
    return o->object["spec"].value("nodeName", "");
  };
  std::string before = node_of(e.old);
  std::string after = e.type == EventType::kDeleted ? "" : node_of(e.object);
  if (before == after) return;
  if (!before.empty()) load_[before]--;
  if (!after.empty()) load_[after]++;
}

void Scheduler::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr pod = api_.store().Get(kPods, ns, name);
  if (!pod || !pod->object["spec"].value("nodeName", "").empty() ||
      pod->object["metadata"].contains("deletionTimestamp")) {
    unschedulable_.erase(key);
    return;
  }
  const Json& spec = pod->object["spec"];
  Json node_selector = spec.value("nodeSelector", Json::object());
  std::string best;
  int best_load = 0;
  int total = 0, cordoned = 0, full = 0, mismatched = 0;
  api_.store().Scan(kNodes, "", "", [&](const ObjectPtr& node) {
    ++total;
    const Json& n = node->object;
    if (n["spec"].value("unschedulable", false)) {
      ++cordoned;
      return true;
    }
    const Json labels = n["metadata"].value("labels", Json::object());
    for (const auto& [k, v] : node_selector.items()) {
      if (!labels.contains(k) || labels[k] != v) {
        ++mismatched;
        return true;
      }
    }
    int capacity = 110;
    std::string pods = n["status"].value("allocatable", Json::object()).value("pods", "110");
    (void)absl::SimpleAtoi(pods, &capacity);
    int load = load_[node->name()];
    if (load >= capacity) {
      ++full;
      return true;
    }
    if (best.empty() || load < best_load) {
      best = node->name();
      best_load = load;
    }
    return true;
  });
  if (best.empty()) {
    std::vector<std::string> why;
    if (cordoned) why.push_back(absl::StrCat(cordoned, " node(s) were unschedulable"));
    if (mismatched) why.push_back(absl::StrCat(mismatched, " node(s) didn't match Pod's node affinity/selector"));
    if (full) why.push_back(absl::StrCat(full, " Too many pods"));
    std::string msg = absl::StrCat(total == 0 ? "no nodes available to schedule pods" :
                                   absl::StrCat("0/", total, " nodes are available: ", absl::StrJoin(why, ", "), "."),
                                   " preemption: 0/", total,
                                   " nodes are available: ", total, " Preemption is not helpful for scheduling.");
    bool first = unschedulable_.insert(key).second;
    if (first) {
      Write(key, [this, ns = ns, name = name, msg] {
        auto updated = api_.Modify(kPods, ns, name, [&](Json& p) {
          SetCondition(p, Condition("PodScheduled", false, "Unschedulable", msg));
          return absl::OkStatus();
        }, {.subresource = "status", .field_manager = "kube-scheduler"});
        if (updated.ok()) Emit((*updated)->object, "Warning", "FailedScheduling", msg);
      });
    }
    return;
  }
  unschedulable_.erase(key);
  load_[best]++;  // counted now so a burst spreads over the nodes
  Write(key, [this, ns = ns, name = name, best] {
    absl::Status st = api_.Bind(ns, name, best);
    if (!st.ok()) {
      load_[best]--;
      return;
    }
    load_[best]--;  // the binding's own event counts it again
    if (ObjectPtr p = api_.store().Get(kPods, ns, name)) {
      Emit(p->object, "Normal", "Scheduled",
                       absl::StrCat("Successfully assigned ", ns, "/", name, " to ", best));
    }
  });
}

// ---- Kubelet ----

Kubelet::Kubelet(EventLoop& loop, ApiServer& api, const OwnerIndex& owners, const ControllerOptions& o)
    : Controller("kubelet", loop, api, owners, 0, 1), options_(o) {}

void Kubelet::Start() {
  Observe(kPods, [this](const Event& e) {
    std::string key = KeyOf(e.object);
    if (e.type == EventType::kDeleted) {
      pods_.erase(key);
      return;
    }
    const Json& pod = e.object->object;
    std::string node = pod["spec"].value("nodeName", "");
    if (node.empty()) return;
    auto it = pods_.find(key);
    if (it == pods_.end()) {
      std::string phase = pod["status"].value("phase", "");
      bool running = phase == "Running" && PodReady(pod);
      if (phase == "Succeeded" || phase == "Failed") return;
      if (running && !pod["metadata"].contains("deletionTimestamp")) return;  // nothing to do
      PodState s;
      s.bound = absl::Now();
      s.uid = pod["metadata"].value("uid", "");
      pods_.emplace(key, s);
    } else if (it->second.uid != pod["metadata"].value("uid", "")) {
      it->second = PodState{};
      it->second.bound = absl::Now();
      it->second.uid = pod["metadata"].value("uid", "");
    }
    ArmTick();
  });
}

void Kubelet::ArmTick() {
  if (tick_armed_ || pods_.empty()) return;
  tick_armed_ = true;
  After(options_.kubelet_poll, [this] {
    tick_armed_ = false;
    Tick();
    ArmTick();
  });
}

void Kubelet::Tick() {
  absl::Time now = absl::Now();
  std::vector<std::string> done;
  // Copy the keys: writes below change pods_ through the store's events.
  std::vector<std::string> keys;
  keys.reserve(pods_.size());
  for (const auto& [k, s] : pods_) keys.push_back(k);
  for (const auto& key : keys) {
    auto it = pods_.find(key);
    if (it == pods_.end()) continue;
    if (Step(key, it->second, now)) pods_.erase(key);
  }
}

bool Kubelet::Step(const std::string& key, PodState& s, absl::Time now) {
  auto [ns, name] = SplitKey(key);
  ObjectPtr obj = api_.store().Get(kPods, ns, name);
  if (!obj) return true;
  const Json& pod = obj->object;
  const Json& spec = pod["spec"];
  std::vector<std::string> images;
  for (const auto& c : spec.value("containers", Json::array())) images.push_back(c.value("image", ""));
  ImageFault f;
  for (const auto& img : images) {
    ImageFault g = ImageFaults(img);
    f.crash_loop |= g.crash_loop;
    f.pull_failure |= g.pull_failure;
    f.never_ready |= g.never_ready;
    f.fails |= g.fails;
    f.slow_stop |= g.slow_stop;
    f.extra_start = std::max(f.extra_start, g.extra_start);
  }

  if (pod["metadata"].contains("deletionTimestamp")) {
    if (f.slow_stop) {
      // A container that ignores SIGTERM is killed when the grace period ends.
      auto deadline = k8s::ParseTime(pod["metadata"].value("deletionTimestamp", ""));
      if (deadline.ok() && now < *deadline) return false;
    }
    DeleteOptions del;
    del.grace_period_seconds = 0;
    del.precondition_uid = s.uid;
    (void)api_.Delete(kPods, ns, name, del);
    return true;
  }

  std::string phase = pod["status"].value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") return true;
  bool job_like = spec.value("restartPolicy", "Always") != "Always";
  absl::Time start_at = s.bound + options_.pod_start_delay + f.extra_start;

  auto write_status = [&](const std::function<void(Json&)>& edit) {
    (void)api_.Modify(kPods, ns, name, [&](Json& p) {
      edit(p);
      return absl::OkStatus();
    }, {.subresource = "status", .field_manager = "kubelet"});
  };
  auto container_statuses = [&](const std::function<Json(const Json& container, int restarts)>& state) {
    Json out = Json::array();
    Json old = pod["status"].value("containerStatuses", Json::array());
    for (const auto& c : spec.value("containers", Json::array())) {
      int restarts = 0;
      for (const auto& o : old) {
        if (o.value("name", "") == c.value("name", "")) restarts = o.value("restartCount", 0);
      }
      out.push_back(state(c, restarts));
    }
    return out;
  };
  auto base_status = [&](const Json& c, int restarts) {
    return Json{{"name", c.value("name", "")},
                {"image", c.value("image", "")},
                {"imageID", ""},
                {"lastState", Json::object()},
                {"ready", false},
                {"restartCount", restarts},
                {"started", false}};
  };

  if (s.stage == Stage::kNew) {
    // A node notices a pod bound to it on its next poll; the start delay
    // runs from then, as with the polling nodes real rollouts were timed on.
    s.bound = now;
    start_at = s.bound + options_.pod_start_delay + f.extra_start;
    s.stage = f.pull_failure ? Stage::kPullFailing : Stage::kCreating;
    int node_index = 0;
    std::string node = spec.value("nodeName", "");
    for (char ch : node) node_index = (node_index * 31 + ch) % 200;
    std::string ip = absl::StrCat("10.244.", node_index, ".", 2 + (next_ip_++ % 250));
    write_status([&](Json& p) {
      Json& st = p["status"];
      st["phase"] = "Pending";
      st["hostIP"] = absl::StrCat("10.0.0.", 10 + node_index % 200);
      st["startTime"] = Now();
      if (!f.pull_failure) {
        st["podIP"] = ip;
        st["podIPs"] = Json::array({{{"ip", ip}}});
      }
      SetCondition(p, Condition("Initialized", true));
      SetCondition(p, Condition("Ready", false, "ContainersNotReady",
                                absl::StrCat("containers with unready status: [", name_list(spec), "]")));
      SetCondition(p, Condition("ContainersReady", false, "ContainersNotReady",
                                absl::StrCat("containers with unready status: [", name_list(spec), "]")));
      st["containerStatuses"] = container_statuses([&](const Json& c, int restarts) {
        Json cs = base_status(c, restarts);
        if (f.pull_failure) {
          cs["state"] = {{"waiting",
                          {{"reason", "ErrImagePull"},
                           {"message", absl::StrCat("rpc error: code = NotFound desc = failed to pull and unpack image \"",
                                                    c.value("image", ""), "\": not found")}}}};
        } else {
          cs["state"] = {{"waiting", {{"reason", "ContainerCreating"}}}};
        }
        return cs;
      });
    });
    return false;
  }
  if (s.stage == Stage::kPullFailing) {
    if (!s.backoff_written) {
      s.backoff_written = true;
      write_status([&](Json& p) {
        p["status"]["containerStatuses"] = container_statuses([&](const Json& c, int restarts) {
          Json cs = base_status(c, restarts);
          cs["state"] = {{"waiting", {{"reason", "ImagePullBackOff"},
                                      {"message", absl::StrCat("Back-off pulling image \"", c.value("image", ""), "\"")}}}};
          return cs;
        });
      });
      RecordPodEvent(obj, "Warning", "Failed", "Error: ImagePullBackOff");
    }
    return false;  // stays until deleted
  }
  if (now < start_at && s.stage == Stage::kCreating) return false;

  auto running = [&](bool ready) {
    std::string t = Now();
    write_status([&](Json& p) {
      Json& st = p["status"];
      st["phase"] = "Running";
      SetCondition(p, ready ? Condition("Ready", true) :
                              Condition("Ready", false, "ContainersNotReady",
                                        absl::StrCat("containers with unready status: [", name_list(spec), "]")));
      SetCondition(p, ready ? Condition("ContainersReady", true) :
                              Condition("ContainersReady", false, "ContainersNotReady",
                                        absl::StrCat("containers with unready status: [", name_list(spec), "]")));
      st["containerStatuses"] = container_statuses([&](const Json& c, int restarts) {
        Json cs = base_status(c, restarts);
        Json old = pod["status"].value("containerStatuses", Json::array());
        for (const auto& o : old) {
          if (o.value("name", "") == c.value("name", "") && o.contains("lastState")) cs["lastState"] = o["lastState"];
        }
        cs["state"] = {{"running", {{"startedAt", t}}}};
        cs["ready"] = ready;
        cs["started"] = true;
        cs["imageID"] = absl::StrCat("kubesim://", c.value("image", ""));
        cs["containerID"] = absl::StrCat("kubesim://", RandomHex(64));
        return cs;
      });
    });
  };

  switch (s.stage) {
    case Stage::kCreating:
      for (const auto& c : spec.value("containers", Json::array())) {
        RecordPodEvent(obj, "Normal", "Pulled",
                       absl::StrCat("Container image \"", c.value("image", ""), "\" already present on machine"));
        RecordPodEvent(obj, "Normal", "Created", absl::StrCat("Created container ", c.value("name", "")));
        RecordPodEvent(obj, "Normal", "Started", absl::StrCat("Started container ", c.value("name", "")));
      }
      if (f.crash_loop) {
        running(false);
        s.stage = Stage::kCrashRunning;
        s.next = now + options_.crash_after;
        return false;
      }
      running(!f.never_ready && !(job_like && false));
      if (job_like) {
        s.stage = Stage::kJobRunning;
        s.next = now + options_.job_pod_run_time;
        return false;
      }
      return !f.never_ready;  // a ready service pod needs nothing more
    case Stage::kCrashRunning: {
      if (now < s.next) return false;
      std::string t = Now();
      absl::Duration backoff = options_.crash_loop_backoff * (1 << std::min(s.crashes, 5));
      backoff = std::min(backoff, absl::Minutes(5));
      s.crashes++;
      write_status([&](Json& p) {
        p["status"]["containerStatuses"] = container_statuses([&](const Json& c, int restarts) {
          Json cs = base_status(c, restarts + 1);
          // The run that ends now started when it turned running.
          std::string started = t;
          for (const auto& o : pod["status"].value("containerStatuses", Json::array())) {
            if (o.value("name", "") == c.value("name", "") && o.contains("state") && o["state"].contains("running")) {
              started = o["state"]["running"].value("startedAt", t);
            }
          }
          cs["lastState"] = {{"terminated",
                              {{"exitCode", 1},
                               {"reason", "Error"},
                               {"startedAt", started},
                               {"finishedAt", t},
                               {"containerID", absl::StrCat("kubesim://", RandomHex(64))}}}};
          cs["state"] = {{"waiting",
                          {{"reason", "CrashLoopBackOff"},
                           {"message", absl::StrCat("back-off ", absl::FormatDuration(backoff),
                                                    " restarting failed container=", c.value("name", ""),
                                                    " pod=", name, "_", ns, "(", s.uid, ")")}}}};
          cs["started"] = false;
          cs["imageID"] = absl::StrCat("kubesim://", c.value("image", ""));
          return cs;
        });
      });
      RecordPodEvent(obj, "Warning", "BackOff", "Back-off restarting failed container");
      s.stage = Stage::kCrashBackOff;
      s.next = now + backoff;
      return false;
    }
    case Stage::kCrashBackOff:
      if (now < s.next) return false;
      running(false);
      s.stage = Stage::kCrashRunning;
      s.next = now + options_.crash_after;
      return false;
    case Stage::kJobRunning: {
      if (now < s.next) return false;
      std::string t = Now();
      bool ok = !f.fails;
      write_status([&](Json& p) {
        Json& st = p["status"];
        st["phase"] = ok ? "Succeeded" : "Failed";
        SetCondition(p, Condition("Ready", false, "PodCompleted"));
        SetCondition(p, Condition("ContainersReady", false, "PodCompleted"));
        st["containerStatuses"] = container_statuses([&](const Json& c, int restarts) {
          Json cs = base_status(c, restarts);
          std::string started = t;
          for (const auto& o : pod["status"].value("containerStatuses", Json::array())) {
            if (o.value("name", "") == c.value("name", "") && o.contains("state") && o["state"].contains("running")) {
              started = o["state"]["running"].value("startedAt", t);
            }
          }
          cs["state"] = {{"terminated",
                          {{"exitCode", ok ? 0 : 1},
                           {"reason", ok ? "Completed" : "Error"},
                           {"startedAt", started},
                           {"finishedAt", t},
                           {"containerID", absl::StrCat("kubesim://", RandomHex(64))}}}};
          cs["imageID"] = absl::StrCat("kubesim://", c.value("image", ""));
          return cs;
        });
      });
      return true;
    }
    default:
      return true;
  }
}

std::string Kubelet::name_list(const Json& spec) {
  std::vector<std::string> names;
  for (const auto& c : spec.value("containers", Json::array())) names.push_back(c.value("name", ""));
  return absl::StrJoin(names, " ");
}

void Kubelet::RecordPodEvent(const ObjectPtr& pod, const std::string& type, const std::string& reason,
                             const std::string& message) {
  api_.RecordEvent(pod->object, type, reason, message, "kubelet");
}

Json NewNode(const std::string& name, int index, int pods) {
  std::string now = Now();
  auto cond = [&](const char* type, const char* status, const char* reason, const char* message) {
    return Json{{"type", type}, {"status", status}, {"lastHeartbeatTime", now}, {"lastTransitionTime", now},
                {"reason", reason}, {"message", message}};
  };
  Json resources = {{"cpu", "8"}, {"memory", "32Gi"}, {"pods", std::to_string(pods)}, {"ephemeral-storage", "100Gi"}};
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/hostname", name},
              {"kubernetes.io/os", "linux"},
              {"kubernetes.io/arch", "amd64"},
              {"beta.kubernetes.io/os", "linux"},
              {"beta.kubernetes.io/arch", "amd64"}}},
            {"annotations", {{"node.alpha.kubernetes.io/ttl", "0"}}}}},
          {"spec", {{"podCIDR", absl::StrCat("10.244.", index, ".0/24")},
                    {"podCIDRs", Json::array({absl::StrCat("10.244.", index, ".0/24")})}}},
          {"status",
           {{"capacity", resources},
            {"allocatable", resources},
            {"conditions",
             Json::array({cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                               "kubelet has sufficient memory available"),
                          cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                          cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                          cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")})},
            {"addresses", Json::array({{{"type", "InternalIP"}, {"address", absl::StrCat("10.0.0.", 10 + index)}},
                                       {{"type", "Hostname"}, {"address", name}}})},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
            {"nodeInfo",
             {{"machineID", RandomHex(32)},
              {"systemUUID", NewUid()},
              {"bootID", NewUid()},
              {"kernelVersion", "6.1.0-kubesim"},
              {"osImage", "Debian GNU/Linux 12 (bookworm)"},
              {"containerRuntimeVersion", "kubesim://1.0.0"},
              {"kubeletVersion", "v1.26.1"},
              {"kubeProxyVersion", "v1.26.1"},
              {"operatingSystem", "linux"},
              {"architecture", "amd64"}}}}}};
}

}  // namespace herd::sim
