#include "server/kube/trim.h"

#include "gtest/gtest.h"
#include "server/kube/types.h"

namespace herd::kube {
namespace {

// A pod as an API server stores it after kubectl apply: most of it is what
// herd never reads.
Json FullPod() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {
      "name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
      "creationTimestamp": "2026-12-01T10:00:00Z", "deletionTimestamp": "2026-12-01T11:00:00Z",
      "labels": {"app": "web"},
      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"a very long\": \"copy\"}",
                      "herd.dev/purged-at": "x"},
      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "rs1",
                           "controller": true}],
      "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]
    },
    "spec": {
      "nodeName": "node-3", "terminationGracePeriodSeconds": 45, "serviceAccountName": "default",
      "volumes": [{"name": "token", "projected": {"sources": []}}],
      "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
      "containers": [{"name": "web", "image": "web:1", "env": [{"name": "A", "value": "1"}],
                      "resources": {"requests": {"cpu": "100m"}}, "volumeMounts": [{"name": "token"}]}],
      "initContainers": [{"name": "setup", "image": "setup:1", "command": ["sh"]}]
    },
    "status": {
      "phase": "Running", "startTime": "2026-12-01T10:00:01Z", "podIP": "10.244.0.7",
      "podIPs": [{"ip": "10.244.0.7"}], "hostIP": "10.0.0.3", "qosClass": "Burstable",
      "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null,
                      "lastTransitionTime": "2026-12-01T10:00:03Z"}],
      "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2, "image": "web:1",
                             "imageID": "docker-pullable://web@sha256:0123", "containerID": "containerd://abc",
                             "state": {"running": {"startedAt": "2026-12-01T10:00:02Z"}}}]
    }
  })");
}

TEST(TrimForCacheTest, APodKeepsWhatHerdReadsAndNothingElse) {
  Json pod = FullPod();
  const size_t before = pod.dump().size();
  TrimForCache(kPods, pod);
  EXPECT_LT(pod.dump().size(), before * 2 / 3) << pod.dump();

  const Json& meta = pod["metadata"];
  EXPECT_FALSE(meta.contains("managedFields"));
  EXPECT_EQ(meta["annotations"], Json({{"herd.dev/purged-at", "x"}}));
  for (const char* kept : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                           "labels", "ownerReferences"}) {
    EXPECT_EQ(meta[kept], FullPod()["metadata"][kept]) << kept;
  }
  EXPECT_EQ(pod["spec"], Json::parse(R"({"nodeName": "node-3", "terminationGracePeriodSeconds": 45,
                                          "containers": [{"name": "web", "image": "web:1"}],
                                          "initContainers": [{"name": "setup", "image": "setup:1"}]})"));
  EXPECT_EQ(pod["status"], Json::parse(R"({
      "phase": "Running", "startTime": "2026-12-01T10:00:01Z", "podIP": "10.244.0.7",
      "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-01T10:00:03Z"}],
      "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2, "image": "web:1",
                             "state": {"running": {"startedAt": "2026-12-01T10:00:02Z"}}}]})"));

  // What herd's typed view reads is the same before and after.
  Pod full(FullPod()), trimmed(pod);
  EXPECT_EQ(trimmed.node_name(), full.node_name());
  EXPECT_EQ(trimmed.ready(), full.ready());
  EXPECT_EQ(trimmed.phase(), full.phase());
  EXPECT_EQ(trimmed.start_time(), full.start_time());
  EXPECT_EQ(trimmed.ready_condition()->last_transition_time, full.ready_condition()->last_transition_time);
  EXPECT_EQ(trimmed.restart_count(), full.restart_count());
  ASSERT_EQ(trimmed.containers().size(), 1u);
  EXPECT_EQ(trimmed.containers()[0].image, "web:1");
  EXPECT_EQ(trimmed.owner_references().size(), 1u);
}

TEST(TrimForCacheTest, WorkloadsKeepTheirSpecAndLoseOnlyBookkeeping) {
  Json d = {{"metadata",
             {{"name", "web"},
              {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}}},
              {"managedFields", Json::array({{{"manager", "kubectl"}}})}}},
            {"spec", {{"replicas", 3}, {"template", {{"spec", {{"containers", {{{"name", "web"}, {"env", Json::array()}}}}}}}}}}};
  Json want = d;
  want["metadata"].erase("managedFields");
  want["metadata"].erase("annotations");  // nothing left in it
  TrimForCache(kDeployments, d);
  EXPECT_EQ(d, want);

  Json cr = {{"metadata", {{"name", "db-5c9"}}}, {"revision", 3}, {"data", {{"spec", {{"template", Json::object()}}}}}};
  TrimForCache(kControllerRevisions, cr);
  EXPECT_EQ(cr, Json({{"metadata", {{"name", "db-5c9"}}}, {"revision", 3}}));
  // Of a template, the containers' names and images stay.
  Json full = {{"revision", 4},
               {"data", {{"spec", {{"template", {{"metadata", {{"labels", {{"app", "db"}}}}},
                                                 {"spec", {{"containers", {{{"name", "db"}, {"image", "db:2"},
                                                                            {"args", {"--big"}}}}},
                                                           {"volumes", Json::array()}}}}}}}}}};
  TrimForCache(kControllerRevisions, full);
  EXPECT_EQ(full, Json({{"revision", 4},
                        {"data", {{"spec", {{"template", {{"spec", {{"containers", {{{"name", "db"}, {"image", "db:2"}}}}}}}}}}}}}));
}

TEST(TrimForCacheTest, OddShapesAreLeftAlone) {
  for (Json odd : {Json(), Json(3), Json::array(), Json({{"metadata", 1}, {"spec", "x"}})}) {
    Json copy = odd;
    TrimForCache(kPods, copy);
    EXPECT_EQ(copy, odd);
  }
}

}  // namespace
}  // namespace herd::kube
