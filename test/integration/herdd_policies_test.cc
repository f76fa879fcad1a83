// Standing policies (herd.proto: CreatePolicy … DeletePolicy, Schedule),
// proven through herdd's gRPC API against an in-process kubesim: what is
// kept, what is refused, and how runs start (on time, missed, decided by a
// leader that died) as ordinary operations of principal "policy:ID".
#include <map>
#include <regex>
#include <set>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/ops/operation.h"
#include "server/policies/schedule.h"
#include "test/integration/herdd_fixture.h"

namespace herd::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kHerdNs[] = "herd-system";

class PoliciesTest : public HerddFixture {
 protected:
  v1::CreatePolicyRequest RestartEvery(const std::string& id, const std::string& cron, const std::string& workload) {
    v1::CreatePolicyRequest req;
    req.set_policy_id(id);
    req.mutable_policy()->set_description("the daily refresh");
    v1::Schedule* s = req.mutable_policy()->mutable_schedule();
    s->set_cron(cron);
    s->mutable_restart()->set_workload(Workload(workload));
    s->mutable_restart()->set_restart(true);
    return req;
  }
  v1::Policy GetPolicy(const std::string& id) {
    v1::GetPolicyRequest req;
    req.set_name("policies/" + id);
    v1::Policy p;
    grpc::Status st = Call(&Stub::GetPolicy, req, &p);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return p;
  }
  // Waits until the policy's newest decision satisfies `pred`.
  v1::PolicyDecision AwaitDecision(const std::string& id, const std::function<bool(const v1::PolicyDecision&)>& pred,
                                   const std::string& what) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    for (;;) {
      v1::Policy p = GetPolicy(id);
      if (p.decisions_size() > 0 && pred(p.decisions(0))) return p.decisions(0);
      if (absl::Now() > deadline) {
        ADD_FAILURE() << "timed out waiting for " << what << ": " << p.DebugString();
        return {};
      }
      // The policy store's watch brings each write; a short poll of the
      // service's answer is what a client does.
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  // Writes a policy's record as a leader would have left it.
  void WriteRecord(const std::string& id, const v1::Policy& policy, absl::Time last_scheduled) {
    auto cm = kube_->Get(kube::kConfigMaps, kHerdNs, "herd-policy-" + id);
    ASSERT_TRUE(cm.ok()) << cm.status();
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(policy, &json).ok());
    (*cm)["data"]["policy"] = json;
    (*cm)["data"]["lastScheduled"] = k8s::FormatTime(last_scheduled);
    ASSERT_TRUE(kube_->Update(kube::kConfigMaps, kHerdNs, *cm).ok());
  }
  // `p` as a leader leaves it that decided a run at `scheduled` and died
  // before it settled it.
  static v1::Policy Starting(v1::Policy p, absl::Time scheduled, bool paused) {
    p.set_paused(paused);
    p.clear_next_runs();
    p.clear_decisions();
    v1::PolicyDecision* d = p.add_decisions();
    ops::SetTime(scheduled, d->mutable_time());
    ops::SetTime(scheduled, d->mutable_scheduled_time());
    d->set_outcome(v1::POLICY_OUTCOME_STARTING);
    return p;
  }
  std::vector<v1::Operation> OperationsOf(const std::string& request_id) {
    v1::ListOperationsRequest req;
    v1::ListOperationsResponse resp;
    EXPECT_TRUE(Call(&Stub::ListOperations, req, &resp).ok());
    std::vector<v1::Operation> out;
    for (const auto& op : resp.operations()) {
      if (op.request_id() == request_id) out.push_back(op);
    }
    return out;
  }
};

