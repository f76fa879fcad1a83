// The operation runner against kubesim, in process: launching operations
// and adopting those of a replica that died, with what the soak under
// faults (test/soak) found wrong: adoptions decided on a cache that was
// behind, and launches whose lease could not be taken for a moment.
//
// Two "replicas" share one kubesim, each with a client of its own
// User-Agent, so kubesim's faults can hit one and spare the other (a
// replica whose record watch keeps failing has a cache that is behind).
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kube/informer.h"
#include "server/kube/rest_client.h"
#include "server/kube/testing/fake_clock.h"
#include "server/kube/testing/forwarding_client.h"
#include "server/ops/engine.h"
#include "server/ops/lock.h"
#include "server/ops/names.h"
#include "server/ops/runner.h"
#include "server/ops/store.h"
#include "sim/kubesim.h"

namespace herd {
namespace {

namespace v1 = ::herd::v1;

constexpr char kNs[] = "herd-system";
constexpr absl::Duration kLease = absl::Seconds(1);

// Remembers each run and the checkpoint it started from, then succeeds.
struct Runs {
  absl::Mutex mu;
  int count ABSL_GUARDED_BY(mu) = 0;
  std::string step ABSL_GUARDED_BY(mu);

  int Count() {
    absl::MutexLock lock(&mu);
    return count;
  }
  std::string Step() {
    absl::MutexLock lock(&mu);
    return step;
  }
};

class CountingEngine : public ops::Engine {
 public:
  CountingEngine(std::string key, Runs* runs) : key_(std::move(key)), runs_(runs) {}
  v1::OperationKind kind() const override { return v1::OPERATION_KIND_SCALE; }
  std::string target() const override { return "namespaces/default/deployments/web"; }
  std::string lock_key() const override { return key_; }
  std::string request_json() const override { return "{}"; }
  std::vector<v1::Permission> Writes() const override { return {}; }
  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv&) override { return v1::Plan(); }
  // The workloads a record's "reach" names are locked too (as a purge by
  // selector locks those its pods belong to).
  std::vector<std::string> more_lock_keys(const std::map<std::string, std::string>& checkpoint) const override {
    auto it = checkpoint.find("reach");
    if (it == checkpoint.end() || it->second.empty()) return {};
    return absl::StrSplit(it->second, ',');
  }
  void Run(ops::EngineEnv&, ops::LiveOperation& op, bool) override {
    {
      absl::MutexLock lock(&runs_->mu);
      runs_->count++;
      runs_->step = op.Checkpoint("step");
    }
    op.Finish(v1::OPERATION_STATE_SUCCEEDED);
  }

 private:
  std::string key_;
  Runs* runs_;
};

// One replica: its client, store, locks and runner.
struct Replica {
  Replica(const std::string& url, const std::string& name, const std::string& lock_key, Runs* runs,
          const std::string& locks_user_agent = "") {
    kube::RestConfig config;
    config.server = url;
    config.qps = 0;
    config.user_agent = "herd-" + name + "/";
    client = *kube::NewRestClient(config);
    if (!locks_user_agent.empty()) {
      config.user_agent = locks_user_agent;
      locks_client = *kube::NewRestClient(config);
    }
    informers = std::make_unique<kube::InformerSet>(*client);
    env = std::make_unique<ops::EngineEnv>(ops::EngineEnv{*client, *informers, *kube::Clock::Real(), {}});
    store = std::make_unique<ops::OperationStore>(*client, kNs);
    locks = std::make_unique<ops::WorkloadLocks>(locks_client ? *locks_client : *client, kNs, "herdd-" + name, kLease);
    runner = std::make_unique<ops::OperationRunner>(
        *env, *store, *locks,
        [lock_key, runs](const ops::Record&) -> absl::StatusOr<std::unique_ptr<ops::Engine>> {
          return std::unique_ptr<ops::Engine>(new CountingEngine(lock_key, runs));
        },
        ops::RunnerHooks{.on_start =
                             [this](const v1::Operation& op) {
                               if (on_start) on_start(op);
                             }},
        ops::RunnerOptions{.identity = "herdd-" + name});
  }
  ~Replica() {
    runner.reset();
    store->Stop();
  }
  void StartStore() {
    store->Start();
    ASSERT_TRUE(store->WaitForSync(absl::Now() + absl::Seconds(10)).ok());
  }

