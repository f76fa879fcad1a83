// What herd.proto promises about reads (GetWorkload, ListWorkloads), the
// operations API (Get, List, Watch), dry runs, the audit trail and errors,
// proven through herdd's gRPC API against an in-process kubesim
// (docs/PROMISES.md lists which test proves which promise).
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ops/operation.h"
#include "test/integration/herdd_fixture.h"
#include "test/integration/writable_parts.h"

namespace herd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class ReadsTest : public HerddFixture {
 protected:
  v1::Operation StartRollout(const std::string& name, const std::string& image, bool no_rollback = false) {
    v1::RolloutRequest req;
    req.set_workload(Workload(name));
    (*req.mutable_images())[name] = image;
    req.set_no_rollback(no_rollback);
    v1::Operation op;
    grpc::Status st = Call(&Stub::Rollout, req, &op);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return op;
  }
  v1::Workload GetWorkload(const std::string& name, const std::string& plural = "deployments") {
    AwaitHerdCache();
    v1::GetWorkloadRequest req;
    req.set_name(Workload(name, plural));
    v1::Workload w;
    grpc::Status st = Call(&Stub::GetWorkload, req, &w);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return w;
  }
  void Cancel(const std::string& name) {
    v1::CancelOperationRequest req;
    req.set_name(name);
    v1::Operation out;
    ASSERT_GRPC_OK(Call(&Stub::CancelOperation, req, &out));
  }
  // The workload's status has caught up: `ready` Ready and available.
  void AwaitStatus(const kube::Resource& r, const std::string& name, int ready) {
    Await(
        [&] {
          kube::ObjectPtr o = Cached(r, name);
          if (!o) return false;
          const Json status = (*o).value("status", Json::object());
          return status.value("readyReplicas", 0) == ready && status.value("availableReplicas", 0) == ready &&
                 status.value("replicas", 0) == ready;
        },
        name + " status");
  }
  std::vector<std::string> Names(const v1::ListWorkloadsResponse& r) {
    std::vector<std::string> out;
    for (const auto& w : r.workloads()) out.push_back(absl::StrCat(w.namespace_(), "/", w.kind(), "/", w.name()));
    return out;
  }
};

// GetWorkload: "A status summary of one workload" — every field of a
// Deployment's summary, and of its pods.
TEST_F(ReadsTest, GetWorkloadSummarizesADeploymentAndItsPods) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op = StartRollout("web", "web:2");
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitImages("web", {"web:2", "web:2"});
  AwaitStatus(kube::kDeployments, "web", 2);
  v1::Workload w = GetWorkload("web");
  EXPECT_EQ(w.name(), "web");
  EXPECT_EQ(w.namespace_(), kNs);
  EXPECT_EQ(w.kind(), "Deployment");
  ASSERT_EQ(w.containers_size(), 1);
  EXPECT_EQ(w.containers(0).name(), "web");
  EXPECT_EQ(w.containers(0).image(), "web:2");
  EXPECT_EQ(w.desired_replicas(), 2);
  EXPECT_EQ(w.ready_replicas(), 2);
  EXPECT_EQ(w.available_replicas(), 2);
  EXPECT_EQ(w.updated_replicas(), 2);
  EXPECT_EQ(w.revision(), 2);
  EXPECT_EQ(w.labels().at("app"), "web");
  EXPECT_TRUE(w.running_operation().empty());
  EXPECT_TRUE(w.autoscaler().empty());
  ASSERT_EQ(w.pods_size(), 2);
  for (const auto& p : w.pods()) {
    EXPECT_TRUE(absl::StartsWith(p.name(), "web-")) << p.name();
    EXPECT_EQ(p.phase(), "Running");
    EXPECT_TRUE(p.ready());
    EXPECT_EQ(p.restarts(), 0);
    EXPECT_FALSE(p.node().empty());
    EXPECT_GT(p.start_time().seconds(), 0);
    EXPECT_TRUE(p.reason().empty()) << p.reason();
    EXPECT_FALSE(p.terminating());
    EXPECT_THAT(p.images(), ElementsAre("web:2"));
  }
  EXPECT_GE(ops::FromProto(w.oldest_pod_age()), ops::FromProto(w.newest_pod_age()));
  EXPECT_LT(ops::FromProto(w.oldest_pod_age()), absl::Minutes(1));

  // Names it does not serve, and workloads that do not exist.
  v1::GetWorkloadRequest req;
  req.set_name("namespaces/shop/deployments/nope");
  grpc::Status st = Call(&Stub::GetWorkload, req, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  req.set_name("namespaces/shop/daemonsets/web");
  st = Call(&Stub::GetWorkload, req, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
}

// Workload.running_operation: "The operation acting on it now, if any" —
// in GetWorkload and in ListWorkloads; and a second mutation of any kind is
// ABORTED naming it.
TEST_F(ReadsTest, TheRunningOperationIsShownAndBlocksOtherMutations) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op = StartRollout("web", "web:2-slow30s");
  EXPECT_EQ(GetWorkload("web").running_operation(), op.name());
  v1::ListWorkloadsRequest list;
  list.set_namespace_(kNs);
  v1::ListWorkloadsResponse resp;
  ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, list, &resp));
  ASSERT_EQ(resp.workloads_size(), 1);
  EXPECT_EQ(resp.workloads(0).running_operation(), op.name());

  v1::ScaleRequest scale;
  scale.set_workload(Workload("web"));
  scale.set_replicas(3);
  v1::Operation other;
  grpc::Status st = Call(&Stub::Scale, scale, &other);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(st.error_message(), HasSubstr(op.name()));
  EXPECT_EQ(Get(kube::kDeployments, "web")["spec"]["replicas"], 2);

  Cancel(op.name());
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_CANCELLED);
  EXPECT_TRUE(GetWorkload("web").running_operation().empty());
}

