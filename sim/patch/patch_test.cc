#include "sim/patch/patch.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::sim {
namespace {

using json = nlohmann::json;

json J(const char* text) { return json::parse(text); }

json Smp(const json& original, const json& patch, const char* kind) {
  absl::StatusOr<json> out = ApplyStrategicMergePatch(original, patch, kind);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : json();
}

std::string SmpError(const json& original, const json& patch, const char* kind) {
  absl::StatusOr<json> out = ApplyStrategicMergePatch(original, patch, kind);
  if (out.ok()) return "applied: " + out->dump();
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(out.status().message());
}

// Wraps a pod spec into a Deployment, the shape most patches below touch.
json Deployment(const json& pod_spec) {
  json d = J(R"({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                 "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web"}}}}})");
  d["spec"]["template"]["spec"] = pod_spec;
  return d;
}

json PodSpecPatch(const json& pod_spec_patch) { return {{"spec", {{"template", {{"spec", pod_spec_patch}}}}}}; }

json PodSpecOf(const json& deployment) { return deployment["spec"]["template"]["spec"]; }

// --- Strategic merge: what kubectl sends. ---

// Captured from a real v1.26 API server: the Deployment just before
// `kubectl set image` (GET after its first rollout), without managedFields.
constexpr char kDeploymentBeforeSetImage[] = R"({
  "kind": "Deployment", "apiVersion": "apps/v1",
  "metadata": {
    "name": "web", "namespace": "ref", "uid": "ad536c2e-183d-4d0f-85e2-fd9460d5ff8b",
    "resourceVersion": "4730", "generation": 1, "creationTimestamp": "2026-11-25T10:58:32Z",
    "labels": {"app": "web"},
    "annotations": {"deployment.kubernetes.io/revision": "1"}
  },
  "spec": {
    "replicas": 3,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
      "spec": {
        "containers": [{
          "name": "web", "image": "web:1", "resources": {},
          "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
          "imagePullPolicy": "IfNotPresent"
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "securityContext": {}, "schedulerName": "default-scheduler"
      }
    },
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
    "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600
  },
  "status": {
    "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
    "conditions": [
      {"type": "Available", "status": "True", "lastUpdateTime": "2026-11-25T10:58:37Z",
       "lastTransitionTime": "2026-11-25T10:58:37Z", "reason": "MinimumReplicasAvailable",
       "message": "Deployment has minimum availability."},
      {"type": "Progressing", "status": "True", "lastUpdateTime": "2026-11-25T10:58:37Z",
       "lastTransitionTime": "2026-11-25T10:58:32Z", "reason": "NewReplicaSetAvailable",
       "message": "ReplicaSet \"web-8555df4846\" has successfully progressed."}
    ]
  }
})";

// Its response to the strategic merge patch that `kubectl set image
// deployment/web web=web:2` sends, without managedFields.
constexpr char kDeploymentAfterSetImage[] = R"({
  "kind": "Deployment", "apiVersion": "apps/v1",
  "metadata": {
    "name": "web", "namespace": "ref", "uid": "ad536c2e-183d-4d0f-85e2-fd9460d5ff8b",
    "resourceVersion": "4731", "generation": 2, "creationTimestamp": "2026-11-25T10:58:32Z",
    "labels": {"app": "web"},
    "annotations": {"deployment.kubernetes.io/revision": "1"}
  },
  "spec": {
    "replicas": 3,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
      "spec": {
        "containers": [{
          "name": "web", "image": "web:2", "resources": {},
          "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
          "imagePullPolicy": "IfNotPresent"
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "securityContext": {}, "schedulerName": "default-scheduler"
      }
    },
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
    "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600
  },
  "status": {
    "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
    "conditions": [
      {"type": "Available", "status": "True", "lastUpdateTime": "2026-11-25T10:58:37Z",
       "lastTransitionTime": "2026-11-25T10:58:37Z", "reason": "MinimumReplicasAvailable",
       "message": "Deployment has minimum availability."},
      {"type": "Progressing", "status": "True", "lastUpdateTime": "2026-11-25T10:58:37Z",
       "lastTransitionTime": "2026-11-25T10:58:32Z", "reason": "NewReplicaSetAvailable",
       "message": "ReplicaSet \"web-8555df4846\" has successfully progressed."}
    ]
  }
})";

TEST(StrategicMergePatchTest, ReproducesKubectlSetImage) {
  json out = Smp(J(kDeploymentBeforeSetImage),
                 J(R"({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}})"), "Deployment");
  // The server, not the patch, bumps these.
  out["metadata"]["resourceVersion"] = "4731";
  out["metadata"]["generation"] = 2;
  EXPECT_EQ(out, J(kDeploymentAfterSetImage));
}

