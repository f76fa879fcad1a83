// The controllers of kube-controller-manager that kubesim runs, each driven
// in process through a Simulator with tiny delays. Waits are on store
// changes (every predicate is re-evaluated on the loop thread after each
// change) with deadlines; the CronJob and HPA controllers read a clock the
// tests move.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/k8s/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/apiserver.h"
#include "common/k8s/cron.h"
#include "sim/controllers/hpa.h"
#include "sim/controllers/runtime.h"
#include "sim/controllers/statefulset.h"
#include "sim/errors.h"
#include "sim/kubesim.h"

namespace herd::sim {

using ::herd::k8s::CronSchedule;
using ::herd::k8s::LoadCronTimeZone;
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNs[] = "t";
constexpr absl::Duration kTimeout = absl::Seconds(20);

Json Labels(const std::string& app) { return {{"app", app}}; }

Json PodTemplate(const std::string& app, const std::string& image, const std::string& restart = "Always") {
  return {{"metadata", {{"labels", Labels(app)}}},
          {"spec", {{"restartPolicy", restart}, {"containers", Json::array({{{"name", "c"}, {"image", image}}})}}}};
}

Json Deployment(const std::string& name, int replicas, const std::string& image = "web:1") {
  return {{"metadata", {{"name", name}, {"labels", Labels(name)}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", Labels(name)}}},
            {"template", PodTemplate(name, image)}}}};
}

Json StatefulSet(const std::string& name, int replicas, const std::string& image = "db:1") {
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", name},
            {"selector", {{"matchLabels", Labels(name)}}},
            {"template", PodTemplate(name, image)}}}};
}

Json JobSpec(const std::string& image, int completions, int parallelism) {
  return {{"completions", completions},
          {"parallelism", parallelism},
          {"template",
           {{"spec", {{"restartPolicy", "Never"}, {"containers", Json::array({{{"name", "c"}, {"image", image}}})}}}}}};
}

Json Job(const std::string& name, const std::string& image, int completions = 1, int parallelism = 1) {
  return {{"metadata", {{"name", name}}}, {"spec", JobSpec(image, completions, parallelism)}};
}

Json CronJob(const std::string& name, const std::string& schedule, const std::string& image = "tick:1") {
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"schedule", schedule},
            {"jobTemplate", {{"metadata", {{"labels", {{"from", name}}}}}, {"spec", JobSpec(image, 1, 1)}}}}}};
}

const Json* Condition(const Json& obj, const std::string& type) {
  if (!obj.contains("status") || !obj["status"].contains("conditions")) return nullptr;
  for (const auto& c : obj["status"]["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

class ControllersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulatorOptions o;
    o.nodes = 2;
    o.seed = 7;
    ControllerOptions& c = o.controllers;
    c.pod_start_delay = absl::Milliseconds(20);
    c.reaction_delay = absl::Milliseconds(5);
    c.kubelet_poll = absl::Milliseconds(10);
    c.job_pod_run_time = absl::Milliseconds(20);
    c.crash_after = absl::Milliseconds(20);
    c.controller_qps = 0;
    c.scheduler_qps = 0;
    c.cronjob_period = absl::Milliseconds(20);
    c.hpa_period = absl::Milliseconds(30);
    c.job_backoff = absl::Milliseconds(10);
    c.clock = [this] { return FakeNow(); };
    {
      absl::MutexLock l(&clock_mu_);
      base_ = absl::Now();
    }
    auto sim = Simulator::Start(o);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    Create(kNamespaces, {{"metadata", {{"name", kNs}}}}, "");
  }

  void TearDown() override {
    if (sim_) sim_->Stop();
  }

  // The CronJob and HPA controllers' clock: stopped at the start of the
  // test, moved only by Advance, so schedules fall where the test says.
  absl::Time FakeNow() {
    absl::MutexLock l(&clock_mu_);
    return base_ + offset_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock l(&clock_mu_);
    offset_ += d;
  }

  // Runs `pred` on the loop thread now and after every change of the store
  // until it holds; false if it did not within `timeout`.
  bool WaitFor(const std::function<bool(ApiServer&)>& pred, absl::Duration timeout = kTimeout) {
    struct State {
      absl::Mutex mu;
      bool done ABSL_GUARDED_BY(mu) = false;
    };
    auto state = std::make_shared<State>();
    std::vector<Store::WatchId> ids;
    sim_->Run([&](ApiServer& api) {
      ApiServer* a = &api;
      // Once it held, the predicate is not run again: what it recorded stays.
      auto check = [a, pred, state] {
        {
          absl::MutexLock l(&state->mu);
          if (state->done) return;
        }
        if (!pred(*a)) return;
        absl::MutexLock l(&state->mu);
        state->done = true;
      };
      check();
      for (int r = 0; r < kResourceCount; ++r) {
        auto id = api.store().Watch(static_cast<ResourceId>(r), "", 0, [check](const Event&) { check(); });
        if (id.ok()) ids.push_back(*id);
      }
    });
    bool ok;
    {
      absl::MutexLock l(&state->mu);
      ok = state->mu.AwaitWithTimeout(absl::Condition(&state->done), timeout);
    }
    sim_->Run([&](ApiServer& api) {
      for (auto id : ids) api.store().Unwatch(id);
    });
    return ok;
  }

  ObjectPtr Create(ResourceId r, Json obj, const std::string& ns = kNs) {
    ObjectPtr out;
    absl::Status st;
    sim_->Run([&](ApiServer& api) {
      auto created = api.Create(r, ns, std::move(obj));
      st = created.status();
      if (created.ok()) out = *created;
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  absl::Status Modify(ResourceId r, const std::string& name, const std::function<void(Json&)>& edit,
                      const std::string& subresource = "") {
    absl::Status st;
    sim_->Run([&](ApiServer& api) {
      st = api.Modify(r, kNs, name,
                      [&](Json& o) {
                        edit(o);
                        return absl::OkStatus();
                      },
                      {.subresource = subresource})
               .status();
    });
    return st;
  }

  // The object as the delete left it (null when it went at once).
  Json Delete(ResourceId r, const std::string& name, const std::string& policy, const std::string& ns = kNs) {
    Json out;
    sim_->Run([&](ApiServer& api) {
      DeleteOptions del;
      del.propagation_policy = policy;
      auto deleted = api.Delete(r, ns, name, del);
      EXPECT_TRUE(deleted.ok()) << deleted.status();
      if (deleted.ok() && !deleted->removed) out = deleted->object->object;
    });
    return out;
  }

  // The stored object, or null.
  Json Get(ResourceId r, const std::string& name, const std::string& ns = kNs) {
    Json out;
    sim_->Run([&](ApiServer& api) {
      if (ObjectPtr o = api.store().Get(r, Resource(r).namespaced ? ns : "", name)) out = o->object;
    });
    return out;
  }

  std::vector<Json> List(ResourceId r, const std::string& ns = kNs) {
    std::vector<Json> out;
    sim_->Run([&](ApiServer& api) {
      api.store().Scan(r, ns, "", [&](const ObjectPtr& o) {
        out.push_back(o->object);
        return true;
      });
    });
    return out;
  }

  // Messages of the events with `reason` about `name`.
  std::vector<std::string> Events(const std::string& name, const std::string& reason) {
    std::vector<std::string> out;
    for (const Json& e : List(kEvents)) {
      if (e["involvedObject"].value("name", "") == name && e.value("reason", "") == reason) {
        out.push_back(e.value("message", ""));
      }
    }
    return out;
  }

  static size_t Count(ApiServer& api, ResourceId r, const std::function<bool(const Json&)>& pred = nullptr) {
    size_t n = 0;
    api.store().Scan(r, kNs, "", [&](const ObjectPtr& o) {
      if (!pred || pred(o->object)) ++n;
      return true;
    });
    return n;
  }
  static bool ReadyPods(ApiServer& api, const std::string& app, size_t n) {
    return Count(api, kPods, [&](const Json& p) {
             return p["metadata"]["labels"].value("app", "") == app && PodConditionTrue(p, "Ready") &&
                    !p["metadata"].contains("deletionTimestamp");
           }) == n;
  }
  static Json Obj(ApiServer& api, ResourceId r, const std::string& name) {
    ObjectPtr o = api.store().Get(r, kNs, name);
    return o ? o->object : Json();
  }
  static bool Exists(ApiServer& api, ResourceId r, const std::string& name) {
    return api.store().Get(r, Resource(r).namespaced ? kNs : "", name) != nullptr;
  }

  std::unique_ptr<Simulator> sim_;
  absl::Mutex clock_mu_;
  absl::Time base_ ABSL_GUARDED_BY(clock_mu_);
  absl::Duration offset_ ABSL_GUARDED_BY(clock_mu_) = absl::ZeroDuration();
};

// ---- replica sets ----

TEST_F(ControllersTest, ScaleDownRemovesThePodsWithTheLowestDeletionCostFirst) {
  Create(kDeployments, Deployment("web", 4));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return ReadyPods(api, "web", 4); }));
  std::vector<std::string> names;
  for (const Json& p : List(kPods)) names.push_back(p["metadata"].value("name", ""));
  ASSERT_EQ(names.size(), 4u);
  // The two oldest-created would otherwise be kept (newer pods go first).
  const std::set<std::string> marked = {names[0], names[1]};
  for (const auto& n : marked) {
    ASSERT_TRUE(Modify(kPods, n, [](Json& p) {
                  p["metadata"]["annotations"]["controller.kubernetes.io/pod-deletion-cost"] = "-100";
                }).ok());
  }
  ASSERT_TRUE(Modify(kDeployments, "web", [](Json& d) { d["spec"]["replicas"] = 2; }).ok());
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    return Count(api, kPods, [&](const Json& p) { return !p["metadata"].contains("deletionTimestamp"); }) == 2;
  }));
  for (const Json& p : List(kPods)) {
    bool going = p["metadata"].contains("deletionTimestamp");
    EXPECT_EQ(going, marked.count(p["metadata"].value("name", "")) == 1) << p["metadata"].value("name", "");
  }
}