// PodSummary.reason/restarts and Failure.pods (PodProblem): why a pod is
// not running, for a person and for a pipeline.
TEST_F(ReadsTest, ACrashLoopIsExplainedPerPod) {
  CreateDeployment("web", "web:1", 1);
  v1::Operation op = StartRollout("web", "web:2-crashloop", /*no_rollback=*/true);
  v1::Operation done = Wait(op.name());
  ASSERT_EQ(done.state(), v1::OPERATION_STATE_FAILED) << done.DebugString();
  EXPECT_EQ(done.failure().reason(), v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF);
  ASSERT_GT(done.failure().pods_size(), 0);
  const v1::PodProblem& problem = done.failure().pods(0);
  EXPECT_TRUE(absl::StartsWith(problem.pod(), "web-")) << problem.pod();
  EXPECT_EQ(problem.container(), "web");
  EXPECT_EQ(problem.reason(), "CrashLoopBackOff");
  EXPECT_GE(problem.restarts(), 1);
  // The pod goes on crashing: between two back-offs its container runs for
  // a moment (not ready), as on a real cluster. Its summary names the crash
  // loop whenever the pod is in one.
  v1::Workload w;
  Await(
      [&] {
        w = GetWorkload("web");
        for (const auto& p : w.pods()) {
          if (p.images(0) == "web:2-crashloop" && p.reason() == "CrashLoopBackOff") return true;
        }
        return false;
      },
      "the crash-looping pod's summary");
  bool seen = false;
  for (const auto& p : w.pods()) {
    if (p.images(0) != "web:2-crashloop") continue;
    seen = true;
    EXPECT_FALSE(p.ready());
    EXPECT_GE(p.restarts(), 1);
    EXPECT_EQ(p.reason(), "CrashLoopBackOff");
  }
  EXPECT_TRUE(seen) << w.DebugString();
}