// Create, get, list, pause, resume, delete; kept in a ConfigMap of herd's
// namespace; the next runs in the policy's time zone.
TEST_F(PoliciesTest, APolicyIsKeptShownPausedResumedAndDeleted) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  v1::CreatePolicyRequest req = RestartEvery("nightly", "0 3 * * *", "web");
  req.mutable_policy()->mutable_schedule()->set_time_zone("Europe/Paris");
  v1::Policy p;
  ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, req, &p));
  EXPECT_EQ(p.name(), "policies/nightly");
  EXPECT_EQ(p.creator(), "anonymous");
  EXPECT_EQ(p.description(), "the daily refresh");
  ASSERT_EQ(p.next_runs_size(), 3);
  absl::TimeZone paris;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Paris", &paris));
  for (const auto& t : p.next_runs()) {
    absl::CivilSecond local = absl::ToCivilSecond(absl::FromUnixSeconds(t.seconds()), paris);
    EXPECT_EQ(local.hour(), 3);
    EXPECT_EQ(local.minute(), 0);
  }
  EXPECT_TRUE(kube_->Get(kube::kConfigMaps, kHerdNs, "herd-policy-nightly").ok());

  grpc::Status again = Call(&Stub::CreatePolicy, req, &p);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS) << again.error_message();

  v1::ListPoliciesResponse list;
  ASSERT_GRPC_OK(Call(&Stub::ListPolicies, v1::ListPoliciesRequest(), &list));
  ASSERT_EQ(list.policies_size(), 1);
  EXPECT_EQ(list.policies(0).name(), "policies/nightly");

  v1::PausePolicyRequest pause;
  pause.set_name("policies/nightly");
  pause.set_reason("db maintenance");
  ASSERT_GRPC_OK(Call(&Stub::PausePolicy, pause, &p));
  EXPECT_TRUE(p.paused());
  EXPECT_EQ(p.next_runs_size(), 0);
  ASSERT_GT(p.decisions_size(), 0);
  EXPECT_EQ(p.decisions(0).message(), "paused by anonymous: db maintenance");
  v1::ResumePolicyRequest resume;
  resume.set_name("policies/nightly");
  ASSERT_GRPC_OK(Call(&Stub::ResumePolicy, resume, &p));
  EXPECT_FALSE(p.paused());
  EXPECT_EQ(p.next_runs_size(), 3);

  v1::DeletePolicyRequest del;
  del.set_name("policies/nightly");
  ASSERT_GRPC_OK(Call(&Stub::DeletePolicy, del, &p));
  EXPECT_EQ(p.name(), "policies/nightly");
  EXPECT_FALSE(kube_->Get(kube::kConfigMaps, kHerdNs, "herd-policy-nightly").ok());
  grpc::Status gone = Call(&Stub::DeletePolicy, del, &p);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
}

// Bad input gets a clear error and touches nothing.
TEST_F(PoliciesTest, BadPoliciesAreRefusedAndNothingIsKept) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  struct Case {
    std::function<void(v1::CreatePolicyRequest&)> edit;
    grpc::StatusCode code;
    std::string want;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_policy_id("Nightly"); }, grpc::StatusCode::INVALID_ARGUMENT, "policy id \"Nightly\""},
      {[](auto& r) { r.mutable_policy()->mutable_schedule()->set_cron("0 25 * * *"); },
       grpc::StatusCode::INVALID_ARGUMENT, "schedule.cron"},
      {[](auto& r) { r.mutable_policy()->mutable_schedule()->set_time_zone("Europe/Atlantis"); },
       grpc::StatusCode::INVALID_ARGUMENT, "schedule.time_zone"},
      {[](auto& r) { r.mutable_policy()->mutable_schedule()->mutable_restart()->mutable_options()->set_dry_run(true); },
       grpc::StatusCode::INVALID_ARGUMENT, "dry_run cannot be set"},
      {[](auto& r) { (*r.mutable_policy()->mutable_schedule()->mutable_restart()->mutable_images())["web"] = "web:2"; },
       grpc::StatusCode::INVALID_ARGUMENT, "must set restart and no images"},
      {[](auto& r) { r.mutable_policy()->mutable_schedule()->mutable_restart()->set_workload(Workload("nope")); },
       grpc::StatusCode::NOT_FOUND, "nope"},
      {[](auto& r) { r.mutable_policy()->mutable_schedule()->clear_action(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "needs an action"},
      {[](auto& r) { r.mutable_policy()->clear_schedule(); }, grpc::StatusCode::INVALID_ARGUMENT, "needs a kind"},
  };
  for (const Case& c : cases) {
    v1::CreatePolicyRequest req = RestartEvery("nightly", "0 3 * * *", "web");
    c.edit(req);
    v1::Policy p;
    grpc::Status st = Call(&Stub::CreatePolicy, req, &p);
    EXPECT_EQ(st.error_code(), c.code) << c.want << ": " << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr(c.want));
  }
  v1::ListPoliciesResponse list;
  ASSERT_GRPC_OK(Call(&Stub::ListPolicies, v1::ListPoliciesRequest(), &list));
  EXPECT_EQ(list.policies_size(), 0);
  auto cms = kube_->List(kube::kConfigMaps, kHerdNs, {.label_selector = "herd.dev/policy=true"});
  ASSERT_TRUE(cms.ok());
  EXPECT_TRUE(cms->items.empty());
}