// ---- garbage collector ----

TEST_F(ControllersTest, ForegroundDeletionRemovesDependentsBeforeTheOwner) {
  Create(kDeployments, Deployment("web", 2));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return ReadyPods(api, "web", 2); }));
  Json d = Delete(kDeployments, "web", "Foreground");
  ASSERT_FALSE(d.is_null());
  EXPECT_EQ(d["metadata"]["finalizers"], Json::array({"foregroundDeletion"}));
  EXPECT_TRUE(d["metadata"].contains("deletionTimestamp"));
  // The owner goes last: when it is gone, nothing it owned is left.
  size_t pods_left = 99, rs_left = 99;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    if (Exists(api, kDeployments, "web")) return false;
    pods_left = Count(api, kPods);
    rs_left = Count(api, kReplicaSets);
    return true;
  }));
  EXPECT_EQ(pods_left, 0u);
  EXPECT_EQ(rs_left, 0u);
}

TEST_F(ControllersTest, BackgroundDeletionCollectsDependentsOfAGoneOwner) {
  Create(kDeployments, Deployment("web", 2));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return ReadyPods(api, "web", 2); }));
  EXPECT_TRUE(Delete(kDeployments, "web", "Background").is_null());
  EXPECT_TRUE(WaitFor([](ApiServer& api) { return Count(api, kReplicaSets) == 0 && Count(api, kPods) == 0; }));
}

TEST_F(ControllersTest, OrphanDeletionLeavesDependentsWithoutTheOwner) {
  Create(kDeployments, Deployment("web", 2));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return ReadyPods(api, "web", 2); }));
  EXPECT_EQ(Delete(kDeployments, "web", "Orphan")["metadata"]["finalizers"], Json::array({"orphan"}));
  std::vector<Json> rs;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    if (Exists(api, kDeployments, "web")) return false;
    rs.clear();
    api.store().Scan(kReplicaSets, kNs, "", [&](const ObjectPtr& o) {
      rs.push_back(o->object);
      return true;
    });
    return true;
  }));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_FALSE(rs[0]["metadata"].contains("ownerReferences"));
  // The pods stay, still owned by their ReplicaSet.
  std::vector<Json> pods = List(kPods);
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0]["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
}

TEST_F(ControllersTest, ADependentWhoseOwnerUidDiffersIsCollected) {
  Create(kConfigMaps, {{"metadata", {{"name", "owner"}}}});
  Json cm = {{"metadata",
              {{"name", "dependent"},
               {"ownerReferences", Json::array({{{"apiVersion", "v1"},
                                                 {"kind", "ConfigMap"},
                                                 {"name", "owner"},
                                                 {"uid", "00000000-0000-4000-8000-000000000000"}}})}}}};
  Create(kConfigMaps, cm);
  EXPECT_TRUE(WaitFor([](ApiServer& api) { return !Exists(api, kConfigMaps, "dependent"); }));
  EXPECT_FALSE(Get(kConfigMaps, "owner").is_null());
}

// ---- namespace controller ----