// A StatefulSet's and a CronJob's summaries.
TEST_F(ReadsTest, GetWorkloadSummarizesStatefulSetsAndCronJobs) {
  CreateStatefulSet("db", "db:1", 2);
  AwaitStatus(kube::kStatefulSets, "db", 2);
  v1::Workload sts = GetWorkload("db", "statefulsets");
  EXPECT_EQ(sts.kind(), "StatefulSet");
  EXPECT_EQ(sts.desired_replicas(), 2);
  EXPECT_EQ(sts.ready_replicas(), 2);
  EXPECT_EQ(sts.revision(), 1);
  ASSERT_EQ(sts.pods_size(), 2);
  EXPECT_EQ(sts.pods(0).name(), "db-0");

  // Suspended: the controller leaves the schedule alone (and herd's own
  // "run now" works all the same).
  Json cj = CronJobJson("report", "report:1-slow30s", "*/5 * * * *");
  cj["spec"]["suspend"] = true;
  Create(kube::kCronJobs, cj);
  v1::CronJobRequest run;
  run.set_cronjob(Workload("report", "cronjobs"));
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::RunCronJob, run, &op));
  Await([&] { return Pods("report").size() == 0 && !Cache(kube::kJobs).List(kNs).empty(); }, "the Job");
  // The schedule's last run, as the CronJob controller records it.
  Json status = Get(kube::kCronJobs, "report");
  absl::Time scheduled = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 120);
  status["status"]["lastScheduleTime"] = k8s::FormatTime(scheduled);
  ASSERT_TRUE(kube_->Update(kube::kCronJobs, kNs, status, {.subresource = "status"}).ok());
  // herdd's cache holds the status just written and the Job.
  AwaitHerdCache();
  v1::Workload w;
  v1::GetWorkloadRequest req;
  req.set_name(Workload("report", "cronjobs"));
  ASSERT_GRPC_OK(Call(&Stub::GetWorkload, req, &w));
  EXPECT_EQ(w.kind(), "CronJob");
  EXPECT_EQ(w.schedule(), "*/5 * * * *");
  EXPECT_TRUE(w.suspended());
  EXPECT_EQ(w.active_jobs(), 1) << w.DebugString();
  EXPECT_EQ(ops::FromProto(w.last_schedule_time()), scheduled);
  ASSERT_EQ(w.containers_size(), 1);
  EXPECT_EQ(w.containers(0).image(), "report:1-slow30s");
  Cancel(op.name());
  Wait(op.name());
}

// Workload.revisions: "Its revisions, newest first, as `kubectl rollout
// history` lists them … GetWorkload only" — for a Deployment and a
// StatefulSet after a rollout each.
TEST_F(ReadsTest, GetWorkloadListsRevisionsNewestFirst) {
  CreateDeployment("web", "web:1", 2);
  CreateStatefulSet("db", "db:1", 2);
  AwaitStatus(kube::kStatefulSets, "db", 2);
  v1::Operation op = StartRollout("web", "web:2");
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  v1::RolloutRequest db;
  db.set_workload(Workload("db", "statefulsets"));
  (*db.mutable_images())["db"] = "db:2";
  ASSERT_GRPC_OK(Call(&Stub::Rollout, db, &op));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitStatus(kube::kDeployments, "web", 2);
  AwaitStatus(kube::kStatefulSets, "db", 2);

  for (const auto& [name, plural] : {std::pair{"web", "deployments"}, std::pair{"db", "statefulsets"}}) {
    SCOPED_TRACE(name);
    v1::Workload w;
    // The old revision's pods counted once its controller has seen them go.
    Await(
        [&] {
          w = GetWorkload(name, plural);
          return w.revisions_size() == 2 && w.revisions(0).pods() == 2 && w.revisions(1).pods() == 0;
        },
        "the revisions' pods");
    ASSERT_EQ(w.revisions_size(), 2) << w.DebugString();
    const v1::Revision& now = w.revisions(0);
    const v1::Revision& before = w.revisions(1);
    EXPECT_EQ(now.revision(), w.revision());
    EXPECT_GT(now.revision(), before.revision());
    EXPECT_TRUE(now.current());
    EXPECT_FALSE(before.current());
    ASSERT_EQ(now.containers_size(), 1);
    EXPECT_EQ(now.containers(0).image(), absl::StrCat(name, ":2"));
    ASSERT_EQ(before.containers_size(), 1);
    EXPECT_EQ(before.containers(0).image(), absl::StrCat(name, ":1"));
    EXPECT_EQ(now.pods(), 2);
    EXPECT_EQ(before.pods(), 0);
    EXPECT_GT(now.create_time().seconds(), 0);
  }
  v1::ListWorkloadsRequest list;
  list.set_namespace_(kNs);
  v1::ListWorkloadsResponse all;
  ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, list, &all));
  ASSERT_EQ(all.workloads_size(), 2);
  for (const auto& w : all.workloads()) EXPECT_EQ(w.revisions_size(), 0) << w.name();
}

