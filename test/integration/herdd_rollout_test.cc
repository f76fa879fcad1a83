// What herd.proto promises about Rollout, Undo and cancelling a rollout,
// proven through herdd's gRPC API against an in-process kubesim
// (docs/PROMISES.md lists which test proves which promise).
#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/integration/herdd_fixture.h"
#include "test/integration/writable_parts.h"

namespace herd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RolloutPromisesTest : public HerddFixture {
 protected:
  v1::RolloutRequest Request(const std::string& name, const std::string& container, const std::string& image) {
    v1::RolloutRequest req;
    req.set_workload(Workload(name));
    if (!container.empty()) (*req.mutable_images())[container] = image;
    return req;
  }
  std::string TemplateImage(const std::string& name, size_t container = 0) {
    return Get(kube::kDeployments, name)["spec"]["template"]["spec"]["containers"][container].value("image", "");
  }
};

// RolloutRequest.restart: "Replace every pod even if no image changes."
TEST_F(RolloutPromisesTest, RestartReplacesEveryPodKeepingTheImages) {
  CreateDeployment("web", "web:1", 3);
  std::set<std::string> before = Uids("web");
  v1::RolloutRequest req = Request("web", "", "");
  req.set_restart(true);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  EXPECT_EQ(op.kind(), v1::OPERATION_KIND_ROLLOUT);
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.revision(), 2);
  AwaitReplaced("web", before, 3);
  EXPECT_EQ(Images("web"), (std::multiset<std::string>{"web:1", "web:1", "web:1"}));
}

// RolloutRequest.images: "Containers not named keep their image" — and
// several containers change in one rollout.
TEST_F(RolloutPromisesTest, OnlyTheNamedContainersChangeImage) {
  Json d = DeploymentJson("web", "web:1", 2);
  d["spec"]["template"]["spec"]["containers"] = Json::array({{{"name", "web"}, {"image", "web:1"}},
                                                             {{"name", "envoy"}, {"image", "envoy:1"}},
                                                             {{"name", "log"}, {"image", "log:1"}}});
  Create(kube::kDeployments, d);
  AwaitRolledOut("web", 2);
  v1::RolloutRequest req = Request("web", "web", "web:2");
  (*req.mutable_images())["envoy"] = "envoy:2";
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitImages("web", {"web:2", "web:2"});
  for (const Json& p : Pods("web")) {
    std::vector<std::string> images;
    for (const Json& c : p["spec"]["containers"]) images.push_back(c.value("image", ""));
    EXPECT_THAT(images, ElementsAre("web:2", "envoy:2", "log:1"));
  }
}

// RolloutRequest.tag: "a new tag for the containers' images, each keeping
// its repository"; tag_containers: only those; bad tags and mixes refused.
TEST_F(RolloutPromisesTest, ATagKeepsEachRepositoryAndNamedContainersLimitIt) {
  Json d = DeploymentJson("web", "registry:5000/shop/web:1.4", 2);
  d["spec"]["template"]["spec"]["containers"] =
      Json::array({{{"name", "web"}, {"image", "registry:5000/shop/web:1.4"}},
                   {{"name", "envoy"}, {"image", "envoyproxy/envoy:v1.28@sha256:0123abcd"}}});
  Create(kube::kDeployments, d);
  AwaitRolledOut("web", 2);
  v1::RolloutRequest req = Request("web", "", "");
  req.set_tag("42");
  req.add_tag_containers("web");
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  EXPECT_THAT(op.plan().changes(), ::testing::Contains("image web: registry:5000/shop/web:1.4 → registry:5000/shop/web:42"));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(TemplateImage("web", 0), "registry:5000/shop/web:42");
  EXPECT_EQ(TemplateImage("web", 1), "envoyproxy/envoy:v1.28@sha256:0123abcd");
  // Every container: the digest goes with the old tag.
  req.clear_tag_containers();
  req.set_tag("43");
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(TemplateImage("web", 0), "registry:5000/shop/web:43");
  EXPECT_EQ(TemplateImage("web", 1), "envoyproxy/envoy:43");

  struct Case {
    std::function<void(v1::RolloutRequest&)> edit;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {[](auto& r) { r.set_tag("-x"); }, "not starting with '.' or '-'"},
           {[](auto& r) { (*r.mutable_images())["web"] = "web:9"; }, "images or a tag, not both"},
           {[](auto& r) { r.add_tag_containers("nope"); }, "tag_containers: deployments/web has no container \"nope\""},
           {[](auto& r) { r.clear_tag(); r.add_tag_containers("web"); }, "tag_containers needs a tag"},
       }) {
    v1::RolloutRequest bad = Request("web", "", "");
    bad.set_tag("44");
    c.edit(bad);
    grpc::Status st = Call(&Stub::Rollout, bad, &op);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.want << ": " << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr(c.want));
  }
  EXPECT_EQ(TemplateImage("web", 0), "registry:5000/shop/web:43");
}