TEST_F(ControllersTest, NamespaceDeletionEmptiesItThenRemovesIt) {
  Create(kNamespaces, {{"metadata", {{"name", "doomed"}}}}, "");
  Create(kDeployments, Deployment("web", 2), "doomed");
  Create(kConfigMaps, {{"metadata", {{"name", "settings"}}}}, "doomed");
  ASSERT_TRUE(WaitFor([](ApiServer& api) {
    size_t n = 0;
    api.store().Scan(kPods, "doomed", "", [&](const ObjectPtr& p) {
      n += PodConditionTrue(p->object, "Ready");
      return true;
    });
    return n == 2;
  }));
  Json ns = Delete(kNamespaces, "doomed", "Background", "");
  EXPECT_EQ(ns["status"]["phase"], "Terminating");
  EXPECT_EQ(ns["spec"]["finalizers"], Json::array({"kubernetes"}));
  size_t left = 99;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    if (Exists(api, kNamespaces, "doomed")) return false;
    left = 0;
    for (const auto& rt : Resources()) {
      if (!rt.namespaced) continue;
      api.store().Scan(rt.id, "doomed", "", [&](const ObjectPtr&) {
        ++left;
        return true;
      });
    }
    return true;
  }));
  EXPECT_EQ(left, 0u);
  // Other namespaces keep their content.
  EXPECT_FALSE(Get(kNamespaces, kNs, "").is_null());
}

// ---- disruption controller ----

TEST_F(ControllersTest, PdbStatusCountsExpectedAndHealthyPods) {
  Create(kDeployments, Deployment("web", 3));
  Create(kPodDisruptionBudgets, {{"metadata", {{"name", "web-pdb"}}},
                                 {"spec", {{"minAvailable", 2}, {"selector", {{"matchLabels", Labels("web")}}}}}});
  Json status;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    status = Obj(api, kPodDisruptionBudgets, "web-pdb")["status"];
    return status.value("currentHealthy", 0) == 3;
  }));
  EXPECT_EQ(status["expectedPods"], 3);
  EXPECT_EQ(status["desiredHealthy"], 2);
  EXPECT_EQ(status["disruptionsAllowed"], 1);
  EXPECT_EQ(status["observedGeneration"], 1);
  EXPECT_FALSE(status.contains("disruptedPods"));
  ASSERT_EQ(status["conditions"].size(), 1u);
  const Json& c = status["conditions"][0];
  EXPECT_EQ(c["type"], "DisruptionAllowed");
  EXPECT_EQ(c["status"], "True");
  EXPECT_EQ(c["reason"], "SufficientPods");
  EXPECT_EQ(c["message"], "");
  EXPECT_EQ(c["observedGeneration"], 1);
}

TEST_F(ControllersTest, PdbPercentagesUseTheControllersScale) {
  // maxUnavailable 25% of the Deployment's 4 replicas (not of the pods
  // seen) leaves 3 desired.
  Create(kDeployments, Deployment("web", 3));
  Create(kPodDisruptionBudgets,
         {{"metadata", {{"name", "web-pdb"}}},
          {"spec", {{"maxUnavailable", "25%"}, {"selector", {{"matchLabels", Labels("web")}}}}}});
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return ReadyPods(api, "web", 3); }));
  ASSERT_TRUE(Modify(kDeployments, "web", [](Json& d) { d["spec"]["replicas"] = 4; }).ok());
  Json status;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    status = Obj(api, kPodDisruptionBudgets, "web-pdb")["status"];
    return status.value("expectedPods", 0) == 4 && status.value("currentHealthy", 0) == 4;
  }));
  EXPECT_EQ(status["desiredHealthy"], 3);
  EXPECT_EQ(status["disruptionsAllowed"], 1);
}

TEST_F(ControllersTest, EvictionIsRefusedByTheBudgetThenAllowedAfterScaleUp) {
  Create(kDeployments, Deployment("web", 2));
  Create(kPodDisruptionBudgets, {{"metadata", {{"name", "web-pdb"}}},
                                 {"spec", {{"minAvailable", 2}, {"selector", {{"matchLabels", Labels("web")}}}}}});
  Json status;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    status = Obj(api, kPodDisruptionBudgets, "web-pdb")["status"];
    return status.value("currentHealthy", 0) == 2;
  }));
  EXPECT_EQ(status["disruptionsAllowed"], 0);
  EXPECT_EQ(status["conditions"][0]["reason"], "InsufficientPods");
  EXPECT_EQ(status["conditions"][0]["status"], "False");
  std::string victim = List(kPods)[0]["metadata"]["name"];
  absl::Status refused;
  sim_->Run([&](ApiServer& api) { refused = api.Evict(kNs, victim, Json::object(), false); });
  EXPECT_EQ(HttpCode(refused), 429);
  Json body = StatusObject(refused);
  EXPECT_EQ(body["reason"], "TooManyRequests");
  EXPECT_EQ(body["details"]["causes"][0]["reason"], "DisruptionBudget");
  EXPECT_EQ(body["details"]["causes"][0]["message"],
            "The disruption budget web-pdb needs 2 healthy pods and has 2 currently");

  ASSERT_TRUE(Modify(kDeployments, "web", [](Json& d) { d["spec"]["replicas"] = 3; }).ok());
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    return Obj(api, kPodDisruptionBudgets, "web-pdb")["status"].value("disruptionsAllowed", 0) == 1;
  }));
  absl::Status allowed;
  sim_->Run([&](ApiServer& api) { allowed = api.Evict(kNs, victim, Json::object(), false); });
  EXPECT_TRUE(allowed.ok()) << allowed;
  // The evicted pod goes; the budget forgets it and counts the replacement.
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json st = Obj(api, kPodDisruptionBudgets, "web-pdb")["status"];
    return !Exists(api, kPods, victim) && !st.contains("disruptedPods") && st.value("currentHealthy", 0) == 3;
  }));
}

// ---- StatefulSet controller ----