  std::unique_ptr<kube::KubeClient> client;
  std::unique_ptr<kube::KubeClient> locks_client;
  std::unique_ptr<kube::InformerSet> informers;
  std::unique_ptr<ops::EngineEnv> env;
  std::unique_ptr<ops::OperationStore> store;
  std::unique_ptr<ops::WorkloadLocks> locks;
  std::unique_ptr<ops::OperationRunner> runner;
  // Called as an operation starts (Launch: its record and lease written,
  // its engine not yet running).
  std::function<void(const v1::Operation&)> on_start;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);  // the faults make the clients warn on every retry
    auto sim = sim::Simulator::Start({});
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    Replica setup(sim_->url(), "setup", "", &runs_);
    ASSERT_TRUE(setup.client->Create(kube::kNamespaces, "", {{"metadata", {{"name", kNs}}}}).ok());
  }
  void TearDown() override { sim_->Stop(); }

  static v1::Operation Running(const std::string& name) {
    v1::Operation op;
    op.set_name(name);
    op.set_kind(v1::OPERATION_KIND_SCALE);
    op.set_target("namespaces/default/deployments/web");
    op.set_state(v1::OPERATION_STATE_RUNNING);
    ops::SetTime(absl::Now(), op.mutable_create_time());
    return op;
  }

  // Replica b's record watch fails from now on: its cache stays as it is.
  void FreezeCacheOf(const std::string& user_agent) {
    sim::Faults f;
    f.user_agent = user_agent;
    f.fail_next["watch"] = 1 << 30;
    sim_->SetFaults(f);
  }

  void AwaitRuns(int n) {
    absl::Time until = absl::Now() + absl::Seconds(10);
    while (runs_.Count() < n && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
    ASSERT_EQ(runs_.Count(), n);
  }

  std::unique_ptr<sim::Simulator> sim_;
  Runs runs_;
};

