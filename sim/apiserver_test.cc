#include "sim/apiserver.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/errors.h"

namespace herd::sim {
namespace {

using ::testing::HasSubstr;

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.Create(kNamespaces, "", {{"metadata", {{"name", "ref"}}}}).ok()); }

  Json Deployment() {
    return Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"web:1"}]}}}})");
  }

  Store store_;
  ApiServer api_{store_};
};

TEST_F(ApiServerTest, CreateFillsInWhatTheApiServerDefaults) {
  auto d = api_.Create(kDeployments, "ref", Deployment());
  ASSERT_TRUE(d.ok()) << d.status();
  const Json& o = (*d)->object;
  // Every default of ../shared/k8s-reference/deployment-create-request-and-defaults.txt.
  Json want_spec = Json::parse(R"({
    "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
      "spec": {"containers": [{"name": "web", "image": "web:1", "resources": {},
                               "terminationMessagePath": "/dev/termination-log",
                               "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
               "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
               "securityContext": {}, "schedulerName": "default-scheduler"}},
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
    "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600})");
  EXPECT_EQ(o["spec"], want_spec);
  EXPECT_EQ(o["status"], Json::object());
  EXPECT_EQ(o["metadata"]["generation"], 1);
  EXPECT_EQ(o["metadata"]["namespace"], "ref");
  EXPECT_THAT(o["metadata"]["uid"].get<std::string>(), ::testing::MatchesRegex("[0-9a-f-]{36}"));
  EXPECT_THAT(o["metadata"]["creationTimestamp"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"));
}

TEST_F(ApiServerTest, AnEmptiedMetadataMapIsLeftOutAsTheRealServerDoes) {
  Json d = Deployment();
  d["spec"]["template"]["metadata"]["annotations"] = {{"herd.dev/purgedAt", "2026-12-02T10:00:00Z"}};
  ASSERT_TRUE(api_.Create(kDeployments, "ref", d).ok());
  auto patched = api_.Patch(kDeployments, "ref", "web", PatchType::kMerge,
                            Json::parse(R"({"spec":{"template":{"metadata":{"annotations":{"herd.dev/purgedAt":null}}}}})"));
  ASSERT_TRUE(patched.ok()) << patched.status();
  // Go omits the empty map: the template equals one that never had annotations.
  EXPECT_FALSE((*patched)->object["spec"]["template"]["metadata"].contains("annotations"));
  EXPECT_EQ((*patched)->object["spec"]["template"]["metadata"], Json::parse(R"({"creationTimestamp":null,"labels":{"app":"web"}})"));
}

TEST_F(ApiServerTest, AnImageWithoutTagIsPulledAlways) {
  Json d = Deployment();
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox";
  auto created = api_.Create(kDeployments, "ref", d);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)->object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
}

TEST_F(ApiServerTest, UpdateWithAStaleVersionConflicts) {
  auto d = api_.Create(kDeployments, "ref", Deployment());
  ASSERT_TRUE(d.ok());
  Json stale = (*d)->object;
  ASSERT_TRUE(api_.Modify(kDeployments, "ref", "web", [](Json& o) {
    o["spec"]["replicas"] = 4;
    return absl::OkStatus();
  }).ok());
  stale["spec"]["replicas"] = 5;
  auto st = api_.Update(kDeployments, "ref", "web", stale).status();
  EXPECT_EQ(HttpCode(st), 409);
  EXPECT_EQ(StatusObject(st)["reason"], "Conflict");
  EXPECT_EQ(st.message(),
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply "
            "your changes to the latest version and try again");
  EXPECT_EQ((*api_.Get(kDeployments, "ref", "web"))->object["spec"]["replicas"], 4);
}

TEST_F(ApiServerTest, SpecChangesBumpTheGenerationAndNoOpWritesChangeNothing) {
  auto d = api_.Create(kDeployments, "ref", Deployment());
  ASSERT_TRUE(d.ok());
  uint64_t rv = store_.rv();
  auto same = api_.Patch(kDeployments, "ref", "web", PatchType::kMerge, {{"spec", {{"replicas", 3}}}});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(store_.rv(), rv) << "a patch that changes nothing must not write";
  auto more = api_.Patch(kDeployments, "ref", "web", PatchType::kMerge, {{"spec", {{"replicas", 5}}}});
  ASSERT_TRUE(more.ok());
  EXPECT_EQ((*more)->object["metadata"]["generation"], 2);
  auto labelled = api_.Patch(kDeployments, "ref", "web", PatchType::kMerge,
                             {{"metadata", {{"labels", {{"team", "shop"}}}}}});
  ASSERT_TRUE(labelled.ok());
  EXPECT_EQ((*labelled)->object["metadata"]["generation"], 2) << "metadata changes leave the generation";
}

TEST_F(ApiServerTest, StatusWritesLeaveTheSpecAndSpecWritesLeaveTheStatus) {
  ASSERT_TRUE(api_.Create(kDeployments, "ref", Deployment()).ok());
  Json with_status = (*api_.Get(kDeployments, "ref", "web"))->object;
  with_status["status"] = {{"replicas", 3}};
  with_status["spec"]["replicas"] = 9;
  auto s = api_.Update(kDeployments, "ref", "web", with_status, {.subresource = "status"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->object["status"]["replicas"], 3);
  EXPECT_EQ((*s)->object["spec"]["replicas"], 3);
  Json spec_change = (*s)->object;
  spec_change["status"] = {{"replicas", 100}};
  spec_change["spec"]["replicas"] = 1;
  auto u = api_.Update(kDeployments, "ref", "web", spec_change);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((*u)->object["status"]["replicas"], 3);
  EXPECT_EQ((*u)->object["spec"]["replicas"], 1);
}

TEST_F(ApiServerTest, InvalidReplicasAreRejectedWithTheApiServersMessage) {
  ASSERT_TRUE(api_.Create(kDeployments, "ref", Deployment()).ok());
  auto st = api_.Patch(kDeployments, "ref", "web", PatchType::kMerge, {{"spec", {{"replicas", -1}}}}).status();
  EXPECT_EQ(HttpCode(st), 422);
  Json obj = StatusObject(st);
  EXPECT_EQ(obj["message"],
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0");
  EXPECT_EQ(obj["details"]["causes"][0]["field"], "spec.replicas");
  EXPECT_EQ(obj["details"]["causes"][0]["reason"], "FieldValueInvalid");
}

TEST_F(ApiServerTest, CreateIntoAMissingOrTerminatingNamespaceFails) {
  auto missing = api_.Create(kConfigMaps, "nowhere", {{"metadata", {{"name", "x"}}}}).status();
  EXPECT_EQ(HttpCode(missing), 404);
  EXPECT_EQ(missing.message(), "namespaces \"nowhere\" not found");
  ASSERT_TRUE(api_.Delete(kNamespaces, "", "ref").ok());
  auto terminating = api_.Create(kConfigMaps, "ref", {{"metadata", {{"name", "x"}}}}).status();
  EXPECT_EQ(HttpCode(terminating), 403);
  EXPECT_THAT(std::string(terminating.message()), HasSubstr("because it is being terminated"));
}

Json ScheduledPod(const std::string& name, Json labels = {{"app", "web"}}) {
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "c:1"}}})}}}};
}