TEST_F(ControllersTest, StatefulSetCreatesPodsInOrdinalOrderEachAfterTheLastIsReady) {
  std::vector<std::string> order;
  std::vector<std::string> early;  // pods created before their predecessor was Ready
  Store::WatchId watch = 0;
  sim_->Run([&](ApiServer& api) {
    ApiServer* a = &api;
    watch = *api.store().Watch(kPods, kNs, 0, [&, a](const Event& e) {
      if (e.type != EventType::kAdded) return;
      std::string name = e.object->name();
      order.push_back(name);
      int ordinal = name.back() - '0';
      if (ordinal == 0) return;
      ObjectPtr prev = a->store().Get(kPods, kNs, absl::StrCat("db-", ordinal - 1));
      if (!prev || !PodConditionTrue(prev->object, "Ready")) early.push_back(name);
    });
  });
  Create(kStatefulSets, StatefulSet("db", 3));
  Json sts;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    sts = Obj(api, kStatefulSets, "db");
    return sts["status"].value("readyReplicas", 0) == 3;
  }));
  sim_->Run([&](ApiServer& api) { api.store().Unwatch(watch); });
  EXPECT_THAT(order, ElementsAre("db-0", "db-1", "db-2"));
  EXPECT_TRUE(early.empty()) << early.size();

  const Json& st = sts["status"];
  std::string revision = st["updateRevision"];
  EXPECT_EQ(st["currentRevision"], revision);
  EXPECT_EQ(st["replicas"], 3);
  EXPECT_EQ(st["availableReplicas"], 3);
  EXPECT_EQ(st["currentReplicas"], 3);
  EXPECT_EQ(st["updatedReplicas"], 3);
  EXPECT_EQ(st["collisionCount"], 0);
  EXPECT_EQ(st["observedGeneration"], 1);
  Json pod = Get(kPods, "db-1");
  EXPECT_EQ(pod["metadata"]["labels"]["controller-revision-hash"], revision);
  EXPECT_EQ(pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "db-1");
  EXPECT_EQ(pod["spec"]["hostname"], "db-1");
  EXPECT_EQ(pod["spec"]["subdomain"], "db");
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
  Json cr = Get(kControllerRevisions, revision);
  ASSERT_FALSE(cr.is_null());
  EXPECT_EQ(cr["revision"], 1);
  EXPECT_EQ(cr["data"], internal::StatefulSetPatch(sts));
  EXPECT_EQ(cr["data"]["spec"]["template"]["$patch"], "replace");
  EXPECT_EQ(revision, absl::StrCat("db-", cr["metadata"]["labels"]["controller-revision-hash"].get<std::string>()));
  EXPECT_EQ(cr["metadata"]["labels"]["app"], "db");
  EXPECT_THAT(Events("db", "SuccessfulCreate"), ::testing::Contains("create Pod db-0 in StatefulSet db successful"));
}

TEST_F(ControllersTest, ParallelStatefulSetStartsEveryPodAtOnce) {
  Json sts = StatefulSet("db", 3, "unready");
  sts["spec"]["podManagementPolicy"] = "Parallel";
  Create(kStatefulSets, sts);
  EXPECT_TRUE(WaitFor([](ApiServer& api) { return Count(api, kPods) == 3; }));
  EXPECT_TRUE(Get(kPods, "db-0")["status"].value("phase", "") != "Running" ||
              !PodConditionTrue(Get(kPods, "db-0"), "Ready"));
}

TEST_F(ControllersTest, StatefulSetRollsFromTheHighestOrdinalOneAtATime) {
  Create(kStatefulSets, StatefulSet("db", 3));
  std::string first;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json s = Obj(api, kStatefulSets, "db");
    first = s["status"].value("currentRevision", "");
    return s["status"].value("readyReplicas", 0) == 3;
  }));
  std::vector<std::string> deleted;
  size_t max_missing = 0;
  Store::WatchId watch = 0;
  sim_->Run([&](ApiServer& api) {
    ApiServer* a = &api;
    watch = *api.store().Watch(kPods, kNs, 0, [&, a](const Event& e) {
      if (e.type == EventType::kModified && e.object->object["metadata"].contains("deletionTimestamp") &&
          !e.old->object["metadata"].contains("deletionTimestamp")) {
        deleted.push_back(e.object->name());
      }
      size_t ready = Count(*a, kPods, [](const Json& p) {
        return PodConditionTrue(p, "Ready") && !p["metadata"].contains("deletionTimestamp");
      });
      max_missing = std::max(max_missing, 3 - std::min<size_t>(3, ready));
    });
  });
  ASSERT_TRUE(Modify(kStatefulSets, "db", [](Json& s) {
                s["spec"]["template"]["spec"]["containers"][0]["image"] = "db:2";
              }).ok());
  Json st;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    st = Obj(api, kStatefulSets, "db")["status"];
    return st.value("observedGeneration", 0) == 2 && st.value("updatedReplicas", 0) == 3 &&
           st.value("readyReplicas", 0) == 3 && st.value("currentRevision", "") == st.value("updateRevision", "");
  }));
  sim_->Run([&](ApiServer& api) { api.store().Unwatch(watch); });
  EXPECT_THAT(deleted, ElementsAre("db-2", "db-1", "db-0"));
  EXPECT_EQ(max_missing, 1u);
  EXPECT_NE(st["updateRevision"], first);
  EXPECT_EQ(Get(kPods, "db-0")["spec"]["containers"][0]["image"], "db:2");
  std::vector<Json> revisions = List(kControllerRevisions);
  ASSERT_EQ(revisions.size(), 2u);
  std::set<int64_t> numbers;
  for (const auto& r : revisions) numbers.insert(r["revision"].get<int64_t>());
  EXPECT_EQ(numbers, (std::set<int64_t>{1, 2}));
}

TEST_F(ControllersTest, StatefulSetPartitionKeepsLowerOrdinalsAtTheOldRevision) {
  Json sts = StatefulSet("db", 3);
  sts["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 2}}}};
  Create(kStatefulSets, sts);
  ASSERT_TRUE(
      WaitFor([](ApiServer& api) { return Obj(api, kStatefulSets, "db")["status"].value("readyReplicas", 0) == 3; }));
  ASSERT_TRUE(Modify(kStatefulSets, "db", [](Json& s) {
                s["spec"]["template"]["spec"]["containers"][0]["image"] = "db:2";
              }).ok());
  Json st;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    st = Obj(api, kStatefulSets, "db")["status"];
    return st.value("updatedReplicas", 0) == 1 && st.value("readyReplicas", 0) == 3;
  }));
  EXPECT_NE(st["currentRevision"], st["updateRevision"]);
  EXPECT_EQ(st["currentReplicas"], 2);
  EXPECT_EQ(Get(kPods, "db-2")["spec"]["containers"][0]["image"], "db:2");
  EXPECT_EQ(Get(kPods, "db-1")["spec"]["containers"][0]["image"], "db:1");
  EXPECT_EQ(Get(kPods, "db-0")["metadata"]["labels"]["controller-revision-hash"], st["currentRevision"]);

  ASSERT_TRUE(
      Modify(kStatefulSets, "db", [](Json& s) { s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0; }).ok());
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    st = Obj(api, kStatefulSets, "db")["status"];
    return st.value("observedGeneration", 0) == 3 && st.value("updatedReplicas", 0) == 3 &&
           st.value("currentRevision", "") == st.value("updateRevision", "");
  }));
  EXPECT_EQ(Get(kPods, "db-0")["spec"]["containers"][0]["image"], "db:2");
}