TEST(StrategicMergePatchTest, MergesContainersByName) {
  json d = Deployment(J(R"({"containers": [
      {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}]},
      {"name": "sidecar", "image": "proxy:1"}]})"));
  json out = Smp(d, PodSpecPatch(J(R"({"containers": [{"name": "sidecar", "image": "proxy:2"}]})")), "Deployment");
  EXPECT_EQ(PodSpecOf(out), J(R"({"containers": [
      {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}]},
      {"name": "sidecar", "image": "proxy:2"}]})"));
  EXPECT_EQ(out["spec"]["replicas"], 1);
  EXPECT_EQ(out["spec"]["template"]["metadata"], J(R"({"labels": {"app": "web"}})"));
}

TEST(StrategicMergePatchTest, AppliesAKubectlApplyPatchWithSetElementOrder) {
  // What kubectl apply sends when the manifest gains a container between two
  // and changes an image: the order list names every container.
  json d = Deployment(J(R"({"containers": [
      {"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent"},
      {"name": "sidecar", "image": "proxy:1"}]})"));
  json patch = PodSpecPatch(J(R"({
      "$setElementOrder/containers": [{"name": "web"}, {"name": "metrics"}, {"name": "sidecar"}],
      "containers": [{"name": "web", "image": "web:2"}, {"name": "metrics", "image": "metrics:1"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({"containers": [
      {"name": "web", "image": "web:2", "imagePullPolicy": "IfNotPresent"},
      {"name": "metrics", "image": "metrics:1"},
      {"name": "sidecar", "image": "proxy:1"}]})"));
}

TEST(StrategicMergePatchTest, SetElementOrderReordersWithoutOtherChanges) {
  json d = Deployment(J(R"({"containers": [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]})"));
  json patch = PodSpecPatch(J(R"({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")),
            J(R"({"containers": [{"name": "b", "image": "b"}, {"name": "a", "image": "a"}]})"));
}

TEST(StrategicMergePatchTest, SetElementOrderIgnoresNamesNotInTheList) {
  json d = Deployment(J(R"({"containers": [{"name": "a"}, {"name": "c"}]})"));
  json patch = PodSpecPatch(J(R"({
      "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
      "containers": [{"name": "c", "image": "c"}, {"name": "a", "image": "a"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")),
            J(R"({"containers": [{"name": "c", "image": "c"}, {"name": "a", "image": "a"}]})"));
}

TEST(StrategicMergePatchTest, KubectlApplyRemovesAContainer) {
  json d = Deployment(J(R"({"containers": [{"name": "web", "image": "web:1"}, {"name": "sidecar"}]})"));
  json patch = PodSpecPatch(J(R"({
      "$setElementOrder/containers": [{"name": "web"}],
      "containers": [{"$patch": "delete", "name": "sidecar"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({"containers": [{"name": "web", "image": "web:1"}]})"));
}

TEST(StrategicMergePatchTest, DeletesAContainerWithPatchDelete) {
  json d = Deployment(J(R"({"containers": [
      {"name": "init-like", "image": "x"}, {"name": "web", "image": "web:1"}, {"name": "sidecar", "image": "p"}]})"));
  json out = Smp(d, PodSpecPatch(J(R"({"containers": [{"name": "web", "$patch": "delete"}]})")), "Deployment");
  EXPECT_EQ(PodSpecOf(out), J(R"({"containers": [{"name": "init-like", "image": "x"}, {"name": "sidecar", "image": "p"}]})"));
}

TEST(StrategicMergePatchTest, PatchDeleteRemovesEveryDuplicate) {
  json d = Deployment(J(R"({"containers": [{"name": "web", "env": [
      {"name": "A", "value": "1"}, {"name": "A", "value": "2"}, {"name": "B", "value": "3"}]}]})"));
  json patch = PodSpecPatch(J(R"({"containers": [{"name": "web", "env": [{"name": "A", "$patch": "delete"}]}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")),
            J(R"({"containers": [{"name": "web", "env": [{"name": "B", "value": "3"}]}]})"));
}

TEST(StrategicMergePatchTest, MergesEnvByName) {
  json d = Deployment(J(R"({"containers": [{"name": "web", "env": [
      {"name": "A", "value": "1"},
      {"name": "B", "value": "2"},
      {"name": "C", "value": "3"}]}]})"));
  // B changes, C switches from value to valueFrom, D is new.
  json patch = PodSpecPatch(J(R"({"containers": [{"name": "web", "env": [
      {"name": "B", "value": "20"},
      {"name": "C", "value": null, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
      {"name": "D", "value": "4"}]}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({"containers": [{"name": "web", "env": [
      {"name": "A", "value": "1"},
      {"name": "B", "value": "20"},
      {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
      {"name": "D", "value": "4"}]}]})"));
}

TEST(StrategicMergePatchTest, PutsALoneNewItemFirstAsTheApiServerDoes) {
  // Without $setElementOrder the API server emits patch items as soon as
  // their position is unknown, so one new env var lands before the others.
  json d = Deployment(J(R"({"containers": [{"name": "web", "env": [{"name": "A", "value": "1"}, {"name": "B"}]}]})"));
  json patch = PodSpecPatch(J(R"({"containers": [{"name": "web", "env": [{"name": "NEW", "value": "x"}]}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")),
            J(R"({"containers": [{"name": "web", "env": [{"name": "NEW", "value": "x"}, {"name": "A", "value": "1"},
                 {"name": "B"}]}]})"));
}

