#include "server/kube/types.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kube/rest_client.h"
#include "server/kube/testing/fake_apiserver.h"

namespace herd::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

Json Reference(const std::string& file) {
  auto body = ReferenceBody(std::string(HERD_KUBE_TESTDATA) + "/" + file);
  EXPECT_TRUE(body.ok()) << body.status();
  return Json::parse(body.ok() ? *body : "{}");
}

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

TEST(TypesTest, DeploymentFromTheReference) {
  Deployment d(Reference("deployment-after-rollout.txt"));
  EXPECT_EQ(d.name(), "web");
  EXPECT_EQ(d.ns(), "ref");
  EXPECT_EQ(d.uid(), "ad536c2e-183d-4d0f-85e2-fd9460d5ff8b");
  EXPECT_EQ(d.replicas(), 3);
  EXPECT_EQ(d.revision(), 1);
  EXPECT_EQ(d.generation(), 1);
  EXPECT_EQ(d.observed_generation(), 1);
  EXPECT_THAT(d.images(), ElementsAre(Pair("web", "web:1")));
  EXPECT_EQ(d.strategy_type(), "RollingUpdate");
  EXPECT_EQ(d.max_surge(), "25%");
  EXPECT_EQ(d.max_unavailable(), "25%");
  EXPECT_EQ(d.progress_deadline_seconds(), 600);
  EXPECT_EQ(d.status_replicas(), 3);
  EXPECT_EQ(d.updated_replicas(), 3);
  EXPECT_EQ(d.ready_replicas(), 3);
  EXPECT_EQ(d.available_replicas(), 3);
  EXPECT_EQ(d.unavailable_replicas(), 0);
  auto sel = d.label_selector();
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(sel->ToString(), "app=web");
  auto progressing = d.condition("Progressing");
  ASSERT_TRUE(progressing.has_value());
  EXPECT_EQ(progressing->reason, "NewReplicaSetAvailable");
  EXPECT_EQ(progressing->last_transition_time, At("2026-11-25T10:58:32Z"));
  EXPECT_FALSE(d.ProgressDeadlineExceeded());
  EXPECT_TRUE(d.RolloutComplete());
  EXPECT_EQ(d.creation_timestamp(), At("2026-11-25T10:58:32Z"));
}

TEST(TypesTest, DeploymentRolloutStates) {
  Json j = Reference("deployment-after-rollout.txt");
  j["metadata"]["generation"] = 2;  // a new template the controller has not seen
  EXPECT_FALSE(Deployment(j).RolloutComplete());
  j["status"]["observedGeneration"] = 2;
  j["status"]["updatedReplicas"] = 1;
  j["status"]["replicas"] = 4;
  EXPECT_FALSE(Deployment(j).RolloutComplete());
  j["status"]["conditions"][1] = {{"type", "Progressing"},
                                  {"status", "False"},
                                  {"reason", "ProgressDeadlineExceeded"},
                                  {"message", "ReplicaSet \"web-2\" has timed out progressing."}};
  EXPECT_TRUE(Deployment(j).ProgressDeadlineExceeded());
  j["spec"]["strategy"] = {{"type", "Recreate"}};
  EXPECT_EQ(Deployment(j).strategy_type(), "Recreate");
  EXPECT_EQ(Deployment(j).max_surge(), "");
}

TEST(TypesTest, AbsentFieldsReadAsDefaults) {
  Deployment d;
  EXPECT_EQ(d.name(), "");
  EXPECT_EQ(d.replicas(), 1);
  EXPECT_EQ(d.revision(), 0);
  EXPECT_TRUE(d.images().empty());
  EXPECT_FALSE(d.creation_timestamp().has_value());
  Deployment odd(Json{{"spec", {{"replicas", "three"}, {"template", 7}}}, {"metadata", "x"}});
  EXPECT_EQ(odd.replicas(), 1);
  EXPECT_TRUE(odd.containers().empty());
  EXPECT_EQ(odd.name(), "");
  EXPECT_EQ(Deployment(ObjectPtr()).name(), "");
}

// Found while writing the fuzz target for these views, and confirmed by it
// (test/fuzz/corpus/kube_types/container-ready-string and
// owner-controller-string): json::value() threw type_error on a boolean
// field of another type, so such an API answer ended the process.
TEST(TypesTest, MistypedBooleansReadAsFalse) {
  Pod pod(Json::parse(R"({"status":{"containerStatuses":[{"name":"web","ready":"yes"}]}})"));
  ASSERT_EQ(pod.container_statuses().size(), 1u);
  EXPECT_FALSE(pod.container_statuses()[0].ready);
  Object owned(Json::parse(R"({"metadata":{"ownerReferences":[{"kind":"ReplicaSet","name":"a","controller":"true"}]}})"));
  ASSERT_EQ(owned.owner_references().size(), 1u);
  EXPECT_FALSE(owned.owner_references()[0].controller);
  EXPECT_FALSE(owned.controller_ref().has_value());
}