TEST_F(ApiServerTest, DeletingARunningPodWaitsForItsGracePeriod) {
  ASSERT_TRUE(api_.Create(kPods, "ref", ScheduledPod("p")).ok());
  ASSERT_TRUE(api_.Bind("ref", "p", "node-1").ok());
  auto out = api_.Delete(kPods, "ref", "p", {});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->removed);
  EXPECT_EQ(out->object->object["metadata"]["deletionGracePeriodSeconds"], 30);
  ASSERT_NE(store_.Get(kPods, "ref", "p"), nullptr);
  // The kubelet's final delete.
  auto final = api_.Delete(kPods, "ref", "p", {.grace_period_seconds = 0});
  ASSERT_TRUE(final.ok());
  EXPECT_TRUE(final->removed);
  EXPECT_EQ(store_.Get(kPods, "ref", "p"), nullptr);
}

TEST_F(ApiServerTest, AnUnscheduledPodGoesAtOnce) {
  ASSERT_TRUE(api_.Create(kPods, "ref", ScheduledPod("p")).ok());
  auto out = api_.Delete(kPods, "ref", "p", {});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->removed);
}

TEST_F(ApiServerTest, FinalizersHoldADeletionUntilTheyAreRemoved) {
  ASSERT_TRUE(api_.Create(kDeployments, "ref", Deployment()).ok());
  auto out = api_.Delete(kDeployments, "ref", "web", {.propagation_policy = "Foreground"});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->removed);
  const Json& meta = out->object->object["metadata"];
  EXPECT_EQ(meta["finalizers"], Json::array({"foregroundDeletion"}));
  EXPECT_EQ(meta["deletionGracePeriodSeconds"], 0);
  ASSERT_TRUE(api_.Modify(kDeployments, "ref", "web", [](Json& o) {
    o["metadata"]["finalizers"] = Json::array();
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(store_.Get(kDeployments, "ref", "web"), nullptr);
}

TEST_F(ApiServerTest, EvictionRespectsTheDisruptionBudgetAndNamesIt) {
  for (const char* name : {"a", "b"}) {
    ASSERT_TRUE(api_.Create(kPods, "ref", ScheduledPod(name)).ok());
    ASSERT_TRUE(api_.Bind("ref", name, "node-1").ok());
    ASSERT_TRUE(api_.Modify(kPods, "ref", name, [](Json& p) {
      p["status"]["phase"] = "Running";
      p["status"]["conditions"].push_back({{"type", "Ready"}, {"status", "True"}});
      return absl::OkStatus();
    }, {.subresource = "status"}).ok());
  }
  ASSERT_TRUE(api_.Create(kPodDisruptionBudgets, "ref",
                          {{"metadata", {{"name", "web-pdb"}}},
                           {"spec", {{"minAvailable", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}})
                  .ok());
  ASSERT_TRUE(api_.Modify(kPodDisruptionBudgets, "ref", "web-pdb", [](Json& b) {
    b["status"] = {{"observedGeneration", 1}, {"disruptionsAllowed", 0}, {"currentHealthy", 2},
                   {"desiredHealthy", 2}, {"expectedPods", 2}};
    return absl::OkStatus();
  }, {.subresource = "status"}).ok());
  absl::Status refused = api_.Evict("ref", "a", Json::object(), false);
  EXPECT_EQ(HttpCode(refused), 429);
  Json obj = StatusObject(refused);
  EXPECT_EQ(obj["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
  EXPECT_EQ(obj["reason"], "TooManyRequests");
  EXPECT_EQ(obj["details"]["causes"][0]["reason"], "DisruptionBudget");
  EXPECT_EQ(obj["details"]["causes"][0]["message"], "The disruption budget web-pdb needs 2 healthy pods and has 2 currently");

  ASSERT_TRUE(api_.Modify(kPodDisruptionBudgets, "ref", "web-pdb", [](Json& b) {
    b["status"]["disruptionsAllowed"] = 1;
    return absl::OkStatus();
  }, {.subresource = "status"}).ok());
  EXPECT_TRUE(api_.Evict("ref", "a", Json::object(), false).ok());
  const Json& pdb = (*api_.Get(kPodDisruptionBudgets, "ref", "web-pdb"))->object;
  EXPECT_EQ(pdb["status"]["disruptionsAllowed"], 0);
  EXPECT_TRUE(pdb["status"]["disruptedPods"].contains("a"));
  EXPECT_TRUE((*api_.Get(kPods, "ref", "a"))->object["metadata"].contains("deletionTimestamp"));
}

TEST_F(ApiServerTest, ScaleSubresourceReadsAndWritesReplicas) {
  ASSERT_TRUE(api_.Create(kDeployments, "ref", Deployment()).ok());
  auto scale = api_.GetScale(kDeployments, "ref", "web");
  ASSERT_TRUE(scale.ok());
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["apiVersion"], "autoscaling/v1");
  EXPECT_EQ((*scale)["spec"]["replicas"], 3);
  EXPECT_EQ((*scale)["status"]["selector"], "app=web");
  Json stale = *scale;
  stale["metadata"]["resourceVersion"] = "1";
  stale["spec"]["replicas"] = 4;
  auto conflict = api_.UpdateScale(kDeployments, "ref", "web", stale).status();
  EXPECT_EQ(HttpCode(conflict), 409);
  Json fresh = *scale;
  fresh["spec"]["replicas"] = 4;
  auto updated = api_.UpdateScale(kDeployments, "ref", "web", fresh);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ((*updated)["spec"]["replicas"], 4);
  EXPECT_EQ((*api_.Get(kDeployments, "ref", "web"))->object["spec"]["replicas"], 4);
}

TEST_F(ApiServerTest, DryRunValidatesButStoresNothing) {
  uint64_t rv = store_.rv();
  auto d = api_.Create(kDeployments, "ref", Deployment(), {.dry_run = true});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(store_.rv(), rv);
  EXPECT_EQ(store_.Get(kDeployments, "ref", "web"), nullptr);
  Json bad = Deployment();
  bad["spec"]["replicas"] = -2;
  EXPECT_EQ(HttpCode(api_.Create(kDeployments, "ref", bad, {.dry_run = true}).status()), 422);
}

TEST_F(ApiServerTest, RepeatedEventsAreCountedNotDuplicated) {
  auto d = api_.Create(kDeployments, "ref", Deployment());
  ASSERT_TRUE(d.ok());
  api_.RecordEvent((*d)->object, "Normal", "ScalingReplicaSet", "Scaled up", "deployment-controller");
  api_.RecordEvent((*d)->object, "Normal", "ScalingReplicaSet", "Scaled up", "deployment-controller");
  std::vector<Json> events;
  store_.Scan(kEvents, "ref", "", [&](const ObjectPtr& e) {
    events.push_back(e->object);
    return true;
  });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 2);
  EXPECT_EQ(events[0]["involvedObject"]["kind"], "Deployment");
  EXPECT_EQ(events[0]["source"]["component"], "deployment-controller");
  EXPECT_THAT(events[0]["metadata"]["name"].get<std::string>(), ::testing::MatchesRegex("web\\.[0-9a-f]+"));
}

}  // namespace
}  // namespace herd::sim