TEST(StrategicMergePatchTest, FollowsThePatchOrderForItemsItNames) {
  // Upstream's "preserve the order from the patch in a merging list" cases.
  json d = Deployment(J(R"({"containers": [{"name": "1"}, {"name": "2", "image": "b"}, {"name": "3"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, PodSpecPatch(J(R"({"containers": [
                {"name": "3", "image": "c"}, {"name": "1", "image": "a"}, {"name": "2", "args": ["x"]}]})")),
                          "Deployment")),
            J(R"({"containers": [{"name": "3", "image": "c"}, {"name": "1", "image": "a"},
                 {"name": "2", "image": "b", "args": ["x"]}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, PodSpecPatch(J(R"({"containers": [{"name": "3", "image": "c"}, {"name": "1", "image": "a"}]})")),
                          "Deployment")),
            J(R"({"containers": [{"name": "2", "image": "b"}, {"name": "3", "image": "c"}, {"name": "1", "image": "a"}]})"));
}

TEST(StrategicMergePatchTest, MergesPortsByNumericContainerPort) {
  json d = Deployment(J(R"({"containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "http"}]}]})"));
  json patch = PodSpecPatch(J(R"({"containers": [{"name": "web", "ports": [
      {"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "name": "https"}]}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({"containers": [{"name": "web", "ports": [
      {"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443, "name": "https"}]}]})"));
}

TEST(StrategicMergePatchTest, MergesVolumeMountsByMountPathAndVolumesByName) {
  json d = Deployment(J(R"({
      "containers": [{"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
      "volumes": [{"name": "data", "emptyDir": {}}]})"));
  json patch = PodSpecPatch(J(R"({
      "containers": [{"name": "web", "volumeMounts": [{"mountPath": "/data", "readOnly": true}]}],
      "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({
      "containers": [{"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}]}],
      "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "data", "emptyDir": {}}]})"));
}

TEST(StrategicMergePatchTest, RetainKeysSwitchesAVolumeSource) {
  // kubectl apply changing a volume from emptyDir to configMap.
  json d = Deployment(J(R"({"volumes": [{"name": "data", "emptyDir": {}}]})"));
  json patch = PodSpecPatch(J(R"({
      "$setElementOrder/volumes": [{"name": "data"}],
      "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cfg"}, "name": "data"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({"volumes": [{"name": "data", "configMap": {"name": "cfg"}}]})"));
}

TEST(StrategicMergePatchTest, RetainKeysSwitchesTheDeploymentStrategy) {
  json d = J(R"({"spec": {"strategy": {"type": "RollingUpdate",
                                       "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}})");
  EXPECT_EQ(Smp(d, J(R"({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})"), "Deployment"),
            J(R"({"spec": {"strategy": {"type": "Recreate"}}})"));
  // Without the directive the strategy merges.
  EXPECT_EQ(Smp(d, J(R"({"spec": {"strategy": {"type": "Recreate"}}})"), "Deployment"),
            J(R"({"spec": {"strategy": {"type": "Recreate",
                                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}})"));
}

TEST(StrategicMergePatchTest, RetainKeysMustNameEverySetField) {
  json d = J(R"({"spec": {"strategy": {"type": "RollingUpdate"}}})");
  EXPECT_EQ(SmpError(d, J(R"({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                                     "rollingUpdate": {}}}})"),
                     "Deployment"),
            "invalid patch format of retainKeys");
  EXPECT_EQ(SmpError(d, J(R"({"spec": {"strategy": {"$retainKeys": "type"}}})"), "Deployment"),
            "invalid patch format of retainKeys");
  // A null for an unlisted field is allowed: it deletes.
  EXPECT_EQ(Smp(d, J(R"({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}})"),
                "Deployment"),
            J(R"({"spec": {"strategy": {"type": "Recreate"}}})"));
}

TEST(StrategicMergePatchTest, NullDeletesAField) {
  json d = J(R"({"metadata": {"name": "web", "labels": {"app": "web", "canary": "true"}},
                 "spec": {"replicas": 3, "progressDeadlineSeconds": 600}})");
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"labels": {"canary": null}}, "spec": {"progressDeadlineSeconds": null,
                                                                              "absent": null}})"),
                "Deployment"),
            J(R"({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"replicas": 3}})"));
}

