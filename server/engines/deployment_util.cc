#include "server/engines/deployment_util.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/engines/engine_util.h"
#include "server/engines/pods.h"

namespace herd::engines {
namespace {

constexpr char kHashLabel[] = "pod-template-hash";

}  // namespace

Json StripHash(Json tmpl) {
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("labels")) tmpl["metadata"]["labels"].erase(kHashLabel);
  return tmpl;
}

int64_t RevisionOf(const Json& obj) {
  std::string r = obj["metadata"].value("annotations", Json::object()).value(kRevisionAnnotation, "0");
  int64_t v = 0;
  return absl::SimpleAtoi(r, &v) ? v : 0;
}

bool IsRecreate(const Json& deployment) {
  return deployment["spec"].value("strategy", Json::object()).value("type", "") == "Recreate";
}

bool HasFastStrategy(const Json& deployment) {
  const Json strategy = deployment["spec"].value("strategy", Json::object());
  const Json ru = strategy.value("rollingUpdate", Json::object());
  return strategy.value("type", "RollingUpdate") == "RollingUpdate" && ru.value("maxSurge", Json()) == Json("100%") &&
         ru.value("maxUnavailable", Json()) == Json(0);
}

absl::Duration ProgressDeadline(const Json& workload, absl::Duration fallback) {
  if (workload.value("kind", "") == "Deployment" || workload["spec"].contains("progressDeadlineSeconds")) {
    int64_t pd = workload["spec"].value("progressDeadlineSeconds", int64_t{600});
    // 2^31-1 is how a Deployment says "no deadline".
    if (pd > 0 && pd < 2147483647) return absl::Seconds(pd);
  }
  return fallback;
}

Json FastRolloutPatch(const Json& deployment, const std::string& op_id) {
  Json patch = {{"metadata", {{"annotations", {{kOperationAnnotation, op_id}}}}}};
  if (IsRecreate(deployment)) return patch;
  const Json annotations = deployment["metadata"].value("annotations", Json::object());
  if (!annotations.contains(kStrategyAnnotation)) {
    patch["metadata"]["annotations"][kStrategyAnnotation] = deployment["spec"].value("strategy", Json::object()).dump();
  }
  patch["spec"]["strategy"] = {{"type", "RollingUpdate"},
                               {"rollingUpdate", {{"maxSurge", "100%"}, {"maxUnavailable", 0}}}};
  return patch;
}

absl::Status RestoreStrategy(ops::EngineEnv& env, const ops::WorkloadName& w) {
  auto wl = env.kube.Get(*w.resource, w.ns, w.name);
  if (!wl.ok()) return wl.status();
  const Json annotations = (*wl)["metadata"].value("annotations", Json::object());
  Json patch = {{"metadata", {{"annotations", {{kOperationAnnotation, nullptr}, {"herd.dev/previous-revision", nullptr}}}}}};
  if (annotations.contains(kStrategyAnnotation) && annotations[kStrategyAnnotation].is_string()) {
    Json original = Json::parse(annotations[kStrategyAnnotation].get<std::string>(), nullptr, false);
    patch["metadata"]["annotations"][kStrategyAnnotation] = nullptr;
    if (original.is_object()) {
      // A merge patch merges maps: name every field so nothing of ours stays.
      Json strategy = {{"type", original.value("type", "RollingUpdate")}, {"rollingUpdate", nullptr}};
      if (original.contains("rollingUpdate")) {
        const Json& ru = original["rollingUpdate"];
        strategy["rollingUpdate"] = {{"maxSurge", ru.value("maxSurge", Json("25%"))},
                                     {"maxUnavailable", ru.value("maxUnavailable", Json("25%"))}};
      }
      patch["spec"]["strategy"] = strategy;
    }
  }
  return env.kube.Patch(*w.resource, w.ns, w.name, kube::PatchType::kMerge, patch.dump()).status();
}

DeploymentPods SplitDeploymentPods(ops::EngineEnv& env, const Json& deployment) {
  DeploymentPods out;
  const std::string ns = deployment["metadata"].value("namespace", "");
  const std::string uid = deployment["metadata"].value("uid", "");
  auto& pods = env.informers.For(kube::kPods, ns);
  auto& rss = env.informers.For(kube::kReplicaSets, ns);
  Json want = StripHash(deployment["spec"]["template"]);
  for (const auto& rs : rss.ByOwner(uid)) {
    bool is_new = StripHash((*rs)["spec"]["template"]) == want;
    const std::string rs_uid = (*rs)["metadata"].value("uid", "");
    for (const auto& p : pods.ByOwner(rs_uid)) {
      (is_new && !PodTerminating(*p) ? out.current : out.old).push_back(p);
    }
  }
  return out;
}

void TallyNewPods(const std::vector<kube::ObjectPtr>& fresh, const ops::EngineSettings& settings, absl::Time now,
                  RolloutObservation* o) {
  o->updated = static_cast<int32_t>(fresh.size());
  for (const auto& p : fresh) {
    if (PodScheduled(*p)) o->scheduled++;
    if (PodStarted(*p)) o->started++;
    if (PodReady(*p)) {
      o->ready++;
    } else {
      o->not_ready.push_back(absl::StrCat(PodName(*p), " (", PodWaitingReason(*p), ")"));
    }
    if (auto problem = PodFailure(*p, settings, now)) o->problems.push_back(*problem);
  }
}

RolloutObservation ObserveDeploymentRollout(ops::EngineEnv& env, const Json& w, absl::Time now,
                                            int64_t min_generation) {
  RolloutObservation o;
  const Json status = w.value("status", Json::object());
  o.desired = w["spec"].value("replicas", 1);
  int64_t generation = w["metadata"].value("generation", int64_t{0});
  if (generation < min_generation) return o;
  o.revision = RevisionOf(w);
  // The status speaks of the template only once the controller has seen
  // it; and a ProgressDeadlineExceeded stays until the new ReplicaSet makes
  // progress, naming the ReplicaSet that timed out: on a rollout back to an
  // existing ReplicaSet (an undo, a fix after a failed rollout) it is the
  // earlier rollout's until it names the template's own ReplicaSet.
  const bool seen = status.value("observedGeneration", int64_t{0}) >= generation;
  std::string new_rs;
  {
    const std::string ns = w["metadata"].value("namespace", "");
    Json want = StripHash(w["spec"]["template"]);
    for (const auto& rs : env.informers.For(kube::kReplicaSets, ns).ByOwner(w["metadata"].value("uid", ""))) {
      if (StripHash((*rs)["spec"]["template"]) == want) new_rs = (*rs)["metadata"].value("name", "");
    }
  }
  for (const auto& c : status.value("conditions", Json::array())) {
    if (seen && !new_rs.empty() && c.value("type", "") == "Progressing" &&
        c.value("reason", "") == "ProgressDeadlineExceeded" &&
        absl::StrContains(c.value("message", ""), absl::StrCat("\"", new_rs, "\""))) {
      o.controller_gave_up = true;
    }
  }
  o.available = status.value("availableReplicas", 0);
  o.observed = seen && status.value("updatedReplicas", 0) == o.desired;
  DeploymentPods pods = SplitDeploymentPods(env, w);
  o.remaining = static_cast<int32_t>(pods.old.size());
  TallyNewPods(pods.current, env.settings, now, &o);
  return o;
}

}  // namespace herd::engines
