#include "client/herdctl_format.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/any.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace herd::herdctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  ts->set_seconds(absl::ToUnixSeconds(t));
  ts->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(absl::ToUnixSeconds(t))) / absl::Nanoseconds(1)));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  out->set_seconds(absl::ToInt64Seconds(d));
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(absl::ToInt64Seconds(d)))));
}

v1::OperationEvent Event(absl::Time t, const std::string& message) {
  v1::OperationEvent e;
  SetTime(t, e.mutable_time());
  e.set_message(message);
  return e;
}

// A rollout that crash-looped and was rolled back.
v1::Operation RolledBackRollout() {
  v1::Operation op;
  op.set_name("operations/7f3a");
  op.set_kind(v1::OPERATION_KIND_ROLLOUT);
  op.set_target("namespaces/shop/deployments/web");
  op.set_state(v1::OPERATION_STATE_ROLLED_BACK);
  v1::Progress* p = op.mutable_progress();
  p->set_desired(3);
  p->set_updated(1);
  p->set_available(3);
  p->set_remaining(3);
  const absl::Time start = kNow - absl::Seconds(75);
  SetTime(start, op.mutable_create_time());
  SetTime(start + absl::Seconds(60), op.mutable_end_time());
  op.set_principal("alice");
  op.set_reason("JIRA-1");
  op.set_request_id("ci-77");
  op.mutable_error()->set_code(4);
  op.mutable_error()->set_message("web-new-1 did not become ready");
  op.mutable_failure()->set_reason(v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF);
  v1::PodProblem* problem = op.mutable_failure()->add_pods();
  problem->set_pod("web-new-1");
  problem->set_container("web");
  problem->set_reason("CrashLoopBackOff");
  problem->set_message("back-off 10s restarting failed container");
  problem->set_restarts(3);
  v1::Timing* t1 = op.add_timings();
  t1->set_phase("api-write");
  SetDuration(absl::Milliseconds(120), t1->mutable_duration());
  v1::Timing* t2 = op.add_timings();
  t2->set_phase("pods-started");
  SetDuration(absl::Milliseconds(4500), t2->mutable_duration());
  *op.add_events() = Event(start + absl::Milliseconds(100), "new pods created");
  *op.add_events() = Event(start + absl::Seconds(60), "rolling back");
  return op;
}

TEST(FormatOperation, ShowsFailureTimingsAndEvents) {
  absl::StatusOr<std::string> text = FormatOperation(RolledBackRollout(), OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "Operation:    operations/7f3a\n"
            "Kind:         rollout\n"
            "Target:       namespaces/shop/deployments/web\n"
            "State:        RolledBack\n"
            "Progress:     updated 1/3, ready 0, available 3, old pods left 3\n"
            "Requested by: alice\n"
            "Reason:       JIRA-1\n"
            "Request ID:   ci-77\n"
            "Created:      2027-01-15T07:58:45Z (75s ago)\n"
            "Ended:        2027-01-15T07:59:45Z (15s ago), took 1m0s\n"
            "Error:        DEADLINE_EXCEEDED: web-new-1 did not become ready\n"
            "Failure:      CrashLoopBackOff\n"
            "Pod problems:\n"
            "  POD         CONTAINER   REASON             RESTARTS   MESSAGE\n"
            "  web-new-1   web         CrashLoopBackOff   3          back-off 10s restarting failed container\n"
            "Timings:\n"
            "  PHASE          DURATION\n"
            "  api-write      120ms\n"
            "  pods-started   4.5s\n"
            "Events:\n"
            "  AT       MESSAGE\n"
            "  +100ms   new pods created\n"
            "  +1m0s    rolling back\n");
}

