// herdd + kubesim in one process, driven over gRPC as a CI pipeline would:
// each test asserts the operation's outcome and the cluster's state after.
#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.grpc.pb.h"
#include "server/herdd/app.h"
#include "server/kube/informer.h"
#include "server/kube/rest_client.h"
#include "test/integration/herdd_fixture.h"
#include "test/integration/writable_parts.h"

namespace herd {
namespace {

using ::herd::testing::WritableParts;
using ::testing::HasSubstr;
using kube::Json;
namespace v1 = ::herd::v1;

class HerddTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto app = herdd::App::Start(::herd::testing::FastSimOptions());
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = std::move(*app);
    stub_ = v1::Herd::NewStub(grpc::CreateChannel(app_->grpc_address(), grpc::InsecureChannelCredentials()));
    kube::RestConfig rc;
    rc.server = app_->simulator()->url();
    rc.qps = 0;
    auto kube = kube::NewRestClient(rc);
    ASSERT_TRUE(kube.ok());
    kube_ = std::move(*kube);
    ASSERT_TRUE(kube_->Create(kube::kNamespaces, "", {{"metadata", {{"name", "shop"}}}}).ok());
  }

  void TearDown() override {
    if (watcher_) watcher_->Stop();
    app_.reset();
  }

  void CreateDeployment(const std::string& name, const std::string& image, int replicas) {
    Json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", name}, {"labels", {{"app", name}}}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", name}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", name}}}}},
                  {"spec", {{"containers", Json::array({{{"name", name}, {"image", image}}})}}}}}}}};
    ASSERT_TRUE(kube_->Create(kube::kDeployments, "shop", d).ok());
    WaitForReady(name, replicas);
  }

  // Waits (on watch events) until `name` has `replicas` Ready pods and no others.
  void WaitForReady(const std::string& name, int replicas) {
    kube::InformerSet informers(*kube_);
    auto& pods = informers.For(kube::kPods, "shop");
    informers.Start();
    auto sel = k8s::LabelSelector::Parse(absl::StrCat("app=", name));
    ASSERT_TRUE(sel.ok());
    absl::Status st = informers.WaitUntil(
        [&] {
          auto list = pods.List("shop", *sel);
          int ready = 0;
          for (const auto& p : list) {
            for (const auto& c : (*p).value("status", Json::object()).value("conditions", Json::array())) {
              if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++ready;
            }
          }
          return ready == replicas && static_cast<int>(list.size()) == replicas;
        },
        absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(st.ok()) << st;
  }

  // Tracks the fewest Ready, not terminating pods of `name` seen on any change.
  void TrackAvailability(const std::string& name) {
    watcher_ = std::make_unique<kube::InformerSet>(*kube_);
    auto& pods = watcher_->For(kube::kPods, "shop");
    auto sel = *k8s::LabelSelector::Parse(absl::StrCat("app=", name));
    auto count = [this, &pods, sel] {
      int ready = 0;
      for (const auto& p : pods.List("shop", sel)) {
        if ((*p)["metadata"].contains("deletionTimestamp")) continue;
        for (const auto& c : (*p).value("status", Json::object()).value("conditions", Json::array())) {
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++ready;
        }
      }
      absl::MutexLock lock(&min_mu_);
      min_ready_ = std::min(min_ready_, ready);
    };
    watcher_->Start();
    ASSERT_TRUE(watcher_->WaitForSync(absl::Now() + absl::Seconds(10)).ok());
    count();
    pods.AddHandlers({.on_add = [count](const kube::ObjectPtr&) { count(); },
                      .on_update = [count](const kube::ObjectPtr&, const kube::ObjectPtr&) { count(); },
                      .on_delete = [count](const kube::ObjectPtr&) { count(); }});
  }
  int MinReady() {
    absl::MutexLock lock(&min_mu_);
    return min_ready_;
  }

  v1::Operation Wait(const std::string& name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchOperationRequest req;
    req.set_name(name);
    auto reader = stub_->WatchOperation(&ctx, req);
    v1::Operation op, last;
    while (reader->Read(&op)) last = op;
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return last;
  }

  grpc::Status Rollout(const std::string& image, v1::Operation* out, bool dry_run = false,
                       const std::string& request_id = "", bool no_rollback = false) {
    grpc::ClientContext ctx;
    v1::RolloutRequest req;
    req.set_workload("namespaces/shop/deployments/web");
    (*req.mutable_images())["web"] = image;
    req.mutable_options()->set_dry_run(dry_run);
    req.mutable_options()->set_request_id(request_id);
    req.mutable_options()->set_reason("test");
    req.set_no_rollback(no_rollback);
    return stub_->Rollout(&ctx, req, out);
  }

  Json Get(const kube::Resource& r, const std::string& name) {
    auto o = kube_->Get(r, "shop", name);
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : Json();
  }

  std::set<std::string> PodImages(const std::string& app) {
    std::set<std::string> out;
    auto pods = kube_->List(kube::kPods, "shop", {.label_selector = "app=" + app});
    for (const auto& p : pods->items) out.insert(p["spec"]["containers"][0].value("image", ""));
    return out;
  }

  std::unique_ptr<herdd::App> app_;
  std::unique_ptr<v1::Herd::Stub> stub_;
  std::unique_ptr<kube::KubeClient> kube_;
  std::unique_ptr<kube::InformerSet> watcher_;
  absl::Mutex min_mu_;
  int min_ready_ ABSL_GUARDED_BY(min_mu_) = 1 << 30;
};