// ListWorkloads: a namespace or every namespace, one kind or all three, a
// label selector, and pages.
TEST_F(ReadsTest, ListWorkloadsFiltersAndPages) {
  ASSERT_TRUE(kube_->Create(kube::kNamespaces, "", {{"metadata", {{"name", "batch"}}}}).ok());
  CreateDeployment("web", "web:1", 1);
  CreateDeployment("api", "api:1", 1);
  CreateStatefulSet("db", "db:1", 1);
  Create(kube::kCronJobs, CronJobJson("report", "report:1"));
  Json other = DeploymentJson("worker", "worker:1", 1);
  other["metadata"]["namespace"] = "batch";
  ASSERT_TRUE(kube_->Create(kube::kDeployments, "batch", other).ok());
  AwaitHerdCache();
  AwaitHerdCache("batch");

  v1::ListWorkloadsRequest req;
  v1::ListWorkloadsResponse resp;
  req.set_namespace_(kNs);
  ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, req, &resp));
  EXPECT_THAT(Names(resp), ElementsAre("shop/Deployment/api", "shop/Deployment/web", "shop/StatefulSet/db",
                                       "shop/CronJob/report"));
  req.set_kind("statefulsets");
  ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, req, &resp));
  EXPECT_THAT(Names(resp), ElementsAre("shop/StatefulSet/db"));
  req.clear_kind();
  req.set_label_selector("app in (web,db)");
  ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, req, &resp));
  EXPECT_THAT(Names(resp), ElementsAre("shop/Deployment/web", "shop/StatefulSet/db"));

  // Every namespace, a page at a time.
  req.Clear();
  req.set_kind("deployments");
  req.set_page_size(2);
  std::vector<std::string> all;
  int pages = 0;
  do {
    resp.Clear();
    ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, req, &resp));
    EXPECT_LE(resp.workloads_size(), 2);
    for (const std::string& n : Names(resp)) all.push_back(n);
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_THAT(all, ElementsAre("batch/Deployment/worker", "shop/Deployment/api", "shop/Deployment/web"));
  EXPECT_EQ(pages, 2);

  req.Clear();
  req.set_kind("daemonsets");
  grpc::Status st = Call(&Stub::ListWorkloads, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("daemonsets"));
}