// A run is an ordinary operation: principal "policy:ID", the policy's
// reason, the run's request id; its decision names it.
TEST_F(PoliciesTest, ARunStartsOnTimeAsAnOperationOfThePolicy) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  v1::Policy p;
  ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, RestartEvery("often", "@every 1s", "web"), &p));
  v1::PolicyDecision d = AwaitDecision(
      "often", [](const auto& x) { return x.outcome() == v1::POLICY_OUTCOME_STARTED; }, "a run to start");
  ASSERT_FALSE(d.operation().empty());
  v1::Operation op = Wait(d.operation());
  EXPECT_EQ(op.principal(), "policy:often");
  EXPECT_EQ(op.kind(), v1::OPERATION_KIND_ROLLOUT);
  EXPECT_EQ(op.reason(), "policy often (@every 1s)");
  EXPECT_EQ(op.request_id(), policies::RunRequestId("often", absl::FromUnixSeconds(d.scheduled_time().seconds())));
  EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << op.DebugString();
  v1::PausePolicyRequest pause;
  pause.set_name("policies/often");
  ASSERT_GRPC_OK(Call(&Stub::PausePolicy, pause, &p));
}

// Runs missed while no herdd led: the latest runs late within the window,
// the others are skipped and the skip recorded; past the window, all are.
TEST_F(PoliciesTest, MissedRunsRunOnceLateWithinTheWindowElseAreSkipped) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  for (const auto& [id, window, runs] : std::vector<std::tuple<std::string, int, bool>>{{"late", 3600, true},
                                                                                      {"missed", 300, false}}) {
    v1::CreatePolicyRequest req = RestartEvery(id, "@every 1h", "web");
    req.mutable_policy()->set_paused(true);  // nothing runs until the record says it was down
    req.mutable_policy()->mutable_schedule()->mutable_late_window()->set_seconds(window);
    v1::Policy p;
    ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, req, &p));
    // As if the last run was decided 3 h 10 min ago, and herd was down since.
    p.set_paused(false);
    p.clear_next_runs();
    const absl::Time last = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Minutes(190);
    WriteRecord(id, p, last);
    v1::Policy got = GetPolicy(id);
    if (runs) {
      v1::PolicyDecision started = AwaitDecision(
          id, [](const auto& x) { return x.outcome() == v1::POLICY_OUTCOME_STARTED; }, "the late run to start");
      EXPECT_EQ(absl::FromUnixSeconds(started.scheduled_time().seconds()), last + absl::Hours(3));
      got = GetPolicy(id);
      ASSERT_GE(got.decisions_size(), 2);
      EXPECT_EQ(got.decisions(1).outcome(), v1::POLICY_OUTCOME_SKIPPED);
      EXPECT_THAT(got.decisions(1).message(), HasSubstr("2 runs missed"));
      EXPECT_EQ(Wait(started.operation()).state(), v1::OPERATION_STATE_SUCCEEDED);
    } else {
      v1::PolicyDecision skipped = AwaitDecision(
          id, [](const auto& x) { return x.outcome() == v1::POLICY_OUTCOME_SKIPPED; }, "the runs to be skipped");
      EXPECT_THAT(skipped.message(), HasSubstr("3 runs missed"));
      EXPECT_THAT(skipped.message(), HasSubstr("late window (5m)"));
      EXPECT_EQ(absl::FromUnixSeconds(skipped.scheduled_time().seconds()), last + absl::Hours(3));
    }
    v1::PausePolicyRequest pause;
    pause.set_name("policies/" + id);
    ASSERT_GRPC_OK(Call(&Stub::PausePolicy, pause, &p));
  }
}

