// A herdd with an in-process kubesim, driven over gRPC as a client would,
// and watched through informers of its own: the fixture of the tests that
// prove the API's promises through the running service (docs/PROMISES.md).
//
//   class RolloutPromisesTest : public HerddFixture {};
//   TEST_F(RolloutPromisesTest, RestartReplacesEveryPod) {
//     CreateDeployment("web", "web:1", 2);
//     v1::RolloutRequest req;
//     req.set_workload(Workload("web"));
//     req.set_restart(true);
//     v1::Operation op;
//     ASSERT_OK(Call(&Stub::Rollout, req, &op));
//     EXPECT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
//   }
//
// Every wait is on informer changes with a deadline; nothing sleeps.
#ifndef HERD_TEST_INTEGRATION_HERDD_FIXTURE_H_
#define HERD_TEST_INTEGRATION_HERDD_FIXTURE_H_

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.grpc.pb.h"
#include "server/engines/workloads.h"
#include "server/herdd/app.h"
#include "server/kube/informer.h"
#include "server/kube/rest_client.h"

namespace herd::testing {

namespace v1 = ::herd::v1;
using kube::Json;
using Stub = v1::Herd::Stub;

#define ASSERT_GRPC_OK(expr)                                      \
  do {                                                            \
    const ::grpc::Status herd_st_ = (expr);                       \
    ASSERT_TRUE(herd_st_.ok()) << #expr << ": " << herd_st_.error_code() << " " << herd_st_.error_message(); \
  } while (0)

inline constexpr char kNs[] = "shop";

inline bool PodReady(const Json& pod) {
  for (const auto& c : pod.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}
inline bool Terminating(const Json& o) { return o["metadata"].contains("deletionTimestamp"); }
inline std::string NameOf(const Json& o) { return o["metadata"].value("name", ""); }
inline std::string UidOf(const Json& o) { return o["metadata"].value("uid", ""); }

inline Json PodTemplate(const std::string& app, const std::string& image) {
  return {{"metadata", {{"labels", {{"app", app}}}}},
          {"spec", {{"containers", Json::array({{{"name", app}, {"image", image}}})}}}};
}

inline Json DeploymentJson(const std::string& name, const std::string& image, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"app", name}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template", PodTemplate(name, image)}}}};
}

inline Json StatefulSetJson(const std::string& name, const std::string& image, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"app", name}}}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", name},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template", PodTemplate(name, image)}}}};
}

inline Json CronJobJson(const std::string& name, const std::string& image, const std::string& schedule = "0 0 1 1 *") {
  return {{"apiVersion", "batch/v1"},
          {"kind", "CronJob"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec",
           {{"schedule", schedule},
            {"jobTemplate",
             {{"spec",
               {{"backoffLimit", 0},
                {"template",
                 {{"spec",
                   {{"restartPolicy", "Never"},
                    {"containers", Json::array({{{"name", "c"}, {"image", image}}})}}}}}}}}}}}};
}