TEST(StrategicMergePatchTest, ReplacesListsWithoutAStrategy) {
  json d = Deployment(J(R"({
      "tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}],
      "containers": [{"name": "web", "args": ["--a", "--b"], "envFrom": [{"configMapRef": {"name": "x"}}]}]})"));
  json patch = PodSpecPatch(J(R"({
      "tolerations": [{"key": "c", "operator": "Exists"}],
      "containers": [{"name": "web", "args": ["--c"], "envFrom": [{"secretRef": {"name": "y"}}]}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({
      "tolerations": [{"key": "c", "operator": "Exists"}],
      "containers": [{"name": "web", "args": ["--c"], "envFrom": [{"secretRef": {"name": "y"}}]}]})"));
}

TEST(StrategicMergePatchTest, UnionsMergeListsOfPrimitives) {
  json d = J(R"({"metadata": {"name": "x", "finalizers": ["a", "b"]}})");
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"finalizers": ["b", "c"]}})"), "ConfigMap"),
            J(R"({"metadata": {"name": "x", "finalizers": ["a", "b", "c"]}})"));
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"finalizers": ["c"]}})"), "ConfigMap"),
            J(R"({"metadata": {"name": "x", "finalizers": ["c", "a", "b"]}})"));
}

TEST(StrategicMergePatchTest, DeletesFromPrimitiveLists) {
  json d = J(R"({"metadata": {"name": "x", "finalizers": ["a", "b", "c", "b"]}})");
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zzz"]}})"), "Pod"),
            J(R"({"metadata": {"name": "x", "finalizers": ["a", "c"]}})"));
  // As kubectl apply sends it, with the order of what remains.
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"$setElementOrder/finalizers": ["c", "a"],
                                      "$deleteFromPrimitiveList/finalizers": ["b"]}})"),
                "Pod"),
            J(R"({"metadata": {"name": "x", "finalizers": ["c", "a"]}})"));
  // Nothing to delete from: nothing appears.
  EXPECT_EQ(Smp(J(R"({"metadata": {"name": "x"}})"), J(R"({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}})"),
                "Pod"),
            J(R"({"metadata": {"name": "x"}})"));
}

TEST(StrategicMergePatchTest, MergesOwnerReferencesByUidForEveryKind) {
  json cm = J(R"({"metadata": {"name": "x", "ownerReferences": [
      {"uid": "u1", "kind": "Deployment", "name": "web"}, {"uid": "u2", "kind": "Job", "name": "j"}]}})");
  EXPECT_EQ(Smp(cm, J(R"({"metadata": {"ownerReferences": [{"uid": "u1", "controller": true}]}})"), "ConfigMap"),
            J(R"({"metadata": {"name": "x", "ownerReferences": [
                {"uid": "u1", "kind": "Deployment", "name": "web", "controller": true},
                {"uid": "u2", "kind": "Job", "name": "j"}]}})"));
}

TEST(StrategicMergePatchTest, MergesPodStatusConditionsByType) {
  json pod = J(R"({"status": {"phase": "Pending", "conditions": [
      {"type": "Initialized", "status": "True"},
      {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
      {"type": "PodScheduled", "status": "True"}]}})");
  EXPECT_EQ(Smp(pod, J(R"({"status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "reason": null}]}})"),
                "Pod"),
            J(R"({"status": {"phase": "Running", "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "PodScheduled", "status": "True"}]}})"));
}

TEST(StrategicMergePatchTest, KnowsTheNodeTags) {
  json node = J(R"({"spec": {"podCIDRs": ["10.0.0.0/24"], "taints": [{"key": "a", "effect": "NoSchedule"}]},
                    "status": {"addresses": [{"type": "InternalIP", "address": "10.1.1.1"}]}})");
  json patch = J(R"({"spec": {"podCIDRs": ["fd00::/64"], "taints": [{"key": "b", "effect": "NoExecute"}],
                              "unschedulable": true},
                     "status": {"addresses": [{"type": "Hostname", "address": "n1"}]}})");
  EXPECT_EQ(Smp(node, patch, "Node"),
            J(R"({"spec": {"podCIDRs": ["fd00::/64", "10.0.0.0/24"], "taints": [{"key": "b", "effect": "NoExecute"}],
                           "unschedulable": true},
                  "status": {"addresses": [{"type": "Hostname", "address": "n1"},
                                           {"type": "InternalIP", "address": "10.1.1.1"}]}})"));
}

TEST(StrategicMergePatchTest, ReachesContainersThroughACronJobsJobTemplate) {
  json cj = J(R"({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
      "containers": [{"name": "job", "image": "j:1"}, {"name": "log", "image": "l:1"}]}}}}}})");
  json patch = J(R"({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
      "containers": [{"name": "job", "image": "j:2"}]}}}}}})");
  EXPECT_EQ(Smp(cj, patch, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
            J(R"([{"name": "job", "image": "j:2"}, {"name": "log", "image": "l:1"}])"));
}

TEST(StrategicMergePatchTest, ReplacesAPodDisruptionBudgetSelector) {
  json pdb = J(R"({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web", "tier": "x"}}}})");
  json patch = J(R"({"spec": {"selector": {"matchLabels": {"app": "api"}}}})");
  EXPECT_EQ(Smp(pdb, patch, "PodDisruptionBudget"),
            J(R"({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "api"}}}})"));
  // A Deployment's selector has no such tag and merges.
  EXPECT_EQ(Smp(pdb, patch, "Deployment"),
            J(R"({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "api", "tier": "x"}}}})"));
}