// A leader that died between deciding a run and starting it (or after
// starting it, before recording that) leaves a STARTING decision: the next
// leader starts that run, once: the request id finds the operation.
TEST_F(PoliciesTest, ARunDecidedByALeaderThatDiedStartsOnceAndOnlyOnce) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  v1::CreatePolicyRequest req = RestartEvery("hourly", "@every 1h", "web");
  req.mutable_policy()->set_paused(true);
  v1::Policy p;
  ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, req, &p));
  const absl::Time scheduled = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Minutes(2);
  WriteRecord("hourly", Starting(p, scheduled, /*paused=*/false), scheduled);
  v1::PolicyDecision first = AwaitDecision(
      "hourly", [](const auto& x) { return x.outcome() == v1::POLICY_OUTCOME_STARTED; }, "the decided run to start");
  const std::string request_id = policies::RunRequestId("hourly", scheduled);
  EXPECT_EQ(Wait(first.operation()).request_id(), request_id);

  // Again, as if the leader died after starting it and before recording it:
  // a decision written after the first one's.
  WriteRecord("hourly", Starting(p, scheduled, /*paused=*/false), scheduled);
  const absl::Time first_time = absl::FromUnixSeconds(first.time().seconds()) + absl::Nanoseconds(first.time().nanos());
  v1::PolicyDecision second = AwaitDecision(
      "hourly",
      [&](const auto& x) {
        return x.outcome() == v1::POLICY_OUTCOME_STARTED &&
               absl::FromUnixSeconds(x.time().seconds()) + absl::Nanoseconds(x.time().nanos()) > first_time;
      },
      "the run to be found");
  EXPECT_EQ(second.operation(), first.operation());
  EXPECT_EQ(OperationsOf(request_id).size(), 1u);
}

// A run decided but not started, found past its late window (or with the
// policy paused), is settled without starting: SKIPPED, no operation.
TEST_F(PoliciesTest, ADecidedRunPastItsWindowOrPausedIsNotStartedLate) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  for (const bool paused : {false, true}) {
    const std::string id = paused ? "paused" : "stale";
    v1::CreatePolicyRequest req = RestartEvery(id, "@every 24h", "web");
    req.mutable_policy()->set_paused(true);
    v1::Policy p;
    ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, req, &p));
    // Three hours ago (a window of 1 h), or a minute ago with the policy paused.
    const absl::Time scheduled =
        absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - (paused ? absl::Minutes(1) : absl::Hours(3));
    WriteRecord(id, Starting(p, scheduled, paused), scheduled);
    v1::PolicyDecision settled = AwaitDecision(
        id, [](const auto& x) { return x.outcome() != v1::POLICY_OUTCOME_STARTING; }, "the run to be settled");
    EXPECT_EQ(settled.outcome(), v1::POLICY_OUTCOME_SKIPPED) << settled.DebugString();
    EXPECT_THAT(settled.message(), HasSubstr(paused ? "the policy was paused first" : "not started within its late window"));
    EXPECT_TRUE(OperationsOf(policies::RunRequestId(id, scheduled)).empty());
    v1::PausePolicyRequest pause;
    pause.set_name("policies/" + id);
    ASSERT_GRPC_OK(Call(&Stub::PausePolicy, pause, &p));
  }
}