// Rollout FAST: "starts every new pod at once and cuts over when all are
// Ready, never with fewer available pods than before."
TEST_F(RolloutPromisesTest, FastStartsEveryNewPodAtOnce) {
  CreateDeployment("web", "web:1", 4);
  TrackPods("web");
  v1::RolloutRequest req = Request("web", "web", "web:2");
  req.set_strategy(v1::ROLLOUT_STRATEGY_FAST);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(MaxPods(), 8) << "the four new pods start together, beside the four old ones";
  EXPECT_EQ(MaxStarting(), 4);
  EXPECT_GE(MinReady(), 4);
}

// ROLLOUT_STRATEGY_ROLLING: "The workload's own update strategy, as kubectl
// does" — herd leaves the strategy alone, so pods are replaced in the
// workload's waves (maxSurge 25% of 4: one extra pod at a time).
TEST_F(RolloutPromisesTest, RollingUsesTheWorkloadsOwnStrategy) {
  CreateDeployment("web", "web:1", 4);
  auto strategy_touched = std::make_shared<std::atomic<bool>>(false);
  auto check = [strategy_touched](const kube::ObjectPtr&, const kube::ObjectPtr& now) {
    const Json& s = (*now)["spec"]["strategy"];
    if (s.value("type", "") != "RollingUpdate" || s["rollingUpdate"].value("maxSurge", Json()) != "25%") {
      *strategy_touched = true;
    }
  };
  Cache(kube::kDeployments).AddHandlers({.on_update = check});
  TrackPods("web");
  v1::RolloutRequest req = Request("web", "web", "web:2");
  req.set_strategy(v1::ROLLOUT_STRATEGY_ROLLING);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_SUCCEEDED) << done.DebugString();
  AwaitImages("web", {"web:2", "web:2", "web:2", "web:2"});
  EXPECT_FALSE(*strategy_touched) << "a ROLLING rollout must not change the workload's strategy";
  EXPECT_LT(MaxPods(), 8) << "the new pods came in waves, not all at once";
}

// RolloutRequest.deadline: "Give up after this long"; the rollout then
// rolls back. Pods that run but never get Ready: READINESS_FAILING.
TEST_F(RolloutPromisesTest, TheDeadlineEndsTheRolloutAndItRollsBack) {
  CreateDeployment("web", "web:1", 2);
  v1::RolloutRequest req = Request("web", "web", "web:2-unready");
  req.mutable_deadline()->set_seconds(1);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_ROLLED_BACK) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_READINESS_FAILING);
  EXPECT_THAT(done.error().message(), HasSubstr("not rolled out within 1s"));
  EXPECT_EQ(TemplateImage("web"), "web:1");
  AwaitImages("web", {"web:1", "web:1"});
}

// RolloutRequest.deadline: "default: the workload's progressDeadlineSeconds".
// Pods that never even start: DEADLINE_EXCEEDED.
TEST_F(RolloutPromisesTest, TheWorkloadsProgressDeadlineIsTheDefault) {
  Json d = DeploymentJson("web", "web:1", 2);
  d["spec"]["progressDeadlineSeconds"] = 1;
  Create(kube::kDeployments, d);
  AwaitRolledOut("web", 2);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, Request("web", "web", "web:2-slow60s"), &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_ROLLED_BACK) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_DEADLINE_EXCEEDED);
  EXPECT_THAT(done.error().message(), HasSubstr("not rolled out within 1s"));
  EXPECT_EQ(TemplateImage("web"), "web:1");
}