TEST(FormatOperation, ShowsWhatACrashingContainerLastLogged) {
  v1::Operation op = RolledBackRollout();
  v1::PodProblem* p = op.mutable_failure()->mutable_pods(0);
  p->add_log_tail("level=error msg=\"cannot connect to database\"");
  p->add_log_tail("panic: runtime error: invalid memory address or nil pointer dereference");
  absl::StatusOr<std::string> text = FormatOperation(op, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->find("  web-new-1   web         CrashLoopBackOff   3          back-off 10s restarting failed container\n"
                       "Last log lines of web-new-1/web before it exited:\n"
                       "  | level=error msg=\"cannot connect to database\"\n"
                       "  | panic: runtime error: invalid memory address or nil pointer dereference\n"
                       "Timings:\n"),
            std::string::npos)
      << *text;
}

TEST(FormatOperation, DryRunShowsThePlan) {
  v1::Operation op;
  op.set_name("operations/dry1");
  op.set_kind(v1::OPERATION_KIND_KILL);
  op.set_target("namespaces/shop/pods?labelSelector=app%3Dweb");
  op.set_state(v1::OPERATION_STATE_SUCCEEDED);
  op.set_dry_run(true);
  SetTime(kNow, op.mutable_create_time());
  v1::Plan* plan = op.mutable_plan();
  plan->set_summary("evict 2 pods");
  SetDuration(absl::Seconds(30), plan->mutable_estimated_duration());
  plan->add_changes("evict pod shop/web-1");
  auto* a = plan->add_pods();
  a->set_pod("web-1");
  a->set_action("evict");
  a->set_verdict("allowed");
  auto* b = plan->add_pods();
  b->set_pod("web-2");
  b->set_action("evict");
  b->set_verdict("budget web-pdb allows 0 disruptions");
  auto* budget = plan->add_budgets();
  budget->set_budget("web-pdb");
  budget->set_disruptions_allowed(1);
  budget->set_disruptions_needed(2);
  budget->set_blocks(true);
  auto* perm = plan->add_permissions();
  perm->set_verb("create");
  perm->set_resource("pods");
  perm->set_subresource("eviction");
  perm->set_namespace_("shop");
  perm->set_name("web-1");
  perm = plan->add_permissions();
  perm->set_verb("update");
  perm->set_group("apps");
  perm->set_resource("deployments");
  perm->set_subresource("scale");
  perm->set_namespace_("shop");
  absl::StatusOr<std::string> text = FormatOperation(op, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("State:        Succeeded (dry run)\n"));
  EXPECT_THAT(*text, HasSubstr("Plan (dry run, nothing was changed):\n"
                               "  evict 2 pods\n"
                               "  Estimated:  30.0s\n"
                               "  Changes:\n"
                               "    evict pod shop/web-1\n"
                               "  Pods:\n"
                               "    POD     ACTION   VERDICT\n"
                               "    web-1   evict    allowed\n"
                               "    web-2   evict    budget web-pdb allows 0 disruptions\n"
                               "  Disruption budgets:\n"
                               "    BUDGET    ALLOWED   NEEDED   BLOCKS\n"
                               "    web-pdb   1         2        yes\n"
                               "  Kubernetes permissions it writes with:\n"
                               "    VERB     RESOURCE                 NAMESPACE   NAME\n"
                               "    create   pods/eviction            shop        web-1\n"
                               "    update   deployments/scale.apps   shop        (any)\n"));
}