// The operations API: GetOperation, ListOperations ("Newest first", by
// target, namespace and state, in pages) and the fields of an Operation.
TEST_F(ReadsTest, OperationsAreListedNewestFirstAndFiltered) {
  CreateDeployment("web", "web:1", 1);
  CreateDeployment("api", "api:1", 1);
  v1::Operation first = StartRollout("web", "web:2");
  ASSERT_EQ(Wait(first.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  v1::ScaleRequest scale;
  scale.set_workload(Workload("api"));
  scale.set_replicas(2);
  scale.mutable_options()->set_reason("more traffic");
  scale.mutable_options()->set_request_id("scale-api-1");
  v1::Operation second;
  ASSERT_GRPC_OK(Call(&Stub::Scale, scale, &second));
  ASSERT_EQ(Wait(second.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  v1::Operation running = StartRollout("web", "web:3-slow30s");

  // Listed at once, the one just started too.
  v1::ListOperationsRequest req;
  v1::ListOperationsResponse resp;
  ASSERT_GRPC_OK(Call(&Stub::ListOperations, req, &resp));
  ASSERT_EQ(resp.operations_size(), 3);
  EXPECT_EQ(resp.operations(0).name(), running.name());
  EXPECT_EQ(resp.operations(1).name(), second.name());
  EXPECT_EQ(resp.operations(2).name(), first.name());

  req.set_target(Workload("web"));
  ASSERT_GRPC_OK(Call(&Stub::ListOperations, req, &resp));
  ASSERT_EQ(resp.operations_size(), 2);
  req.Clear();
  req.add_states(v1::OPERATION_STATE_RUNNING);
  ASSERT_GRPC_OK(Call(&Stub::ListOperations, req, &resp));
  ASSERT_EQ(resp.operations_size(), 1);
  EXPECT_EQ(resp.operations(0).name(), running.name());
  req.Clear();
  req.set_namespace_("elsewhere");
  ASSERT_GRPC_OK(Call(&Stub::ListOperations, req, &resp));
  EXPECT_EQ(resp.operations_size(), 0);
  req.Clear();
  req.set_page_size(2);
  ASSERT_GRPC_OK(Call(&Stub::ListOperations, req, &resp));
  ASSERT_EQ(resp.operations_size(), 2);
  ASSERT_FALSE(resp.next_page_token().empty());
  req.set_page_token(resp.next_page_token());
  ASSERT_GRPC_OK(Call(&Stub::ListOperations, req, &resp));
  ASSERT_EQ(resp.operations_size(), 1);
  EXPECT_EQ(resp.operations(0).name(), first.name());
  EXPECT_TRUE(resp.next_page_token().empty());

  // What one operation says about itself.
  v1::GetOperationRequest get;
  get.set_name(second.name());
  v1::Operation got;
  ASSERT_GRPC_OK(Call(&Stub::GetOperation, get, &got));
  EXPECT_EQ(got.state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(got.kind(), v1::OPERATION_KIND_SCALE);
  EXPECT_EQ(got.target(), Workload("api"));
  EXPECT_EQ(got.principal(), "anonymous");
  EXPECT_EQ(got.reason(), "more traffic");
  EXPECT_EQ(got.request_id(), "scale-api-1");
  EXPECT_FALSE(got.dry_run());
  EXPECT_GT(got.create_time().seconds(), 0);
  EXPECT_GE(ops::FromProto(got.end_time()), ops::FromProto(got.create_time()));
  EXPECT_GE(ops::FromProto(got.update_time()), ops::FromProto(got.create_time()));
  ASSERT_GE(got.events_size(), 2);
  EXPECT_THAT(got.events(0).message(), HasSubstr("scale started by anonymous (more traffic)"));
  for (int i = 1; i < got.events_size(); ++i) {
    EXPECT_GE(ops::FromProto(got.events(i).time()), ops::FromProto(got.events(i - 1).time())) << "oldest first";
  }
  ASSERT_GT(got.timings_size(), 0);
  EXPECT_EQ(got.timings(0).phase(), "api-write");

  get.set_name("operations/no-such-operation");
  grpc::Status st = Call(&Stub::GetOperation, get, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  Cancel(running.name());
  Wait(running.name());
}

// "At most one mutating operation runs per workload": once one has ended
// (its final state seen), the next may start at once — the workload is not
// "busy" with an operation that is over.
TEST_F(ReadsTest, TheNextMutationStartsAsSoonAsTheLastHasEnded) {
  Create(kube::kCronJobs, CronJobJson("report", "report:1"));
  v1::CronJobRequest req;
  req.set_cronjob(Workload("report", "cronjobs"));
  for (int i = 0; i < 8; ++i) {
    v1::Operation op;
    ASSERT_GRPC_OK(Call(i % 2 == 0 ? &Stub::SuspendCronJob : &Stub::ResumeCronJob, req, &op));
    ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  }
  EXPECT_EQ(Get(kube::kCronJobs, "report")["spec"]["suspend"], false);
}

// WatchOperation: "its current state first, then every change, ending
// after the final state".
TEST_F(ReadsTest, WatchStreamsTheCurrentStateThenChangesUntilTheEnd) {
  CreateDeployment("web", "web:1", 2);
  v1::Operation op = StartRollout("web", "web:2");
  std::vector<v1::Operation> updates = Watch(op.name());
  ASSERT_GE(updates.size(), 2u);
  EXPECT_FALSE(ops::IsFinal(updates.front().state()));
  EXPECT_EQ(updates.back().state(), v1::OPERATION_STATE_SUCCEEDED);
  for (size_t i = 0; i + 1 < updates.size(); ++i) {
    EXPECT_FALSE(ops::IsFinal(updates[i].state())) << "an update after the final state";
    EXPECT_NE(updates[i].SerializeAsString(), updates[i + 1].SerializeAsString()) << "an update that is no change";
  }
  // An ended operation: its final state, once.
  updates = Watch(op.name());
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state(), v1::OPERATION_STATE_SUCCEEDED);

  grpc::ClientContext ctx;
  v1::WatchOperationRequest req;
  req.set_name("operations/no-such-operation");
  auto reader = stub_->WatchOperation(&ctx, req);
  v1::Operation ignored;
  EXPECT_FALSE(reader->Read(&ignored));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

// MutationOptions.dry_run: "Return the plan (affected pods, budget
// verdicts, an estimated duration) and touch nothing" — for every kind.
TEST_F(ReadsTest, DryRunsOfEveryKindPlanAndTouchNothing) {
  CreateDeployment("web", "web:1", 2);
  CreateBudget("web", "web", 2, 2);
  Create(kube::kCronJobs, CronJobJson("report", "report:1"));
  Json web_before = WritableParts(Get(kube::kDeployments, "web"));
  Json cj_before = WritableParts(Get(kube::kCronJobs, "report"));
  std::set<std::string> pods = Uids("web");
  v1::MutationOptions dry;
  dry.set_dry_run(true);

  v1::ScaleRequest scale;
  scale.set_workload(Workload("web"));
  scale.set_replicas(5);
  *scale.mutable_options() = dry;
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Scale, scale, &op));
  EXPECT_TRUE(op.dry_run());
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_THAT(op.plan().changes(), ::testing::Contains(HasSubstr("2 → 5")));
  EXPECT_TRUE(op.plan().has_estimated_duration());
  // The plan can be read back.
  v1::GetOperationRequest get;
  get.set_name(op.name());
  v1::Operation again;
  ASSERT_GRPC_OK(Call(&Stub::GetOperation, get, &again));
  EXPECT_TRUE(again.dry_run());

  v1::PurgeRequest purge;
  purge.set_workload(Workload("web"));
  *purge.mutable_options() = dry;
  ASSERT_GRPC_OK(Call(&Stub::Purge, purge, &op));
  EXPECT_EQ(op.plan().pods_size(), 2);
  EXPECT_EQ(op.plan().pods(0).action(), "replace");

  // A kill the budget would refuse says so, per pod and per budget.
  v1::KillRequest kill;
  kill.set_namespace_(kNs);
  kill.set_label_selector("app=web");
  *kill.mutable_options() = dry;
  ASSERT_GRPC_OK(Call(&Stub::Kill, kill, &op));
  ASSERT_EQ(op.plan().pods_size(), 2);
  EXPECT_EQ(op.plan().pods(0).action(), "evict");
  EXPECT_NE(op.plan().pods(0).verdict(), "allowed") << op.plan().DebugString();
  ASSERT_EQ(op.plan().budgets_size(), 1);
  EXPECT_EQ(op.plan().budgets(0).budget(), "web");
  EXPECT_EQ(op.plan().budgets(0).disruptions_allowed(), 0);
  EXPECT_EQ(op.plan().budgets(0).disruptions_needed(), 2);
  EXPECT_TRUE(op.plan().budgets(0).blocks());

  v1::CronJobRequest cron;
  cron.set_cronjob(Workload("report", "cronjobs"));
  *cron.mutable_options() = dry;
  for (auto method : {&Stub::RunCronJob, &Stub::SuspendCronJob, &Stub::ResumeCronJob, &Stub::KillCronJobJobs}) {
    ASSERT_GRPC_OK(Call(method, cron, &op));
    EXPECT_TRUE(op.dry_run());
    EXPECT_FALSE(op.plan().summary().empty());
  }
  v1::UndoRequest undo;
  undo.set_workload(Workload("web"));
  *undo.mutable_options() = dry;
  grpc::Status st = Call(&Stub::Undo, undo, &op);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << "revision 1 has nothing before it: "
                                                                   << st.error_message();

  EXPECT_EQ(WritableParts(Get(kube::kDeployments, "web")), web_before);
  EXPECT_EQ(WritableParts(Get(kube::kCronJobs, "report")), cj_before);
  EXPECT_EQ(Uids("web"), pods);
  for (const Json& p : Pods("web", /*live=*/false)) EXPECT_FALSE(Terminating(p));
  EXPECT_TRUE(kube_->List(kube::kJobs, kNs)->items.empty());
  EXPECT_TRUE(kube_->List(kube::kConfigMaps, "herd-system")->items.empty()) << "a dry run records nothing";
}

// "Every mutating call is audited: a Kubernetes Event on the target (seen in
// kubectl describe) … who, what, why, result." MutationOptions.reason:
// "recorded in the audit trail".
TEST_F(ReadsTest, EveryMutationLeavesAnEventOnItsTargetWithWhoWhatWhyAndResult) {
  CreateDeployment("web", "web:1", 1);
  v1::RolloutRequest req;
  req.set_workload(Workload("web"));
  (*req.mutable_images())["web"] = "web:2";
  req.mutable_options()->set_reason("release 7");
  v1::Operation op;
  ASSERT_GRPC_OK(Call(&Stub::Rollout, req, &op));
  ASSERT_EQ(Wait(op.name()).state(), v1::OPERATION_STATE_SUCCEEDED);
  std::vector<std::string> messages;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    messages.clear();
    auto events = kube_->List(kube::kEvents, kNs);
    ASSERT_TRUE(events.ok());
    for (const Json& e : events->items) {
      const Json& obj = e["involvedObject"];
      if (obj.value("kind", "") == "Deployment" && obj.value("name", "") == "web" &&
          absl::StrContains(e.value("message", ""), "anonymous")) {
        messages.push_back(e.value("message", ""));
      }
    }
    if (messages.size() >= 2) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(messages.size(), 2u) << "an Event when it started and one when it ended";
  for (const std::string& m : messages) {
    EXPECT_THAT(m, HasSubstr("anonymous"));              // who
    EXPECT_THAT(m, HasSubstr("rollout image web: web:1 → web:2"));  // what
    EXPECT_THAT(m, HasSubstr("release 7"));              // why
  }
  EXPECT_THAT(messages, ::testing::Contains(HasSubstr("started")));
  EXPECT_THAT(messages, ::testing::Contains(HasSubstr("succeeded")));
}

// "Reads come from herdd's cache": with the API server answering nothing
// but errors, GetWorkload and ListWorkloads still answer, from the last
// state the watches brought.
TEST_F(ReadsTest, ReadsAreAnsweredFromTheCacheWhileTheClusterIsUnreachable) {
  CreateDeployment("web", "web:1", 2);
  CreateStatefulSet("db", "db:1", 1);
  v1::Workload before = GetWorkload("web");  // waits for herdd's cache
  sim::Faults faults;
  faults.error_rate["*"] = 1.0;
  faults.error_code = 503;
  app_->simulator()->SetFaults(faults);
  EXPECT_FALSE(kube_->Get(kube::kDeployments, kNs, "web").ok()) << "the cluster still answers";

  v1::GetWorkloadRequest get;
  get.set_name(Workload("web"));
  v1::Workload w;
  grpc::Status st = Call(&Stub::GetWorkload, get, &w);
  v1::ListWorkloadsRequest list;
  list.set_namespace_(kNs);
  v1::ListWorkloadsResponse listed;
  grpc::Status list_st = Call(&Stub::ListWorkloads, list, &listed);
  app_->simulator()->SetFaults({});
  ASSERT_GRPC_OK(st);
  for (v1::Workload* x : {&w, &before}) {  // ages grow with the clock
    x->clear_oldest_pod_age();
    x->clear_newest_pod_age();
  }
  EXPECT_EQ(w.SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(w.ready_replicas(), 2);
  EXPECT_EQ(w.pods_size(), 2);
  ASSERT_GRPC_OK(list_st);
  EXPECT_THAT(Names(listed), ElementsAre("shop/Deployment/web", "shop/StatefulSet/db"));
}

// A read shows a change as soon as the change's watch event has reached
// herdd: the summary carries the resourceVersion the cache holds.
TEST_F(ReadsTest, AReadReflectsAChangeOnceItsWatchEventHasArrived) {
  CreateDeployment("web", "web:1", 2);
  auto scaled = kube_->Patch(kube::kDeployments, kNs, "web", kube::PatchType::kMerge, R"({"spec": {"replicas": 5}})");
  ASSERT_TRUE(scaled.ok()) << scaled.status();
  const std::string written = (*scaled)["metadata"].value("resourceVersion", "");
  // The one event that carries the write, and nothing more, is waited for.
  kube::InformerSet& cache = app_->cache();
  ASSERT_TRUE(cache
                  .WaitUntil(
                      [&] {
                        kube::ObjectPtr d = cache.For(kube::kDeployments, kNs).Get(kNs, "web");
                        return d && (*d)["metadata"].value("resourceVersion", "") == written;
                      },
                      absl::Now() + absl::Seconds(30))
                  .ok());
  v1::GetWorkloadRequest get;
  get.set_name(Workload("web"));
  v1::Workload w;
  ASSERT_GRPC_OK(Call(&Stub::GetWorkload, get, &w));
  EXPECT_EQ(w.desired_replicas(), 5);
  EXPECT_EQ(w.resource_version(), written);
}

// The cache keeps what herd reads: no managedFields, no last-applied copy,
// a pod's spec cut to its node, containers and grace period.
TEST_F(ReadsTest, TheCacheHoldsTrimmedObjects) {
  Json d = DeploymentJson("web", "web:1", 1);
  d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = d.dump();
  d["spec"]["template"]["spec"]["containers"][0]["env"] = {{{"name", "A"}, {"value", "1"}}};
  Create(kube::kDeployments, d);
  AwaitRolledOut("web", 1);
  AwaitHerdCache();
  ASSERT_EQ(Pods("web").size(), 1u);
  const std::string pod = NameOf(Pods("web")[0]);
  Json full = Get(kube::kPods, pod);
  ASSERT_TRUE(full["metadata"].contains("managedFields")) << "kubesim writes managedFields";
  ASSERT_TRUE(full["spec"]["containers"][0].contains("env"));
  kube::ObjectPtr held = app_->cache().For(kube::kPods, kNs).Get(kNs, pod);
  ASSERT_NE(held, nullptr);
  EXPECT_FALSE((*held)["metadata"].contains("managedFields"));
  EXPECT_EQ((*held)["spec"]["containers"], Json::array({{{"name", "web"}, {"image", "web:1"}}}));
  EXPECT_EQ((*held)["status"]["phase"], full["status"]["phase"]);
  EXPECT_EQ((*held)["status"]["conditions"].size(), full["status"]["conditions"].size());
  EXPECT_FALSE((*held)["status"].contains("podIPs"));
  kube::ObjectPtr dep = app_->cache().For(kube::kDeployments, kNs).Get(kNs, "web");
  ASSERT_NE(dep, nullptr);
  EXPECT_FALSE((*dep)["metadata"].value("annotations", Json::object()).contains(
      "kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_TRUE((*dep)["spec"]["template"]["spec"]["containers"][0].contains("env"));
}

// herdd --namespaces=shop: it caches, reads and acts in shop only, with one
// informer per resource there, and says so for any other namespace.
class NamespacedReadsTest : public ReadsTest {
 protected:
  void Configure(herdd::AppOptions& o) override { o.namespaces = {kNs}; }
};

TEST_F(NamespacedReadsTest, OnlyTheNamedNamespacesAreReadAndActedIn) {
  ASSERT_TRUE(kube_->Create(kube::kNamespaces, "", {{"metadata", {{"name", "batch"}}}}).ok());
  CreateDeployment("web", "web:1", 1);
  Json other = DeploymentJson("worker", "worker:1", 1);
  other["metadata"]["namespace"] = "batch";
  ASSERT_TRUE(kube_->Create(kube::kDeployments, "batch", other).ok());
  AwaitHerdCache();

  v1::ListWorkloadsRequest all;
  v1::ListWorkloadsResponse listed;
  ASSERT_GRPC_OK(Call(&Stub::ListWorkloads, all, &listed));
  EXPECT_THAT(Names(listed), ElementsAre("shop/Deployment/web"));

  v1::GetWorkloadRequest get;
  get.set_name("namespaces/batch/deployments/worker");
  v1::Workload w;
  grpc::Status st = Call(&Stub::GetWorkload, get, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("--namespaces"));
  EXPECT_THAT(st.error_message(), HasSubstr("batch"));
  v1::ScaleRequest scale;
  scale.set_workload("namespaces/batch/deployments/worker");
  scale.set_replicas(2);
  v1::Operation op;
  st = Call(&Stub::Scale, scale, &op);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(Get(kube::kDeployments, "web")["spec"]["replicas"], 1);

  // No informer of herdd's looks at the whole cluster or at batch.
  for (const kube::InformerStats& s : app_->cache().Stats()) EXPECT_EQ(s.ns, kNs) << s.resource;
}

// UNAVAILABLE: when the Kubernetes API does not answer, the call says so
// and nothing is started.
TEST_F(ReadsTest, AnUnreachableClusterIsUnavailable) {
  CreateDeployment("web", "web:1", 1);
  sim::Faults faults;
  faults.error_rate["*"] = 1.0;
  faults.error_code = 503;
  app_->simulator()->SetFaults(faults);
  v1::RolloutRequest req;
  req.set_workload(Workload("web"));
  (*req.mutable_images())["web"] = "web:2";
  v1::Operation op;
  grpc::Status st = Call(&Stub::Rollout, req, &op);
  app_->simulator()->SetFaults({});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_FALSE(st.error_message().empty());
  EXPECT_EQ(Get(kube::kDeployments, "web")["spec"]["template"]["spec"]["containers"][0]["image"], "web:1");
}

}  // namespace
}  // namespace herd::testing