TEST(StrategicMergePatchTest, PatchReplaceReplacesAMap) {
  json d = J(R"({"metadata": {"labels": {"app": "web", "tier": "x"}, "name": "web"}})");
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"labels": {"$patch": "replace", "app": "api"}}})"), "Deployment"),
            J(R"({"metadata": {"labels": {"app": "api"}, "name": "web"}})"));
}

TEST(StrategicMergePatchTest, PatchDeleteEmptiesAMap) {
  json d = J(R"({"metadata": {"annotations": {"a": "1", "b": "2"}, "name": "web"}})");
  EXPECT_EQ(Smp(d, J(R"({"metadata": {"annotations": {"$patch": "delete"}}})"), "Deployment"),
            J(R"({"metadata": {"annotations": {}, "name": "web"}})"));
}

TEST(StrategicMergePatchTest, PatchReplaceReplacesAMergeList) {
  json d = Deployment(J(R"({"containers": [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, PodSpecPatch(J(R"({"containers": [{"name": "c", "image": "c"}, {"$patch": "replace"}]})")),
                          "Deployment")),
            J(R"({"containers": [{"name": "c", "image": "c"}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, PodSpecPatch(J(R"({"containers": [{"$patch": "replace"}]})")), "Deployment")),
            J(R"({"containers": []})"));
}

TEST(StrategicMergePatchTest, RejectsPatchMergeLikeTheApiServer) {
  json d = Deployment(J(R"({"containers": [{"name": "a"}]})"));
  EXPECT_EQ(SmpError(d, PodSpecPatch(J(R"({"containers": [{"$patch": "merge"}]})")), "Deployment"),
            "merging lists cannot yet be specified in the patch");
  EXPECT_EQ(SmpError(d, J(R"({"metadata": {"$patch": "merge", "a": "b"}})"), "Deployment"),
            R"(unknown patch type: merge in map: {"$patch":"merge","a":"b"})");
  EXPECT_EQ(SmpError(d, PodSpecPatch(J(R"({"containers": [{"name": "a", "$patch": "bogus"}]})")), "Deployment"),
            R"(unknown patch type: bogus in map: {"$patch":"bogus","name":"a"})");
}

TEST(StrategicMergePatchTest, RequiresTheMergeKey) {
  json d = Deployment(J(R"({"containers": [{"name": "a"}]})"));
  EXPECT_EQ(SmpError(d, PodSpecPatch(J(R"({"containers": [{"image": "x"}]})")), "Deployment"),
            R"(map: {"image":"x"} does not contain declared merge key: name)");
  EXPECT_EQ(SmpError(d, PodSpecPatch(J(R"({"containers": [{"$patch": "delete"}]})")), "Deployment"),
            R"(map: {"$patch":"delete"} does not contain declared merge key: name)");
}

TEST(StrategicMergePatchTest, ChecksThePatchAgainstSetElementOrder) {
  json d = Deployment(J(R"({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})"));
  json patch = PodSpecPatch(J(R"({
      "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
      "containers": [{"name": "c", "image": "c:2"}, {"name": "a", "image": "a:2"}]})"));
  EXPECT_EQ(SmpError(d, patch, "Deployment"),
            "The order in patch list:\n"
            R"([{"image":"c:2","name":"c"},{"image":"a:2","name":"a"}])"
            "\n doesn't match $setElementOrder list:\n"
            R"([{"name":"a"},{"name":"b"},{"name":"c"}])"
            "\n");
}

TEST(StrategicMergePatchTest, RejectsMalformedDirectives) {
  json d = J(R"({"metadata": {"finalizers": ["a"]}})");
  EXPECT_EQ(SmpError(d, J(R"({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}})"), "Pod"),
            "invalid patch format of primitive list");
  EXPECT_EQ(SmpError(d, J(R"({"metadata": {"$setElementOrderX/finalizers": ["a"]}})"), "Pod"),
            "invalid patch format of setElementOrder list");
  EXPECT_EQ(SmpError(d, J(R"({"metadata": {"$setElementOrder/finalizers": "a"}})"), "Pod"),
            "expected a []interface {}, but received a string");
  EXPECT_EQ(SmpError(d, J(R"({"metadata": {"finalizers": [1]}})"), "Pod"),
            R"(list element types are not identical: [["a"],[1]])");
  EXPECT_EQ(SmpError(J(R"({"spec": {"podCIDRs": [["a"]]}})"), J(R"({"spec": {"podCIDRs": [["b"]]}})"), "Node"),
            "lists of lists are not supported");
}

