// The operation engines against kubesim, in process: each test starts a
// simulated cluster, talks to it over HTTP with herd's own client and
// informers, runs an engine to its end, and checks both the operation's
// final state and what the cluster looks like afterwards.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/engines/cronjob.h"
#include "server/engines/kill.h"
#include "server/engines/purge.h"
#include "server/engines/rollout.h"
#include "server/engines/scale.h"
#include "server/engines/workloads.h"
#include "server/kube/errors.h"
#include "server/kube/informer.h"
#include "server/kube/rest_client.h"
#include "server/kube/testing/forwarding_client.h"
#include "server/kube/types.h"
#include "server/ops/engine.h"
#include "server/ops/names.h"
#include "sim/kubesim.h"

namespace herd {
namespace {

namespace v1 = ::herd::v1;
using kube::Json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kNs[] = "default";
constexpr absl::Duration kWait = absl::Seconds(30);

bool Ready(const Json& pod) {
  for (const auto& c : pod.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}
bool Terminating(const Json& pod) { return pod["metadata"].contains("deletionTimestamp"); }
std::string Name(const Json& o) { return o["metadata"].value("name", ""); }
std::string UidOf(const Json& o) { return o["metadata"].value("uid", ""); }

// Counts the Ready, non-terminating pods a selector picks on every event of
// the pod informer, and remembers the lowest count seen since it started.
class ReadyWatch {
 public:
  ReadyWatch(kube::Informer& informer, const std::string& selector)
      : informer_(informer), selector_(*k8s::LabelSelector::Parse(selector)) {
    id_ = informer_.AddHandlers({
        .on_add = [this](const kube::ObjectPtr& o) { Apply(*o, false); },
        .on_update = [this](const kube::ObjectPtr&, const kube::ObjectPtr& o) { Apply(*o, false); },
        .on_delete = [this](const kube::ObjectPtr& o) { Apply(*o, true); },
    });
    // The cache is replayed as adds first: count from the full picture on.
    absl::MutexLock lock(&mu_);
    min_ = static_cast<int>(ready_.size());
    started_ = true;
  }
  ~ReadyWatch() { informer_.RemoveHandlers(id_); }

  int min() const {
    absl::MutexLock lock(&mu_);
    return min_;
  }

 private:
  void Apply(const Json& pod, bool deleted) {
    if (!selector_.Matches(pod["metadata"].value("labels", Json::object()))) return;
    absl::MutexLock lock(&mu_);
    std::string key = UidOf(pod);
    if (!deleted && !Terminating(pod) && Ready(pod)) {
      ready_.insert(key);
    } else {
      ready_.erase(key);
    }
    if (started_) min_ = std::min(min_, static_cast<int>(ready_.size()));
  }

  kube::Informer& informer_;
  k8s::LabelSelector selector_;
  int id_ = 0;
  mutable absl::Mutex mu_;
  std::set<std::string> ready_ ABSL_GUARDED_BY(mu_);
  int min_ ABSL_GUARDED_BY(mu_) = 0;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

Json DeploymentJson(const std::string& name, int replicas, const std::string& image) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"team", "shop"}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", Json::array({{{"name", "web"}, {"image", image}}})}}}}}}}};
}

Json StatefulSetJson(const std::string& name, int replicas, const std::string& image) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", name},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", Json::array({{{"name", "db"}, {"image", image}}})}}}}}}}};
}

Json PodJson(const std::string& name, const std::string& app) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"app", app}}}}},
          {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "solo:1"}}})}}}};
}