TEST(FormatOperationList, AlignedColumnsLikeKubectl) {
  v1::ListOperationsResponse ops;
  v1::Operation* running = ops.add_operations();
  running->set_name("operations/op-2");
  running->set_kind(v1::OPERATION_KIND_ROLLOUT);
  running->set_target("namespaces/shop/deployments/web");
  running->set_state(v1::OPERATION_STATE_RUNNING);
  running->mutable_progress()->set_desired(5);
  running->mutable_progress()->set_updated(5);
  running->mutable_progress()->set_ready(3);  // the column counts new pods Ready, not created
  SetTime(kNow - absl::Seconds(12), running->mutable_create_time());
  v1::Operation* done = ops.add_operations();
  done->set_name("operations/op-1");
  done->set_kind(v1::OPERATION_KIND_KILL);
  done->set_target("namespaces/shop/pods?labelSelector=app%3Dweb");
  done->set_state(v1::OPERATION_STATE_SUCCEEDED);
  done->mutable_progress()->set_desired(2);
  done->mutable_progress()->set_killed(2);
  SetTime(kNow - absl::Minutes(5), done->mutable_create_time());

  absl::StatusOr<std::string> text = FormatOperationList(ops, OutputFormat::kTable, kNow, false);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "NAME   KIND      TARGET            STATE       PROGRESS   AGE\n"
            "op-2   rollout   deploy/web        Running     3/5        12s\n"
            "op-1   kill      pods -l app=web   Succeeded   2/2        5m\n");

  absl::StatusOr<std::string> all = FormatOperationList(ops, OutputFormat::kTable, kNow, true);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ::testing::StartsWith("NAMESPACE   NAME   KIND"));
  EXPECT_THAT(*all, HasSubstr("\nshop        op-2   rollout"));

  EXPECT_EQ(*FormatOperationList(v1::ListOperationsResponse(), OutputFormat::kTable, kNow, false), "");
}

v1::ListWorkloadsResponse Workloads() {
  v1::ListWorkloadsResponse list;
  v1::Workload* web = list.add_workloads();
  web->set_name("web");
  web->set_namespace_("shop");
  web->set_kind("Deployment");
  web->set_desired_replicas(3);
  web->set_ready_replicas(3);
  web->set_updated_replicas(3);
  web->set_available_replicas(3);
  web->set_revision(7);
  auto* c1 = web->add_containers();
  c1->set_name("web");
  c1->set_image("web:1.4.2");
  auto* c2 = web->add_containers();
  c2->set_name("envoy");
  c2->set_image("envoy:1.28");
  SetDuration(absl::Hours(2), web->mutable_oldest_pod_age());
  SetDuration(absl::Minutes(5), web->mutable_newest_pod_age());
  web->set_running_operation("operations/op-2");
  (*web->mutable_labels())["team"] = "shop";
  (*web->mutable_labels())["app"] = "web";
  v1::Workload* nightly = list.add_workloads();
  nightly->set_name("nightly");
  nightly->set_namespace_("shop");
  nightly->set_kind("CronJob");
  nightly->set_schedule("0 2 * * *");
  auto* c3 = nightly->add_containers();
  c3->set_name("report");
  c3->set_image("report:3");
  return list;
}

TEST(FormatWorkloadList, MixedKinds) {
  absl::StatusOr<std::string> text = FormatWorkloadList(Workloads(), OutputFormat::kTable, kNow, false);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "NAME      KIND         READY   UP-TO-DATE   AVAILABLE   REVISION   IMAGES                 OPERATION   POD-AGE\n"
            "web       Deployment   3/3     3            3           7          web:1.4.2,envoy:1.28   op-2        120m\n"
            "nightly   CronJob      -       -            -           -          report:3               -           -\n");
}

TEST(FormatWorkloadList, CronJobsOnlyGetTheirOwnColumns) {
  v1::ListWorkloadsResponse list;
  *list.add_workloads() = Workloads().workloads(1);
  list.mutable_workloads(0)->set_suspended(true);
  SetTime(kNow - absl::Hours(6), list.mutable_workloads(0)->mutable_last_schedule_time());
  absl::StatusOr<std::string> text = FormatWorkloadList(list, OutputFormat::kTable, kNow, true);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "NAMESPACE   NAME      SCHEDULE    SUSPEND   ACTIVE   LAST-SCHEDULE   IMAGES     OPERATION\n"
            "shop        nightly   0 2 * * *   True      0        6h              report:3   -\n");
}