TEST(TypesTest, ReplicaSetFromTheReference) {
  ReplicaSet rs(Reference("replicasets-list.txt")["items"][0]);
  EXPECT_EQ(rs.pod_template_hash(), "8555df4846");
  EXPECT_EQ(rs.revision(), 1);
  EXPECT_EQ(rs.replicas(), 3);
  EXPECT_EQ(rs.available_replicas(), 3);
  auto owner = rs.controller_ref();
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->kind, "Deployment");
  EXPECT_EQ(owner->name, "web");
  EXPECT_EQ(owner->uid, "ad536c2e-183d-4d0f-85e2-fd9460d5ff8b");
  EXPECT_THAT(rs.images(), ElementsAre(Pair("web", "web:1")));
}

TEST(TypesTest, TerminatingPodFromTheReference) {
  Pod p(Reference("pod-terminating.txt"));
  EXPECT_TRUE(p.terminating());
  EXPECT_EQ(p.deletion_timestamp(), At("2026-11-25T10:59:25Z"));
  EXPECT_EQ(p.phase(), "Running");
  EXPECT_TRUE(p.ready());
  EXPECT_EQ(p.node_name(), "fake-node-1");
  EXPECT_EQ(p.start_time(), At("2026-11-25T10:58:49Z"));
  EXPECT_EQ(p.label(kPodTemplateHashLabel), "66d5df9b6c");
  EXPECT_EQ(p.controller_ref()->name, "web-66d5df9b6c");
  ASSERT_EQ(p.container_statuses().size(), 1u);
  EXPECT_TRUE(p.container_statuses()[0].started);
  EXPECT_EQ(p.FailureReason(), "");
  EXPECT_FALSE(p.terminal());
}

TEST(TypesTest, PodFailureReasons) {
  Json j = {{"status",
             {{"phase", "Running"},
              {"conditions", {{{"type", "Ready"}, {"status", "False"}}}},
              {"containerStatuses",
               {{{"name", "ok"}, {"ready", true}, {"restartCount", 0}, {"state", {{"running", Json::object()}}}},
                {{"name", "app"},
                 {"ready", false},
                 {"restartCount", 4},
                 {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}, {"message", "back-off 40s"}}}}},
                 {"lastState", {{"terminated", {{"reason", "Error"}, {"exitCode", 1}}}}}}}}}}};
  Pod p(j);
  EXPECT_FALSE(p.ready());
  EXPECT_EQ(p.FailureReason(), "CrashLoopBackOff");
  EXPECT_EQ(p.restart_count(), 4);
  EXPECT_EQ(p.container_statuses()[1].last_terminated_reason, "Error");
  EXPECT_EQ(p.container_statuses()[1].waiting_message, "back-off 40s");

  j["status"]["initContainerStatuses"] = {
      {{"name", "init"}, {"state", {{"waiting", {{"reason", "ErrImagePull"}}}}}}};
  EXPECT_EQ(Pod(j).FailureReason(), "ErrImagePull");

  Json pending = {{"status", {{"containerStatuses", {{{"name", "a"}, {"state", {{"waiting", {{"reason", "ContainerCreating"}}}}}}}}}}};
  EXPECT_EQ(Pod(pending).FailureReason(), "");
  Json pull = {{"status", {{"containerStatuses", {{{"name", "a"}, {"state", {{"waiting", {{"reason", "ImagePullBackOff"}}}}}}}}}}};
  EXPECT_EQ(Pod(pull).FailureReason(), "ImagePullBackOff");
  EXPECT_TRUE(Pod(Json{{"status", {{"phase", "Failed"}}}}).terminal());
}