// Maximum pod age: five pods of one age, at most 10 s old, are replaced
// one at a time, each not before its turn (10 s spread over five: every
// 2 s), by ROLLING purges of principal "policy:ID" that keep five Ready
// and honour the budget.
class MaxPodAgeTest : public PoliciesTest {
 protected:
  void Configure(herdd::AppOptions& o) override { o.policy_check = absl::Milliseconds(100); }
  // GetWorkload calls herdd answered NotFound, as its /metrics counts them.
  int64_t HandledGetWorkloadNotFound() {
    FetchResponse r = Fetch({.url = absl::StrCat("http://", app_->http_address(), "/metrics")});
    EXPECT_EQ(r.status, 200) << r.error;
    static const std::regex kLine(
        R"re(grpc_server_handled_total\{grpc_code="NotFound",grpc_method="GetWorkload",[^}]*\} (\d+))re");
    std::smatch m;
    return std::regex_search(r.body, m, kLine) ? std::stoll(m[1]) : 0;
  }
};

TEST_F(MaxPodAgeTest, PodsOfOneAgeAreReplacedOneAtATimeOnTheirTurnsKeepingAvailability) {
  CreateDeployment("web", "web:1", 5);
  CreateBudget("web", "web", 5, 5);
  AwaitHerdCache();
  // The pods as herd sees them: the youngest start among them sets the
  // earliest each may go.
  std::map<std::string, absl::Time> started;
  {
    v1::GetWorkloadRequest get;
    get.set_name(Workload("web"));
    v1::Workload w;
    ASSERT_GRPC_OK(Call(&Stub::GetWorkload, get, &w));
    ASSERT_EQ(w.pods_size(), 5);
    for (const auto& pod : w.pods()) started[pod.name()] = ops::FromProto(pod.start_time());
  }
  absl::Time youngest = absl::InfinitePast();
  for (const auto& [name, t] : started) youngest = std::max(youngest, t);
  TrackPods("web");
  absl::Mutex mu;
  std::map<std::string, absl::Time> going;  // an original pod → when it began to go
  auto seen = [&](const kube::ObjectPtr& pod) {
    const std::string name = NameOf(*pod);
    if (!started.count(name) || !Terminating(*pod)) return;
    absl::MutexLock lock(&mu);
    going.emplace(name, absl::Now());
  };
  const int handlers = Cache(kube::kPods).AddHandlers({.on_update = [&](const kube::ObjectPtr&, const kube::ObjectPtr& p) { seen(p); },
                                  .on_delete = [&](const kube::ObjectPtr& p) {
                                    absl::MutexLock lock(&mu);
                                    if (started.count(NameOf(*p))) going.emplace(NameOf(*p), absl::Now());
                                  }});
  absl::Cleanup unhook = [&] { Cache(kube::kPods).RemoveHandlers(handlers); };

  v1::CreatePolicyRequest req;
  req.set_policy_id("web-age");
  req.mutable_policy()->mutable_max_pod_age()->set_workload(Workload("web"));
  req.mutable_policy()->mutable_max_pod_age()->mutable_max_age()->set_seconds(10);
  v1::Policy p;
  ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, req, &p));
  EXPECT_EQ(p.next_runs_size(), 0);
  // Three turns are enough to see the spread.
  Await(
      [&] {
        absl::MutexLock lock(&mu);
        return going.size() >= 3;
      },
      "three of the original pods to be replaced");
  std::move(unhook).Invoke();
  v1::PausePolicyRequest pause;
  pause.set_name("policies/web-age");
  ASSERT_GRPC_OK(Call(&Stub::PausePolicy, pause, &p));

  std::vector<absl::Time> times;
  {
    absl::MutexLock lock(&mu);
    for (const auto& [name, t] : going) times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  // The k-th to go (k = 1, 2, 3) went once the youngest of five pods of
  // one age was k × 2 s old, not sooner. Start times are whole seconds:
  // herd's clock may read a pod a second older than it is.
  for (size_t k = 1; k <= 3; ++k) {
    EXPECT_GE(times[k - 1], youngest + absl::Seconds(2) * static_cast<int>(k) - absl::Seconds(1)) << "replacement " << k;
  }
  EXPECT_GE(MinReady(), 5) << "a replacement left fewer than five Ready pods";

  // Each replacement is an operation of the policy: one pod, rolling.
  std::set<std::string> ops;
  for (const v1::PolicyDecision& d : p.decisions()) {
    if (d.outcome() != v1::POLICY_OUTCOME_STARTED) continue;
    // One at a time as a rule; two when a slow machine let a turn pass
    // while the last replacement ran.
    EXPECT_THAT(d.message(), HasSubstr("replacing the "));
    EXPECT_THAT(d.message(), HasSubstr(", because web-"));
    ops.insert(d.operation());
  }
  EXPECT_GE(ops.size(), 2u) << p.DebugString();
  for (const std::string& name : ops) {
    v1::Operation op = Wait(name);
    EXPECT_EQ(op.principal(), "policy:web-age");
    EXPECT_EQ(op.kind(), v1::OPERATION_KIND_PURGE);
    EXPECT_EQ(op.reason(), "policy web-age (pods at most 10s old)");
    EXPECT_EQ(op.state(), v1::OPERATION_STATE_SUCCEEDED) << op.DebugString();
    EXPECT_THAT(op.plan().summary(), HasSubstr(", the oldest "));
  }
}