TEST_F(HerddTest, FastRolloutReplacesEveryPodWithoutLosingAvailability) {
  CreateDeployment("web", "web:1", 4);
  TrackAvailability("web");
  v1::Operation op;
  ASSERT_TRUE(Rollout("web:2", &op).ok());
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_RUNNING);
  EXPECT_EQ(op.principal(), "anonymous");
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.progress().ready(), 4);
  EXPECT_EQ(done.progress().remaining(), 0);
  EXPECT_EQ(done.revision(), 2);
  std::set<std::string> phases;
  for (const auto& t : done.timings()) phases.insert(t.phase());
  EXPECT_THAT(phases, ::testing::IsSupersetOf({"api-write", "pods-scheduled", "pods-ready", "old-pods-terminated"}));
  // Every pod is new and every old one gone.
  EXPECT_EQ(PodImages("web"), std::set<std::string>{"web:2"});
  EXPECT_EQ(kube_->List(kube::kPods, "shop", {.label_selector = "app=web"})->items.size(), 4u);
  EXPECT_GE(MinReady(), 4) << "availability dropped during the rollout";
  // The workload's own strategy is back and herd's marks are gone.
  Json d = Get(kube::kDeployments, "web");
  EXPECT_EQ(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  EXPECT_EQ(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], "25%");
  EXPECT_FALSE(d["metadata"]["annotations"].contains("herd.dev/original-strategy"));
  // The record in the cluster says the same (it is written just after the
  // watchers hear of the end).
  kube::InformerSet records(*kube_);
  auto& cms = records.For(kube::kConfigMaps, "herd-system");
  records.Start();
  std::string cm_name = "herd-op-" + op.name().substr(strlen("operations/"));
  absl::Status st = records.WaitUntil(
      [&] {
        kube::ObjectPtr cm = cms.Get("herd-system", cm_name);
        return cm && (*cm)["metadata"]["labels"].value("herd.dev/state", "") == "succeeded";
      },
      absl::Now() + absl::Seconds(10));
  EXPECT_TRUE(st.ok()) << "the record of " << op.name() << " does not say succeeded: " << st;
}