TEST(StrategicMergePatchTest, NewValuesComeOutAsTheServerStoresThem) {
  // Nothing to merge with, so nulls go and directives apply.
  json d = Deployment(J(R"({"containers": [{"name": "web"}]})"));
  json patch = PodSpecPatch(J(R"({
      "containers": [{"name": "new", "image": "i", "command": null,
                      "env": [{"name": "A", "value": "1"}, {"name": "B", "$patch": "delete"}]}],
      "affinity": {"nodeAffinity": null, "podAffinity": {"$patch": "replace", "x": 1}},
      "tolerations": [{"key": "k", "value": null}]})"));
  EXPECT_EQ(PodSpecOf(Smp(d, patch, "Deployment")), J(R"({
      "containers": [{"name": "new", "image": "i", "env": [{"name": "A", "value": "1"}]}, {"name": "web"}],
      "affinity": {"podAffinity": {"x": 1}},
      "tolerations": [{"key": "k"}]})"));
}

TEST(StrategicMergePatchTest, ReplacesAValueOfAnotherType) {
  json d = J(R"({"spec": {"a": "text", "b": {"x": 1}, "c": [1], "d": null}})");
  EXPECT_EQ(Smp(d, J(R"({"spec": {"a": {"y": 2, "z": null}, "b": [1], "c": {"k": "v"}, "d": {"e": 1}}})"), "Deployment"),
            J(R"({"spec": {"a": {"y": 2}, "b": [1], "c": {"k": "v"}, "d": {"e": 1}}})"));
}

TEST(StrategicMergePatchTest, KindsWithoutMetadataMergeLikeAMergePatch) {
  json obj = J(R"({"spec": {"items": [{"name": "a"}, {"name": "b"}], "m": {"a": 1, "b": 2}}})");
  EXPECT_EQ(Smp(obj, J(R"({"spec": {"items": [{"name": "c"}], "m": {"a": null, "c": 3}}})"), "Widget"),
            J(R"({"spec": {"items": [{"name": "c"}], "m": {"b": 2, "c": 3}}})"));
  // Directives are still understood.
  EXPECT_EQ(Smp(obj, J(R"({"spec": {"m": {"$patch": "replace", "z": 26}}})"), "Widget"),
            J(R"({"spec": {"items": [{"name": "a"}, {"name": "b"}], "m": {"z": 26}}})"));
  EXPECT_EQ(Smp(obj, J(R"({"spec": {"$retainKeys": ["m"], "m": {"a": 0}}})"), "Widget"),
            J(R"({"spec": {"m": {"a": 0, "b": 2}}})"));
  EXPECT_EQ(Smp(J(R"({"list": ["a", "b", "c"]})"), J(R"({"$deleteFromPrimitiveList/list": ["b"]})"), "Widget"),
            J(R"({"list": ["a", "c"]})"));
}

TEST(StrategicMergePatchTest, UnknownFieldsOfKnownKindsHaveNoMetadata) {
  json d = J(R"({"spec": {"extra": [{"name": "a", "v": 1}]}})");
  EXPECT_EQ(Smp(d, J(R"({"spec": {"extra": [{"name": "a", "w": 2}]}})"), "Deployment"),
            J(R"({"spec": {"extra": [{"name": "a", "w": 2}]}})"));
}

TEST(StrategicMergePatchTest, HandlesTopLevelDirectivesAndEmptyPatches) {
  json d = J(R"({"kind": "ConfigMap", "data": {"a": "1"}})");
  EXPECT_EQ(Smp(d, json(nullptr), "ConfigMap"), d);
  EXPECT_EQ(Smp(d, json::object(), "ConfigMap"), d);
  EXPECT_EQ(Smp(d, J(R"({"$patch": "replace", "kind": "ConfigMap", "data": {"b": "2"}})"), "ConfigMap"),
            J(R"({"kind": "ConfigMap", "data": {"b": "2"}})"));
  EXPECT_EQ(SmpError(d, J(R"([{"op": "add"}])"), "ConfigMap"),
            "json: cannot unmarshal array into Go value of type map[string]interface {}");
  EXPECT_EQ(SmpError(d, json("x"), "ConfigMap"),
            "json: cannot unmarshal string into Go value of type map[string]interface {}");
}

TEST(StrategicMergePatchTest, MergesWorkloadStatusConditionsByType) {
  for (const char* kind : {"Deployment", "ReplicaSet", "StatefulSet", "Job", "Namespace", "PodDisruptionBudget",
                           "HorizontalPodAutoscaler", "Node"}) {
    json obj = J(R"({"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "B", "status": "False"}]}})");
    EXPECT_EQ(Smp(obj, J(R"({"status": {"conditions": [{"type": "B", "status": "True"}]}})"), kind),
              J(R"({"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "B", "status": "True"}]}})"))
        << kind;
  }
}

TEST(StrategicMergePatchTest, MergesPodSpecListsOfEveryWorkload) {
  for (const char* kind : {"ReplicaSet", "StatefulSet", "Job"}) {
    json obj = Deployment(J(R"({"initContainers": [{"name": "i", "image": "i:1"}],
                                "imagePullSecrets": [{"name": "s1"}],
                                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}]})"));
    json patch = PodSpecPatch(J(R"({"initContainers": [{"name": "i", "image": "i:2"}],
                                    "imagePullSecrets": [{"name": "s1"}],
                                    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}]})"));
    EXPECT_EQ(PodSpecOf(Smp(obj, patch, kind)), J(R"({"initContainers": [{"name": "i", "image": "i:2"}],
                                                      "imagePullSecrets": [{"name": "s1"}],
                                                      "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}]})"))
        << kind;
  }
}