// RolloutRequest.deadline: "600 s when it has none" — a StatefulSet has no
// progressDeadlineSeconds: EngineSettings::default_deadline (10 min) applies,
// here shortened.
class DefaultDeadlineTest : public RolloutPromisesTest {
 protected:
  void Configure(herdd::AppOptions& o) override { o.engine.default_deadline = absl::Seconds(1); }
};

TEST_F(DefaultDeadlineTest, AWorkloadWithoutAProgressDeadlineGetsTheDefault) {
  CreateStatefulSet("db", "db:1", 1);
  v1::RolloutRequest req;
  req.set_workload(Workload("db", "statefulsets"));
  (*req.mutable_images())["db"] = "db:2-unready";
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_ROLLED_BACK) << done.DebugString();
  EXPECT_THAT(done.error().message(), HasSubstr("not rolled out within 1s"));
  AwaitImages("db", {"db:1"});
}

// FAILURE_REASON_UNSCHEDULABLE: new pods that find no node fail the rollout
// (after EngineSettings::unschedulable_grace), and it rolls back.
class UnschedulableRolloutTest : public RolloutPromisesTest {
 protected:
  void Configure(herdd::AppOptions& o) override {
    o.sim_options.nodes = 1;
    o.sim_options.pods_per_node = 3;
    o.engine.unschedulable_grace = absl::Milliseconds(300);
  }
};

TEST_F(UnschedulableRolloutTest, PodsWithoutANodeFailTheRolloutAndItRollsBack) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, Request("web", "web", "web:2"), &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_ROLLED_BACK) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_UNSCHEDULABLE);
  ASSERT_GT(done.failure().pods_size(), 0);
  EXPECT_EQ(done.failure().pods(0).reason(), "Unschedulable");
  EXPECT_EQ(TemplateImage("web"), "web:1");
  AwaitImages("web", {"web:1", "web:1"});
}

// FAILURE_REASON_CONFLICT: someone else changes the template during the
// rollout; herd says so and does not overwrite their change.
TEST_F(RolloutPromisesTest, AChangeBySomeoneElseDuringTheRolloutIsAConflict) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, Request("web", "web", "web:2-slow30s"), &op));
  Await([&] { return Images("web").count("web:2-slow30s") > 0; }, "the rollout's first new pod");
  Json containers = Json::array({{{"name", "web"}, {"image", "web:9"}}});
  Json patch = {{"spec", {{"template", {{"spec", {{"containers", containers}}}}}}}};
  ASSERT_TRUE(kube_->Patch(kube::kDeployments, kNs, "web", kube::PatchType::kStrategicMerge, patch.dump()).ok());
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_FAILED) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_CONFLICT);
  EXPECT_THAT(done.error().message(), HasSubstr("changed by someone else"));
  EXPECT_EQ(TemplateImage("web"), "web:9");
}

// FAILURE_REASON_API_ERROR: the Kubernetes API keeps refusing herd's write
// (past its retries): the rollout fails, saying so, and nothing changed.
TEST_F(RolloutPromisesTest, AnApiThatKeepsFailingTheWriteFailsTheRollout) {
  CreateDeployment("web", "web:1", 2);
  sim::Faults faults;
  faults.error_rate["patch"] = 1.0;
  faults.error_code = 503;
  app_->simulator()->SetFaults(faults);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, Request("web", "web", "web:2"), &op));
  v1::Operation done = Wait(op.name());
  app_->simulator()->SetFaults({});
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_FAILED) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_API_ERROR);
  EXPECT_EQ(done.error().code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE)) << done.error().message();
  EXPECT_EQ(TemplateImage("web"), "web:1");
}