Json BudgetJson(const std::string& name, const std::string& app, int min_available) {
  return {{"apiVersion", "policy/v1"},
          {"kind", "PodDisruptionBudget"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", {{"minAvailable", min_available}, {"selector", {{"matchLabels", {{"app", app}}}}}}}};
}

Json CronJobJson(const std::string& name, const std::string& image) {
  return {{"apiVersion", "batch/v1"},
          {"kind", "CronJob"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec",
           {{"schedule", "0 0 1 1 *"},
            {"jobTemplate",
             {{"metadata", {{"labels", {{"team", "batch"}}}, {"annotations", {{"owner", "ops"}}}}},
              {"spec",
               {{"backoffLimit", 0},
                {"template",
                 {{"spec",
                   {{"restartPolicy", "Never"},
                    {"containers", Json::array({{{"name", "c"}, {"image", image}}})}}}}}}}}}}}};
}

class EnginesTest : public ::testing::Test {
 protected:
  virtual sim::SimulatorOptions Options() {
    sim::SimulatorOptions o;
    o.controllers.pod_start_delay = absl::Milliseconds(50);
    o.controllers.kubelet_poll = absl::Milliseconds(10);
    o.controllers.controller_qps = 0;
    o.controllers.scheduler_qps = 0;
    o.controllers.crash_after = absl::Milliseconds(100);
    o.controllers.crash_loop_backoff = absl::Milliseconds(500);
    o.controllers.job_pod_run_time = absl::Milliseconds(200);
    o.controllers.hpa_period = absl::Milliseconds(100);
    return o;
  }

  void SetUp() override {
    auto sim = sim::Simulator::Start(Options());
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    kube::RestConfig config;
    config.server = sim_->url();
    config.qps = 0;
    auto client = kube::NewRestClient(config);
    ASSERT_TRUE(client.ok()) << client.status();
    kube_ = *std::move(client);
    informers_ = std::make_unique<kube::InformerSet>(*kube_);
    informers_->Start();
    ops::EngineSettings settings;
    settings.default_deadline = absl::Seconds(60);
    settings.image_pull_grace = absl::Milliseconds(500);
    settings.unschedulable_grace = absl::Seconds(2);
    env_ = std::make_unique<ops::EngineEnv>(ops::EngineEnv{*kube_, *informers_, *kube::Clock::Real(), settings});
  }

  void TearDown() override {
    if (informers_) {
      LeaveNothingToSchedule();
      informers_->Stop();
    }
    if (sim_) sim_->Stop();
  }

  // kubesim's CronJob and HPA controllers queue a sync on every tick that
  // finds an object of theirs, and stopping the simulator with one queued
  // is not safe yet: remove their objects and let the queues drain first.
  void LeaveNothingToSchedule() {
    std::vector<kube::Informer*> drained;
    for (const kube::Resource* r : {&kube::kCronJobs, &kube::kJobs, &kube::kHorizontalPodAutoscalers}) {
      kube::DeleteOptions background;
      background.propagation_policy = "Background";
      (void)kube_->DeleteCollection(*r, kNs, {}, background);
      drained.push_back(&informers_->For(*r, kNs));
    }
    (void)informers_->WaitUntil(
        [&] {
          return std::all_of(drained.begin(), drained.end(),
                             [](kube::Informer* i) { return i->HasSynced() && i->size() == 0; });
        },
        absl::Now() + absl::Seconds(10));
  }

  kube::Informer& Pods() { return informers_->For(kube::kPods, kNs); }

  void Create(const kube::Resource& r, const Json& obj) {
    auto created = kube_->Create(r, kNs, obj);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // Waits on the informers (no polling) until `done` holds.
  void Await(const std::function<bool()>& done, const std::string& what, absl::Duration limit = kWait) {
    absl::Status st = informers_->WaitUntil(done, absl::Now() + limit);
    ASSERT_TRUE(st.ok()) << "waiting for " << what << ": " << st;
  }

  std::vector<Json> ListPods(const std::string& selector) {
    auto list = kube_->List(kube::kPods, kNs, {.label_selector = selector});
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->items : std::vector<Json>{};
  }

  int CachedReady(const std::string& selector) {
    auto sel = k8s::LabelSelector::Parse(selector);
    int n = 0;
    for (const auto& p : Pods().List(kNs, *sel)) n += !Terminating(*p) && Ready(*p) ? 1 : 0;
    return n;
  }
  int CachedCount(const std::string& selector) {
    auto sel = k8s::LabelSelector::Parse(selector);
    return static_cast<int>(Pods().List(kNs, *sel).size());
  }

  void CreateDeployment(const std::string& name, int replicas, const std::string& image = "web:1") {
    Create(kube::kDeployments, DeploymentJson(name, replicas, image));
    AwaitDeploymentSteady(name, replicas);
  }

  // Every replica updated, Ready and counted in the status, no other pod.
  void AwaitDeploymentSteady(const std::string& name, int replicas) {
    auto& deployments = informers_->For(kube::kDeployments, kNs);
    // The pods of its ReplicaSets (a test may add others with its labels).
    std::string sel = absl::StrCat("app=", name, ",pod-template-hash");
    Await(
        [&] {
          kube::ObjectPtr d = deployments.Get(kNs, name);
          if (!d) return false;
          kube::Deployment dep(d);
          return dep.observed_generation() >= dep.generation() && dep.ready_replicas() == replicas &&
                 dep.updated_replicas() == replicas && dep.status_replicas() == replicas && CachedReady(sel) == replicas &&
                 CachedCount(sel) == replicas;
        },
        absl::StrCat("deployment ", name, " steady at ", replicas));
  }

  void CreateStatefulSet(const std::string& name, int replicas) {
    Create(kube::kStatefulSets, StatefulSetJson(name, replicas, "db:1"));
    AwaitStatefulSetSteady(name, replicas);
  }

  void AwaitStatefulSetSteady(const std::string& name, int replicas) {
    auto& sets = informers_->For(kube::kStatefulSets, kNs);
    std::string sel = absl::StrCat("app=", name);
    Await(
        [&] {
          kube::ObjectPtr s = sets.Get(kNs, name);
          if (!s) return false;
          kube::StatefulSet set(s);
          return set.observed_generation() >= set.generation() && set.ready_replicas() == replicas &&
                 CachedReady(sel) == replicas && CachedCount(sel) == replicas;
        },
        absl::StrCat("statefulset ", name, " steady at ", replicas));
  }

  void AwaitBudget(const std::string& name, int expected_pods) {
    auto& budgets = informers_->For(kube::kPodDisruptionBudgets, kNs);
    Await(
        [&] {
          kube::ObjectPtr b = budgets.Get(kNs, name);
          if (!b) return false;
          kube::PodDisruptionBudget pdb(b);
          return pdb.observed_generation() >= pdb.generation() && pdb.expected_pods() == expected_pods &&
                 pdb.current_healthy() == expected_pods;
        },
        absl::StrCat("budget ", name, " to count ", expected_pods, " pods"));
  }

  v1::Operation Initial(const ops::Engine& engine) {
    v1::Operation op;
    op.set_name(absl::StrCat("operations/test-", ++ops_));
    op.set_kind(engine.kind());
    op.set_target(engine.target());
    op.set_state(v1::OPERATION_STATE_RUNNING);
    ops::SetTime(absl::Now(), op.mutable_create_time());
    return op;
  }

  // Prepares and runs an engine to its end, as the runner would.
  v1::Operation RunEngine(absl::StatusOr<std::unique_ptr<ops::Engine>> engine) {
    EXPECT_TRUE(engine.ok()) << engine.status();
    if (!engine.ok()) return {};
    auto plan = ops::PlanOf(**engine, *env_);
    EXPECT_TRUE(plan.ok()) << plan.status();
    ops::LiveOperation op(Initial(**engine));
    kube::ChangeNotifier* notifier = &informers_->notifier();
    op.SetOnChange([notifier] { notifier->Notify(); });
    (*engine)->Run(*env_, op, false);
    v1::Operation out = op.Snapshot();
    EXPECT_TRUE(ops::IsFinal(out.state())) << out.DebugString();
    return out;
  }

  static std::vector<std::string> Events(const v1::Operation& op) {
    std::vector<std::string> out;
    for (const auto& e : op.events()) out.push_back(e.message());
    return out;
  }

  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<kube::KubeClient> kube_;
  std::unique_ptr<kube::InformerSet> informers_;
  std::unique_ptr<ops::EngineEnv> env_;
  int ops_ = 0;
};

std::string Dump(const v1::Operation& op) { return op.DebugString(); }

// ---------------------------------------------------------------- Rollout

TEST_F(EnginesTest, RolloutReplacesEveryPodWithoutLosingAvailability) {
  CreateDeployment("web", 3);
  std::set<std::string> before;
  for (const auto& p : ListPods("app=web")) before.insert(UidOf(p));
  ReadyWatch watch(Pods(), "app=web");

  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  (*req.mutable_images())["web"] = "web:2";
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_GE(watch.min(), 3);
  auto pods = ListPods("app=web");
  ASSERT_THAT(pods, SizeIs(3));
  for (const auto& p : pods) {
    EXPECT_FALSE(before.count(UidOf(p))) << Name(p) << " is an old pod";
    EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:2");
    EXPECT_TRUE(Ready(p));
  }
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  // The FAST strategy was only for the rollout.
  EXPECT_EQ(dep->max_surge(), "25%");
  EXPECT_EQ(dep->max_unavailable(), "25%");
  EXPECT_EQ(dep->annotation("herd.dev/original-strategy"), "");
  EXPECT_EQ(dep->annotation("herd.dev/operation"), "");
}

TEST_F(EnginesTest, RolloutRollsBackOnCrashLoop) {
  CreateDeployment("web", 3);
  ReadyWatch watch(Pods(), "app=web");
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  (*req.mutable_images())["web"] = "web:2-crashloop";
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_ROLLED_BACK) << Dump(op);
  EXPECT_EQ(op.failure().reason(), v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF);
  ASSERT_GT(op.failure().pods_size(), 0);
  // Why it crashed, from the container's previous log: in the report and
  // the error (which the audit entry carries).
  const auto& tail = op.failure().pods(0).log_tail();
  ASSERT_FALSE(tail.empty()) << Dump(op);
  EXPECT_TRUE(std::any_of(tail.begin(), tail.end(),
                          [](const std::string& l) { return l.rfind("panic: runtime error", 0) == 0; }))
      << Dump(op);
  EXPECT_NE(op.error().message().find("; its log: level=error msg=\"cannot connect to database"), std::string::npos)
      << op.error().message();
  // The old pods served throughout.
  EXPECT_GE(watch.min(), 3);
  AwaitDeploymentSteady("web", 3);
  for (const auto& p : ListPods("app=web")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:1");
}

TEST_F(EnginesTest, RolloutFailsOnImagePullErrors) {
  CreateDeployment("web", 2);
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  (*req.mutable_images())["web"] = "registry.example/web:2-pullfail";
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_ROLLED_BACK) << Dump(op);
  EXPECT_EQ(op.failure().reason(), v1::FAILURE_REASON_IMAGE_PULL_BACK_OFF);
  AwaitDeploymentSteady("web", 2);
  for (const auto& p : ListPods("app=web")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:1");
}

std::vector<std::string> Phases(const v1::Operation& op) {
  std::vector<std::string> out;
  for (const auto& t : op.timings()) out.push_back(t.phase());
  return out;
}

TEST_F(EnginesTest, RolloutRollingKeepsTheWorkloadsOwnStrategyAndRecordsItsTimings) {
  CreateDeployment("web", 4);
  ReadyWatch watch(Pods(), "app=web");
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.set_strategy(v1::ROLLOUT_STRATEGY_ROLLING);
  (*req.mutable_images())["web"] = "web:2";
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(op.revision(), 2);
  // 25 % of 4 may be unavailable: one pod at most.
  EXPECT_GE(watch.min(), 3);
  auto pods = ListPods("app=web");
  ASSERT_THAT(pods, SizeIs(4));
  for (const auto& p : pods) {
    EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:2");
    EXPECT_TRUE(Ready(p));
  }
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->max_surge(), "25%");
  EXPECT_EQ(dep->annotation("herd.dev/original-strategy"), "");
  for (const char* phase : {"api-write", "pods-scheduled", "pods-started", "pods-ready", "old-pods-terminated"}) {
    EXPECT_THAT(Phases(op), Contains(phase)) << Dump(op);
  }
}

TEST_F(EnginesTest, RolloutRollsBackWhenTheNewPodsAreNotReadyWithinTheDeadline) {
  CreateDeployment("web", 2);
  ReadyWatch watch(Pods(), "app=web");
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  (*req.mutable_images())["web"] = "web:2-unready";
  req.mutable_deadline()->set_seconds(2);
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_ROLLED_BACK) << Dump(op);
  EXPECT_EQ(op.failure().reason(), v1::FAILURE_REASON_READINESS_FAILING) << Dump(op);
  ASSERT_THAT(op.failure().pods(), SizeIs(2)) << Dump(op);
  for (const auto& p : op.failure().pods()) EXPECT_EQ(p.reason(), "NotReady");
  EXPECT_THAT(op.error().message(), HasSubstr("not rolled out within 2s"));
  EXPECT_GE(watch.min(), 2);
  AwaitDeploymentSteady("web", 2);
  for (const auto& p : ListPods("app=web")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:1");
}

// Runs a rollout on its own thread and cancels it once `when` says so.
v1::Operation RunAndCancel(ops::EngineEnv& env, kube::InformerSet& informers, ops::Engine& engine,
                           const v1::Operation& initial, const std::function<bool(const v1::Operation&)>& when,
                           const std::function<void()>& before_cancel = {}) {
  EXPECT_TRUE(engine.Prepare(env).ok());
  ops::LiveOperation op(initial);
  kube::ChangeNotifier* notifier = &informers.notifier();
  op.SetOnChange([notifier] { notifier->Notify(); });
  std::thread run([&] { engine.Run(env, op, false); });
  uint64_t seen = op.version();
  absl::Time until = absl::Now() + kWait;
  while (!when(op.Snapshot()) && !op.Done() && absl::Now() < until) seen = op.WaitForChange(seen, until);
  EXPECT_FALSE(op.Done()) << op.Snapshot().DebugString();
  if (before_cancel) before_cancel();
  op.RequestCancel("test cancels");
  run.join();
  return op.Snapshot();
}

bool HasEvent(const v1::Operation& op, absl::string_view prefix) {
  return std::any_of(op.events().begin(), op.events().end(),
                     [&](const v1::OperationEvent& e) { return absl::StartsWith(e.message(), prefix); });
}

TEST_F(EnginesTest, ACancelledRollingRolloutEndsOnlyOnceItsRollbackIsDone) {
  // The soak found a cancelled ROLLING rollout ending CANCELLED ("rolled
  // back: the previous version is serving") right after writing the old
  // template, with pods of the new version still running: the cancel that
  // asked for the rollback also cut short the wait for it.
  CreateDeployment("web", 4);
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.set_strategy(v1::ROLLOUT_STRATEGY_ROLLING);
  (*req.mutable_images())["web"] = "web:2-slow1s";
  auto engine = engines::NewRolloutEngine(req);
  ASSERT_TRUE(engine.ok());
  // Cancelled while new pods start: some old ones are gone already.
  v1::Operation op = RunAndCancel(*env_, *informers_, **engine, Initial(**engine), [](const v1::Operation& o) {
    return HasEvent(o, "new template written") && o.progress().updated() > 0;
  });
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_CANCELLED) << Dump(op);
  // When it says the previous version serves, it does: no pod of the new
  // version is left, and as many of the old one as wanted are Ready.
  auto pods = ListPods("app=web");
  int ready = 0;
  for (const auto& p : pods) {
    EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:1") << Name(p) << " is of the cancelled version";
    ready += Ready(p) && !Terminating(p) ? 1 : 0;
  }
  EXPECT_EQ(ready, 4) << Dump(op);
}

TEST_F(EnginesTest, ACancelledRolloutRollsBackThroughTransientApiErrors) {
  // A cancel stopped WriteAt from sending a failed write again, so the
  // rollback template, the very write the cancel asked for, was given up on
  // after one 500 ("cannot roll back") and the new version stayed.
  CreateDeployment("web", 2);
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  (*req.mutable_images())["web"] = "web:2-slow5s";
  auto engine = engines::NewRolloutEngine(req);
  ASSERT_TRUE(engine.ok());
  v1::Operation op = RunAndCancel(
      *env_, *informers_, **engine, Initial(**engine),
      [](const v1::Operation& o) { return HasEvent(o, "new template written"); },
      [&] {
        sim::Faults f;
        f.fail_next["patch"] = 2;
        sim_->SetFaults(f);
      });
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_CANCELLED) << Dump(op);
  EXPECT_FALSE(HasEvent(op, "cannot roll back")) << Dump(op);
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->json()["spec"]["template"]["spec"]["containers"][0]["image"], "web:1");
  AwaitDeploymentSteady("web", 2);
  for (const auto& p : ListPods("app=web")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:1");
}