TEST(TypesTest, PdbCronJobJobAndLeaseFromTheReference) {
  PodDisruptionBudget pdb(Reference("pdb-with-status.txt"));
  EXPECT_EQ(pdb.min_available(), "4");
  EXPECT_EQ(pdb.max_unavailable(), "");
  EXPECT_EQ(pdb.current_healthy(), 4);
  EXPECT_EQ(pdb.desired_healthy(), 4);
  EXPECT_EQ(pdb.disruptions_allowed(), 0);
  EXPECT_EQ(pdb.expected_pods(), 4);
  EXPECT_EQ(pdb.label_selector()->ToString(), "app=web");

  CronJob cj(Reference("cronjob.txt"));
  EXPECT_EQ(cj.schedule(), "*/5 * * * *");
  EXPECT_FALSE(cj.suspend());
  EXPECT_EQ(cj.concurrency_policy(), "Allow");
  ASSERT_NE(cj.job_template(), nullptr);
  EXPECT_TRUE(cj.active().empty());

  Job job(Reference("job-from-cronjob.txt"));
  EXPECT_EQ(job.active(), 1);
  EXPECT_EQ(job.completions(), 1);
  EXPECT_FALSE(job.finished());
  EXPECT_EQ(job.controller_ref()->kind, "CronJob");
  EXPECT_EQ(job.controller_ref()->name, "tick");
  Json done = Reference("job-from-cronjob.txt");
  done["status"]["conditions"] = {{{"type", "Complete"}, {"status", "True"}}};
  EXPECT_TRUE(Job(done).complete());

  Json lj = Reference("lease-create.txt");
  Lease lease(lj);
  EXPECT_EQ(lease.holder_identity(), "a");
  EXPECT_EQ(lease.lease_duration_seconds(), 15);
  EXPECT_FALSE(lease.HeldAt(absl::Now())) << "never renewed";
  lj["spec"]["renewTime"] = "2026-11-25T10:59:00.250000Z";
  Lease renewed(lj);
  EXPECT_EQ(renewed.renew_time(), At("2026-11-25T10:59:00.25Z"));
  EXPECT_TRUE(renewed.HeldAt(At("2026-11-25T10:59:15Z")));
  EXPECT_FALSE(renewed.HeldAt(At("2026-11-25T10:59:15.25Z")));
}

TEST(TypesTest, StatefulSetAndHpa) {
  Json sts = {{"metadata", {{"name", "db"}, {"generation", 3}}},
              {"spec", {{"replicas", 3}, {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 2}}}}}}},
              {"status", {{"observedGeneration", 3}, {"readyReplicas", 3}, {"updatedReplicas", 1},
                          {"currentRevision", "db-1"}, {"updateRevision", "db-2"}}}};
  StatefulSet s(sts);
  EXPECT_EQ(s.partition(), 2);
  EXPECT_EQ(s.pod_management_policy(), "OrderedReady");
  EXPECT_TRUE(s.RolloutComplete()) << "only the pod above the partition is updated";
  sts["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}};
  EXPECT_FALSE(StatefulSet(sts).RolloutComplete());
  sts["status"]["currentRevision"] = "db-2";
  EXPECT_TRUE(StatefulSet(sts).RolloutComplete());

  HorizontalPodAutoscaler hpa(Json{{"spec", {{"maxReplicas", 10}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "web"}}}}},
                                   {"status", {{"currentReplicas", 2}, {"desiredReplicas", 4}}}});
  EXPECT_EQ(hpa.min_replicas(), 1);
  EXPECT_EQ(hpa.max_replicas(), 10);
  EXPECT_EQ(hpa.target_name(), "web");
  EXPECT_EQ(hpa.desired_replicas(), 4);
}

TEST(TypesTest, ViewsShareTheObject) {
  auto obj = std::make_shared<const Json>(Reference("deployment-after-rollout.txt"));
  Deployment d(obj);
  EXPECT_EQ(&d.json(), obj.get());
  Deployment copy = d;
  EXPECT_EQ(&copy.json(), obj.get());
}

TEST(TypesTest, ApiGivesTypedResults) {
  auto api = FakeApiServer::Start();
  ASSERT_TRUE(api.ok());
  Json deploy = Reference("deployment-after-rollout.txt");
  (*api)->SetHandler([deploy](const http::Request& req, http::Responder res) {
    if (req.method == "GET" && req.path == "/apis/apps/v1/namespaces/ref/deployments") {
      return res.Respond(JsonResponse(200, {{"metadata", {{"resourceVersion", "1"}}}, {"items", {deploy, deploy}}}));
    }
    if (req.method == "GET") return res.Respond(JsonResponse(200, deploy));
    if (req.method == "DELETE") {
      return res.Respond(JsonResponse(404, StatusObject(404, "NotFound", "deployments.apps \"gone\" not found")));
    }
    res.Respond(JsonResponse(req.method == "POST" ? 201 : 200, Json::parse(req.body)));
  });
  auto client = NewRestClient((*api)->Config());
  ASSERT_TRUE(client.ok());
  Api<Deployment> deployments(**client);
  auto d = deployments.Get("ref", "web");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->revision(), 1);
  auto all = deployments.List("ref");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].kind(), "Deployment");
  auto created = deployments.Create(*d, {.dry_run = true});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), "web");
  auto patched = deployments.Patch("ref", "web", PatchType::kMerge, R"({"spec":{"replicas":5}})");
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ(patched->replicas(), 5);
  EXPECT_EQ(deployments.Delete("ref", "gone").code(), absl::StatusCode::kNotFound);
  auto reqs = (*api)->requests();
  EXPECT_EQ(reqs[2].method, "POST");
  EXPECT_EQ(reqs[2].path, "/apis/apps/v1/namespaces/ref/deployments");
}

}  // namespace
}  // namespace herd::kube