TEST_F(RunnerTest, AnOperationThatEndedIsNotAdoptedFromACacheThatIsBehind) {
  // Replica a ends an operation (record final, then the lease released);
  // replica b's cache still shows it running and no lease: it must not run
  // it again (the soak saw a cancelled purge adopted and run to SUCCEEDED).
  Replica a(sim_->url(), "a", "namespaces/default/deployments/web", &runs_);
  Replica b(sim_->url(), "b", "namespaces/default/deployments/web", &runs_);
  v1::Operation op = Running("operations/ended-1");
  ASSERT_TRUE(a.store->Create({.op = op, .request_json = "{}", .owner = "herdd-a"}).ok());
  FreezeCacheOf("herd-b/");
  b.StartStore();
  op.set_state(v1::OPERATION_STATE_CANCELLED);
  ASSERT_TRUE(a.store->Save(op, {}, "herdd-a").ok());
  absl::SleepFor(kLease + absl::Seconds(1.5));  // past the time a record without a lease is left alone
  ASSERT_EQ(b.store->List().at(0).op.state(), v1::OPERATION_STATE_RUNNING) << "b's cache should be behind";

  b.runner->AdoptNow();
  EXPECT_EQ(b.runner->Running(), 0u);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(runs_.Count(), 0);
  auto rec = a.store->Fetch("ended-1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->op.state(), v1::OPERATION_STATE_CANCELLED);
  EXPECT_TRUE(absl::IsNotFound(b.locks->Inspect("namespaces/default/deployments/web").status()))
      << "no lock left taken for it";
}

TEST_F(RunnerTest, AnAdoptedOperationResumesFromTheCheckpointPersistedLast) {
  // A checkpoint persisted before a write is what an adopter must resume
  // from, even when its cache only has an older one.
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  Replica b(sim_->url(), "b", key, &runs_);
  v1::Operation op = Running("operations/resumed-1");
  ASSERT_TRUE(a.locks->Acquire(key, op.name()).ok());
  ASSERT_TRUE(a.store->Create({.op = op, .request_json = "{}", .checkpoint = {{"step", "1"}}, .owner = "herdd-a"}).ok());
  FreezeCacheOf("herd-b/");
  b.StartStore();
  ASSERT_TRUE(a.store->Save(op, {{"step", "2"}}, "herdd-a").ok());  // then a dies
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    auto info = b.locks->Inspect(key);
    if (info.ok() && info->expired) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(b.store->List().at(0).checkpoint.at("step"), "1") << "b's cache should be behind";

  b.runner->AdoptNow();
  AwaitRuns(1);
  EXPECT_EQ(runs_.Step(), "2");
}

TEST_F(RunnerTest, ATakeOverKeepsWhatThePreviousOwnerPersistedAndFencesIt) {
  // The soak saw a purge replace its pods twice: its replica, alive but
  // with its lease run out, persisted the selection and the restart it was
  // about to write after the adopter had read the record and before the
  // adopter named itself the owner; that write put the adopter's older
  // copy back, and the adopter chose and restarted again. The take-over
  // keeps what is in the record at that moment and changes only its owner.
  Replica a(sim_->url(), "a", "namespaces/default/deployments/web", &runs_);
  Replica b(sim_->url(), "b", "namespaces/default/deployments/web", &runs_);
  v1::Operation op = Running("operations/taken-1");
  ASSERT_TRUE(a.store->Create({.op = op, .request_json = "{}", .checkpoint = {{"step", "1"}}, .owner = "herdd-a"}).ok());
  auto read = b.store->Fetch("taken-1");  // the adopter looks at the record…
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->checkpoint.at("step"), "1");
  ASSERT_TRUE(a.store->Save(op, {{"step", "2"}}, "herdd-a").ok());  // …a persists before its next write…
  std::string previous;
  auto taken = b.store->TakeOver("taken-1", "herdd-b", &previous);  // …and the adopter takes it over
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->checkpoint.at("step"), "2");
  EXPECT_EQ(taken->owner, "herdd-b");
  EXPECT_EQ(previous, "herdd-a");
  // From now on a writes nothing more.
  absl::Status late = a.store->Save(op, {{"step", "3"}}, "herdd-a");
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition) << late;
  auto rec = b.store->Fetch("taken-1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->checkpoint.at("step"), "2");
  EXPECT_EQ(rec->owner, "herdd-b");
  // An ended operation is not taken over.
  op.set_state(v1::OPERATION_STATE_SUCCEEDED);
  ASSERT_TRUE(b.store->Save(op, {{"step", "2"}}, "herdd-b").ok());
  EXPECT_EQ(a.store->TakeOver("taken-1", "herdd-a").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RunnerTest, ARecordWithoutALeaseIsLeftToItsReplicaForALease) {
  // A launch writes the record and takes the lease at once (an operation
  // that locks no workload): another replica seeing the record first must
  // not take it over, or the launch fails and says it did not start while
  // the other runs it.
  Replica a(sim_->url(), "a", "", &runs_);
  Replica b(sim_->url(), "b", "", &runs_);
  v1::Operation op = Running("operations/young-1");
  ASSERT_TRUE(a.store->Create({.op = op, .request_json = "{}", .owner = "herdd-a"}).ok());
  b.StartStore();
  b.runner->AdoptNow();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(runs_.Count(), 0);
  // Its replica died before it took the lease: adopted a lease later.
  absl::SleepFor(kLease + absl::Seconds(1.5));
  b.runner->AdoptNow();
  AwaitRuns(1);
}

TEST_F(RunnerTest, AnOperationBeingLaunchedIsNotTakenForAPredecessorsByItsOwnReplica) {
  // Launch writes the record and the lease under the replica's own name
  // before the engine's slot exists. An adoption pass in between sees a
  // live lease of its own name for an operation it does not run (what a
  // restarted herdd's predecessor leaves): it must not run it a second time.
  Replica a(sim_->url(), "a", "namespaces/default/deployments/web", &runs_);
  a.StartStore();
  a.runner->Start();
  bool seen = false;
  int starts = 0;  // Launch's, and an adoption's should one happen
  a.on_start = [&](const v1::Operation& op) {
    if (starts++ > 0) return;
    absl::Time until = absl::Now() + absl::Seconds(10);
    for (;;) {
      auto records = a.store->List();
      seen = std::any_of(records.begin(), records.end(), [&](const ops::Record& r) { return r.op.name() == op.name(); });
      if (seen || absl::Now() >= until) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    a.runner->AdoptNow();
  };
  auto launched = a.runner->Launch(std::unique_ptr<ops::Engine>(new CountingEngine("namespaces/default/deployments/web", &runs_)),
                                   Running("operations/launching-1"));
  ASSERT_TRUE(launched.ok()) << launched.status();
  ASSERT_TRUE(seen) << "the record never reached the replica's own cache";
  // The adoption pass ran inside Launch, synchronously: had it adopted,
  // its start would be counted by now.
  EXPECT_EQ(starts, 1);
  AwaitRuns(1);
}

TEST_F(RunnerTest, ALaunchWhoseLeaseCannotBeTakenLeavesNoRecordSoTheRequestCanBeSentAgain) {
  // The soak's kill got a 429 (transient) when its lease was taken; its
  // record, marked FAILED, then answered every retry of the same request
  // id: the kill could never be done under that id.
  Replica a(sim_->url(), "a", "", &runs_, "herd-locks/");
  a.StartStore();
  sim::Faults f;
  f.user_agent = "herd-locks/";
  f.fail_next["create"] = 1 << 30;
  sim_->SetFaults(f);
  v1::Operation op = Running("operations/req-1");
  auto launched = a.runner->Launch(std::make_unique<CountingEngine>("", &runs_), op);
  ASSERT_FALSE(launched.ok());
  EXPECT_EQ(launched.status().code(), absl::StatusCode::kInternal) << launched.status();
  EXPECT_TRUE(absl::IsNotFound(a.store->Fetch("req-1").status()));

  sim_->SetFaults({});
  launched = a.runner->Launch(std::make_unique<CountingEngine>("", &runs_), op);
  ASSERT_TRUE(launched.ok()) << launched.status();
  AwaitRuns(1);
}

TEST_F(RunnerTest, AnEndIsShownOnlyOnceItIsInTheRecord) {
  // Shown CANCELLED by a replica that died before writing it, an operation
  // was adopted and run to SUCCEEDED: an end may only be shown once no
  // adopter can come to another.
  Replica a(sim_->url(), "a", "namespaces/default/deployments/web", &runs_);
  a.StartStore();
  sim::Faults f;
  f.user_agent = "herd-a/";
  f.fail_next["update"] = 8;  // the record's first writes fail, retries included
  sim_->SetFaults(f);
  auto launched = a.runner->Launch(std::make_unique<CountingEngine>("namespaces/default/deployments/web", &runs_),
                                   Running("operations/req-3"));
  ASSERT_TRUE(launched.ok()) << launched.status();
  std::shared_ptr<ops::LiveOperation> live = a.runner->Find("operations/req-3");
  ASSERT_NE(live, nullptr);
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (!live->Done() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(live->Done());
  EXPECT_EQ(live->Published().state(), v1::OPERATION_STATE_RUNNING) << "shown ended before its record says so";
  EXPECT_FALSE(live->Published().has_end_time());
  while (live->Published().state() == v1::OPERATION_STATE_RUNNING && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(live->Published().state(), v1::OPERATION_STATE_SUCCEEDED);
  auto rec = a.store->Fetch("req-3");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->op.state(), v1::OPERATION_STATE_SUCCEEDED);
}

TEST_F(RunnerTest, ACancelIsRecordedForTheReplicaThatAdopts) {
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  a.StartStore();
  // An engine that only waits, so the operation is running when cancelled.
  class Waiting : public CountingEngine {
   public:
    using CountingEngine::CountingEngine;
    void Run(ops::EngineEnv&, ops::LiveOperation& op, bool) override {
      while (!op.hand_over_requested()) absl::SleepFor(absl::Milliseconds(5));
    }
  };
  ASSERT_TRUE(a.runner->Launch(std::make_unique<Waiting>(key, &runs_), Running("operations/req-4")).ok());
  ASSERT_TRUE(a.runner->Cancel("operations/req-4", "changed my mind").ok());
  auto rec = a.store->Fetch("req-4");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->cancel_reason, "changed my mind");
}

// Runs until told to end the operation FAILED, or until handed over.
class FailsWhenTold : public ops::Engine {
 public:
  explicit FailsWhenTold(absl::Notification* go) : go_(go) {}
  v1::OperationKind kind() const override { return v1::OPERATION_KIND_SCALE; }
  std::string target() const override { return "namespaces/default/deployments/web"; }
  std::string lock_key() const override { return "namespaces/default/deployments/web"; }
  std::string request_json() const override { return "{}"; }
  std::vector<v1::Permission> Writes() const override { return {}; }
  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv&) override { return v1::Plan(); }
  void Run(ops::EngineEnv&, ops::LiveOperation& op, bool) override {
    go_->WaitForNotification();
    op.Finish(v1::OPERATION_STATE_FAILED, absl::DeadlineExceededError("gave up"));
  }

 private:
  absl::Notification* go_;
};

TEST_F(RunnerTest, AReplicaWhoseLeaseRanOutNeverOverwritesTheOneThatAdopted) {
  // The soak saw an operation shown ROLLED_BACK by the replica that adopted
  // it and then FAILED: the replica whose lease had run out (its renewals
  // slow under faults) went on and wrote its end over the adopter's.
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  Replica b(sim_->url(), "b", key, &runs_);
  a.StartStore();
  b.StartStore();
  absl::Notification go;
  ASSERT_TRUE(a.runner->Launch(std::make_unique<FailsWhenTold>(&go), Running("operations/req-5")).ok());
  // a renews nothing (its loops are not started): its lease runs out.
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    auto info = b.locks->Inspect(key);
    if (info.ok() && info->expired) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  b.runner->AdoptNow();
  AwaitRuns(1);  // b ran it to SUCCEEDED
  until = absl::Now() + absl::Seconds(10);
  while (a.store->Fetch("req-5")->op.state() != v1::OPERATION_STATE_SUCCEEDED && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  go.Notify();  // a, unaware, ends it its own way
  std::shared_ptr<ops::LiveOperation> stale = a.runner->Find("operations/req-5");
  ASSERT_NE(stale, nullptr);
  while (a.runner->Running() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
  auto rec = a.store->Fetch("req-5");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->op.state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(rec->owner, "herdd-b");
  EXPECT_NE(stale->Published().state(), v1::OPERATION_STATE_FAILED) << "a showed an end it could not record";
}

TEST_F(RunnerTest, AnOperationShownEndedNoLongerHoldsItsWorkload) {
  // The soak's next operation on a workload, started the moment the last
  // one was shown SUCCEEDED, now and then got ABORTED naming the ended one:
  // the end was shown before its lock was released.
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_, "herd-locks/");
  a.StartStore();
  sim::Faults f;
  f.user_agent = "herd-locks/";
  f.latency = absl::Milliseconds(300);  // the lock's requests are slow
  sim_->SetFaults(f);
  ASSERT_TRUE(a.runner->Launch(std::make_unique<CountingEngine>(key, &runs_), Running("operations/req-6")).ok());
  std::shared_ptr<ops::LiveOperation> live = a.runner->Find("operations/req-6");
  ASSERT_NE(live, nullptr);
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (!ops::IsFinal(live->Published().state()) && absl::Now() < until) absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ(live->Published().state(), v1::OPERATION_STATE_SUCCEEDED);
  Replica b(sim_->url(), "b", key, &runs_);
  EXPECT_TRUE(absl::IsNotFound(b.locks->Inspect(key).status())) << "the workload is still locked";
}

TEST_F(RunnerTest, ALeaseThatRanOutIsTakenByANewOperationOnlyOnceItsOwnHasEnded) {
  // The soak saw a Scale start on a StatefulSet whose rollout was still
  // running: the rollout's replica renewed its lease late (429s), the
  // Scale's launch took the expired lease over, and the rollout, no longer
  // holding its workload's lock, was never adopted while the Scale ran.
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  Replica b(sim_->url(), "b", key, &runs_);
  b.StartStore();
  v1::Operation first = Running("operations/first-1");
  ASSERT_TRUE(a.locks->Acquire(key, first.name()).ok());
  ASSERT_TRUE(a.store->Create({.op = first, .request_json = "{}", .owner = "herdd-a"}).ok());
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    auto info = b.locks->Inspect(key);
    if (info.ok() && info->expired) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto second = b.runner->Launch(std::make_unique<CountingEngine>(key, &runs_), Running("operations/second-1"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted) << second.status();
  EXPECT_THAT(std::string(second.status().message()), ::testing::HasSubstr("first-1"));
  // Its record, written while the lease was asked for, is gone again.
  EXPECT_TRUE(absl::IsNotFound(b.store->Fetch("second-1").status()));
  // Ended (its replica died after writing the end, before letting go):
  // then the lease is free to take.
  first.set_state(v1::OPERATION_STATE_SUCCEEDED);
  ASSERT_TRUE(a.store->Save(first, {}, "herdd-a").ok());
  second = b.runner->Launch(std::make_unique<CountingEngine>(key, &runs_), Running("operations/second-1"));
  ASSERT_TRUE(second.ok()) << second.status();
  AwaitRuns(1);
}

// Ends SUCCEEDED when told; its Prepare says which operation held its
// workload's lock at that moment, and names the workloads of `reach` as
// more locks once prepared (a purge by selector's).
class Planned : public ops::Engine {
 public:
  Planned(std::string key, ops::WorkloadLocks* locks, absl::Notification* go = nullptr,
          std::vector<std::string> reach = {})
      : key_(std::move(key)), locks_(locks), go_(go), reach_(std::move(reach)) {}
  v1::OperationKind kind() const override { return v1::OPERATION_KIND_PURGE; }
  std::string target() const override { return key_; }
  std::string lock_key() const override { return key_; }
  std::string request_json() const override { return "{}"; }
  std::vector<v1::Permission> Writes() const override { return {}; }
  absl::StatusOr<v1::Plan> Prepare(ops::EngineEnv&) override {
    auto info = locks_->Inspect(key_);
    v1::Plan plan;
    plan.set_summary(absl::StrCat("planned while ", info.ok() ? info->operation : "nobody", " held ", key_));
    prepared_ = true;
    return plan;
  }
  std::map<std::string, std::string> InitialCheckpoint() const override {
    return prepared_ ? std::map<std::string, std::string>{{"reach", absl::StrJoin(reach_, ",")}}
                     : std::map<std::string, std::string>{};
  }
  std::vector<std::string> more_lock_keys(const std::map<std::string, std::string>& checkpoint) const override {
    auto it = checkpoint.find("reach");
    if (it == checkpoint.end() || it->second.empty()) return {};
    return absl::StrSplit(it->second, ',');
  }
  void Run(ops::EngineEnv&, ops::LiveOperation& op, bool) override {
    if (go_) {
      while (!go_->WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
        if (op.hand_over_requested()) return;
      }
    }
    op.Finish(v1::OPERATION_STATE_SUCCEEDED);
  }

 private:
  std::string key_;
  ops::WorkloadLocks* locks_;
  absl::Notification* go_;
  std::vector<std::string> reach_;
  bool prepared_ = false;
};

TEST_F(RunnerTest, AnOperationIsPlannedAndStampedOnceItHoldsItsWorkload) {
  // The soak's probe (a Scale sent while a rollout ran) was planned by
  // its call while the rollout held the workload; its reads were slow
  // under faults, the rollout ended meanwhile, and the Scale took the free
  // lock: it ran after the rollout but showed a create time, and a plan,
  // from the middle of it.
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  a.StartStore();
  absl::Notification go;
  ASSERT_TRUE(a.runner->Launch(std::make_unique<Planned>(key, a.locks.get(), &go), Running("operations/first-3")).ok());
  // The second call, planned now (its Prepare, its create time)…
  v1::Operation second = Running("operations/second-3");
  second.mutable_plan()->set_summary("planned by the call");
  auto* started = second.add_events();
  ops::SetTime(absl::Now(), started->mutable_time());
  started->set_message("purge started by someone");
  // … is launched once the first has ended and let go.
  go.Notify();
  absl::Time until = absl::Now() + absl::Seconds(10);
  auto first = a.store->Fetch("first-3");
  while ((!first.ok() || !ops::IsFinal(first->op.state()) || a.locks->Inspect(key).ok()) && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
    first = a.store->Fetch("first-3");
  }
  ASSERT_TRUE(first.ok() && first->op.state() == v1::OPERATION_STATE_SUCCEEDED);
  ASSERT_TRUE(absl::IsNotFound(a.locks->Inspect(key).status())) << "the first still holds the workload";

  auto launched = a.runner->Launch(std::make_unique<Planned>(key, a.locks.get()), second);
  ASSERT_TRUE(launched.ok()) << launched.status();
  const absl::Time ended = ops::FromProto(first->op.end_time());
  EXPECT_GE(ops::FromProto(launched->create_time()), ended);
  EXPECT_GE(ops::FromProto(launched->events(0).time()), ended);
  EXPECT_EQ(launched->plan().summary(), absl::StrCat("planned while operations/second-3 held ", key));
  auto rec = a.store->Fetch("second-3");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->op.create_time().seconds(), launched->create_time().seconds());
  EXPECT_EQ(rec->op.plan().summary(), launched->plan().summary());
}

TEST_F(RunnerTest, APlanMadeHoldingTheLockTakesTheWorkloadsItNowReaches) {
  // A purge by selector locks the workloads its pods belong to: planned
  // again once its own lock is held, it locks those it reaches then, and
  // records them for an adopter.
  const std::string key = "namespaces/default/pods?labelSelector=app=web";
  const std::string web = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  a.StartStore();
  absl::Notification go;
  ASSERT_TRUE(
      a.runner->Launch(std::make_unique<Planned>(key, a.locks.get(), &go, std::vector<std::string>{web}),
                       Running("operations/reach-1"))
          .ok());
  auto info = a.locks->Inspect(web);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->operation, "operations/reach-1");
  auto rec = a.store->Fetch("reach-1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->checkpoint["reach"], web);
  go.Notify();
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (a.locks->Inspect(web).ok() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(absl::IsNotFound(a.locks->Inspect(web).status())) << "the workload stays locked after the end";
}

// Passes every request on to `inner`, but before the first update of a
// Lease deletes that Lease (what its holder's release does when it comes
// between another replica's read of the Lease and its write).
class ReleasedBeforeTheUpdate : public kube::ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;
  absl::StatusOr<kube::Json> Update(const kube::Resource& r, absl::string_view ns, const kube::Json& obj,
                                    const kube::WriteOptions& o) override {
    if (&r == &kube::kLeases && !released_) {
      released_ = true;
      (void)ForwardingClient::Delete(r, ns, obj["metadata"].value("name", ""), {});
    }
    return ForwardingClient::Update(r, ns, obj, o);
  }

 private:
  bool released_ = false;
};

TEST_F(RunnerTest, ALeaseReleasedWhileItIsTakenOverIsTakenAfresh) {
  // The soak's CronJob suspend was refused with NOT_FOUND naming a Lease:
  // its launch read the expired Lease of an operation that had ended, and
  // that operation's replica released it before the launch's write.
  const std::string key = "namespaces/default/cronjobs/nightly";
  Replica a(sim_->url(), "a", key, &runs_);
  ASSERT_TRUE(a.locks->Acquire(key, "operations/ended-2").ok());
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    auto info = a.locks->Inspect(key);
    if (info.ok() && info->expired) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ReleasedBeforeTheUpdate client(*a.client);
  ops::WorkloadLocks locks(client, kNs, "herdd-b", kLease);
  absl::Status taken = locks.Acquire(key, "operations/next-2", [](const std::string&) { return true; });
  ASSERT_TRUE(taken.ok()) << taken;
  auto info = a.locks->Inspect(key);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->operation, "operations/next-2");
  EXPECT_EQ(info->holder, "herdd-b");
}

TEST_F(RunnerTest, ALaunchTakesItsLeaseThroughTransientErrors) {
  Replica a(sim_->url(), "a", "namespaces/default/deployments/web", &runs_, "herd-locks/");
  a.StartStore();
  sim::Faults f;
  f.user_agent = "herd-locks/";
  f.error_code = 503;
  f.fail_next["create"] = 2;
  sim_->SetFaults(f);
  auto launched = a.runner->Launch(std::make_unique<CountingEngine>("namespaces/default/deployments/web", &runs_),
                                   Running("operations/req-2"));
  ASSERT_TRUE(launched.ok()) << launched.status();
  AwaitRuns(1);
}

TEST_F(RunnerTest, ACallCutOffBeforeItsLockStartsOnlyOnceTheWorkloadIsFreeAndIsDatedThen) {
  // The soak: a Scale's lock was refused (a rollout held the workload), its
  // record was being withdrawn when its herdd was killed. The retry of the
  // same request id answered that record RUNNING, dated while the rollout
  // ran; once adopted, it ran. And a record left so while the workload's
  // lease named another operation was never adopted: stuck RUNNING.
  const std::string key = "namespaces/default/deployments/web";
  Replica b(sim_->url(), "b", key, &runs_);
  b.StartStore();
  // Another operation holds the workload, its replica alive (a long lease).
  ops::WorkloadLocks z_locks(*b.client, kNs, "herdd-z", absl::Seconds(60));
  v1::Operation first = Running("operations/first-3");
  ASSERT_TRUE(z_locks.Acquire(key, first.name()).ok());
  ASSERT_TRUE(b.store->Create({.op = first, .request_json = "{}", .owner = "herdd-z"}).ok());
  // The cut-off call's record: written by a replica that then died.
  v1::Operation cut = Running("operations/cut-3");
  ASSERT_TRUE(b.store->Create({.op = cut, .request_json = "{}", .owner = "herdd-c"}).ok());
  absl::SleepFor(kLease + absl::Seconds(1.5));  // past the time a record without a lease is left alone
  auto rec = b.store->Fetch("cut-3");
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(b.runner->AwaitsItsWorkload(*rec)) << "not started: reads show it PENDING";
  b.runner->AdoptNow();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(runs_.Count(), 0) << "run while the workload was busy";

  // The first ends; its replica dies after writing the end, its lease left
  // behind (run out, naming it).
  first.set_state(v1::OPERATION_STATE_SUCCEEDED);
  ASSERT_TRUE(b.store->Save(first, {}, "herdd-z").ok());
  z_locks.LetGo(key, first.name());
  const absl::Time freed = absl::Now();
  b.runner->AdoptNow();
  AwaitRuns(1);
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    rec = b.store->Fetch("cut-3");
    if (rec.ok() && ops::IsFinal(rec->op.state())) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->op.state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(rec->owner, "herdd-b");
  EXPECT_GE(ops::FromProto(rec->op.create_time()), freed - absl::Milliseconds(1)) << "dated before it held the workload";
  ASSERT_GT(rec->op.events_size(), 0);
  EXPECT_THAT(rec->op.events(0).message(), ::testing::HasSubstr("started by herdd-b once " + key + " was free"));
}

TEST_F(RunnerTest, ARecordAnotherReplicaTookOverIsNeverWithdrawnUnderIt) {
  // A launch whose lock was refused withdraws its record; should another
  // replica have taken it over meanwhile (the workload was free by then)
  // the record stays, and the launch answers with that operation.
  Replica a(sim_->url(), "a", "", &runs_);
  Replica b(sim_->url(), "b", "", &runs_);
  v1::Operation op = Running("operations/withdrawn-1");
  ASSERT_TRUE(a.store->Create({.op = op, .request_json = "{}", .owner = "herdd-a"}).ok());
  ASSERT_TRUE(b.store->TakeOver("withdrawn-1", "herdd-b").ok());
  absl::Status st = a.store->Withdraw("withdrawn-1", "herdd-a");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  auto rec = a.store->Fetch("withdrawn-1");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->owner, "herdd-b");
  // Its own, untouched: withdrawn.
  ASSERT_TRUE(a.store->Create({.op = Running("operations/withdrawn-2"), .request_json = "{}", .owner = "herdd-a"}).ok());
  EXPECT_TRUE(a.store->Withdraw("withdrawn-2", "herdd-a").ok());
  EXPECT_TRUE(absl::IsNotFound(a.store->Fetch("withdrawn-2").status()));
}