TEST_F(ControllersTest, StatefulSetScalesDownFromTheHighestOrdinalOneAtATime) {
  Create(kStatefulSets, StatefulSet("db", 3));
  ASSERT_TRUE(
      WaitFor([](ApiServer& api) { return Obj(api, kStatefulSets, "db")["status"].value("readyReplicas", 0) == 3; }));
  std::vector<std::string> gone;
  std::vector<std::string> overlapped;  // db-1 went while db-2 was still there
  Store::WatchId watch = 0;
  sim_->Run([&](ApiServer& api) {
    ApiServer* a = &api;
    watch = *api.store().Watch(kPods, kNs, 0, [&, a](const Event& e) {
      if (e.type != EventType::kModified || !e.object->object["metadata"].contains("deletionTimestamp") ||
          e.old->object["metadata"].contains("deletionTimestamp")) {
        return;
      }
      gone.push_back(e.object->name());
      if (e.object->name() == "db-1" && Exists(*a, kPods, "db-2")) overlapped.push_back("db-1");
    });
  });
  ASSERT_TRUE(Modify(kStatefulSets, "db", [](Json& s) { s["spec"]["replicas"] = 1; }).ok());
  ASSERT_TRUE(WaitFor([](ApiServer& api) {
    return Count(api, kPods) == 1 && Obj(api, kStatefulSets, "db")["status"].value("replicas", 0) == 1;
  }));
  sim_->Run([&](ApiServer& api) { api.store().Unwatch(watch); });
  EXPECT_THAT(gone, ElementsAre("db-2", "db-1"));
  EXPECT_TRUE(overlapped.empty());
  EXPECT_FALSE(Get(kPods, "db-0").is_null());
}

TEST_F(ControllersTest, StatefulSetRollbackRenumbersTheEarlierRevision) {
  Create(kStatefulSets, StatefulSet("db", 1));
  std::string first;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json st = Obj(api, kStatefulSets, "db")["status"];
    first = st.value("currentRevision", "");
    return st.value("readyReplicas", 0) == 1;
  }));
  Json old_template = Get(kStatefulSets, "db")["spec"]["template"];
  ASSERT_TRUE(Modify(kStatefulSets, "db", [](Json& s) {
                s["spec"]["template"]["spec"]["containers"][0]["image"] = "db:2";
              }).ok());
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json st = Obj(api, kStatefulSets, "db")["status"];
    return st.value("updateRevision", "") != first &&
           st.value("currentRevision", "") == st.value("updateRevision", "") && st.value("readyReplicas", 0) == 1;
  }));
  // What kubectl rollout undo sends: the old revision's data as a patch.
  Json data = Get(kControllerRevisions, first)["data"];
  absl::Status undo;
  sim_->Run(
      [&](ApiServer& api) { undo = api.Patch(kStatefulSets, kNs, "db", PatchType::kStrategicMerge, data).status(); });
  ASSERT_TRUE(undo.ok()) << undo;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json st = Obj(api, kStatefulSets, "db")["status"];
    return st.value("updateRevision", "") == first && st.value("currentRevision", "") == first &&
           st.value("readyReplicas", 0) == 1;
  }));
  EXPECT_EQ(Get(kControllerRevisions, first)["revision"], 3);
  EXPECT_EQ(List(kControllerRevisions).size(), 2u);
  EXPECT_EQ(Get(kStatefulSets, "db")["spec"]["template"], old_template);
  EXPECT_EQ(Get(kPods, "db-0")["spec"]["containers"][0]["image"], "db:1");
}

TEST_F(ControllersTest, StatefulSetAdoptsThePodsAnOrphaningDeleteLeft) {
  Create(kStatefulSets, StatefulSet("db", 2));
  ASSERT_TRUE(
      WaitFor([](ApiServer& api) { return Obj(api, kStatefulSets, "db")["status"].value("readyReplicas", 0) == 2; }));
  std::string pod_uid = Get(kPods, "db-1")["metadata"]["uid"];
  Delete(kStatefulSets, "db", "Orphan");
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return !Exists(api, kStatefulSets, "db"); }));
  ASSERT_FALSE(Get(kPods, "db-1")["metadata"].contains("ownerReferences"));
  std::string set_uid = Create(kStatefulSets, StatefulSet("db", 2))->object["metadata"]["uid"];
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json pod = Obj(api, kPods, "db-1");
    return pod["metadata"].contains("ownerReferences") &&
           Obj(api, kStatefulSets, "db")["status"].value("readyReplicas", 0) == 2;
  }));
  Json pod = Get(kPods, "db-1");
  EXPECT_EQ(pod["metadata"]["uid"], pod_uid);
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], set_uid);
  EXPECT_TRUE(Events("db", "FailedCreate").empty());
}

TEST_F(ControllersTest, ControllerRevisionHashIsFnv32OfTheDataAndCollisionCount) {
  Json set = StatefulSet("db", 1);
  Json data = internal::StatefulSetPatch(set);
  EXPECT_EQ(data.dump(),
            absl::StrCat(R"({"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"db"}},)",
                         R"("spec":{"containers":[{"image":"db:1","name":"c"}],"restartPolicy":"Always"}}}})"));
  std::string h0 = internal::ControllerRevisionHash(data, 0);
  EXPECT_NE(h0, internal::ControllerRevisionHash(data, 1));
  EXPECT_EQ(h0, internal::ControllerRevisionHash(data, 0));
  EXPECT_THAT(h0, ::testing::MatchesRegex("[bcdfghjklmnpqrstvwxz2456789]+"));
}

// ---- Job controller ----

TEST_F(ControllersTest, JobRunsItsCompletionsAndCompletes) {
  ObjectPtr created = Create(kJobs, Job("batch", "work:1", 3, 2));
  ASSERT_NE(created, nullptr);
  // What the API server adds to a Job, as in job-from-cronjob.txt.
  const Json& j = created->object;
  std::string uid = j["metadata"]["uid"];
  EXPECT_EQ(j["spec"]["selector"], Json({{"matchLabels", {{"controller-uid", uid}}}}));
  EXPECT_EQ(j["spec"]["template"]["metadata"]["labels"], Json({{"controller-uid", uid}, {"job-name", "batch"}}));
  EXPECT_EQ(j["metadata"]["labels"], Json({{"controller-uid", uid}, {"job-name", "batch"}}));
  EXPECT_EQ(j["metadata"]["annotations"]["batch.kubernetes.io/job-tracking"], "");

  size_t most_active = 0;
  Json job;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    job = Obj(api, kJobs, "batch");
    most_active = std::max<size_t>(most_active, Count(api, kPods, [](const Json& p) { return PodActive(p); }));
    return Condition(job, "Complete") != nullptr;
  }));
  const Json& st = job["status"];
  EXPECT_EQ(st["succeeded"], 3);
  EXPECT_FALSE(st.contains("active"));
  EXPECT_FALSE(st.contains("failed"));
  EXPECT_EQ(st["ready"], 0);
  EXPECT_EQ(st["uncountedTerminatedPods"], Json::object());
  EXPECT_TRUE(st.contains("startTime"));
  EXPECT_TRUE(st.contains("completionTime"));
  EXPECT_EQ((*Condition(job, "Complete"))["status"], "True");
  EXPECT_LE(most_active, 2u);
  std::vector<Json> pods = List(kPods);
  EXPECT_EQ(pods.size(), 3u);
  for (const Json& p : pods) {
    EXPECT_EQ(p["status"]["phase"], "Succeeded");
    EXPECT_FALSE(p["metadata"].contains("finalizers")) << p["metadata"];
    EXPECT_EQ(p["metadata"]["labels"]["job-name"], "batch");
    EXPECT_THAT(p["metadata"]["name"].get<std::string>(), ::testing::MatchesRegex("batch-[a-z0-9]{5}"));
  }
  EXPECT_EQ(Events("batch", "SuccessfulCreate").size(), 3u);
  EXPECT_THAT(Events("batch", "SuccessfulCreate")[0], HasSubstr("Created pod: batch-"));
  EXPECT_THAT(Events("batch", "Completed"), ElementsAre("Job completed"));
}