TEST(StrategicMergePatchTest, LeavesItsInputsUntouched) {
  const json d = Deployment(J(R"({"containers": [{"name": "web", "image": "web:1"}]})"));
  const json patch = PodSpecPatch(J(R"({"containers": [{"name": "web", "$patch": "delete"}]})"));
  const json d_copy = d, patch_copy = patch;
  Smp(d, patch, "Deployment");
  EXPECT_EQ(d, d_copy);
  EXPECT_EQ(patch, patch_copy);
}

// --- JSON merge patch. ---

json MergePatch(const json& original, const json& patch) {
  absl::StatusOr<json> out = ApplyMergePatch(original, patch);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : json();
}

TEST(MergePatchTest, FollowsTheRfc7386Examples) {
  struct Case {
    const char* original;
    const char* patch;
    const char* want;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) EXPECT_EQ(MergePatch(J(c.original), J(c.patch)), J(c.want)) << c.patch;
}

TEST(MergePatchTest, ReplacesListsThatAStrategicPatchWouldMerge) {
  json d = Deployment(J(R"({"containers": [{"name": "web", "image": "web:1"}, {"name": "sidecar"}]})"));
  json out = MergePatch(d, PodSpecPatch(J(R"({"containers": [{"name": "web", "image": "web:2"}]})")));
  EXPECT_EQ(PodSpecOf(out), J(R"({"containers": [{"name": "web", "image": "web:2"}]})"));
  EXPECT_EQ(out["spec"]["replicas"], 1);
}

TEST(MergePatchTest, KeepsNullsInsideLists) {
  EXPECT_EQ(MergePatch(J(R"({})"), J(R"({"a": [null, {"b": null}]})")), J(R"({"a": [null, {"b": null}]})"));
}

TEST(MergePatchTest, RequiresAnObjectPatch) {
  for (const char* patch : {"null", "[1]", "\"x\"", "3"}) {
    absl::StatusOr<json> out = ApplyMergePatch(J(R"({"a": 1})"), J(patch));
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << patch;
  }
  EXPECT_EQ(ApplyMergePatch(J("{}"), J("[1]")).status().message(), "invalid merge patch: want a JSON object, got array");
}

// --- JSON patch. ---

json JsonPatch(const json& original, const char* patch) {
  absl::StatusOr<json> out = ApplyJsonPatch(original, J(patch));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : json();
}

std::string JsonPatchError(const json& original, const char* patch) {
  absl::StatusOr<json> out = ApplyJsonPatch(original, J(patch));
  if (out.ok()) return "applied: " + out->dump();
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(out.status().message());
}

TEST(JsonPatchTest, AppliesAllSixOperations) {
  json doc = J(R"({"spec": {"replicas": 1, "args": ["a", "c"], "old": "x"}, "status": {}})");
  EXPECT_EQ(JsonPatch(doc, R"([
      {"op": "test", "path": "/spec/replicas", "value": 1},
      {"op": "replace", "path": "/spec/replicas", "value": 3},
      {"op": "add", "path": "/spec/args/1", "value": "b"},
      {"op": "add", "path": "/spec/args/-", "value": "d"},
      {"op": "remove", "path": "/spec/args/0"},
      {"op": "move", "from": "/spec/old", "path": "/status/moved"},
      {"op": "copy", "from": "/spec/replicas", "path": "/status/replicas"}])"),
            J(R"({"spec": {"replicas": 3, "args": ["b", "c", "d"]}, "status": {"moved": "x", "replicas": 3}})"));
}

TEST(JsonPatchTest, UnescapesPointerTokens) {
  json doc = J(R"({"metadata": {"annotations": {}}, "m~n": 1})");
  EXPECT_EQ(JsonPatch(doc, R"([
      {"op": "add", "path": "/metadata/annotations/kubectl.kubernetes.io~1restartedAt", "value": "now"},
      {"op": "replace", "path": "/m~0n", "value": 2}])"),
            J(R"({"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}, "m~n": 2})"));
}

TEST(JsonPatchTest, AddReplacesAnExistingMemberAndTheRoot) {
  EXPECT_EQ(JsonPatch(J(R"({"a": 1})"), R"([{"op": "add", "path": "/a", "value": {"b": 2}}])"), J(R"({"a": {"b": 2}})"));
  EXPECT_EQ(JsonPatch(J(R"({"a": 1})"), R"([{"op": "add", "path": "", "value": [1]}])"), J("[1]"));
  EXPECT_EQ(JsonPatch(J(R"({"a": 1})"), R"([{"op": "replace", "path": "", "value": {"b": 2}}])"), J(R"({"b": 2})"));
}