TEST(FormatWorkload, DeploymentView) {
  v1::Workload web = Workloads().workloads(0);
  web.set_autoscaler("web-hpa");
  web.set_autoscaler_min(2);
  web.set_autoscaler_max(10);
  v1::PodSummary* pod = web.add_pods();
  pod->set_name("web-abc");
  pod->set_phase("Running");
  pod->set_ready(false);
  pod->set_restarts(4);
  pod->set_node("node-1");
  pod->set_reason("CrashLoopBackOff");
  pod->add_images("web:1.4.2");
  SetTime(kNow - absl::Minutes(3), pod->mutable_start_time());
  for (int n : {7, 6}) {
    v1::Revision* rev = web.add_revisions();
    rev->set_revision(n);
    rev->set_current(n == 7);
    rev->set_pods(n == 7 ? 1 : 0);
    v1::Container* c = rev->add_containers();
    c->set_name("web");
    c->set_image(n == 7 ? "web:1.4.2" : "web:1.4.1");
    SetTime(kNow - absl::Hours(n == 7 ? 2 : 26), rev->mutable_create_time());
    if (n == 6) rev->set_change_cause("kubectl set image deploy/web web=web:1.4.1");
  }
  absl::StatusOr<std::string> text = FormatWorkload(web, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "Name:         web\n"
            "Namespace:    shop\n"
            "Kind:         Deployment\n"
            "Replicas:     3 desired | 3 updated | 3 ready | 3 available\n"
            "Revision:     7\n"
            "Containers:\n"
            "  NAME    IMAGE\n"
            "  web     web:1.4.2\n"
            "  envoy   envoy:1.28\n"
            "Autoscaler:   web-hpa (min 2, max 10)\n"
            "Operation:    operations/op-2\n"
            "Labels:       app=web,team=shop\n"
            "Pod ages:     oldest 120m, newest 5m\n"
            "Pods:\n"
            "  NAME      READY   STATUS             RESTARTS   AGE   NODE     IMAGES\n"
            "  web-abc   no      CrashLoopBackOff   4          3m    node-1   web:1.4.2\n"
            "Revisions:\n"
            "  REVISION      PODS   AGE    IMAGES          CHANGE-CAUSE\n"
            "  7 (current)   1      120m   web=web:1.4.2   -\n"
            "  6             0      26h    web=web:1.4.1   kubectl set image deploy/web web=web:1.4.1\n");
}

TEST(FormatPolicy, ShowsScheduleActionNextRunsAndDecisions) {
  v1::Policy p;
  p.set_name("policies/web-refresh");
  p.set_description("daily refresh");
  p.mutable_schedule()->set_cron("0 4 * * *");
  p.mutable_schedule()->set_time_zone("Europe/Paris");
  p.mutable_schedule()->mutable_purge()->set_workload("namespaces/shop/deployments/web");
  p.mutable_schedule()->mutable_purge()->mutable_older_than()->set_seconds(20 * 3600);
  p.set_creator("alice");
  SetTime(kNow - absl::Hours(48), p.mutable_create_time());
  SetTime(kNow + absl::Hours(19), p.add_next_runs());
  v1::PolicyDecision* d = p.add_decisions();
  SetTime(kNow - absl::Hours(5), d->mutable_time());
  SetTime(kNow - absl::Hours(5), d->mutable_scheduled_time());
  d->set_outcome(v1::POLICY_OUTCOME_STARTED);
  d->set_operation("operations/req-1f2e");
  absl::StatusOr<std::string> text = FormatPolicy(p, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "Policy:       policies/web-refresh\n"
            "Description:  daily refresh\n"
            "Schedule:     0 4 * * * (Europe/Paris)\n"
            "Action:       purge shop/deploy/web --older-than=20h0m\n"
            "State:        Active\n"
            "Created by:   alice\n"
            "Created:      2027-01-13T08:00:00Z (2d ago)\n"
            "Next runs:    2027-01-16 03:00:00 UTC (in 19h)\n"
            "Decisions:\n"
            "  AT       RUN      OUTCOME   OPERATION   MESSAGE\n"
            "  5h ago   5h ago   Started   req-1f2e    -\n");
  v1::ListPoliciesResponse list;
  *list.add_policies() = p;
  absl::StatusOr<std::string> table = FormatPolicyList(list, OutputFormat::kTable, kNow);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(*table,
            "ID            SCHEDULE                   ACTION                                     STATE    NEXT-RUN   LAST-DECISION\n"
            "web-refresh   0 4 * * * (Europe/Paris)   purge shop/deploy/web --older-than=20h0m   Active   in 19h     Started 5h ago\n");
}