TEST_F(ControllersTest, JobFailsWhenFailuresPassTheBackoffLimit) {
  Json j = Job("flaky", "exit1");
  j["spec"]["backoffLimit"] = 1;
  Create(kJobs, j);
  Json job;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    job = Obj(api, kJobs, "flaky");
    return Condition(job, "Failed") != nullptr;
  }));
  const Json& failed = *Condition(job, "Failed");
  EXPECT_EQ(failed["status"], "True");
  EXPECT_EQ(failed["reason"], "BackoffLimitExceeded");
  EXPECT_EQ(failed["message"], "Job has reached the specified backoff limit");
  EXPECT_EQ(job["status"]["failed"], 2);
  EXPECT_FALSE(job["status"].contains("completionTime"));
  EXPECT_EQ(List(kPods).size(), 2u);
  EXPECT_THAT(Events("flaky", "BackoffLimitExceeded"), ElementsAre("Job has reached the specified backoff limit"));
}

TEST_F(ControllersTest, JobPastItsActiveDeadlineFailsAndStopsItsPods) {
  Json j = Job("slow", "pullfail");
  j["spec"]["activeDeadlineSeconds"] = 1;
  Create(kJobs, j);
  Json job;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    job = Obj(api, kJobs, "slow");
    return Condition(job, "Failed") != nullptr;
  }));
  EXPECT_EQ((*Condition(job, "Failed"))["reason"], "DeadlineExceeded");
  EXPECT_EQ((*Condition(job, "Failed"))["message"], "Job was active longer than specified deadline");
  EXPECT_EQ(job["status"]["failed"], 1);
  EXPECT_TRUE(WaitFor([](ApiServer& api) { return Count(api, kPods) == 0; }));
}

TEST_F(ControllersTest, SuspendingAJobStopsItsPodsAndResumingStartsThem) {
  Create(kJobs, Job("later", "pullfail", 2, 2));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return Obj(api, kJobs, "later")["status"].value("active", 0) == 2; }));
  ASSERT_TRUE(Modify(kJobs, "later", [](Json& j) { j["spec"]["suspend"] = true; }).ok());
  Json job;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    job = Obj(api, kJobs, "later");
    return Count(api, kPods) == 0 && Condition(job, "Suspended") != nullptr;
  }));
  EXPECT_EQ((*Condition(job, "Suspended"))["status"], "True");
  EXPECT_EQ((*Condition(job, "Suspended"))["reason"], "JobSuspended");
  EXPECT_FALSE(job["status"].contains("active"));
  EXPECT_FALSE(job["status"].contains("failed"));  // pods it stopped are no failures
  EXPECT_THAT(Events("later", "Suspended"), ElementsAre("Job suspended"));

  ASSERT_TRUE(Modify(kJobs, "later", [](Json& j) { j["spec"]["suspend"] = false; }).ok());
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    job = Obj(api, kJobs, "later");
    return job["status"].value("active", 0) == 2;
  }));
  EXPECT_EQ((*Condition(job, "Suspended"))["status"], "False");
  EXPECT_EQ((*Condition(job, "Suspended"))["reason"], "JobResumed");
  EXPECT_THAT(Events("later", "Resumed"), ElementsAre("Job resumed"));
}

TEST_F(ControllersTest, DeletingAJobReleasesAndRemovesItsPods) {
  Create(kJobs, Job("gone", "pullfail"));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return Count(api, kPods) == 1; }));
  Delete(kJobs, "gone", "Background");
  EXPECT_TRUE(WaitFor([](ApiServer& api) { return Count(api, kPods) == 0; }));
}

// ---- CronJob controller ----