TEST(JsonPatchTest, TestComparesNumbersByValue) {
  EXPECT_EQ(JsonPatch(J(R"({"a": 1, "b": {"c": [1, "x"]}})"), R"([
      {"op": "test", "path": "/a", "value": 1.0},
      {"op": "test", "path": "/b", "value": {"c": [1.0, "x"]}}])"),
            J(R"({"a": 1, "b": {"c": [1, "x"]}})"));
}

TEST(JsonPatchTest, ReportsMissingPathsAndFailedTests) {
  json doc = J(R"({"spec": {"replicas": 1, "args": ["a"]}})");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "test", "path": "/spec/replicas", "value": 2}])"),
            "testing value /spec/replicas failed: test failed");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "test", "path": "/spec/missing", "value": null}])"),
            "testing value /spec/missing failed: test failed");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "add", "path": "/nope/x", "value": 1}])"),
            R"(add operation does not apply: doc is missing path: "/nope/x": missing value)");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "remove", "path": "/spec/missing"}])"),
            "error in remove for path: '/spec/missing': Unable to remove nonexistent key: missing: missing value");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "remove", "path": "/nope/x"}])"),
            R"(remove operation does not apply: doc is missing path: "/nope/x": missing value)");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "replace", "path": "/spec/missing", "value": 1}])"),
            "replace operation does not apply: doc is missing key: /spec/missing: missing value");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "replace", "path": "/nope/x", "value": 1}])"),
            "replace operation does not apply: doc is missing path: /nope/x: missing value");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "move", "from": "/spec/missing", "path": "/x"}])"),
            "move operation does not apply: doc is missing from path: /spec/missing: missing value");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "copy", "from": "/spec/missing", "path": "/x"}])"),
            "copy operation does not apply: doc is missing from path: /spec/missing: missing value");
}

TEST(JsonPatchTest, ChecksArrayIndices) {
  json doc = J(R"({"args": ["a", "b"]})");
  EXPECT_EQ(JsonPatch(doc, R"([{"op": "add", "path": "/args/2", "value": "c"}])"), J(R"({"args": ["a", "b", "c"]})"));
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "add", "path": "/args/3", "value": "c"}])"),
            "error in add for path: '/args/3': Unable to access invalid index: 3: invalid index referenced");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "add", "path": "/args/01", "value": "c"}])"),
            "error in add for path: '/args/01': Unable to access invalid index: 01: invalid index referenced");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "remove", "path": "/args/2"}])"),
            "error in remove for path: '/args/2': Unable to access invalid index: 2: invalid index referenced");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "remove", "path": "/args/-"}])"),
            "error in remove for path: '/args/-': Unable to access invalid index: -: invalid index referenced");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "replace", "path": "/args/-", "value": 1}])"),
            "replace operation does not apply: doc is missing key: /args/-: missing value");
}

TEST(JsonPatchTest, RefusesToMoveALocationIntoItsChild) {
  EXPECT_EQ(JsonPatchError(J(R"({"a": {"b": 1}})"), R"([{"op": "move", "from": "/a", "path": "/a/c"}])"),
            "move operation does not apply: from /a is a proper prefix of path /a/c");
  EXPECT_EQ(JsonPatch(J(R"({"a": {"b": 1}})"), R"([{"op": "move", "from": "/a/b", "path": "/a/b"}])"),
            J(R"({"a": {"b": 1}})"));
}

TEST(JsonPatchTest, AppliesNothingWhenAnOperationFails) {
  const json doc = J(R"({"spec": {"replicas": 1}})");
  absl::StatusOr<json> out = ApplyJsonPatch(doc, J(R"([
      {"op": "replace", "path": "/spec/replicas", "value": 5},
      {"op": "test", "path": "/spec/replicas", "value": 1}])"));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(doc, J(R"({"spec": {"replicas": 1}})"));
}

TEST(JsonPatchTest, RejectsMalformedOperations) {
  json doc = J(R"({"a": 1})");
  EXPECT_EQ(JsonPatchError(doc, R"({"op": "add"})"), "invalid JSON patch: want an array of operations, got object");
  EXPECT_EQ(JsonPatchError(doc, R"([1])"), "operation 0 is not an object");
  EXPECT_EQ(JsonPatchError(doc, R"([{"path": "/a"}])"), R"(operation 0: missing "op")");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "frobnicate", "path": "/a"}])"), "Unexpected kind: frobnicate");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "test", "path": "/a", "value": 1}, {"op": "add", "value": 1}])"),
            R"(operation 1 (add): missing "path")");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "add", "path": "/b"}])"), R"(operation 0 (add): missing "value")");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "move", "path": "/b"}])"), R"(operation 0 (move): missing "from")");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "add", "path": "a", "value": 1}])"),
            R"(invalid JSON pointer "a": must start with '/')");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "add", "path": "/a~2", "value": 1}])"),
            R"(invalid JSON pointer "/a~2": '~' must be followed by '0' or '1')");
  EXPECT_EQ(JsonPatchError(doc, R"([{"op": "remove", "path": ""}])"),
            "remove operation does not apply: the document root cannot be removed");
}

}  // namespace
}  // namespace herd::sim