// A rollback carries out what failed: the reads it needs (the workload,
// its revisions) are sent again on transient errors, as its writes are.
// The soak saw a crash-looping rollout end FAILED ("cannot roll back") on
// one 503 past the client's own tries, leaving the broken version running.
class FlakyRollbackReadsTest : public RolloutPromisesTest {
 protected:
  void Configure(herdd::AppOptions& o) override {
    o.write_hook = [this](const std::string& point, ops::WriteMoment moment) {
      if (point != "rollout.template" || moment != ops::WriteMoment::kAfter) return;
      // From the template's write on, herd lists nothing but the
      // ReplicaSets the rollback goes back to (its caches watch): their
      // list fails past the client's tries once, then twice more.
      sim::Faults f;
      f.error_code = 503;
      f.fail_next["list"] = 7;
      app_->simulator()->SetFaults(f);
    };
  }
};

TEST_F(FlakyRollbackReadsTest, ARollbackGoesOnThroughTransientReadErrors) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, Request("web", "web", "web:2-crashloop"), &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_ROLLED_BACK) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF);
  EXPECT_EQ(TemplateImage("web"), "web:1");
  AwaitImages("web", {"web:1", "web:1"});
}

// Undo: "to_revision: the revision to go back to"; strategy as for Rollout.
TEST_F(RolloutPromisesTest, UndoGoesBackToTheNamedRevisionOrTheOneBefore) {
  CreateDeployment("web", "web:1", 2);
  for (const char* image : {"web:2", "web:3"}) {
    v1::Operation op;
    ASSERT_GRPC_OK(Call(&Stub::Rollout, Request("web", "web", image), &op));
    ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  }
  v1::UndoRequest undo;
  undo.set_workload(Workload("web"));
  undo.set_to_revision(1);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Undo, undo, &op));
  EXPECT_EQ(op.kind(), v1::OPERATION_KIND_UNDO);
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.revision(), 4) << "revision 1 comes back as revision 4, as kubectl rollout undo does";
  EXPECT_EQ(TemplateImage("web"), "web:1");
  AwaitImages("web", {"web:1", "web:1"});

  // to_revision 0: the one before the current (3: web:3), the workload's own way.
  undo.set_to_revision(0);
  undo.set_strategy(v1::ROLLOUT_STRATEGY_ROLLING);
  ASSERT_GRPC_OK(Call(&Stub::Undo, undo, &op));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(TemplateImage("web"), "web:3");
  EXPECT_FALSE(Get(kube::kDeployments, "web")["metadata"].value("annotations", Json::object()).contains(
      "herd.dev/original-strategy"));

  // A revision that does not exist: NOT_FOUND, nothing written.
  Json before = WritableParts(Get(kube::kDeployments, "web"));
  undo.set_to_revision(42);
  grpc::Status st = Call(&Stub::Undo, undo, &op);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("revision 42"));
  EXPECT_EQ(WritableParts(Get(kube::kDeployments, "web")), before);
}

// CancelOperation: "A rollout that is cancelled rolls back unless it was
// started with no_rollback" — with it, the new template stays.
TEST_F(RolloutPromisesTest, ACancelledRolloutWithNoRollbackKeepsTheNewTemplate) {
  CreateDeployment("web", "web:1", 2);
  v1::RolloutRequest req = Request("web", "web", "web:2-slow30s");
  req.set_no_rollback(true);
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  v1::CancelOperationRequest cancel;
  cancel.set_name(op.name());
  cancel.set_reason("enough");
  v1::Operation ack;
  ASSERT_GRPC_OK(Call(&Stub::CancelOperation, cancel, &ack));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_CANCELLED) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_CANCELLED);
  EXPECT_THAT(done.error().message(), HasSubstr("enough"));
  EXPECT_EQ(TemplateImage("web"), "web:2-slow30s");

  // Cancelling what has ended is refused.
  grpc::Status st = Call(&Stub::CancelOperation, cancel, &ack);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("already ended"));
}

// Rollout works on StatefulSets too (namespaces/NS/statefulsets/NAME).
TEST_F(RolloutPromisesTest, AStatefulSetRollsOutToTheNewImage) {
  CreateStatefulSet("db", "db:1", 2);
  v1::RolloutRequest req;
  req.set_workload(Workload("db", "statefulsets"));
  (*req.mutable_images())["db"] = "db:2";
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.revision(), 2);
  AwaitImages("db", {"db:2", "db:2"});
}

}  // namespace
}  // namespace herd::testing