TEST_F(EnginesTest, UndoGoesBackToTheRevisionAskedOrTheOneBefore) {
  CreateDeployment("web", 2);
  for (const char* image : {"web:2", "web:3"}) {
    v1::RolloutRequest req;
    req.set_workload("namespaces/default/deployments/web");
    (*req.mutable_images())["web"] = image;
    ASSERT_EQ(RunEngine(engines::NewRolloutEngine(req)).state(), v1::OPERATION_STATE_SUCCEEDED);
  }
  auto images = [&] {
    std::set<std::string> out;
    for (const auto& p : ListPods("app=web")) out.insert(p["spec"]["containers"][0]["image"].get<std::string>());
    return out;
  };

  v1::UndoRequest undo;
  undo.set_workload("namespaces/default/deployments/web");
  undo.set_to_revision(1);
  v1::Operation op = RunEngine(engines::NewUndoEngine(undo));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  // As with `kubectl rollout undo`, the old template comes back as a new revision.
  EXPECT_EQ(op.revision(), 4);
  EXPECT_EQ(images(), std::set<std::string>{"web:1"});

  // Without a revision: the one before the current (web:3, revision 3).
  undo.set_to_revision(0);
  op = RunEngine(engines::NewUndoEngine(undo));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(images(), std::set<std::string>{"web:3"});

  undo.set_to_revision(9);
  auto engine = engines::NewUndoEngine(undo);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  EXPECT_TRUE(absl::IsNotFound(plan.status())) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("revision 9"));
}