TEST(FormatPolicy, ShowsAMaximumPodAge) {
  v1::Policy p;
  p.set_name("policies/web-age");
  p.mutable_max_pod_age()->set_workload("namespaces/shop/deployments/web");
  p.mutable_max_pod_age()->mutable_max_age()->set_seconds(24 * 3600);
  p.set_creator("alice");
  SetTime(kNow - absl::Hours(48), p.mutable_create_time());
  absl::StatusOr<std::string> text = FormatPolicy(p, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("Keeps:        pods at most 24h old\n"
                               "Action:       purge the oldest of shop/deploy/web, spread evenly\n"));
  v1::ListPoliciesResponse list;
  *list.add_policies() = p;
  absl::StatusOr<std::string> table = FormatPolicyList(list, OutputFormat::kTable, kNow);
  ASSERT_TRUE(table.ok());
  EXPECT_THAT(*table, HasSubstr("web-age   pods at most 24h old   purge the oldest of shop/deploy/web, spread evenly   Active   -"));
}

TEST(FormatPolicy, ShowsScalingWithLoad) {
  v1::Policy p;
  p.set_name("policies/workers");
  v1::LoadScaling* l = p.mutable_load_scaling();
  l->set_workload("namespaces/jobs/deployments/worker");
  l->set_query("sum(queue_depth)");
  l->set_target_per_replica(50);
  l->set_min_replicas(2);
  l->set_max_replicas(40);
  l->set_dry_run(true);
  v1::PolicyDecision* d = p.add_decisions();
  SetTime(kNow - absl::Minutes(5), d->mutable_time());
  d->set_outcome(v1::POLICY_OUTCOME_DRY_RUN);
  d->set_message("would scale: value 510 at 50 per replica → 11 (within 2–40); 4 → 11");
  absl::StatusOr<std::string> text = FormatPolicy(p, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("Follows:      load sum(queue_depth), 50 per replica\n"
                               "Action:       scale jobs/deploy/worker 2–40 (dry run: reports only)\n"));
  EXPECT_THAT(*text, HasSubstr("Dry run"));
}

TEST(FormatWorkload, CronJobView) {
  v1::Workload cj = Workloads().workloads(1);
  cj.set_active_jobs(1);
  SetTime(kNow - absl::Hours(6), cj.mutable_last_schedule_time());
  absl::StatusOr<std::string> text = FormatWorkload(cj, OutputFormat::kTable, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("Schedule:     0 2 * * *\n"
                               "Suspended:    no\n"
                               "Last run:     2027-01-15T02:00:00Z (6h ago)\n"
                               "Active jobs:  1\n"));
  EXPECT_THAT(*text, HasSubstr("Operation:    none running\n"));
  EXPECT_THAT(*text, Not(HasSubstr("Replicas:")));
}

TEST(Json, ProtoJsonWithEveryField) {
  v1::Operation op = RolledBackRollout();
  absl::StatusOr<std::string> text = FormatMessage(op, OutputFormat::kJson);
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["name"], "operations/7f3a");
  EXPECT_EQ(j["state"], "OPERATION_STATE_ROLLED_BACK");
  EXPECT_EQ(j["progress"]["desired"], 3);
  EXPECT_EQ(j["progress"]["killed"], 0);  // present although zero: scripts can rely on it
  EXPECT_EQ(j["createTime"], "2027-01-15T07:58:45Z");
  EXPECT_EQ(j["failure"]["pods"][0]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(text->back(), '\n');
}