inline Json BudgetJson(const std::string& name, const std::string& app, int min_available) {
  return {{"apiVersion", "policy/v1"},
          {"kind", "PodDisruptionBudget"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", {{"minAvailable", min_available}, {"selector", {{"matchLabels", {{"app", app}}}}}}}};
}

inline Json AutoscalerJson(const std::string& name, const std::string& deployment, int min, int max) {
  return {{"apiVersion", "autoscaling/v2"},
          {"kind", "HorizontalPodAutoscaler"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec",
           {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", deployment}}},
            {"minReplicas", min},
            {"maxReplicas", max}}}};
}

inline std::string Workload(const std::string& name, const std::string& plural = "deployments") {
  return absl::StrCat("namespaces/", kNs, "/", plural, "/", name);
}

// herdd with an in-process kubesim whose pods start, crash and finish in
// milliseconds, and records saved often: what the tests through herdd use.
inline herdd::AppOptions FastSimOptions() {
  herdd::AppOptions o;
  o.sim = true;
  o.demo = false;
  o.grpc_listen = "127.0.0.1:0";
  o.http_listen = "127.0.0.1:0";
  o.sim_options.controllers.pod_start_delay = absl::Milliseconds(100);
  o.sim_options.controllers.kubelet_poll = absl::Milliseconds(10);
  o.sim_options.controllers.controller_qps = 0;
  o.sim_options.controllers.scheduler_qps = 0;
  o.sim_options.controllers.crash_after = absl::Milliseconds(100);
  o.sim_options.controllers.crash_loop_backoff = absl::Milliseconds(200);
  o.sim_options.controllers.job_pod_run_time = absl::Milliseconds(200);
  o.runner.save_period = absl::Milliseconds(50);
  o.engine.image_pull_grace = absl::Milliseconds(200);
  return o;
}

class HerddFixture : public ::testing::Test {
 protected:
  // Tests change herdd's options here before it starts.
  virtual void Configure(herdd::AppOptions& /*options*/) {}

  void SetUp() override {
    herdd::AppOptions o = FastSimOptions();
    Configure(o);
    auto app = herdd::App::Start(o);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = std::move(*app);
    stub_ = v1::Herd::NewStub(grpc::CreateChannel(app_->grpc_address(), grpc::InsecureChannelCredentials()));
    kube::RestConfig rc;
    rc.server = app_->simulator()->url();
    rc.qps = 0;
    auto kube = kube::NewRestClient(rc);
    ASSERT_TRUE(kube.ok()) << kube.status();
    kube_ = std::move(*kube);
    ASSERT_TRUE(kube_->Create(kube::kNamespaces, "", {{"metadata", {{"name", kNs}}}}).ok());
    informers_ = std::make_unique<kube::InformerSet>(*kube_);
    for (const kube::Resource* r : {&kube::kPods, &kube::kDeployments, &kube::kStatefulSets, &kube::kReplicaSets,
                                    &kube::kJobs, &kube::kCronJobs, &kube::kPodDisruptionBudgets,
                                    &kube::kHorizontalPodAutoscalers}) {
      informers_->For(*r, kNs);
    }
    informers_->Start();
    ASSERT_TRUE(informers_->WaitForSync(absl::Now() + absl::Seconds(30)).ok());
  }

  void TearDown() override {
    if (informers_) informers_->Stop();
    app_.reset();
  }

  // ---- the cluster, as the test's own informers see it

  kube::Informer& Cache(const kube::Resource& r) { return informers_->For(r, kNs); }
  kube::ObjectPtr Cached(const kube::Resource& r, const std::string& name) { return Cache(r).Get(kNs, name); }

  // Waits until `predicate` holds, re-checked on every change the test's
  // informers see; fails the test after `timeout`.
  void Await(const std::function<bool()>& predicate, const std::string& what,
             absl::Duration timeout = absl::Seconds(30)) {
    absl::Status st = informers_->WaitUntil(predicate, absl::Now() + timeout);
    ASSERT_TRUE(st.ok()) << "waiting for " << what << ": " << st;
  }

  // Waits until herdd's own cache (what GetWorkload and ListWorkloads read)
  // holds every object of `ns` at least as new as the API server has it
  // now: reads answered after it show every write made before it.
  void AwaitHerdCache(const std::string& ns = kNs) {
    kube::InformerSet& cache = app_->cache();
    auto version = [](const Json& o) {
      uint64_t v = 0;
      (void)absl::SimpleAtoi(o["metadata"].value("resourceVersion", ""), &v);
      return v;
    };
    for (const kube::Resource* r : engines::CachedResources()) {
      auto now = kube_->ListAll(*r, ns);
      ASSERT_TRUE(now.ok()) << now.status();
      kube::Informer& herd = cache.For(*r, ns);
      absl::Status st = cache.WaitUntil(
          [&] {
            for (const Json& item : now->items) {
              kube::ObjectPtr held = herd.Get(ns, NameOf(item));
              if (held == nullptr || version(*held) < version(item)) return false;
            }
            return true;
          },
          absl::Now() + absl::Seconds(30));
      ASSERT_TRUE(st.ok()) << "herdd's cache of " << r->GroupResource() << " did not catch up: " << st;
    }
    // The locks, whose cache shows the running operation: the same Leases,
    // none gone missing or left over, each at least as new.
    const kube::Informer* locks = app_->locks().cache();
    ASSERT_NE(locks, nullptr);
    const std::string& herd_ns = app_->locks().ns();
    auto leases = kube_->ListAll(kube::kLeases, herd_ns);
    ASSERT_TRUE(leases.ok()) << leases.status();
    std::map<std::string, uint64_t> want;
    for (const Json& l : leases->items) want[NameOf(l)] = version(l);
    absl::Status st = cache.WaitUntil(
        [&] {
          std::vector<kube::ObjectPtr> held = locks->List(herd_ns);
          if (held.size() != want.size()) return false;
          for (const kube::ObjectPtr& l : held) {
            auto it = want.find(NameOf(*l));
            if (it == want.end() || version(*l) < it->second) return false;
          }
          return true;
        },
        absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(st.ok()) << "herdd's cache of its locks did not catch up: " << st;
  }

  // Pods of `app` (label app=APP), terminating ones too unless `live`.
  std::vector<Json> Pods(const std::string& app, bool live = true) {
    auto sel = *k8s::LabelSelector::Parse(absl::StrCat("app=", app));
    std::vector<Json> out;
    for (const auto& p : Cache(kube::kPods).List(kNs, sel)) {
      if (live && Terminating(*p)) continue;
      out.push_back(*p);
    }
    std::sort(out.begin(), out.end(), [](const Json& a, const Json& b) { return NameOf(a) < NameOf(b); });
    return out;
  }
  int ReadyPods(const std::string& app) {
    int n = 0;
    for (const Json& p : Pods(app)) n += PodReady(p) ? 1 : 0;
    return n;
  }
  std::set<std::string> Uids(const std::string& app) {
    std::set<std::string> out;
    for (const Json& p : Pods(app)) out.insert(UidOf(p));
    return out;
  }
  std::multiset<std::string> Images(const std::string& app) {
    std::multiset<std::string> out;
    for (const Json& p : Pods(app)) out.insert(p["spec"]["containers"][0].value("image", ""));
    return out;
  }
  // Exactly `replicas` pods of `app`, all Ready, none terminating.
  void AwaitSteady(const std::string& app, int replicas) {
    Await([&] { return ReadyPods(app) == replicas && static_cast<int>(Pods(app, /*live=*/false).size()) == replicas; },
          absl::StrCat(replicas, " Ready pods of ", app, " and no others"));
  }

  // The pods of `app` settle on `images` (one entry per pod), all Ready,
  // nothing terminating — what the cluster shows once an operation's end
  // has reached the test's own caches.
  void AwaitImages(const std::string& app, const std::multiset<std::string>& images) {
    Await(
        [&] {
          return Images(app) == images && ReadyPods(app) == static_cast<int>(images.size()) &&
                 Pods(app, /*live=*/false).size() == images.size();
        },
        absl::StrCat("the pods of ", app, " to run exactly the expected images"));
  }
  // `replicas` Ready pods of `app`, none of them one of `old`.
  void AwaitReplaced(const std::string& app, const std::set<std::string>& old, int replicas) {
    Await(
        [&] {
          for (const Json& p : Pods(app, /*live=*/false)) {
            if (old.count(UidOf(p))) return false;
          }
          return ReadyPods(app) == replicas && static_cast<int>(Pods(app, false).size()) == replicas;
        },
        absl::StrCat(replicas, " Ready pods of ", app, ", every old one gone"));
  }

  void Create(const kube::Resource& r, const Json& obj) {
    auto created = kube_->Create(r, kNs, obj);
    ASSERT_TRUE(created.ok()) << created.status();
  }
  void CreateDeployment(const std::string& name, const std::string& image, int replicas) {
    Create(kube::kDeployments, DeploymentJson(name, image, replicas));
    AwaitRolledOut(name, replicas);
  }
  void AwaitRolledOut(const std::string& name, int replicas) {
    Await(
        [&] {
          kube::ObjectPtr d = Cached(kube::kDeployments, name);
          if (!d) return false;
          const Json status = (*d).value("status", Json::object());
          return status.value("observedGeneration", int64_t{0}) >= (*d)["metadata"].value("generation", int64_t{1}) &&
                 status.value("updatedReplicas", 0) == replicas && ReadyPods(name) == replicas &&
                 static_cast<int>(Pods(name, false).size()) == replicas;
        },
        absl::StrCat("deployment ", name, " rolled out at ", replicas));
  }
  void CreateStatefulSet(const std::string& name, const std::string& image, int replicas) {
    Create(kube::kStatefulSets, StatefulSetJson(name, image, replicas));
    AwaitSteady(name, replicas);
  }
  // A budget whose status has caught up with `healthy` pods.
  void CreateBudget(const std::string& name, const std::string& app, int min_available, int healthy) {
    Create(kube::kPodDisruptionBudgets, BudgetJson(name, app, min_available));
    Await(
        [&] {
          kube::ObjectPtr b = Cached(kube::kPodDisruptionBudgets, name);
          return b && (*b).value("status", Json::object()).value("currentHealthy", -1) == healthy &&
                 (*b)["status"].value("observedGeneration", int64_t{0}) >= 1;
        },
        "budget " + name + " observed");
  }
  Json Get(const kube::Resource& r, const std::string& name) {
    auto o = kube_->Get(r, kNs, name);
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : Json::object();
  }

  // ---- herdd, over gRPC

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req, Resp* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ((*stub_).*method)(&ctx, req, out);
  }

  // Every update WatchOperation sends for `name`, to the final one.
  std::vector<v1::Operation> Watch(const std::string& name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchOperationRequest req;
    req.set_name(name);
    auto reader = stub_->WatchOperation(&ctx, req);
    std::vector<v1::Operation> out;
    v1::Operation op;
    while (reader->Read(&op)) out.push_back(op);
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  v1::Operation Wait(const std::string& name) {
    std::vector<v1::Operation> all = Watch(name);
    return all.empty() ? v1::Operation() : all.back();
  }

  // ---- watching pods during an operation

  // Records, on every pod event, the fewest Ready not-terminating pods, the
  // most pods at once (terminating ones too) and the most pods starting at
  // once (neither Ready nor terminating) that `app` had.
  void TrackPods(const std::string& app) {
    auto sel = *k8s::LabelSelector::Parse(absl::StrCat("app=", app));
    auto& pods = Cache(kube::kPods);
    auto count = [this, &pods, sel] {
      int ready = 0, all = 0, starting = 0;
      for (const auto& p : pods.List(kNs, sel)) {
        ++all;
        if (Terminating(*p)) continue;
        ++(PodReady(*p) ? ready : starting);
      }
      absl::MutexLock lock(&track_mu_);
      min_ready_ = std::min(min_ready_, ready);
      max_pods_ = std::max(max_pods_, all);
      max_starting_ = std::max(max_starting_, starting);
    };
    count();
    pods.AddHandlers({.on_add = [count](const kube::ObjectPtr&) { count(); },
                      .on_update = [count](const kube::ObjectPtr&, const kube::ObjectPtr&) { count(); },
                      .on_delete = [count](const kube::ObjectPtr&) { count(); }});
  }
  int MinReady() {
    absl::MutexLock lock(&track_mu_);
    return min_ready_;
  }
  int MaxPods() {
    absl::MutexLock lock(&track_mu_);
    return max_pods_;
  }
  int MaxStarting() {
    absl::MutexLock lock(&track_mu_);
    return max_starting_;
  }

  std::unique_ptr<herdd::App> app_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<kube::KubeClient> kube_;
  std::unique_ptr<kube::InformerSet> informers_;
  absl::Mutex track_mu_;
  int min_ready_ ABSL_GUARDED_BY(track_mu_) = 1 << 30;
  int max_pods_ ABSL_GUARDED_BY(track_mu_) = 0;
  int max_starting_ ABSL_GUARDED_BY(track_mu_) = 0;
};

}  // namespace herd::testing

#endif  // HERD_TEST_INTEGRATION_HERDD_FIXTURE_H_