TEST_F(RunnerTest, AnOperationWhoseLeasesRunOutOneAfterTheOtherIsResumedNotStartedAfresh) {
  // The crash test's purge by selector held the Lease of its selector and
  // that of the Deployment it restarted, renewed one after the other; its
  // replica died. An adoption pass between the two expiries took the
  // first, was refused the second, and deleted the first: the next pass
  // found no Lease naming the purge, took it for one that never ran and
  // started it afresh, its checkpoint dropped (a cancel then ended it
  // without putting back the template it had written).
  const std::string key = "namespaces/default/pods?labelSelector=app=web";
  const std::string web = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  Replica b(sim_->url(), "b", key, &runs_);
  v1::Operation op = Running("operations/staggered-1");
  // a renewed the selector's Lease two leases ago, the Deployment's now.
  kube::FakeClock earlier(absl::Now() - 2 * kLease);
  ops::WorkloadLocks a_earlier(*a.client, kNs, "herdd-a", kLease, &earlier);
  ASSERT_TRUE(a_earlier.Acquire(key, op.name()).ok());
  ASSERT_TRUE(a.locks->Acquire(web, op.name()).ok());
  ASSERT_TRUE(a.store
                  ->Create({.op = op,
                            .request_json = "{}",
                            .checkpoint = {{"reach", web}, {"step", "2"}},
                            .owner = "herdd-a"})
                  .ok());
  b.StartStore();
  b.runner->AdoptNow();
  EXPECT_EQ(b.runner->Running(), 0u) << "adopted while a still held the Deployment";
  auto info = b.locks->Inspect(key);
  ASSERT_TRUE(info.ok()) << info.status() << ": the Lease that says the operation ran is gone";
  EXPECT_EQ(info->operation, op.name());
  EXPECT_TRUE(info->expired);
  // The Deployment's Lease runs out too: adopted, from its checkpoint.
  a.locks->LetGo(web, op.name());
  b.runner->AdoptNow();
  AwaitRuns(1);
  EXPECT_EQ(runs_.Step(), "2") << "started afresh, its checkpoint dropped";
  std::shared_ptr<ops::LiveOperation> live = b.runner->Find(op.name());
  ASSERT_NE(live, nullptr);
  const v1::Operation adopted = live->Snapshot();
  std::vector<std::string> events;
  for (const auto& e : adopted.events()) events.push_back(e.message());
  EXPECT_THAT(events, ::testing::Contains("adopted by herdd-b from herdd-a"));
}