TEST_F(EnginesTest, RolloutOfAStatefulSetGoesOnePodAtATimeFromTheHighestOrdinal) {
  CreateStatefulSet("db", 3);
  absl::Mutex mu;
  std::vector<std::string> order;  // pods as they come up at the new image
  auto note = [&](const Json& pod) {
    if (pod["metadata"].value("labels", Json::object()).value("app", "") != "db") return;
    if (pod["spec"]["containers"][0].value("image", "") != "db:2") return;
    absl::MutexLock lock(&mu);
    if (std::find(order.begin(), order.end(), Name(pod)) == order.end()) order.push_back(Name(pod));
  };
  int id = Pods().AddHandlers({
      .on_add = [&](const kube::ObjectPtr& o) { note(*o); },
      .on_update = [&](const kube::ObjectPtr&, const kube::ObjectPtr& o) { note(*o); },
  });
  ReadyWatch watch(Pods(), "app=db");
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/statefulsets/db");
  (*req.mutable_images())["db"] = "db:2";
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));
  Pods().RemoveHandlers(id);

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(order, (std::vector<std::string>{"db-2", "db-1", "db-0"}));
  }
  // One pod down at a time.
  EXPECT_GE(watch.min(), 2);
  auto pods = ListPods("app=db");
  ASSERT_THAT(pods, SizeIs(3));
  for (const auto& p : pods) {
    EXPECT_EQ(p["spec"]["containers"][0]["image"], "db:2");
    EXPECT_TRUE(Ready(p));
  }
}

// Sets a workload's image behind herd's back, as kubectl set image would.
void SetImage(kube::KubeClient& kube, const kube::Resource& r, const std::string& name, const std::string& container,
              const std::string& image) {
  Json patch = {{"spec", {{"template", {{"spec", {{"containers", Json::array({{{"name", container}, {"image", image}}})}}}}}}}};
  auto st = kube.Patch(r, kNs, name, kube::PatchType::kStrategicMerge, patch.dump());
  ASSERT_TRUE(st.ok()) << st.status();
}