// Bad max-pod-age policies are refused, naming the field; a settled
// policy whose workload is deleted records why it stands, once.
TEST_F(MaxPodAgeTest, BadOnesAreRefusedAndAWorkloadGoneIsToldOnce) {
  CreateDeployment("web", "web:1", 2);
  AwaitHerdCache();
  auto make = [](const std::string& workload, int64_t seconds) {
    v1::CreatePolicyRequest req;
    req.set_policy_id("web-age");
    req.mutable_policy()->mutable_max_pod_age()->set_workload(workload);
    req.mutable_policy()->mutable_max_pod_age()->mutable_max_age()->set_seconds(seconds);
    return req;
  };
  v1::Policy p;
  grpc::Status st = Call(&Stub::CreatePolicy, make(Workload("web"), 5), &p);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("max_pod_age.max_age must be from 10s to 365 days"));
  st = Call(&Stub::CreatePolicy, make(Workload("nightly", "cronjobs"), 3600), &p);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("max_pod_age.workload"));
  st = Call(&Stub::CreatePolicy, make(Workload("nope"), 3600), &p);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  // Scaling with load needs a Prometheus, which this herdd has not.
  v1::CreatePolicyRequest load;
  load.set_policy_id("web-load");
  load.mutable_policy()->mutable_load_scaling()->set_workload(Workload("web"));
  load.mutable_policy()->mutable_load_scaling()->set_query("sum(rate(http_requests_total[1m]))");
  load.mutable_policy()->mutable_load_scaling()->set_target_per_replica(100);
  load.mutable_policy()->mutable_load_scaling()->set_max_replicas(10);
  st = Call(&Stub::CreatePolicy, load, &p);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("herdd --prometheus-url"));
  v1::ListPoliciesResponse list;
  ASSERT_GRPC_OK(Call(&Stub::ListPolicies, v1::ListPoliciesRequest(), &list));
  EXPECT_EQ(list.policies_size(), 0);

  ASSERT_GRPC_OK(Call(&Stub::CreatePolicy, make(Workload("web"), 3600), &p));
  ASSERT_TRUE(kube_->Delete(kube::kDeployments, kNs, "web").ok());
  v1::PolicyDecision refused = AwaitDecision(
      "web-age", [](const auto& x) { return x.outcome() == v1::POLICY_OUTCOME_REFUSED; }, "the policy to say why it stands");
  EXPECT_THAT(refused.message(), HasSubstr("web"));
  // Told once, though it looked again: each look is a GetWorkload that
  // herdd's /metrics counts (answered NotFound).
  const int64_t looked = HandledGetWorkloadNotFound();
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30); HandledGetWorkloadNotFound() < looked + 5;) {
    ASSERT_LT(absl::Now(), deadline) << "the policy did not look at its workload again";
    absl::SleepFor(absl::Milliseconds(20));  // a poll of the counter, until it has moved
  }
  int refusals = 0;
  const v1::Policy after = GetPolicy("web-age");
  for (const auto& d : after.decisions()) refusals += d.outcome() == v1::POLICY_OUTCOME_REFUSED;
  EXPECT_EQ(refusals, 1);
}

}  // namespace
}  // namespace herd::testing