// Runs until its replica hands it over, ending nothing.
class RunsUntilHandedOver : public CountingEngine {
 public:
  using CountingEngine::CountingEngine;
  void Run(ops::EngineEnv& env, ops::LiveOperation& op, bool) override {
    started.Notify();
    // As engines wait: a hand-over wakes the informers' waiters.
    (void)env.informers.WaitUntil([&] { return op.hand_over_requested(); }, absl::Now() + absl::Seconds(30));
  }
  absl::Notification started;
};

TEST_F(RunnerTest, AHandedOverOperationKeepsItsWorkloadUntilAdopted) {
  // A replica that stops hands its operations over: their leases stay,
  // let go, so no new operation takes the workload before the adopter.
  const std::string key = "namespaces/default/deployments/web";
  Replica a(sim_->url(), "a", key, &runs_);
  Replica b(sim_->url(), "b", key, &runs_);
  a.StartStore();
  auto engine = std::make_unique<RunsUntilHandedOver>(key, &runs_);
  RunsUntilHandedOver* running = engine.get();
  auto launched = a.runner->Launch(std::move(engine), Running("operations/handed-1"));
  ASSERT_TRUE(launched.ok()) << launched.status();
  ASSERT_TRUE(running->started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  a.runner->HandOver();
  auto info = b.locks->Inspect(key);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->expired);
  EXPECT_EQ(info->operation, "operations/handed-1");
  auto other = b.runner->Launch(std::make_unique<CountingEngine>(key, &runs_), Running("operations/other-1"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAborted) << other.status();
  b.StartStore();
  b.runner->AdoptNow();
  AwaitRuns(1);
}

}  // namespace
}  // namespace herd