TEST(Json, UnknownErrorDetailsAreDroppedNotFatal) {
  v1::Operation op = RolledBackRollout();
  google::protobuf::Any* unknown = op.mutable_error()->add_details();
  unknown->set_type_url("type.googleapis.com/google.rpc.ErrorInfo");
  unknown->set_value("\x0a\x03why");
  v1::Progress progress;
  progress.set_desired(9);
  op.mutable_error()->add_details()->PackFrom(progress);
  absl::StatusOr<std::string> text = ToJson(op);
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json j = nlohmann::json::parse(*text);
  ASSERT_EQ(j["error"]["details"].size(), 1u);
  EXPECT_EQ(j["error"]["details"][0]["@type"], "type.googleapis.com/herd.v1.Progress");
}

TEST(Yaml, BlockStyleQuotingWhatWouldBeMisread) {
  const std::string json = R"({
    "name": "operations/7f3a",
    "dryRun": false,
    "revision": "7",
    "count": 3,
    "nothing": null,
    "progress": {"desired": 3, "ready": 0},
    "empty": {},
    "none": [],
    "images": {"web": "registry.example/web:1.4.2"},
    "words": ["true", "no", "1.5", "2027-01-15T08:00:00Z", "a: b", "", "-x", "two\nlines", " pad", "plain text",
              "3 new pods ready", "2027-01-15 08:00:00", "0o17", "1:30", "v1.2"],
    "events": [{"message": "started", "time": "2027-01-15T08:00:00Z"}, {"message": "done"}],
    "nested": [[1, 2], []]
  })";
  absl::StatusOr<std::string> yaml = JsonToYaml(json);
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(*yaml,
            "count: 3\n"
            "dryRun: false\n"
            "empty: {}\n"
            "events:\n"
            "- message: started\n"
            "  time: \"2027-01-15T08:00:00Z\"\n"
            "- message: done\n"
            "images:\n"
            "  web: registry.example/web:1.4.2\n"
            "name: operations/7f3a\n"
            "nested:\n"
            "- - 1\n"
            "  - 2\n"
            "- []\n"
            "none: []\n"
            "nothing: null\n"
            "progress:\n"
            "  desired: 3\n"
            "  ready: 0\n"
            "revision: \"7\"\n"
            "words:\n"
            "- \"true\"\n"
            "- \"no\"\n"
            "- \"1.5\"\n"
            "- \"2027-01-15T08:00:00Z\"\n"
            "- \"a: b\"\n"
            "- \"\"\n"
            "- \"-x\"\n"
            "- \"two\\nlines\"\n"
            "- \" pad\"\n"
            "- plain text\n"
            "- 3 new pods ready\n"
            "- \"2027-01-15 08:00:00\"\n"
            "- \"0o17\"\n"
            "- \"1:30\"\n"
            "- v1.2\n");

  // A YAML reader gets back exactly the strings and types that went in.
  YAML::Node node = YAML::Load(*yaml);
  EXPECT_EQ(node["revision"].Tag(), "!");  // quoted: a string, not a number
  EXPECT_EQ(node["words"][0].as<std::string>(), "true");
  EXPECT_EQ(node["words"][0].Tag(), "!");
  EXPECT_EQ(node["words"][7].as<std::string>(), "two\nlines");
  EXPECT_EQ(node["words"][8].as<std::string>(), " pad");
  EXPECT_EQ(node["words"][10].as<std::string>(), "3 new pods ready");
  for (int i = 11; i <= 13; ++i) EXPECT_EQ(node["words"][i].Tag(), "!") << i;
  EXPECT_EQ(node["events"][0]["message"].as<std::string>(), "started");
  EXPECT_EQ(node["images"]["web"].as<std::string>(), "registry.example/web:1.4.2");
  EXPECT_EQ(node["nested"][0][1].as<int>(), 2);
  EXPECT_TRUE(node["nothing"].IsNull());
}