TEST_F(HerddTest, RolloutRollsBackOnCrashLoopWithTheOldPodsServingThroughout) {
  CreateDeployment("web", "web:1", 3);
  TrackAvailability("web");
  v1::Operation op;
  ASSERT_TRUE(Rollout("web:2-crashloop", &op).ok());
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_ROLLED_BACK) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF);
  ASSERT_GT(done.failure().pods_size(), 0);
  EXPECT_EQ(done.failure().pods(0).reason(), "CrashLoopBackOff");
  EXPECT_THAT(done.error().message(), HasSubstr("CrashLoopBackOff"));
  Json d = Get(kube::kDeployments, "web");
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["image"], "web:1");
  EXPECT_EQ(PodImages("web"), std::set<std::string>{"web:1"});
  EXPECT_GE(MinReady(), 3) << "the old pods must serve throughout";
}

TEST_F(HerddTest, ImagePullFailureWithoutRollbackFailsAndSaysWhy) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op;
  ASSERT_TRUE(Rollout("registry.example/no-such-image:2", &op, false, "", /*no_rollback=*/true).ok());
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_FAILED) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_IMAGE_PULL_BACK_OFF);
  EXPECT_EQ(Get(kube::kDeployments, "web")["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example/no-such-image:2");
}

TEST_F(HerddTest, DryRunChangesNothingHerdCouldWrite) {
  CreateDeployment("web", "web:1", 3);
  auto before_pods = kube_->List(kube::kPods, "shop");
  auto before_rs = kube_->List(kube::kReplicaSets, "shop");
  ASSERT_TRUE(before_pods.ok() && before_rs.ok());
  Json before_d = WritableParts(Get(kube::kDeployments, "web"));
  v1::Operation op;
  ASSERT_TRUE(Rollout("web:2", &op, /*dry_run=*/true).ok());
  EXPECT_TRUE(op.dry_run());
  EXPECT_EQ(op.plan().pods_size(), 3);
  EXPECT_EQ(op.plan().pods(0).action(), "replace");
  EXPECT_GT(op.plan().estimated_duration().seconds() + op.plan().estimated_duration().nanos(), 0);
  EXPECT_THAT(op.plan().changes(0), HasSubstr("web:1 → web:2"));
  EXPECT_EQ(WritableParts(Get(kube::kDeployments, "web")), before_d);
  auto after_pods = kube_->List(kube::kPods, "shop");
  auto after_rs = kube_->List(kube::kReplicaSets, "shop");
  ASSERT_TRUE(after_pods.ok() && after_rs.ok());
  EXPECT_EQ(WritableParts(after_pods->items), WritableParts(before_pods->items));
  EXPECT_EQ(WritableParts(after_rs->items), WritableParts(before_rs->items));
  EXPECT_TRUE(kube_->List(kube::kConfigMaps, "herd-system")->items.empty()) << "a dry run records nothing";
}