TEST_F(ControllersTest, CronSchedulesParseLikeRobfigCron) {
  absl::TimeZone utc = absl::UTCTimeZone();
  absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 11, 25, 10, 58, 55), utc);  // a Wednesday
  auto next = [&](const std::string& spec, absl::Time from) {
    auto s = CronSchedule::Parse(spec);
    EXPECT_TRUE(s.ok()) << spec << ": " << s.status();
    return s.ok() ? absl::FormatTime("%Y-%m-%d %H:%M %a", s->Next(from, utc), utc) : "";
  };
  EXPECT_EQ(next("*/5 * * * *", t), "2026-11-25 11:00 Wed");
  EXPECT_EQ(next("0 9-17/4 * * MON-FRI", t), "2026-11-25 13:00 Wed");
  EXPECT_EQ(next("30 2 1,15 * *", t), "2026-12-01 02:30 Tue");
  EXPECT_EQ(next("0 0 * * sun", t), "2026-11-29 00:00 Sun");
  EXPECT_EQ(next("0 0 13 * 5", t), "2026-11-27 00:00 Fri");  // day of month OR day of week
  EXPECT_EQ(next("0 0 1 jan *", t), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next("@hourly", t), "2026-11-25 11:00 Wed");
  EXPECT_EQ(next("@daily", t), "2026-11-26 00:00 Thu");
  EXPECT_EQ(next("@weekly", t), "2026-11-29 00:00 Sun");
  EXPECT_EQ(next("@monthly", t), "2026-12-01 00:00 Tue");
  EXPECT_EQ(next("@yearly", t), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next("5/20 * * * *", t), "2026-11-25 11:05 Wed");
  EXPECT_EQ(next("59 10 * * *", absl::FromCivil(absl::CivilSecond(2026, 11, 25, 10, 59, 0), utc)),
            "2026-11-26 10:59 Thu");
  auto every = CronSchedule::Parse("@every 90s");
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(every->Next(t, utc), t + absl::Seconds(90));
  auto zoned = CronSchedule::Parse("TZ=Europe/Berlin 0 12 * * *");
  ASSERT_TRUE(zoned.ok()) << zoned.status();
  EXPECT_EQ(k8s::FormatTime(zoned->Next(t, utc)), "2026-11-25T11:00:00Z");

  auto error = [](const std::string& spec) { return std::string(CronSchedule::Parse(spec).status().message()); };
  EXPECT_EQ(error("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
  EXPECT_EQ(error("61 * * * *"), "end of range (61) above maximum (59): 61");
  EXPECT_EQ(error("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
  EXPECT_EQ(error("5-2 * * * *"), "beginning of range (5) beyond end of range (2): 5-2");
  EXPECT_EQ(error("*/0 * * * *"), "step of range should be a positive number: */0");
  EXPECT_EQ(error("@often"), "unrecognized descriptor: @often");
  EXPECT_EQ(error("x * * * *"), "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
  EXPECT_EQ(error(""), "empty spec string");
}

TEST_F(ControllersTest, CronJobCreatesAJobForTheScheduledMinute) {
  Create(kCronJobs, CronJob("tick", "* * * * *"));
  Advance(absl::Minutes(2));
  Json cj;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    cj = Obj(api, kCronJobs, "tick");
    return cj["status"].contains("active");
  }));
  ASSERT_EQ(cj["status"]["active"].size(), 1u);
  const Json& ref = cj["status"]["active"][0];
  std::string name = ref["name"];
  Json job = Get(kJobs, name);
  ASSERT_FALSE(job.is_null());
  absl::Time scheduled = *k8s::ParseTime(cj["status"]["lastScheduleTime"].get<std::string>());
  EXPECT_EQ(name, absl::StrCat("tick-", absl::ToUnixSeconds(scheduled) / 60));
  EXPECT_LE(scheduled, FakeNow());
  EXPECT_GT(scheduled, FakeNow() - absl::Minutes(2));
  EXPECT_EQ(job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
            k8s::FormatTime(scheduled));
  EXPECT_EQ(job["metadata"]["labels"]["from"], "tick");
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(ref["kind"], "Job");
  EXPECT_EQ(ref["apiVersion"], "batch/v1");
  EXPECT_EQ(ref["uid"], job["metadata"]["uid"]);
  EXPECT_THAT(Events("tick", "SuccessfulCreate"), ElementsAre(absl::StrCat("Created job ", name)));

  // The Job completes: it leaves the active list and counts as the last success.
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    cj = Obj(api, kCronJobs, "tick");
    return !cj["status"].contains("active") && cj["status"].contains("lastSuccessfulTime");
  }));
  EXPECT_THAT(Events("tick", "SawCompletedJob"),
              ElementsAre(absl::StrCat("Saw completed job: ", name, ", status: Complete")));
}

TEST_F(ControllersTest, ForbidSkipsARunWhileOneIsActive) {
  Json cj = CronJob("tick", "* * * * *", "pullfail");
  cj["spec"]["concurrencyPolicy"] = "Forbid";
  Create(kCronJobs, cj);
  Advance(absl::Minutes(2));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return Count(api, kJobs) == 1; }));
  Advance(absl::Minutes(1));
  ASSERT_TRUE(WaitFor([](ApiServer& api) {
    size_t n = Count(api, kEvents, [](const Json& e) { return e.value("reason", "") == "JobAlreadyActive"; });
    return n > 0;
  }));
  EXPECT_EQ(List(kJobs).size(), 1u);
  EXPECT_THAT(Events("tick", "JobAlreadyActive"),
              ElementsAre("Not starting job because prior execution is running and concurrency policy is Forbid"));
}

TEST_F(ControllersTest, ReplaceDeletesTheActiveJobForTheNextRun) {
  Json cj = CronJob("tick", "* * * * *", "pullfail");
  cj["spec"]["concurrencyPolicy"] = "Replace";
  Create(kCronJobs, cj);
  Advance(absl::Minutes(2));
  std::string first;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json c = Obj(api, kCronJobs, "tick");
    if (!c["status"].contains("active")) return false;
    first = c["status"]["active"][0]["name"];
    return true;
  }));
  Advance(absl::Minutes(1));
  std::string second;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    Json c = Obj(api, kCronJobs, "tick");
    if (!c["status"].contains("active")) return false;
    second = c["status"]["active"][0]["name"];
    return second != first && !Exists(api, kJobs, first);
  }));
  EXPECT_EQ(Get(kCronJobs, "tick")["status"]["active"].size(), 1u);
  EXPECT_THAT(Events("tick", "SuccessfulDelete"), ElementsAre(absl::StrCat("Deleted job ", first)));
}

TEST_F(ControllersTest, HistoryLimitDeletesTheOldestFinishedJobs) {
  Json cj = CronJob("tick", "* * * * *");
  cj["spec"]["successfulJobsHistoryLimit"] = 1;
  Create(kCronJobs, cj);
  std::vector<std::string> made;
  for (int run = 0; run < 3; ++run) {
    Advance(absl::Minutes(1) + (run == 0 ? absl::Minutes(1) : absl::ZeroDuration()));
    // Each run completes before the clock moves on.
    ASSERT_TRUE(WaitFor([&](ApiServer& api) {
      Json c = Obj(api, kCronJobs, "tick");
      std::string last = c["status"].value("lastScheduleTime", "");
      if (last.empty() || c["status"].contains("active")) return false;
      if (!made.empty() && made.back() == last) return false;
      made.push_back(last);
      return true;
    })) << run;
  }
  std::vector<std::string> deleted;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) { return Count(api, kJobs) == 1; }));
  deleted = Events("tick", "SuccessfulDelete");
  EXPECT_EQ(deleted.size(), 2u);
  Json left = List(kJobs)[0];
  EXPECT_EQ(left["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"], made.back());
}

TEST_F(ControllersTest, AJobTheCronJobDidNotCreateIsReportedAsUnexpected) {
  ObjectPtr cj = Create(kCronJobs, CronJob("tick", "*/5 * * * *", "pullfail"));
  ASSERT_NE(cj, nullptr);
  // What kubectl create job --from=cronjob/tick makes.
  Json job = {{"metadata",
               {{"name", "manual"},
                {"annotations", {{"cronjob.kubernetes.io/instantiate", "manual"}}},
                {"ownerReferences", Json::array({{{"apiVersion", "batch/v1"},
                                                  {"kind", "CronJob"},
                                                  {"name", "tick"},
                                                  {"uid", cj->object["metadata"]["uid"]},
                                                  {"controller", true}}})}}},
              {"spec", cj->object["spec"]["jobTemplate"]["spec"]}};
  Create(kJobs, job);
  ASSERT_TRUE(WaitFor([](ApiServer& api) {
    return Count(api, kEvents, [](const Json& e) { return e.value("reason", "") == "UnexpectedJob"; }) > 0;
  }));
  EXPECT_THAT(Events("tick", "UnexpectedJob"),
              ElementsAre("Saw a job that the controller did not create or forgot: manual"));
  Json ev;
  for (const Json& e : List(kEvents)) {
    if (e.value("reason", "") == "UnexpectedJob") ev = e;
  }
  EXPECT_EQ(ev["type"], "Warning");
  EXPECT_EQ(ev["source"]["component"], "cronjob-controller");
}