TEST(Yaml, OfAnOperation) {
  absl::StatusOr<std::string> yaml = FormatMessage(RolledBackRollout(), OutputFormat::kYaml);
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  YAML::Node node = YAML::Load(*yaml);
  EXPECT_EQ(node["name"].as<std::string>(), "operations/7f3a");
  EXPECT_EQ(node["failure"]["pods"][0]["restarts"].as<int>(), 3);
  EXPECT_EQ(node["events"][1]["message"].as<std::string>(), "rolling back");
  EXPECT_EQ(JsonToYaml("{not json").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Text, ShortDurations) {
  EXPECT_EQ(ShortDuration(absl::Milliseconds(350)), "350ms");
  EXPECT_EQ(ShortDuration(absl::Milliseconds(12345)), "12.3s");
  EXPECT_EQ(ShortDuration(absl::Seconds(245)), "4m5s");
  EXPECT_EQ(ShortDuration(absl::Minutes(130)), "2h10m");
  EXPECT_EQ(ShortDuration(absl::Hours(76)), "3d4h");
  EXPECT_EQ(ShortDuration(-absl::Seconds(3)), "0ms");
}

TEST(Text, ProgressNamesTheCountersOfTheKind) {
  v1::Operation op;
  op.mutable_progress()->set_desired(4);
  op.mutable_progress()->set_ready(2);
  op.mutable_progress()->set_updated(3);
  op.mutable_progress()->set_available(4);
  op.mutable_progress()->set_killed(1);
  op.set_kind(v1::OPERATION_KIND_ROLLOUT);
  EXPECT_EQ(ProgressText(op), "updated 3/4, ready 2, available 4");
  op.set_kind(v1::OPERATION_KIND_PURGE);
  EXPECT_EQ(ProgressText(op), "replacements ready 2/4, old pods left 0");
  op.set_kind(v1::OPERATION_KIND_SCALE);
  EXPECT_EQ(ProgressText(op), "ready 2/4, available 4");
  op.set_kind(v1::OPERATION_KIND_KILL);
  op.mutable_progress()->set_remaining(3);
  EXPECT_EQ(ProgressText(op), "killed 1/4, left 3");
  op.set_kind(v1::OPERATION_KIND_CRONJOB_SUSPEND);
  op.mutable_progress()->set_remaining(0);
  EXPECT_EQ(ProgressText(op), "");
}

TEST(Text, Outcomes) {
  v1::Operation op = RolledBackRollout();
  EXPECT_EQ(FormatOutcome(op), "rollout of deploy/web failed and was rolled back after 1m0s: web-new-1 did not become ready");
  op.set_state(v1::OPERATION_STATE_SUCCEEDED);
  op.set_revision(8);
  EXPECT_EQ(FormatOutcome(op), "rollout of deploy/web succeeded in 1m0s (revision 8)");
  op.set_state(v1::OPERATION_STATE_CANCELLED);
  op.clear_error();
  op.mutable_failure()->set_reason(v1::FAILURE_REASON_CANCELLED);
  EXPECT_EQ(FormatOutcome(op), "rollout of deploy/web was cancelled after 1m0s: Cancelled");
  op.set_state(v1::OPERATION_STATE_RUNNING);
  op.set_name("operations/x");
  EXPECT_EQ(FormatStarted(op), "operations/x: rollout of deploy/web started (Running)");
}

// --- ProgressPrinter -----------------------------------------------------------

v1::Operation Step(v1::OperationState state, int updated, std::vector<v1::OperationEvent> events, absl::Duration at) {
  v1::Operation op;
  op.set_name("operations/op-9");
  op.set_kind(v1::OPERATION_KIND_ROLLOUT);
  op.set_target("namespaces/shop/deployments/web");
  op.set_state(state);
  op.mutable_progress()->set_desired(4);
  op.mutable_progress()->set_updated(updated);
  // The old pods stay until the new ones are Ready, which none is yet.
  op.mutable_progress()->set_remaining(state == v1::OPERATION_STATE_SUCCEEDED ? 0 : 4);
  SetTime(kNow, op.mutable_create_time());
  SetTime(kNow + at, op.mutable_update_time());
  for (auto& e : events) *op.add_events() = e;
  return op;
}

TEST(ProgressPrinter, OneLinePerChangeForLogs) {
  std::ostringstream out;
  ProgressPrinter p(out, /*tty=*/false, [] { return kNow; });
  const v1::OperationEvent e1 = Event(kNow + absl::Milliseconds(200), "4 new pods created");
  const v1::OperationEvent e2 = Event(kNow + absl::Seconds(3), "2 new pods ready");
  const v1::OperationEvent e3 = Event(kNow + absl::Seconds(5), "old pods removed");
  p.Update(Step(v1::OPERATION_STATE_PENDING, 0, {}, absl::ZeroDuration()));
  p.Update(Step(v1::OPERATION_STATE_RUNNING, 0, {e1}, absl::Milliseconds(200)));
  p.Update(Step(v1::OPERATION_STATE_RUNNING, 0, {e1}, absl::Milliseconds(900)));  // nothing new
  p.Update(Step(v1::OPERATION_STATE_RUNNING, 2, {e1, e2}, absl::Seconds(3)));
  // The short log dropped its oldest entry; nothing is shown twice.
  p.Update(Step(v1::OPERATION_STATE_SUCCEEDED, 4, {e2, e3}, absl::Seconds(5)));
  p.Finish();
  EXPECT_EQ(out.str(),
            "operations/op-9: rollout of deploy/web\n"
            "  [    0ms] Pending  updated 0/4, ready 0, available 0, old pods left 4\n"
            "  [  200ms] 4 new pods created\n"
            "  [  200ms] Running  updated 0/4, ready 0, available 0, old pods left 4\n"
            "  [   3.0s] 2 new pods ready\n"
            "  [   3.0s] Running  updated 2/4, ready 0, available 0, old pods left 4\n"
            "  [   5.0s] old pods removed\n"
            "  [   5.0s] Succeeded  updated 4/4, ready 0, available 0\n");
}

TEST(ProgressPrinter, LiveBarOnATerminal) {
  std::ostringstream out;
  absl::Time now = kNow + absl::Seconds(2);
  ProgressPrinter p(out, /*tty=*/true, [&] { return now; });
  p.Update(Step(v1::OPERATION_STATE_RUNNING, 2, {}, absl::Seconds(2)));
  now += absl::Seconds(1);
  p.Update(Step(v1::OPERATION_STATE_RUNNING, 3, {Event(kNow + absl::Seconds(3), "3 ready")}, absl::Seconds(3)));
  p.Finish();
  EXPECT_EQ(out.str(),
            "operations/op-9: rollout of deploy/web\n"
            "  [........................] Running  updated 2/4, ready 0, available 0, old pods left 4  2.0s"
            "\r\033[K  [   3.0s] 3 ready\n"
            "  [........................] Running  updated 3/4, ready 0, available 0, old pods left 4  3.0s"
            "\r\033[K");
}

// The bar is the way to done: every new pod created but none Ready, with
// the old ones all there, is nothing done yet; new pods Ready count half,
// old pods gone the other half.
TEST(ProgressPrinter, TheBarFillsAsNewPodsGetReadyAndOldOnesGo) {
  auto at = [](int ready, int remaining) {
    v1::Operation op = Step(v1::OPERATION_STATE_RUNNING, 4, {}, absl::Seconds(1));
    op.mutable_progress()->set_ready(ready);
    op.mutable_progress()->set_remaining(remaining);
    return op;
  };
  EXPECT_EQ(ProgressFraction(at(0, 4)), 0.0);
  EXPECT_EQ(ProgressFraction(at(4, 4)), 0.5);
  EXPECT_EQ(ProgressFraction(at(2, 2)), 0.5);
  EXPECT_EQ(ProgressFraction(at(4, 0)), 1.0);
  std::ostringstream out;
  ProgressPrinter p(out, /*tty=*/true, [] { return kNow + absl::Seconds(1); });
  p.Update(at(0, 4));
  p.Update(at(4, 0));
  p.Finish();
  EXPECT_THAT(out.str(), HasSubstr("[........................] Running  updated 4/4, ready 0, available 0, old pods left 4"));
  EXPECT_THAT(out.str(), HasSubstr("[########################] Running  updated 4/4, ready 4, available 0"));
}

}  // namespace
}  // namespace herd::herdctl