TEST_F(EnginesTest, ARolloutThatFixesADeploymentPastItsProgressDeadlineIsJudgedOnItsOwnPods) {
  // The cache shows herd's write before the controller has seen it: the
  // status, with the ProgressDeadlineExceeded of the rollout being fixed,
  // failed the fix at once (and rolled it back to the broken version).
  Json d = DeploymentJson("web", 2, "web:1");
  d["spec"]["progressDeadlineSeconds"] = 1;
  Create(kube::kDeployments, d);
  AwaitDeploymentSteady("web", 2);
  SetImage(*kube_, kube::kDeployments, "web", "web", "web:2-unready");
  auto& deployments = informers_->For(kube::kDeployments, kNs);
  Await(
      [&] {
        kube::ObjectPtr dep = deployments.Get(kNs, "web");
        if (!dep) return false;
        for (const auto& c : (*dep).value("status", Json::object()).value("conditions", Json::array())) {
          if (c.value("reason", "") == "ProgressDeadlineExceeded") return true;
        }
        return false;
      },
      "the broken rollout to pass its progress deadline");
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/deployments/web");
  (*req.mutable_images())["web"] = "web:3";
  req.mutable_deadline()->set_seconds(30);  // its own, not the 1 s the broken one had
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  AwaitDeploymentSteady("web", 2);
  for (const auto& p : ListPods("app=web")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:3");
}

TEST_F(EnginesTest, AnUndoAfterARolloutPastItsProgressDeadlineGoesBack) {
  // Found by the soak: the controller keeps a ProgressDeadlineExceeded
  // condition (naming the ReplicaSet that timed out) until the Deployment
  // makes progress again, also once it has seen the undo's template, which
  // is an existing ReplicaSet's (no new one resets the condition). The undo
  // took it for its own failure and rolled back to the broken version.
  Json d = DeploymentJson("web", 2, "web:1");
  d["spec"]["progressDeadlineSeconds"] = 1;
  Create(kube::kDeployments, d);
  AwaitDeploymentSteady("web", 2);
  {
    // A FAST rollout told not to roll back, as the soak runs them.
    v1::RolloutRequest broken;
    broken.set_workload("namespaces/default/deployments/web");
    (*broken.mutable_images())["web"] = "web:2-unready";
    broken.set_no_rollback(true);
    broken.mutable_deadline()->set_seconds(2);
    ASSERT_EQ(RunEngine(engines::NewRolloutEngine(broken)).state(), v1::OPERATION_STATE_FAILED);
  }
  auto& deployments = informers_->For(kube::kDeployments, kNs);
  auto timed_out = [&] {
    kube::ObjectPtr dep = deployments.Get(kNs, "web");
    if (!dep) return false;
    for (const auto& c : (*dep).value("status", Json::object()).value("conditions", Json::array())) {
      if (c.value("reason", "") == "ProgressDeadlineExceeded") return true;
    }
    return false;
  };
  // The deadline must pass after the last of the broken pods is counted: a
  // pod counted later is progress, which clears the condition until the
  // 30 s deadline below passes (seen on a loaded machine). A status that
  // counts them all and has timed out was written after the last count.
  Await(
      [&] {
        kube::ObjectPtr dep = deployments.Get(kNs, "web");
        if (!dep) return false;
        kube::Deployment status(dep);
        return status.status_replicas() == 4 && status.updated_replicas() == 2 && timed_out();
      },
      "the broken rollout's pods counted and its progress deadline passed");
  // Time enough for the undo itself (the condition stays as it is).
  ASSERT_TRUE(kube_->Patch(kube::kDeployments, kNs, "web", kube::PatchType::kMerge,
                           R"({"spec":{"progressDeadlineSeconds":30}})").ok());
  Await([&] {
    kube::ObjectPtr dep = deployments.Get(kNs, "web");
    return dep && kube::Deployment(dep).observed_generation() >= kube::Deployment(dep).generation() && timed_out();
  }, "the controller to see the new deadline");
  v1::UndoRequest req;
  req.set_workload("namespaces/default/deployments/web");
  v1::Operation op = RunEngine(engines::NewUndoEngine(req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  AwaitDeploymentSteady("web", 2);
  for (const auto& p : ListPods("app=web")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:1");
}

TEST_F(EnginesTest, ARolloutFixesACrashLoopingStatefulSet) {
  // The soak rolled a good version over a StatefulSet a failed rollout had
  // left crash-looping: the controller (OrderedReady) never replaces a pod
  // that is not Ready, so the fix waited out its deadline. Before that,
  // until the controller had seen herd's template, updateRevision still
  // named the broken revision and its crash-looping pod counted as new.
  CreateStatefulSet("db", 2);
  SetImage(*kube_, kube::kStatefulSets, "db", "db", "db:2-crashloop");
  Await(
      [&] {
        for (const auto& p : Pods().List(kNs, *k8s::LabelSelector::Parse("app=db"))) {
          for (const auto& cs : (*p).value("status", Json::object()).value("containerStatuses", Json::array())) {
            if (cs.value("restartCount", 0) >= 2) return true;
          }
        }
        return false;
      },
      "db-1 to crash-loop");
  v1::RolloutRequest req;
  req.set_workload("namespaces/default/statefulsets/db");
  (*req.mutable_images())["db"] = "db:3";
  req.mutable_deadline()->set_seconds(20);
  v1::Operation op = RunEngine(engines::NewRolloutEngine(req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  AwaitStatefulSetSteady("db", 2);
  for (const auto& p : ListPods("app=db")) EXPECT_EQ(p["spec"]["containers"][0]["image"], "db:3");
}

// ------------------------------------------------------------------ Scale

TEST_F(EnginesTest, ScaleUpWaitsForTheNewPodsToBeReady) {
  CreateDeployment("web", 2);
  v1::ScaleRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.set_replicas(5);
  auto engine = engines::NewScaleEngine(req);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->summary(), HasSubstr("from 2 to 5"));
  v1::Operation op = RunEngine(std::move(engine));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(op.progress().desired(), 5);
  EXPECT_EQ(op.progress().ready(), 5);
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->replicas(), 5);
  int ready = 0;
  for (const auto& p : ListPods("app=web")) ready += Ready(p) && !Terminating(p) ? 1 : 0;
  EXPECT_EQ(ready, 5);
}

TEST_F(EnginesTest, ScaleDownWaitsUntilTheRemovedPodsAreGone) {
  CreateDeployment("web", 4);
  v1::ScaleRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.set_delta(-2);
  v1::Operation op = RunEngine(engines::NewScaleEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(op.progress().remaining(), 0);
  // Gone from the API, not just terminating.
  auto pods = ListPods("app=web");
  EXPECT_THAT(pods, SizeIs(2));
  for (const auto& p : pods) EXPECT_FALSE(Terminating(p)) << Name(p);
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->replicas(), 2);
}

TEST_F(EnginesTest, ScaleRefusesCountsOutsideTheBoundsAndMissingWorkloads) {
  CreateDeployment("web", 3);
  v1::ScaleRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.set_delta(2);
  req.set_min_replicas(2);
  req.set_max_replicas(4);
  auto engine = engines::NewScaleEngine(req);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("[2, 4]"));

  req.set_delta(-4);
  req.clear_min_replicas();
  req.clear_max_replicas();
  plan = ops::PlanOf(**engines::NewScaleEngine(req), *env_);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("cannot be negative"));

  req.set_replicas(9);
  req.set_max_replicas(4);
  EXPECT_EQ(engines::NewScaleEngine(req).status().code(), absl::StatusCode::kInvalidArgument);

  req.set_workload("namespaces/default/deployments/nope");
  req.clear_max_replicas();
  plan = ops::PlanOf(**engines::NewScaleEngine(req), *env_);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(plan.status().message(), HasSubstr("namespaces/default/deployments/nope"));

  v1::ScaleRequest none;
  none.set_workload("namespaces/default/deployments/web");
  EXPECT_EQ(engines::NewScaleEngine(none).status().code(), absl::StatusCode::kInvalidArgument);
  // Nothing was touched.
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->replicas(), 3);
}

TEST_F(EnginesTest, ScaleHoldsTheAutoscalerAndRestoresItLater) {
  CreateDeployment("web", 2);
  Create(kube::kHorizontalPodAutoscalers,
         {{"apiVersion", "autoscaling/v2"},
          {"kind", "HorizontalPodAutoscaler"},
          {"metadata", {{"name", "web"}, {"namespace", kNs}}},
          {"spec",
           {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "web"}}},
            {"minReplicas", 1},
            {"maxReplicas", 3}}}});
  v1::ScaleRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.set_replicas(5);
  req.mutable_hpa_hold()->set_seconds(1);
  v1::Operation op = RunEngine(engines::NewScaleEngine(req));
  // Above the HPA's maximum of 3: without the hold it would have scaled
  // the Deployment back while the operation waited.
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);

  kube::Api<kube::HorizontalPodAutoscaler> hpas(*kube_);
  auto held = hpas.Get(kNs, "web");
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->min_replicas(), 5);
  EXPECT_EQ(held->max_replicas(), 5);
  EXPECT_EQ(Json::parse(held->annotation(engines::kHpaOriginalAnnotation)), Json({{"min", 1}, {"max", 3}}));
  EXPECT_NE(held->annotation(engines::kHpaRestoreAtAnnotation), "");

  // Not yet due: nothing changes.
  auto early = engines::RestoreExpiredHpaHolds(*env_, absl::Now() - absl::Minutes(1));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(*early, 0);
  // Due (the hold was 1 s): restored once, and a second call finds nothing.
  auto restored = engines::RestoreExpiredHpaHolds(*env_, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, 1);
  auto again = engines::RestoreExpiredHpaHolds(*env_, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  auto back = hpas.Get(kNs, "web");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->min_replicas(), 1);
  EXPECT_EQ(back->max_replicas(), 3);
  EXPECT_EQ(back->annotation(engines::kHpaOriginalAnnotation), "");
  EXPECT_EQ(back->annotation(engines::kHpaRestoreAtAnnotation), "");
  // And the autoscaler is in charge again.
  auto& deployments = informers_->For(kube::kDeployments, kNs);
  Await([&] { auto d = deployments.Get(kNs, "web"); return d && kube::Deployment(d).replicas() == 3; },
        "the HPA to bring web back within its bounds");
}

