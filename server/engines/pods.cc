#include "server/engines/pods.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/k8s/time.h"

namespace herd::engines {
namespace {

const Json* Condition(const Json& pod, const char* type) {
  const Json* status = pod.contains("status") ? &pod["status"] : nullptr;
  if (!status || !status->contains("conditions") || !(*status)["conditions"].is_array()) return nullptr;
  for (const auto& c : (*status)["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

}  // namespace

bool PodReady(const Json& pod) {
  const Json* c = Condition(pod, "Ready");
  return c && c->value("status", "") == "True";
}

const Json& JsonAt(const Json& obj, std::initializer_list<const char*> path) {
  static const Json* empty = new Json(Json::object());
  const Json* j = &obj;
  for (const char* key : path) {
    if (!j->is_object()) return *empty;
    auto it = j->find(key);
    if (it == j->end()) return *empty;
    j = &*it;
  }
  return *j;
}

bool PodTerminating(const Json& pod) { return pod["metadata"].contains("deletionTimestamp"); }

bool PodScheduled(const Json& pod) {
  return pod.contains("spec") && !pod["spec"].value("nodeName", "").empty();
}

std::string PodName(const Json& pod) { return pod["metadata"].value("name", ""); }

bool PodStarted(const Json& pod) {
  const Json& status = JsonAt(pod, {"status"});
  const Json& statuses = JsonAt(status, {"containerStatuses"});
  size_t want = JsonAt(pod["spec"], {"containers"}).size();
  if (statuses.size() < want || want == 0) return false;
  for (const auto& cs : statuses) {
    if (!JsonAt(cs, {"state"}).contains("running")) return false;
  }
  return true;
}

int PodRestarts(const Json& pod) {
  int n = 0;
  for (const auto& cs : JsonAt(pod, {"status", "containerStatuses"})) {
    n += cs.value("restartCount", 0);
  }
  return n;
}

std::optional<v1::PodProblem> PodFailure(const Json& pod, const ops::EngineSettings& settings, absl::Time now) {
  if (PodTerminating(pod)) return std::nullopt;
  const Json& status = JsonAt(pod, {"status"});
  for (const auto& cs : JsonAt(status, {"containerStatuses"})) {
    const Json& state = JsonAt(cs, {"state"});
    std::string waiting = JsonAt(state, {"waiting"}).value("reason", "");
    std::string message = JsonAt(state, {"waiting"}).value("message", "");
    int restarts = cs.value("restartCount", 0);
    v1::PodProblem p;
    p.set_pod(PodName(pod));
    p.set_container(cs.value("name", ""));
    p.set_restarts(restarts);
    if (waiting == "CrashLoopBackOff" ||
        (restarts >= settings.crash_loop_restarts && !cs.value("ready", false))) {
      p.set_reason("CrashLoopBackOff");
      std::string last = JsonAt(cs, {"lastState", "terminated"}).value("reason", "");
      p.set_message(message.empty() ? absl::StrCat("restarted ", restarts, " times", last.empty() ? "" : ", last: " + last)
                                    : message);
      return p;
    }
    if (waiting == "ImagePullBackOff" || waiting == "InvalidImageName" || waiting == "ErrImageNeverPull") {
      p.set_reason(waiting);
      p.set_message(message);
      return p;
    }
    if (waiting == "ErrImagePull") {
      // One failed pull may be a registry hiccup; one that persists is not.
      auto started = k8s::ParseTime(status.value("startTime", ""));
      if (started.ok() && now - *started >= settings.image_pull_grace) {
        p.set_reason("ErrImagePull");
        p.set_message(message);
        return p;
      }
    }
  }
  if (const Json* sched = Condition(pod, "PodScheduled")) {
    if (sched->value("status", "") == "False" && sched->value("reason", "") == "Unschedulable") {
      auto since = k8s::ParseTime(sched->value("lastTransitionTime", ""));
      if (since.ok() && now - *since >= settings.unschedulable_grace) {
        v1::PodProblem p;
        p.set_pod(PodName(pod));
        p.set_reason("Unschedulable");
        p.set_message(sched->value("message", ""));
        return p;
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> CrashLogTail(kube::KubeClient& kube, const std::string& ns, const v1::PodProblem& problem,
                                      int lines) {
  kube::LogOptions o{.container = problem.container(), .previous = true, .tail_lines = lines, .limit_bytes = 16384};
  auto log = kube.Logs(ns, problem.pod(), o);
  if (!log.ok()) {
    o.previous = false;
    log = kube.Logs(ns, problem.pod(), o);
  }
  std::vector<std::string> out;
  if (!log.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*log, '\n')) out.emplace_back(line);
  while (!out.empty() && out.back().empty()) out.pop_back();
  if (out.size() > static_cast<size_t>(lines)) out.erase(out.begin(), out.end() - lines);
  return out;
}

std::string TellingLine(const std::vector<std::string>& tail) {
  for (const auto& line : tail) {
    std::string lower = absl::AsciiStrToLower(line);
    for (const char* word : {"error", "fatal", "panic", "exception"}) {
      if (absl::StrContains(lower, word)) return line;
    }
  }
  for (auto it = tail.rbegin(); it != tail.rend(); ++it) {
    if (!absl::StripAsciiWhitespace(*it).empty()) return *it;
  }
  return "";
}

std::string PodWaitingReason(const Json& pod) {
  if (PodTerminating(pod)) return "Terminating";
  if (PodReady(pod)) return "";
  const Json& status = JsonAt(pod, {"status"});
  for (const auto& cs : JsonAt(status, {"containerStatuses"})) {
    std::string w = JsonAt(cs, {"state", "waiting"}).value("reason", "");
    if (!w.empty()) return w;
  }
  if (const Json* sched = Condition(pod, "PodScheduled"); sched && sched->value("status", "") == "False") {
    return sched->value("reason", "Pending");
  }
  if (!PodScheduled(pod)) return "Pending";
  if (PodStarted(pod)) return "NotReady";
  return status.value("phase", "Pending");
}

v1::FailureReason FailureReasonOf(const std::string& r) {
  if (r == "CrashLoopBackOff") return v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF;
  if (r == "ImagePullBackOff" || r == "ErrImagePull" || r == "InvalidImageName" || r == "ErrImageNeverPull") {
    return v1::FAILURE_REASON_IMAGE_PULL_BACK_OFF;
  }
  if (r == "Unschedulable") return v1::FAILURE_REASON_UNSCHEDULABLE;
  if (r == "NotReady") return v1::FAILURE_REASON_READINESS_FAILING;
  return v1::FAILURE_REASON_UNSPECIFIED;
}

absl::Duration TypicalStart(const std::vector<kube::ObjectPtr>& pods) {
  std::vector<absl::Duration> starts;
  for (const auto& p : pods) {
    auto created = k8s::ParseTime((*p)["metadata"].value("creationTimestamp", ""));
    if (!created.ok()) continue;
    for (const auto& c : JsonAt(*p, {"status", "conditions"})) {
      if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
        auto t = k8s::ParseTime(c.value("lastTransitionTime", ""));
        if (t.ok() && *t >= *created) starts.push_back(*t - *created);
      }
    }
  }
  if (starts.empty()) return absl::Seconds(30);
  std::sort(starts.begin(), starts.end());
  return std::max(starts[starts.size() / 2], absl::Seconds(1));
}

absl::Time PodCreated(const Json& pod) {
  auto t = k8s::ParseTime(pod["metadata"].value("creationTimestamp", ""));
  return t.ok() ? *t : absl::InfinitePast();
}

int64_t PodGracePeriod(const Json& pod) {
  return JsonAt(pod, {"spec"}).value("terminationGracePeriodSeconds", int64_t{30});
}

bool PodFinished(const Json& pod) {
  std::string phase = JsonAt(pod, {"status"}).value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

int PodOrdinal(const std::string& set_name, const std::string& pod_name) {
  if (!absl::StartsWith(pod_name, set_name + "-")) return -1;
  int n = -1;
  return absl::SimpleAtoi(pod_name.substr(set_name.size() + 1), &n) && n >= 0 ? n : -1;
}

}  // namespace herd::engines