TEST_F(HerddTest, ASecondMutationOfTheSameWorkloadIsAbortedNamingTheFirst) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation first, second;
  ASSERT_TRUE(Rollout("web:2-slow2s", &first).ok());
  grpc::Status st = Rollout("web:3", &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(st.error_message(), HasSubstr(first.name()));
  EXPECT_EQ(Wait(first.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(PodImages("web"), std::set<std::string>{"web:2-slow2s"});
}

TEST_F(HerddTest, APurgeBySelectorLocksTheWorkloadsItChanges) {
  // The soak scaled a Deployment while a purge by label selector restarted
  // it: that purge locked only its selector, not the workload it wrote.
  CreateDeployment("web", "web:1-slow1s", 2);
  v1::Operation purge;
  {
    grpc::ClientContext ctx;
    v1::PurgeRequest req;
    req.set_namespace_("shop");
    req.set_label_selector("app=web");
    ASSERT_TRUE(stub_->Purge(&ctx, req, &purge).ok());
  }
  grpc::ClientContext ctx;
  v1::ScaleRequest req;
  req.set_workload("namespaces/shop/deployments/web");
  req.set_replicas(5);
  v1::Operation scale;
  grpc::Status st = stub_->Scale(&ctx, req, &scale);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED) << scale.DebugString();
  EXPECT_THAT(st.error_message(), HasSubstr(purge.name()));
  EXPECT_EQ(Wait(purge.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  // Its locks went with it.
  grpc::ClientContext again;
  EXPECT_TRUE(stub_->Scale(&again, req, &scale).ok());
  EXPECT_EQ(Wait(scale.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
}

TEST_F(HerddTest, ARepeatedRequestIdReturnsTheSameOperationAndDoesNothingTwice) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation a, b;
  ASSERT_TRUE(Rollout("web:2", &a, false, "release-42").ok());
  ASSERT_TRUE(Rollout("web:2", &b, false, "release-42").ok());
  EXPECT_EQ(a.name(), b.name());
  Wait(a.name());
  v1::Operation c;
  ASSERT_TRUE(Rollout("web:2", &c, false, "release-42").ok());
  EXPECT_EQ(c.name(), a.name());
  EXPECT_EQ(c.state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(kube_->List(kube::kReplicaSets, "shop")->items.size(), 2u) << "one new ReplicaSet, not two";
  EXPECT_EQ(Get(kube::kDeployments, "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
}

TEST_F(HerddTest, ProtectedNamespacesAreRefused) {
  grpc::ClientContext ctx;
  v1::RolloutRequest req;
  req.set_workload("namespaces/kube-system/deployments/coredns");
  (*req.mutable_images())["coredns"] = "coredns:2";
  v1::Operation op;
  grpc::Status st = stub_->Rollout(&ctx, req, &op);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("kube-system"));
}

TEST_F(HerddTest, UnknownWorkloadsAreNotFound) {
  grpc::ClientContext ctx;
  v1::RolloutRequest req;
  req.set_workload("namespaces/shop/deployments/nope");
  (*req.mutable_images())["nope"] = "x:1";
  v1::Operation op;
  grpc::Status st = stub_->Rollout(&ctx, req, &op);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr("namespaces/shop/deployments/nope not found"));
}

TEST_F(HerddTest, MalformedInputIsInvalidAndTouchesNothing) {
  CreateDeployment("web", "web:1", 1);
  std::string rv = Get(kube::kDeployments, "web")["metadata"]["resourceVersion"];
  struct Case {
    std::string workload;
    std::string container;
    std::string image;
    std::string want;
  };
  for (const auto& c : std::vector<Case>{
           {"shop/web", "web", "web:2", "not a resource name"},
           {"namespaces/shop/daemonsets/web", "web", "web:2", "not a resource name"},
           {"namespaces/shop/deployments/web", "sidecar", "x:1", "has no container \"sidecar\""},
           {"namespaces/shop/deployments/web", "web", "", "is not CONTAINER=IMAGE"},
       }) {
    grpc::ClientContext ctx;
    v1::RolloutRequest req;
    req.set_workload(c.workload);
    (*req.mutable_images())[c.container] = c.image;
    v1::Operation op;
    grpc::Status st = stub_->Rollout(&ctx, req, &op);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.workload;
    EXPECT_THAT(st.error_message(), HasSubstr(c.want));
  }
  EXPECT_EQ(Get(kube::kDeployments, "web")["metadata"]["resourceVersion"], rv);
}

TEST_F(HerddTest, KillAnswersOnceThePodIsEvictedAndABudgetRefusalNamesTheBudget) {
  CreateDeployment("web", "web:1", 2);
  auto pods = kube_->List(kube::kPods, "shop", {.label_selector = "app=web"});
  ASSERT_TRUE(pods.ok());
  ASSERT_EQ(pods->items.size(), 2u);
  const Json victim = pods->items[0];
  const std::string name = victim["metadata"].value("name", "");

  v1::Operation op;
  {
    grpc::ClientContext ctx;
    v1::KillRequest req;
    req.set_namespace_("shop");
    req.add_pods(name);
    ASSERT_TRUE(stub_->Kill(&ctx, req, &op).ok());
  }
  // The answer already says the pod is killed, and the cluster agrees.
  EXPECT_EQ(op.progress().killed(), 1) << op.DebugString();
  auto now = kube_->Get(kube::kPods, "shop", name);
  if (now.ok()) {
    EXPECT_TRUE((*now)["metadata"].contains("deletionTimestamp"));
  } else {
    EXPECT_TRUE(absl::IsNotFound(now.status())) << now.status();
  }
  v1::Operation done = Wait(op.name());
  EXPECT_EQ(done.state(), v1::OPERATION_STATE_SUCCEEDED) << done.DebugString();
  now = kube_->Get(kube::kPods, "shop", name);
  EXPECT_TRUE(!now.ok() || (*now)["metadata"].value("uid", "") != victim["metadata"].value("uid", ""));
  WaitForReady("web", 2);

  // A budget that allows no disruption refuses the next one, by name.
  Json pdb = {{"apiVersion", "policy/v1"},
              {"kind", "PodDisruptionBudget"},
              {"metadata", {{"name", "web-budget"}}},
              {"spec", {{"minAvailable", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  ASSERT_TRUE(kube_->Create(kube::kPodDisruptionBudgets, "shop", pdb).ok());
  {
    kube::InformerSet informers(*kube_);
    auto& budgets = informers.For(kube::kPodDisruptionBudgets, "shop");
    informers.Start();
    ASSERT_TRUE(informers
                    .WaitUntil(
                        [&] {
                          auto b = budgets.Get("shop", "web-budget");
                          return b && (*b).value("status", Json::object()).value("currentHealthy", 0) == 2 &&
                                 (*b)["status"].value("observedGeneration", int64_t{0}) >= 1;
                        },
                        absl::Now() + absl::Seconds(30))
                    .ok());
  }
  pods = kube_->List(kube::kPods, "shop", {.label_selector = "app=web"});
  ASSERT_TRUE(pods.ok());
  const std::string guarded = pods->items[0]["metadata"].value("name", "");
  {
    grpc::ClientContext ctx;
    v1::KillRequest req;
    req.set_namespace_("shop");
    req.add_pods(guarded);
    ASSERT_TRUE(stub_->Kill(&ctx, req, &op).ok());
  }
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_FAILED) << op.DebugString();
  EXPECT_EQ(op.failure().reason(), v1::FAILURE_REASON_DISRUPTION_BUDGET);
  EXPECT_EQ(op.failure().budget(), "web-budget");
  EXPECT_THAT(op.error().message(), HasSubstr("web-budget"));
  Json untouched = Get(kube::kPods, guarded);
  EXPECT_FALSE(untouched["metadata"].contains("deletionTimestamp"));
}

TEST_F(HerddTest, OperationsCanBeListedAndCancelled) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op;
  ASSERT_TRUE(Rollout("web:2-slow30s", &op).ok());
  {
    grpc::ClientContext ctx;
    v1::ListOperationsRequest req;
    req.set_target("namespaces/shop/deployments/web");
    v1::ListOperationsResponse resp;
    ASSERT_TRUE(stub_->ListOperations(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.operations_size(), 1);
    EXPECT_EQ(resp.operations(0).name(), op.name());
  }
  {
    grpc::ClientContext ctx;
    v1::CancelOperationRequest req;
    req.set_name(op.name());
    req.set_reason("wrong image");
    v1::Operation out;
    ASSERT_TRUE(stub_->CancelOperation(&ctx, req, &out).ok());
  }
  v1::Operation done = Wait(op.name());
  EXPECT_EQ(done.state(), v1::OPERATION_STATE_CANCELLED) << done.DebugString();
  EXPECT_THAT(done.error().message(), HasSubstr("wrong image")) << done.DebugString();
  EXPECT_EQ(Get(kube::kDeployments, "web")["spec"]["template"]["spec"]["containers"][0]["image"], "web:1")
      << "a cancelled rollout rolls back" << done.DebugString();
}

}  // namespace
}  // namespace herd