TEST_F(EnginesTest, ScaleStatefulSetUpAndDown) {
  CreateStatefulSet("db", 1);
  v1::ScaleRequest req;
  req.set_workload("namespaces/default/statefulsets/db");
  req.set_replicas(3);
  v1::Operation up = RunEngine(engines::NewScaleEngine(req));
  EXPECT_EQ(up.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(up);
  std::set<std::string> names;
  for (const auto& p : ListPods("app=db")) {
    EXPECT_TRUE(Ready(p)) << Name(p);
    names.insert(Name(p));
  }
  EXPECT_EQ(names, (std::set<std::string>{"db-0", "db-1", "db-2"}));

  req.set_replicas(1);
  v1::Operation down = RunEngine(engines::NewScaleEngine(req));
  EXPECT_EQ(down.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(down);
  auto pods = ListPods("app=db");
  ASSERT_THAT(pods, SizeIs(1));
  EXPECT_EQ(Name(pods[0]), "db-0");
}

// ------------------------------------------------------------------- Kill

TEST_F(EnginesTest, KillEvictsThePodAndWaitsUntilItIsGone) {
  CreateDeployment("web", 3);
  auto pods = ListPods("app=web");
  ASSERT_THAT(pods, SizeIs(3));
  const Json victim = pods[0];
  v1::KillRequest req;
  req.set_namespace_(kNs);
  req.add_pods(Name(victim));
  v1::Operation op = RunEngine(engines::NewKillEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(op.progress().killed(), 1);
  auto gone = kube_->Get(kube::kPods, kNs, Name(victim));
  EXPECT_TRUE(absl::IsNotFound(gone.status())) << gone.status();
}

TEST_F(EnginesTest, KillRefusedByABudgetNamesItAndLeavesThePod) {
  for (const char* name : {"solo-a", "solo-b", "solo-c"}) Create(kube::kPods, PodJson(name, "solo"));
  Create(kube::kPodDisruptionBudgets, BudgetJson("solo-pdb", "solo", 2));
  Await([&] { return CachedReady("app=solo") == 3; }, "the solo pods");
  AwaitBudget("solo-pdb", 3);

  v1::KillRequest req;
  req.set_namespace_(kNs);
  req.set_label_selector("app=solo");
  req.set_max_pods(3);
  auto engine = engines::NewKillEngine(req);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_THAT(plan->pods(), SizeIs(3));
  EXPECT_THAT(plan->pods(0).verdict(), HasSubstr("allowed by solo-pdb"));
  EXPECT_THAT(plan->pods(1).verdict(), HasSubstr("refused by solo-pdb"));
  ASSERT_THAT(plan->budgets(), SizeIs(1));
  EXPECT_TRUE(plan->budgets(0).blocks());
  EXPECT_EQ(plan->budgets(0).disruptions_allowed(), 1);

  // The first eviction uses the one disruption the budget allows; the
  // second is refused, and the kill stops there.
  v1::Operation op = RunEngine(std::move(engine));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_FAILED) << Dump(op);
  EXPECT_EQ(op.failure().reason(), v1::FAILURE_REASON_DISRUPTION_BUDGET);
  EXPECT_EQ(op.failure().budget(), "solo-pdb");
  ASSERT_THAT(op.failure().pods(), SizeIs(1));
  EXPECT_EQ(op.failure().pods(0).pod(), "solo-b");
  EXPECT_THAT(op.error().message(), HasSubstr("solo-pdb"));
  EXPECT_EQ(op.progress().killed(), 1);
  auto b = kube_->Get(kube::kPods, kNs, "solo-b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(Terminating(*b));
  auto c = kube_->Get(kube::kPods, kNs, "solo-c");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(Terminating(*c));
}

TEST_F(EnginesTest, KillRefusesMoreThanMaxPodsAndMissingNamesTouchingNothing) {
  CreateDeployment("web", 3);
  v1::KillRequest req;
  req.set_namespace_(kNs);
  req.set_label_selector("app=web");
  req.set_max_pods(2);
  auto engine = engines::NewKillEngine(req);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(plan.status().message(), "would kill 3 pods, more than max_pods 2; raise max_pods to go on");
  ops::LiveOperation live(Initial(**engine));
  (*engine)->Run(*env_, live, false);
  EXPECT_EQ(live.Snapshot().state(), v1::OPERATION_STATE_FAILED);

  auto pods = ListPods("app=web");
  v1::KillRequest named;
  named.set_namespace_(kNs);
  named.add_pods(Name(pods[0]));
  named.add_pods("web-nope");
  auto missing = ops::PlanOf(**engines::NewKillEngine(named), *env_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("web-nope"));

  v1::KillRequest nothing;
  nothing.set_namespace_(kNs);
  nothing.set_label_selector("app=nothing");
  EXPECT_EQ(ops::PlanOf(**engines::NewKillEngine(nothing), *env_).status().code(), absl::StatusCode::kNotFound);

  for (const auto& p : ListPods("app=web")) EXPECT_FALSE(Terminating(p)) << Name(p);
  EXPECT_THAT(ListPods("app=web"), SizeIs(3));
}

TEST_F(EnginesTest, KillWithForceDeletesDespiteTheBudget) {
  Create(kube::kPods, PodJson("solo-a", "solo"));
  Create(kube::kPodDisruptionBudgets, BudgetJson("solo-pdb", "solo", 1));
  Await([&] { return CachedReady("app=solo") == 1; }, "the solo pod");
  v1::KillRequest req;
  req.set_namespace_(kNs);
  req.add_pods("solo-a");
  req.set_force(true);
  req.set_grace_period_seconds(0);
  v1::Operation op = RunEngine(engines::NewKillEngine(req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_TRUE(absl::IsNotFound(kube_->Get(kube::kPods, kNs, "solo-a").status()));
}

// ------------------------------------------------------------------ Purge

TEST_F(EnginesTest, PurgeRestartsEveryPodOfADeploymentKeepingAvailability) {
  CreateDeployment("web", 3);
  std::set<std::string> before;
  for (const auto& p : ListPods("app=web")) before.insert(UidOf(p));
  ReadyWatch watch(Pods(), "app=web");
  v1::PurgeRequest req;
  req.set_workload("namespaces/default/deployments/web");
  v1::Operation op = RunEngine(engines::NewPurgeEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_GE(watch.min(), 3);
  EXPECT_EQ(op.progress().desired(), 3);
  EXPECT_EQ(op.progress().remaining(), 0);
  auto pods = ListPods("app=web");
  ASSERT_THAT(pods, SizeIs(3));
  for (const auto& p : pods) EXPECT_FALSE(before.count(UidOf(p))) << Name(p) << " was not replaced";
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->max_surge(), "25%");
  EXPECT_EQ(dep->max_unavailable(), "25%");
  EXPECT_NE(dep->json()["spec"]["template"]["metadata"]["annotations"].value("herd.dev/purgedAt", ""), "");
}

TEST_F(EnginesTest, PurgeOlderThanReplacesInBatchesKeepingAvailability) {
  CreateDeployment("web", 3);
  std::set<std::string> before;
  for (const auto& p : ListPods("app=web")) before.insert(UidOf(p));
  ReadyWatch watch(Pods(), "app=web");
  v1::PurgeRequest req;
  req.set_workload("namespaces/default/deployments/web");
  req.mutable_older_than()->set_nanos(1000000);
  req.set_batch_size(2);
  auto engine = engines::NewPurgeEngine(req);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->summary(), HasSubstr("2 batches"));
  v1::Operation op = RunEngine(std::move(engine));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_GE(watch.min(), 3);
  for (const auto& p : ListPods("app=web")) {
    EXPECT_FALSE(before.count(UidOf(p))) << Name(p) << " was not replaced";
  }
  // Surplus pods the controller started and removed on the way may still
  // be terminating when the operation ends.
  AwaitDeploymentSteady("web", 3);
  auto dep = kube::Api<kube::Deployment>(*kube_).Get(kNs, "web");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->replicas(), 3);
}

TEST_F(EnginesTest, PurgeBySelectorReplacesOnlyThePickedPods) {
  CreateDeployment("web", 3);
  auto pods = ListPods("app=web");
  ASSERT_THAT(pods, SizeIs(3));
  const std::string picked = Name(pods[1]);
  auto labelled = kube_->Patch(kube::kPods, kNs, picked, kube::PatchType::kMerge,
                               R"({"metadata":{"labels":{"refresh":"yes"}}})");
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  ReadyWatch watch(Pods(), "app=web");
  v1::PurgeRequest req;
  req.set_namespace_(kNs);
  req.set_label_selector("app=web,refresh=yes");
  v1::Operation op = RunEngine(engines::NewPurgeEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(op.progress().desired(), 1);
  EXPECT_GE(watch.min(), 3);
  AwaitDeploymentSteady("web", 3);
  std::set<std::string> after;
  for (const auto& p : ListPods("app=web")) after.insert(Name(p));
  EXPECT_FALSE(after.count(picked));
  // Which pods the scale-down takes is the ReplicaSet controller's call:
  // one that honours pod-deletion-cost takes the picked pod and no other,
  // kubesim's may take another old pod on the way (herd then evicts the
  // picked one after its replacement is Ready). At most one goes extra.
  EXPECT_GE(after.count(Name(pods[0])) + after.count(Name(pods[2])), 1u);
}

// The cache never watches: it holds what its first list saw.
class NoWatches : public kube::ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;
  absl::StatusOr<std::unique_ptr<kube::WatchStream>> Watch(const kube::Resource&, absl::string_view,
                                                           const kube::WatchOptions&) override {
    return absl::UnavailableError("no watches here");
  }
};

TEST_F(EnginesTest, ARefusalPlannedFromABehindCacheIsConfirmedByTheApiServer) {
  // The suite saw a purge by selector refused (no pod matches) right after
  // the pod was labelled: herd's cache had not seen the label yet.
  CreateDeployment("web", 2);
  NoWatches frozen(*kube_);
  kube::InformerSet behind(frozen);
  behind.Start();
  ASSERT_TRUE(behind.For(kube::kPods, kNs).WaitForSync(absl::Now() + kWait).ok());
  const std::string picked = Name(ListPods("app=web").at(0));
  ASSERT_TRUE(kube_->Patch(kube::kPods, kNs, picked, kube::PatchType::kMerge,
                           R"({"metadata":{"labels":{"refresh":"yes"}}})").ok());
  ops::EngineEnv env{*kube_, behind, *kube::Clock::Real(), env_->settings};
  v1::PurgeRequest req;
  req.set_namespace_(kNs);
  req.set_label_selector("app=web,refresh=yes");
  auto engine = engines::NewPurgeEngine(req);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE(absl::IsNotFound((*engine)->Prepare(env).status())) << "the cache should be behind";
  auto plan = ops::PlanOf(**engine, env);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->pods_size(), 1) << plan->DebugString();
  EXPECT_EQ(plan->pods(0).pod(), picked);
  // A refusal the API server agrees with stays one.
  req.set_label_selector("app=nothing");
  EXPECT_TRUE(absl::IsNotFound(ops::PlanOf(**engines::NewPurgeEngine(req), env).status()));
}

TEST_F(EnginesTest, PurgeStatefulSetGoesFromTheHighestOrdinal) {
  CreateStatefulSet("db", 3);
  std::map<std::string, std::string> before;
  for (const auto& p : ListPods("app=db")) before[Name(p)] = UidOf(p);
  ReadyWatch watch(Pods(), "app=db");
  v1::PurgeRequest req;
  req.set_workload("namespaces/default/statefulsets/db");
  v1::Operation op = RunEngine(engines::NewPurgeEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  // One pod at a time: never more than one down.
  EXPECT_GE(watch.min(), 2);
  std::vector<std::string> evicted;
  for (const auto& e : Events(op)) {
    if (absl::StartsWith(e, "evicted pod ")) evicted.push_back(e.substr(strlen("evicted pod ")));
  }
  EXPECT_EQ(evicted, (std::vector<std::string>{"db-2", "db-1", "db-0"}));
  auto pods = ListPods("app=db");
  ASSERT_THAT(pods, SizeIs(3));
  for (const auto& p : pods) {
    EXPECT_NE(before[Name(p)], UidOf(p)) << Name(p) << " was not replaced";
    EXPECT_TRUE(Ready(p));
  }
}

TEST_F(EnginesTest, PurgeStatefulSetFailsWhenABudgetNeverAllowsIt) {
  env_->settings.default_deadline = absl::Seconds(2);
  CreateStatefulSet("db", 2);
  Create(kube::kPodDisruptionBudgets, BudgetJson("db-pdb", "db", 2));
  AwaitBudget("db-pdb", 2);
  v1::PurgeRequest req;
  req.set_workload("namespaces/default/statefulsets/db");
  v1::Operation op = RunEngine(engines::NewPurgeEngine(req));

  EXPECT_EQ(op.state(), v1::OPERATION_STATE_FAILED) << Dump(op);
  EXPECT_EQ(op.failure().reason(), v1::FAILURE_REASON_DISRUPTION_BUDGET);
  EXPECT_EQ(op.failure().budget(), "db-pdb");
  EXPECT_THAT(op.error().message(), HasSubstr("db-pdb"));
  for (const auto& p : ListPods("app=db")) EXPECT_FALSE(Terminating(p));
}

TEST_F(EnginesTest, PurgeSkipsUncontrolledPodsUnlessBurning) {
  CreateDeployment("mix", 2);
  Create(kube::kPods, PodJson("mix-solo", "mix"));
  Await([&] { return CachedReady("app=mix") == 3; }, "the mix pods");
  std::set<std::string> before;
  for (const auto& p : ListPods("app=mix")) before.insert(UidOf(p));

  v1::PurgeRequest req;
  req.set_namespace_(kNs);
  req.set_label_selector("app=mix");
  auto engine = engines::NewPurgeEngine(req);
  ASSERT_TRUE(engine.ok());
  auto plan = ops::PlanOf(**engine, *env_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->summary(), HasSubstr("1 pod skipped"));
  v1::Operation rolling = RunEngine(std::move(engine));
  EXPECT_EQ(rolling.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(rolling);
  EXPECT_THAT(Events(rolling), Contains(HasSubstr("mix-solo")));
  auto solo = kube_->Get(kube::kPods, kNs, "mix-solo");
  ASSERT_TRUE(solo.ok());
  EXPECT_TRUE(before.count(UidOf(*solo)));

  AwaitDeploymentSteady("mix", 2);
  before.clear();
  for (const auto& p : ListPods("app=mix")) before.insert(UidOf(p));
  req.set_mode(v1::PURGE_MODE_BURN);
  v1::Operation burn = RunEngine(engines::NewPurgeEngine(req));
  EXPECT_EQ(burn.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(burn);
  EXPECT_EQ(burn.progress().killed(), 3);
  EXPECT_TRUE(absl::IsNotFound(kube_->Get(kube::kPods, kNs, "mix-solo").status()));
  AwaitDeploymentSteady("mix", 2);
  for (const auto& p : ListPods("app=mix")) EXPECT_FALSE(before.count(UidOf(p))) << Name(p) << " survived the burn";
}

// --------------------------------------------------------------- CronJobs

TEST_F(EnginesTest, CronJobRunStartsAJobAndWaitsForIt) {
  Create(kube::kCronJobs, CronJobJson("tick", "job:1"));
  v1::CronJobRequest req;
  req.set_cronjob("namespaces/default/cronjobs/tick");
  v1::Operation op = RunEngine(engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_RUN, req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);

  auto jobs = kube::Api<kube::Job>(*kube_).List(kNs);
  ASSERT_TRUE(jobs.ok());
  ASSERT_THAT(*jobs, SizeIs(1));
  const kube::Job& job = (*jobs)[0];
  EXPECT_TRUE(absl::StartsWith(job.name(), "tick-manual-")) << job.name();
  EXPECT_LE(job.name().size(), 63u);
  EXPECT_EQ(job.annotation("cronjob.kubernetes.io/instantiate"), "manual");
  EXPECT_EQ(job.annotation("owner"), "ops");
  EXPECT_EQ(job.label("team"), "batch");
  auto owner = job.controller_ref();
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->kind, "CronJob");
  EXPECT_EQ(owner->name, "tick");
  EXPECT_TRUE(job.complete());
  EXPECT_GE(job.succeeded(), 1);
}

TEST_F(EnginesTest, CronJobRunReportsAFailedJob) {
  Create(kube::kCronJobs, CronJobJson("tick", "job:1-exit1"));
  v1::CronJobRequest req;
  req.set_cronjob("namespaces/default/cronjobs/tick");
  v1::Operation op = RunEngine(engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_RUN, req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_FAILED) << Dump(op);
  EXPECT_THAT(op.error().message(), HasSubstr("BackoffLimitExceeded"));
}

TEST_F(EnginesTest, CronJobSuspendAndResume) {
  Create(kube::kCronJobs, CronJobJson("tick", "job:1"));
  v1::CronJobRequest req;
  req.set_cronjob("namespaces/default/cronjobs/tick");
  kube::Api<kube::CronJob> cronjobs(*kube_);

  v1::Operation op = RunEngine(engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_SUSPEND, req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_TRUE(cronjobs.Get(kNs, "tick")->suspend());

  op = RunEngine(engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_SUSPEND, req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_THAT(Events(op), Contains(HasSubstr("already suspended")));

  op = RunEngine(engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_RESUME, req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_FALSE(cronjobs.Get(kNs, "tick")->suspend());

  req.set_cronjob("namespaces/default/cronjobs/nope");
  auto missing = (*engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_RESUME, req))->Prepare(*env_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(engines::NewCronJobEngine(v1::OPERATION_KIND_SCALE, req).ok());
}

class LongJobsTest : public EnginesTest {
 protected:
  sim::SimulatorOptions Options() override {
    sim::SimulatorOptions o = EnginesTest::Options();
    o.controllers.job_pod_run_time = absl::Minutes(10);
    return o;
  }
};

TEST_F(LongJobsTest, CronJobKillJobsDeletesTheRunningJobsAndTheirPods) {
  Create(kube::kCronJobs, CronJobJson("tick", "job:1"));
  auto cj = kube_->Get(kube::kCronJobs, kNs, "tick");
  ASSERT_TRUE(cj.ok());
  Json job = {{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata",
               {{"name", "tick-1"},
                {"namespace", kNs},
                {"ownerReferences", Json::array({{{"apiVersion", "batch/v1"},
                                                  {"kind", "CronJob"},
                                                  {"name", "tick"},
                                                  {"uid", UidOf(*cj)},
                                                  {"controller", true}}})}}},
              {"spec", (*cj)["spec"]["jobTemplate"]["spec"]}};
  Create(kube::kJobs, job);
  Await([&] { return CachedReady("job-name=tick-1") == 1; }, "the job's pod to run");

  v1::CronJobRequest req;
  req.set_cronjob("namespaces/default/cronjobs/tick");
  v1::Operation op = RunEngine(engines::NewCronJobEngine(v1::OPERATION_KIND_CRONJOB_KILL_JOBS, req));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << Dump(op);
  EXPECT_EQ(op.progress().killed(), 1);
  EXPECT_TRUE(absl::IsNotFound(kube_->Get(kube::kJobs, kNs, "tick-1").status()));
  EXPECT_THAT(ListPods("job-name=tick-1"), IsEmpty());
}

// -------------------------------------------------------------- Workloads

TEST_F(EnginesTest, DescribeAndListWorkloads) {
  CreateDeployment("web", 2);
  CreateStatefulSet("db", 1);
  Create(kube::kCronJobs, CronJobJson("tick", "job:1"));
  Create(kube::kHorizontalPodAutoscalers,
         {{"apiVersion", "autoscaling/v2"},
          {"kind", "HorizontalPodAutoscaler"},
          {"metadata", {{"name", "web"}, {"namespace", kNs}}},
          {"spec",
           {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "web"}}},
            {"minReplicas", 2},
            {"maxReplicas", 6}}}});

  auto web = engines::DescribeWorkload(*env_, *ops::ParseWorkloadName("namespaces/default/deployments/web"));
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_EQ(web->kind(), "Deployment");
  ASSERT_THAT(web->containers(), SizeIs(1));
  EXPECT_EQ(web->containers(0).image(), "web:1");
  EXPECT_EQ(web->desired_replicas(), 2);
  EXPECT_EQ(web->ready_replicas(), 2);
  EXPECT_EQ(web->revision(), 1);
  ASSERT_THAT(web->pods(), SizeIs(2));
  for (const auto& p : web->pods()) {
    EXPECT_TRUE(p.ready());
    EXPECT_EQ(p.phase(), "Running");
    EXPECT_NE(p.node(), "");
    EXPECT_EQ(p.reason(), "");
  }
  EXPECT_EQ(web->autoscaler(), "web");
  EXPECT_EQ(web->autoscaler_min(), 2);
  EXPECT_EQ(web->autoscaler_max(), 6);
  EXPECT_EQ(web->labels().at("team"), "shop");
  EXPECT_EQ(web->running_operation(), "");

  auto db = engines::DescribeWorkload(*env_, *ops::ParseWorkloadName("namespaces/default/statefulsets/db"));
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(db->revision(), 1);
  ASSERT_THAT(db->pods(), SizeIs(1));
  EXPECT_EQ(db->pods(0).name(), "db-0");

  auto tick = engines::DescribeWorkload(*env_, *ops::ParseWorkloadName("namespaces/default/cronjobs/tick"));
  ASSERT_TRUE(tick.ok()) << tick.status();
  EXPECT_EQ(tick->schedule(), "0 0 1 1 *");
  EXPECT_FALSE(tick->suspended());

  auto missing = engines::DescribeWorkload(*env_, *ops::ParseWorkloadName("namespaces/default/deployments/nope"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);

  v1::ListWorkloadsRequest list;
  list.set_namespace_(kNs);
  list.set_page_size(2);
  auto page1 = engines::ListWorkloads(*env_, list);
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_THAT(page1->workloads(), SizeIs(2));
  EXPECT_EQ(page1->workloads(0).name(), "web");
  EXPECT_EQ(page1->workloads(1).name(), "db");
  ASSERT_NE(page1->next_page_token(), "");
  list.set_page_token(page1->next_page_token());
  auto page2 = engines::ListWorkloads(*env_, list);
  ASSERT_TRUE(page2.ok()) << page2.status();
  ASSERT_THAT(page2->workloads(), SizeIs(1));
  EXPECT_EQ(page2->workloads(0).name(), "tick");
  EXPECT_EQ(page2->next_page_token(), "");

  v1::ListWorkloadsRequest filtered;
  filtered.set_label_selector("team=shop");
  auto shop = engines::ListWorkloads(*env_, filtered);
  ASSERT_TRUE(shop.ok());
  ASSERT_THAT(shop->workloads(), SizeIs(1));
  EXPECT_EQ(shop->workloads(0).name(), "web");

  filtered.set_kind("daemonsets");
  EXPECT_EQ(engines::ListWorkloads(*env_, filtered).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace herd