// ---- HPA controller ----

Json Hpa(const std::string& target, int min, int max) {
  return {
      {"metadata", {{"name", target}}},
      {"spec",
       {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", target}}},
        {"minReplicas", min},
        {"maxReplicas", max},
        {"metrics",
         Json::array({{{"type", "Resource"},
                       {"resource",
                        {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", 50}}}}}}})}}}};
}

TEST_F(ControllersTest, HpaKeepsTheTargetWithinItsBounds) {
  Create(kDeployments, Deployment("web", 1));
  Create(kHorizontalPodAutoscalers, Hpa("web", 2, 5));
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return Obj(api, kDeployments, "web")["spec"].value("replicas", 0) == 2; }));
  Json hpa;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    hpa = Obj(api, kHorizontalPodAutoscalers, "web");
    return Condition(hpa, "ScalingActive") != nullptr;
  }));
  EXPECT_THAT(Events("web", "SuccessfulRescale"),
              ElementsAre("New size: 2; reason: Current number of replicas below Spec.MinReplicas"));
  EXPECT_EQ(hpa["status"]["currentReplicas"], 2);
  EXPECT_EQ(hpa["status"]["desiredReplicas"], 2);
  EXPECT_TRUE(hpa["status"].contains("lastScaleTime"));
  // No metrics server: the metric fails as on such a cluster.
  const Json& active = *Condition(hpa, "ScalingActive");
  EXPECT_EQ(active["status"], "False");
  EXPECT_EQ(active["reason"], "FailedGetResourceMetric");
  EXPECT_THAT(active["message"].get<std::string>(),
              HasSubstr("the HPA was unable to compute the replica count: failed to get cpu utilization"));
  EXPECT_EQ((*Condition(hpa, "AbleToScale"))["reason"], "SucceededGetScale");

  ASSERT_TRUE(Modify(kDeployments, "web", [](Json& d) { d["spec"]["replicas"] = 8; }).ok());
  ASSERT_TRUE(WaitFor([](ApiServer& api) { return Obj(api, kDeployments, "web")["spec"].value("replicas", 0) == 5; }));
  EXPECT_THAT(Events("web", "SuccessfulRescale"),
              ::testing::Contains("New size: 5; reason: Current number of replicas above Spec.MaxReplicas"));
}

TEST_F(ControllersTest, HpaScalesOnTheSimulatedUtilization) {
  Create(kDeployments, Deployment("web", 2));
  // The simulated utilization stays put whatever the replicas, so the
  // maximum is what stops the scaling here.
  Json h = Hpa("web", 1, 4);
  h["metadata"]["annotations"][kCpuUtilizationAnnotation] = "100";
  Create(kHorizontalPodAutoscalers, h);
  // 2 pods at 100 % of a 50 % target: 4.
  Json hpa;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    hpa = Obj(api, kHorizontalPodAutoscalers, "web");
    return Obj(api, kDeployments, "web")["spec"].value("replicas", 0) == 4 &&
           hpa["status"].value("desiredReplicas", 0) == 4;
  }));
  EXPECT_THAT(Events("web", "SuccessfulRescale"),
              ElementsAre("New size: 4; reason: cpu resource utilization (percentage of request) above target"));
  EXPECT_EQ((*Condition(hpa, "ScalingActive"))["reason"], "ValidMetricFound");
  EXPECT_EQ((*Condition(hpa, "ScalingActive"))["message"],
            "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of "
            "request)");
  EXPECT_EQ((*Condition(hpa, "ScalingLimited"))["reason"], "DesiredWithinRange");
  EXPECT_EQ((*Condition(hpa, "AbleToScale"))["reason"], "SucceededRescale");
  EXPECT_EQ(hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 100);
  // The next period wants 8 and is held at the maximum.
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    hpa = Obj(api, kHorizontalPodAutoscalers, "web");
    const Json* limited = Condition(hpa, "ScalingLimited");
    return limited && (*limited)["reason"] == "TooManyReplicas";
  }));
  EXPECT_EQ((*Condition(hpa, "ScalingLimited"))["status"], "True");
  EXPECT_EQ(Get(kDeployments, "web")["spec"]["replicas"], 4);

  // Far above the target: at most double per period, then the maximum.
  ASSERT_TRUE(Modify(kHorizontalPodAutoscalers, "web", [](Json& o) {
                o["metadata"]["annotations"][kCpuUtilizationAnnotation] = "300";
                o["spec"]["maxReplicas"] = 10;
              }).ok());
  bool rate_limited = false;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    hpa = Obj(api, kHorizontalPodAutoscalers, "web");
    const Json* limited = Condition(hpa, "ScalingLimited");
    rate_limited |= limited && (*limited)["reason"] == "ScaleUpLimit";
    return Obj(api, kDeployments, "web")["spec"].value("replicas", 0) == 10 && limited &&
           (*limited)["reason"] == "TooManyReplicas";
  }));
  EXPECT_TRUE(rate_limited);
  EXPECT_EQ((*Condition(hpa, "ScalingLimited"))["status"], "True");
  EXPECT_THAT(Events("web", "SuccessfulRescale"),
              ElementsAre(HasSubstr("New size: 4;"), HasSubstr("New size: 8;"), HasSubstr("New size: 10;")));
}

TEST_F(ControllersTest, HpaLeavesTheTargetAloneWithinTheTolerance) {
  Create(kDeployments, Deployment("web", 3));
  Json h = Hpa("web", 1, 10);
  h["metadata"]["annotations"][kCpuUtilizationAnnotation] = "54";  // 8 % over a 50 % target
  Create(kHorizontalPodAutoscalers, h);
  Json hpa;
  ASSERT_TRUE(WaitFor([&](ApiServer& api) {
    hpa = Obj(api, kHorizontalPodAutoscalers, "web");
    return Condition(hpa, "ScalingLimited") != nullptr;
  }));
  EXPECT_EQ((*Condition(hpa, "ScalingActive"))["status"], "True");
  EXPECT_EQ((*Condition(hpa, "AbleToScale"))["reason"], "ReadyForNewScale");
  EXPECT_EQ(hpa["status"]["desiredReplicas"], 3);
  EXPECT_EQ(hpa["status"]["currentReplicas"], 3);
  EXPECT_FALSE(hpa["status"].contains("lastScaleTime"));
  EXPECT_EQ(Get(kDeployments, "web")["spec"]["replicas"], 3);
  EXPECT_TRUE(Events("web", "SuccessfulRescale").empty());
}

}  // namespace
}  // namespace herd::sim
