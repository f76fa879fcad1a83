#include "client/herdctl_args.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::herdctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using ::testing::ElementsAre;

absl::StatusOr<Command> Parse(std::vector<std::string> args) { return ParseCommandLine(args, "default"); }

// A usage error says what is wrong and shows the verb's usage line.
void ExpectUsageError(const std::vector<std::string>& args, const std::string& what, const std::string& verb) {
  absl::StatusOr<Command> cmd = Parse(args);
  ASSERT_FALSE(cmd.ok()) << "parsed: " << ::testing::PrintToString(args);
  EXPECT_EQ(cmd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cmd.status().message(), HasSubstr(what));
  EXPECT_THAT(cmd.status().message(), HasSubstr(absl::StrCat("Usage: ", UsageLine(verb))));
}

TEST(ParseRollout, BuildsTheRequest) {
  absl::StatusOr<Command> cmd =
      Parse({"-n", "shop", "rollout", "deploy/web", "web=registry.example/web:1.4.2", "envoy=envoy:v1.28", "--wait",
             "--strategy=rolling", "--deadline=10m", "--no-rollback", "--reason=JIRA-1 fix", "--request-id=ci-77"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->action, Action::kRollout);
  EXPECT_TRUE(cmd->wait);
  const v1::RolloutRequest& r = cmd->rollout;
  EXPECT_EQ(r.workload(), "namespaces/shop/deployments/web");
  EXPECT_THAT(r.images(), UnorderedElementsAre(Pair("web", "registry.example/web:1.4.2"), Pair("envoy", "envoy:v1.28")));
  EXPECT_EQ(r.strategy(), v1::ROLLOUT_STRATEGY_ROLLING);
  EXPECT_EQ(r.deadline().seconds(), 600);
  EXPECT_TRUE(r.no_rollback());
  EXPECT_FALSE(r.restart());
  EXPECT_EQ(r.options().reason(), "JIRA-1 fix");
  EXPECT_EQ(r.options().request_id(), "ci-77");
  EXPECT_FALSE(r.options().dry_run());
}

TEST(ParseRollout, FlagsMayComeBeforeTheVerb) {
  absl::StatusOr<Command> cmd =
      Parse({"--server=herd:50051", "--token", "t0k", "--dry-run", "-nshop", "rollout", "sts/db", "--restart"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->global.connection.server, "herd:50051");
  EXPECT_EQ(cmd->global.connection.token, "t0k");
  EXPECT_EQ(cmd->rollout.workload(), "namespaces/shop/statefulsets/db");
  EXPECT_TRUE(cmd->rollout.restart());
  EXPECT_TRUE(cmd->rollout.images().empty());
  EXPECT_TRUE(cmd->rollout.options().dry_run());
}

TEST(ParseRollout, AcceptsEverySpellingOfAWorkload) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"deploy/web", "namespaces/default/deployments/web"},
      {"deployment/web", "namespaces/default/deployments/web"},
      {"deployments.apps/web", "namespaces/default/deployments/web"},
      {"sts/db", "namespaces/default/statefulsets/db"},
      {"statefulset/db", "namespaces/default/statefulsets/db"},
      {"namespaces/other/deployments/web", "namespaces/other/deployments/web"},
  };
  for (const auto& [arg, resource] : cases) {
    absl::StatusOr<Command> cmd = Parse({"rollout", arg, "--restart"});
    ASSERT_TRUE(cmd.ok()) << arg << ": " << cmd.status();
    EXPECT_EQ(cmd->rollout.workload(), resource) << arg;
  }
}

TEST(ParseRollout, RefusesWhatItCannotDo) {
  ExpectUsageError({"rollout", "deploy/web"}, "nothing to do", "rollout");
  ExpectUsageError({"rollout"}, "name the workload", "rollout");
  ExpectUsageError({"rollout", "web", "web=x"}, "\"web\" is not a workload", "rollout");
  ExpectUsageError({"rollout", "cj/nightly", "a=b"}, "rollout works on deploy/NAME or sts/NAME", "rollout");
  ExpectUsageError({"rollout", "pods/x", "a=b"}, "rollout works on", "rollout");
  ExpectUsageError({"rollout", "frob/web", "a=b"}, "unknown kind \"frob\"", "rollout");
  ExpectUsageError({"rollout", "deploy/Web", "a=b"}, "\"Web\" is not a valid name", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "nginx:1.2"}, "expected CONTAINER=IMAGE, got \"nginx:1.2\"", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "web="}, "no valid image", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "Web_1=x"}, "not a valid container name", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=x", "a=y"}, "named twice", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=x", "--strategy=slow"}, "--strategy: expected fast or rolling", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=x", "--deadline=10"}, "--deadline: expected a duration", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=x", "--deadline=0s"}, "--deadline: must be longer than zero",
                   "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=x", "--wait", "--dry-run"}, "do not go together", "rollout");
}

TEST(ParseUndo, TakesARevision) {
  absl::StatusOr<Command> cmd = Parse({"undo", "deploy/web", "--to-revision=3", "--strategy=fast"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->action, Action::kUndo);
  EXPECT_EQ(cmd->undo.workload(), "namespaces/default/deployments/web");
  EXPECT_EQ(cmd->undo.to_revision(), 3);
  EXPECT_EQ(cmd->undo.strategy(), v1::ROLLOUT_STRATEGY_FAST);
  ExpectUsageError({"undo", "deploy/web", "--to-revision=-1"}, "--to-revision: must be between 1", "undo");
  ExpectUsageError({"undo", "deploy/web", "extra"}, "unexpected argument \"extra\"", "undo");
}

TEST(ParseScale, AbsoluteAndRelative) {
  absl::StatusOr<Command> abs = Parse({"scale", "deploy/web", "--replicas=10", "--max=20", "--hpa-hold=2h"});
  ASSERT_TRUE(abs.ok()) << abs.status();
  EXPECT_EQ(abs->scale.change_case(), v1::ScaleRequest::kReplicas);
  EXPECT_EQ(abs->scale.replicas(), 10);
  EXPECT_EQ(abs->scale.max_replicas(), 20);
  EXPECT_EQ(abs->scale.hpa_hold().seconds(), 7200);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"scale", "deploy/web", "--delta=-2"},
        std::vector<std::string>{"scale", "deploy/web", "--delta", "-2"}}) {
    absl::StatusOr<Command> rel = Parse(args);
    ASSERT_TRUE(rel.ok()) << rel.status();
    EXPECT_EQ(rel->scale.change_case(), v1::ScaleRequest::kDelta);
    EXPECT_EQ(rel->scale.delta(), -2);
  }
  absl::StatusOr<Command> plus = Parse({"scale", "sts/db", "--delta=+3", "--min=1"});
  ASSERT_TRUE(plus.ok()) << plus.status();
  EXPECT_EQ(plus->scale.delta(), 3);
  EXPECT_EQ(plus->scale.min_replicas(), 1);
  // Zero is a real count, and must reach the server as one.
  absl::StatusOr<Command> zero = Parse({"scale", "deploy/web", "--replicas=0"});
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->scale.change_case(), v1::ScaleRequest::kReplicas);
}

TEST(ParseScale, RefusesAmbiguousOrImpossibleCounts) {
  ExpectUsageError({"scale", "deploy/web"}, "give the new count (--replicas=N) or a change", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas=3", "--delta=1"}, "not both", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas=-1"}, "--replicas: must be at least 0", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas=+3"}, "--replicas: expected a whole number", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas=three"}, "expected a whole number, got \"three\"", "scale");
  ExpectUsageError({"scale", "deploy/web", "--delta=0"}, "changes nothing", "scale");
  ExpectUsageError({"scale", "deploy/web", "--delta=1", "--min=5", "--max=2"}, "--min=5 is above --max=2", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas=30", "--max=20"}, "--replicas=30 is above --max=20", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas"}, "flag --replicas needs a value", "scale");
  ExpectUsageError({"scale", "deploy/web", "--replicas=99999999999"}, "--replicas", "scale");
}

TEST(ParsePurge, WorkloadOrSelector) {
  absl::StatusOr<Command> w =
      Parse({"-n", "shop", "purge", "deploy/web", "--older-than=7d", "--batch-size=2", "--mode=rolling"});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->purge.workload(), "namespaces/shop/deployments/web");
  EXPECT_EQ(w->purge.older_than().seconds(), 7 * 24 * 3600);
  EXPECT_EQ(w->purge.batch_size(), 2);
  EXPECT_EQ(w->purge.mode(), v1::PURGE_MODE_ROLLING);

  absl::StatusOr<Command> s = Parse({"-n", "jobs", "purge", "-l", "app=worker,tier!=canary", "--mode=burn"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->purge.workload(), "");
  EXPECT_EQ(s->purge.namespace_(), "jobs");
  EXPECT_EQ(s->purge.label_selector(), "app=worker,tier!=canary");
  EXPECT_EQ(s->purge.mode(), v1::PURGE_MODE_BURN);

  ExpectUsageError({"purge"}, "or give -l SELECTOR", "purge");
  ExpectUsageError({"purge", "deploy/web", "-l", "app=web"}, "not both", "purge");
  ExpectUsageError({"purge", "-l", "app in (a"}, "-l/--selector:", "purge");
  ExpectUsageError({"purge", "deploy/web", "--mode=nuke"}, "--mode: expected rolling or burn", "purge");
  ExpectUsageError({"purge", "deploy/web", "--mode=burn", "--batch-size=2"}, "applies to --mode=rolling only",
                   "purge");
  ExpectUsageError({"purge", "deploy/web", "--older-than=-1h"}, "must not be negative", "purge");
}

TEST(ParseKill, PodsOrSelector) {
  absl::StatusOr<Command> pods =
      Parse({"-n", "shop", "kill", "web-1", "pod/web-2", "web-1", "--grace-period=0", "--force", "--max-pods=3"});
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(pods->action, Action::kKill);
  EXPECT_EQ(pods->kill.namespace_(), "shop");
  EXPECT_THAT(pods->kill.pods(), ElementsAre("web-1", "web-2"));
  ASSERT_TRUE(pods->kill.has_grace_period_seconds());
  EXPECT_EQ(pods->kill.grace_period_seconds(), 0);
  EXPECT_TRUE(pods->kill.force());
  EXPECT_EQ(pods->kill.max_pods(), 3);

  absl::StatusOr<Command> sel = Parse({"kill", "-l", "app=web"});
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(sel->kill.label_selector(), "app=web");
  EXPECT_TRUE(sel->kill.pods().empty());
  EXPECT_FALSE(sel->kill.has_grace_period_seconds());

  ExpectUsageError({"kill"}, "name the pods to kill", "kill");
  ExpectUsageError({"kill", "web-1", "-l", "app=web"}, "not both", "kill");
  ExpectUsageError({"kill", "deploy/web"}, "kill works on pod/NAME", "kill");
  ExpectUsageError({"-n", "shop", "kill", "namespaces/other/pods/x"}, "not in namespace shop", "kill");
  ExpectUsageError({"kill", "web-1", "--grace-period=soon"}, "--grace-period: expected a whole number", "kill");
  ExpectUsageError({"kill", "web-1", "--max-pods=0"}, "--max-pods: must be at least 1", "kill");
}

TEST(ParseCronJob, Actions) {
  const std::vector<std::pair<std::string, Action>> cases = {{"run", Action::kCronJobRun},
                                                             {"suspend", Action::kCronJobSuspend},
                                                             {"resume", Action::kCronJobResume},
                                                             {"kill", Action::kCronJobKill}};
  for (const auto& [word, action] : cases) {
    absl::StatusOr<Command> cmd = Parse({"-n", "batch", "cronjob", word, "cj/nightly", "--reason=why"});
    ASSERT_TRUE(cmd.ok()) << word << ": " << cmd.status();
    EXPECT_EQ(cmd->action, action);
    EXPECT_EQ(cmd->cronjob.cronjob(), "namespaces/batch/cronjobs/nightly");
    EXPECT_EQ(cmd->cronjob.options().reason(), "why");
  }
  absl::StatusOr<Command> bare = Parse({"cronjob", "run", "nightly"});
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->cronjob.cronjob(), "namespaces/default/cronjobs/nightly");
  ExpectUsageError({"cronjob", "explode", "nightly"}, "unknown action \"explode\"", "cronjob");
  ExpectUsageError({"cronjob", "run"}, "name the CronJob", "cronjob");
  ExpectUsageError({"cronjob", "run", "deploy/web"}, "cronjob works on cj/NAME", "cronjob");
}

TEST(ParseGet, OneWorkload) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"get", "deploy/web"},
                                                std::vector<std::string>{"get", "deploy", "web"},
                                                std::vector<std::string>{"get", "deployment/web"}}) {
    absl::StatusOr<Command> cmd = Parse(args);
    ASSERT_TRUE(cmd.ok()) << cmd.status();
    EXPECT_EQ(cmd->action, Action::kGet);
    EXPECT_EQ(cmd->get.name(), "namespaces/default/deployments/web");
  }
  absl::StatusOr<Command> cj = Parse({"get", "cj/nightly", "-o", "yaml"});
  ASSERT_TRUE(cj.ok()) << cj.status();
  EXPECT_EQ(cj->get.name(), "namespaces/default/cronjobs/nightly");
  EXPECT_EQ(cj->global.output, OutputFormat::kYaml);
  ExpectUsageError({"get"}, "name the workload", "get");
  ExpectUsageError({"get", "pod/x"}, "get works on", "get");
  ExpectUsageError({"get", "deploy/web", "--wait"}, "flag --wait does not apply to get", "get");
}

TEST(ParseList, NamespaceKindSelector) {
  absl::StatusOr<Command> plain = Parse({"-n", "shop", "list"});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->list.namespace_(), "shop");
  EXPECT_EQ(plain->list.kind(), "");

  absl::StatusOr<Command> all = Parse({"list", "sts", "-A", "-l", "team=payments"});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->list.namespace_(), "");
  EXPECT_EQ(all->list.kind(), "statefulsets");
  EXPECT_EQ(all->list.label_selector(), "team=payments");
  EXPECT_TRUE(all->global.all_namespaces);

  absl::StatusOr<Command> cj = Parse({"list", "cronjobs"});
  ASSERT_TRUE(cj.ok());
  EXPECT_EQ(cj->list.kind(), "cronjobs");
  ExpectUsageError({"list", "pods"}, "unknown kind \"pods\"", "list");
}

TEST(ParseOps, Subcommands) {
  absl::StatusOr<Command> get = Parse({"ops", "get", "7f3a"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->action, Action::kOpsGet);
  EXPECT_EQ(get->operation, "operations/7f3a");

  absl::StatusOr<Command> watch = Parse({"ops", "watch", "operations/7f3a"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_EQ(watch->action, Action::kOpsWatch);
  EXPECT_EQ(watch->operation, "operations/7f3a");

  absl::StatusOr<Command> cancel = Parse({"ops", "cancel", "7f3a", "--reason=wrong image", "--wait"});
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  EXPECT_EQ(cancel->action, Action::kOpsCancel);
  EXPECT_EQ(cancel->cancel.name(), "operations/7f3a");
  EXPECT_EQ(cancel->cancel.reason(), "wrong image");
  EXPECT_TRUE(cancel->wait);

  absl::StatusOr<Command> list = Parse({"ops", "list", "--state=active,rolled-back", "-A", "--limit=5"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->action, Action::kOpsList);
  EXPECT_EQ(list->ops_list.namespace_(), "");
  EXPECT_THAT(list->ops_list.states(), ElementsAre(v1::OPERATION_STATE_PENDING, v1::OPERATION_STATE_RUNNING,
                                                   v1::OPERATION_STATE_PENDING_APPROVAL,
                                                   v1::OPERATION_STATE_ROLLED_BACK));
  EXPECT_EQ(list->ops_limit, 5);

  absl::StatusOr<Command> approve = Parse({"ops", "approve", "01hf3k9v2c", "--reason=plan checked", "--wait"});
  ASSERT_TRUE(approve.ok()) << approve.status();
  EXPECT_EQ(approve->action, Action::kOpsApprove);
  EXPECT_EQ(approve->approve.name(), "operations/01hf3k9v2c");
  EXPECT_EQ(approve->approve.reason(), "plan checked");
  EXPECT_TRUE(approve->wait);
  absl::StatusOr<Command> reject = Parse({"ops", "reject", "operations/01hf3k9v2c", "--reason=not now"});
  ASSERT_TRUE(reject.ok()) << reject.status();
  EXPECT_EQ(reject->action, Action::kOpsReject);
  EXPECT_EQ(reject->reject.name(), "operations/01hf3k9v2c");
  EXPECT_EQ(reject->reject.reason(), "not now");
  ExpectUsageError({"ops", "reject", "01hf3k9v2c", "--wait"}, "does not apply to ops reject", "ops");
  ExpectUsageError({"ops", "approve"}, "ops approve needs an operation ID", "ops");

  absl::StatusOr<Command> target = Parse({"-n", "shop", "ops", "list", "deploy/web"});
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->ops_list.target(), "namespaces/shop/deployments/web");
  EXPECT_EQ(target->ops_list.namespace_(), "shop");

  ExpectUsageError({"ops"}, "get, list, watch, cancel, approve or reject", "ops");
  ExpectUsageError({"ops", "get"}, "ops get needs an operation ID", "ops");
  ExpectUsageError({"ops", "get", "a/b"}, "is not an operation id", "ops");
  ExpectUsageError({"ops", "list", "--state=done"}, "--state: unknown state \"done\"", "ops");
  ExpectUsageError({"ops", "get", "x", "--state=failed"}, "does not apply to ops get", "ops");
  ExpectUsageError({"ops", "watch", "x", "--wait"}, "does not apply to ops watch", "ops");
}

TEST(ParsePolicy, CreateReadsItsActionAfterTheDoubleDashAsThatVerb) {
  absl::StatusOr<Command> cmd =
      Parse({"-n", "shop", "policy", "create", "web-refresh", "--cron=0 4 * * *", "--time-zone=Europe/Paris",
             "--late-window=30m", "--description=daily", "--", "purge", "deploy/web", "--older-than=20h",
             "--reason=daily refresh"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->action, Action::kPolicyCreate);
  const v1::CreatePolicyRequest& r = cmd->policy_create;
  EXPECT_EQ(r.policy_id(), "web-refresh");
  EXPECT_EQ(r.policy().description(), "daily");
  EXPECT_EQ(r.policy().schedule().cron(), "0 4 * * *");
  EXPECT_EQ(r.policy().schedule().time_zone(), "Europe/Paris");
  EXPECT_EQ(r.policy().schedule().late_window().seconds(), 1800);
  EXPECT_EQ(r.policy().schedule().purge().workload(), "namespaces/shop/deployments/web");
  EXPECT_EQ(r.policy().schedule().purge().older_than().seconds(), 20 * 3600);
  EXPECT_EQ(r.policy().schedule().purge().options().reason(), "daily refresh");

  cmd = Parse({"policy", "create", "nightly", "--cron=@daily", "--paused", "--", "-n", "batch", "cronjob", "suspend",
               "report"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_TRUE(cmd->policy_create.policy().paused());
  EXPECT_EQ(cmd->policy_create.policy().schedule().cronjob().kind(), v1::OPERATION_KIND_CRONJOB_SUSPEND);
  EXPECT_EQ(cmd->policy_create.policy().schedule().cronjob().request().cronjob(), "namespaces/batch/cronjobs/report");

  cmd = Parse({"policy", "create", "r", "--cron=@hourly", "--", "rollout", "deploy/web", "--restart"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_TRUE(cmd->policy_create.policy().schedule().restart().restart());
}

TEST(ParsePolicy, CreateAMaximumPodAgeForAWorkload) {
  absl::StatusOr<Command> cmd =
      Parse({"-n", "shop", "policy", "create", "web-age", "--max-pod-age=24h", "sts/db", "--reason=leaks"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->action, Action::kPolicyCreate);
  const v1::MaxPodAge& m = cmd->policy_create.policy().max_pod_age();
  EXPECT_EQ(m.workload(), "namespaces/shop/statefulsets/db");
  EXPECT_EQ(m.max_age().seconds(), 24 * 3600);
  EXPECT_EQ(m.reason(), "leaks");
  EXPECT_FALSE(cmd->policy_create.policy().has_schedule());

  ExpectUsageError({"policy", "create", "x", "--max-pod-age=24h"}, "names its workload", "policy");
  ExpectUsageError({"policy", "create", "x", "--max-pod-age=24h", "deploy/web", "--cron=@daily"},
                   "--cron does not apply to a policy of --max-pod-age", "policy");
  ExpectUsageError({"policy", "create", "x", "--max-pod-age=24h", "deploy/web", "--", "purge", "deploy/web"},
                   "takes no action after `--`", "policy");
  ExpectUsageError({"policy", "create", "x", "--max-pod-age=24h", "cj/report"}, "", "policy");
  ExpectUsageError({"policy", "create", "x", "--max-pod-age=24h", "deploy/a", "deploy/b"}, "", "policy");
}

TEST(ParsePolicy, CreateScalingWithLoad) {
  absl::StatusOr<Command> cmd =
      Parse({"-n", "jobs", "policy", "create", "workers", "--scale-on=sum(queue_depth)", "--per-replica=12.5",
             "--min=2", "--max=40", "--step-down=2", "--down-window=10m", "--interval=15s", "--report-only",
             "deploy/worker"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  const v1::LoadScaling& l = cmd->policy_create.policy().load_scaling();
  EXPECT_EQ(l.workload(), "namespaces/jobs/deployments/worker");
  EXPECT_EQ(l.query(), "sum(queue_depth)");
  EXPECT_EQ(l.target_per_replica(), 12.5);
  EXPECT_EQ(l.min_replicas(), 2);
  EXPECT_EQ(l.max_replicas(), 40);
  EXPECT_EQ(l.max_step_down(), 2);
  EXPECT_EQ(l.scale_down_stabilization().seconds(), 600);
  EXPECT_EQ(l.interval().seconds(), 15);
  EXPECT_FALSE(l.has_cooldown());
  EXPECT_TRUE(l.dry_run());

  ExpectUsageError({"policy", "create", "x", "--scale-on=q", "--max=4", "deploy/w"}, "needs --per-replica", "policy");
  ExpectUsageError({"policy", "create", "x", "--scale-on=q", "--per-replica=10", "deploy/w"}, "needs --max", "policy");
  ExpectUsageError({"policy", "create", "x", "--scale-on=q", "--per-replica=0", "--max=4", "deploy/w"},
                   "expected a number above 0", "policy");
  ExpectUsageError({"policy", "create", "x", "--scale-on=q", "--max-pod-age=1h", "deploy/w"}, "not both", "policy");
  ExpectUsageError({"policy", "create", "x", "--scale-on=q", "--per-replica=1", "--max=4", "--cron=@daily", "deploy/w"},
                   "--cron does not apply to a policy of --scale-on", "policy");
  ExpectUsageError({"policy", "pause", "x", "--min=2"}, "does not apply to policy pause", "policy");
}

TEST(ParseRollout, ATagInsteadOfImages) {
  absl::StatusOr<Command> cmd =
      Parse({"-n", "shop", "rollout", "deploy/api", "--tag=42", "--tag-containers=api,worker"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->rollout.tag(), "42");
  EXPECT_THAT(cmd->rollout.tag_containers(), ::testing::ElementsAre("api", "worker"));
  EXPECT_TRUE(cmd->rollout.images().empty());
  ExpectUsageError({"rollout", "deploy/api", "api=api:2", "--tag=42"}, "not both", "rollout");
  ExpectUsageError({"rollout", "deploy/api", "--tag=a/b"}, "--tag: tag \"a/b\"", "rollout");
  ExpectUsageError({"rollout", "deploy/api", "--tag-containers=api"}, "--tag-containers: needs --tag", "rollout");
  ExpectUsageError({"rollout", "deploy/api", "--tag=1", "--tag-containers=Bad_Name"}, "not a valid container name",
                   "rollout");
}

TEST(ParsePurge, OldestTakesOnlyTheOldestPods) {
  absl::StatusOr<Command> cmd = Parse({"-n", "shop", "purge", "deploy/web", "--oldest=2"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->purge.oldest(), 2);
  ExpectUsageError({"purge", "deploy/web", "--oldest=0"}, "--oldest", "purge");
}

TEST(ParsePolicy, OtherSubcommandsAndWhatIsRefused) {
  absl::StatusOr<Command> cmd = Parse({"policy", "pause", "policies/nightly", "--reason=freeze"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->action, Action::kPolicyPause);
  EXPECT_EQ(cmd->policy, "policies/nightly");
  EXPECT_EQ(cmd->policy_reason, "freeze");
  EXPECT_EQ(Parse({"policy", "ls"})->action, Action::kPolicyList);
  EXPECT_EQ(Parse({"policy", "show", "nightly"})->policy, "policies/nightly");
  EXPECT_EQ(Parse({"policy", "delete", "nightly"})->action, Action::kPolicyDelete);

  ExpectUsageError({"policy"}, "say what to do", "policy");
  ExpectUsageError({"policy", "frob"}, "unknown action \"frob\"", "policy");
  ExpectUsageError({"policy", "create", "x", "--", "purge", "deploy/web"}, "needs --cron", "policy");
  ExpectUsageError({"policy", "create", "x", "--cron=@daily"}, "needs its action after `--`", "policy");
  ExpectUsageError({"policy", "create", "x", "--cron=@daily", "--", "purge", "deploy/web", "--dry-run"},
                   "no --wait, --dry-run or --request-id", "policy");
  ExpectUsageError({"policy", "create", "x", "--cron=@daily", "--", "rollout", "deploy/web", "web=web:2"},
                   "restarts", "policy");
  ExpectUsageError({"policy", "create", "x", "--cron=@daily", "--", "get", "deploy/web"},
                   "purge, scale, kill, rollout --restart or cronjob", "policy");
  ExpectUsageError({"policy", "create", "x", "--cron=@daily", "--", "purge"}, "the action:", "policy");
  ExpectUsageError({"policy", "show", "x", "--cron=@daily"}, "does not apply to policy show", "policy");
  ExpectUsageError({"policy", "show", "x", "--", "purge", "deploy/web"}, "takes nothing after", "policy");
  ExpectUsageError({"policy", "show"}, "needs a policy ID", "policy");
}

TEST(ParseGlobal, NamespaceOutputTimeout) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-nshop", "list"}, std::vector<std::string>{"-n=shop", "list"},
        std::vector<std::string>{"--namespace", "shop", "list"}, std::vector<std::string>{"list", "--namespace=shop"}}) {
    absl::StatusOr<Command> cmd = Parse(args);
    ASSERT_TRUE(cmd.ok()) << cmd.status();
    EXPECT_EQ(cmd->global.namespace_name, "shop");
  }
  absl::StatusOr<Command> env_ns = ParseCommandLine({"list"}, "team-a");
  ASSERT_TRUE(env_ns.ok());
  EXPECT_EQ(env_ns->list.namespace_(), "team-a");

  absl::StatusOr<Command> cmd = Parse({"list", "-o", "json", "--timeout=5s", "-v", "--ca-file=/ca.pem", "--tls"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->global.output, OutputFormat::kJson);
  EXPECT_TRUE(cmd->global.timeout_set);
  EXPECT_EQ(cmd->global.connection.timeout, absl::Seconds(5));
  EXPECT_TRUE(cmd->global.verbose);
  EXPECT_TRUE(cmd->global.connection.tls);
  EXPECT_EQ(cmd->global.connection.ca_file, "/ca.pem");

  absl::StatusOr<Command> defaults = Parse({"list"});
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->global.timeout_set);
  EXPECT_EQ(defaults->global.output, OutputFormat::kTable);

  ExpectUsageError({"-n", "Shop", "list"}, "-n/--namespace: \"Shop\" is not a valid namespace name", "list");
  ExpectUsageError({"list", "-o", "xml"}, "-o/--output: expected table, json or yaml", "list");
  ExpectUsageError({"list", "--timeout=5"}, "--timeout: expected a duration", "list");
  ExpectUsageError({"list", "--cert-file=c.pem"}, "--cert-file and --key-file go together", "list");
  ExpectUsageError({"list", "--server="}, "--server: give HOST:PORT", "list");
}

TEST(ParseFlags, SwitchesTakeOptionalBooleans) {
  absl::StatusOr<Command> off = Parse({"rollout", "deploy/web", "a=b", "--wait=false"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->wait);
  absl::StatusOr<Command> on = Parse({"rollout", "deploy/web", "a=b", "--wait=true"});
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->wait);
  ExpectUsageError({"rollout", "deploy/web", "a=b", "--wait=soon"}, "is a switch", "rollout");
}

TEST(ParseFlags, UnknownAndMisplacedFlagsAreNamed) {
  ExpectUsageError({"rollout", "deploy/web", "a=b", "--frobnicate"}, "unknown flag --frobnicate", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=b", "-x"}, "unknown flag -x", "rollout");
  ExpectUsageError({"rollout", "deploy/web", "a=b", "--replicas=3"}, "flag --replicas does not apply to rollout",
                   "rollout");
  ExpectUsageError({"list", "-Av"}, "short flags do not combine", "list");
  ExpectUsageError({"scale", "deploy/web", "--replicas=3", "--request-id=has space"}, "--request-id", "scale");
}

TEST(ParseFlags, DoubleDashEndsFlags) {
  absl::StatusOr<Command> cmd = Parse({"rollout", "--wait", "--", "deploy/web", "web=x"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_TRUE(cmd->wait);
  EXPECT_EQ(cmd->rollout.workload(), "namespaces/default/deployments/web");
}

TEST(ParseHelp, OverallAndPerVerb) {
  absl::StatusOr<Command> overall = Parse({"--help"});
  ASSERT_TRUE(overall.ok());
  EXPECT_EQ(overall->action, Action::kHelp);
  EXPECT_EQ(overall->help_topic, "");

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"rollout", "--help"}, std::vector<std::string>{"help", "rollout"},
        std::vector<std::string>{"-h", "rollout", "deploy/web"}}) {
    absl::StatusOr<Command> cmd = Parse(args);
    ASSERT_TRUE(cmd.ok()) << cmd.status();
    EXPECT_EQ(cmd->action, Action::kHelp);
    EXPECT_EQ(cmd->help_topic, "rollout");
  }
  ExpectUsageError({"frobnicate"}, "unknown verb \"frobnicate\"", "");
  ExpectUsageError({"help", "frobnicate"}, "unknown verb \"frobnicate\"", "");
  ExpectUsageError({"-n", "shop"}, "no verb given", "");
}

TEST(Help, EveryVerbHasUsageFlagsAndExamples) {
  for (const char* verb : {"rollout", "undo", "scale", "purge", "kill", "cronjob", "get", "list", "ops", "policy"}) {
    std::string help = VerbHelp(verb);
    EXPECT_THAT(help, HasSubstr(absl::StrCat("Usage:\n  herdctl ", verb))) << verb;
    EXPECT_THAT(help, HasSubstr("Examples:")) << verb;
    EXPECT_THAT(OverallHelp(), HasSubstr(absl::StrCat("  ", verb, " "))) << verb;
  }
  EXPECT_THAT(VerbHelp("scale"), HasSubstr("--dry-run"));
  EXPECT_THAT(VerbHelp("get"), ::testing::Not(HasSubstr("--dry-run")));
  EXPECT_EQ(VerbHelp("frobnicate"), "");
}

TEST(Help, OverviewDocumentsDefaultsAndExitCodes) {
  const std::string help = OverallHelp();
  EXPECT_THAT(help, HasSubstr("default 127.0.0.1:50051"));
  EXPECT_THAT(help, HasSubstr("HERD_TOKEN_FILE"));
  for (const char* line : {"  0  success", "  1  the operation failed", "  2  bad usage", "  3  the server is unreachable",
                           "  4  the server refused", "  5  gave up waiting", "  6  any other error"}) {
    EXPECT_THAT(help, HasSubstr(line));
  }
}

TEST(ShortResourceName, KubectlStyle) {
  EXPECT_EQ(ShortResourceName("namespaces/shop/deployments/web"), "deploy/web");
  EXPECT_EQ(ShortResourceName("namespaces/shop/statefulsets/db"), "sts/db");
  EXPECT_EQ(ShortResourceName("namespaces/shop/cronjobs/nightly", true), "shop/cj/nightly");
  EXPECT_EQ(ShortResourceName("namespaces/shop/pods?labelSelector=app%3Dweb%2Ctier%21%3Dcanary"),
            "pods -l app=web,tier!=canary");
  EXPECT_EQ(ShortResourceName("namespaces/shop/pods?labelSelector=app=web"), "pods -l app=web");
  EXPECT_EQ(ShortResourceName("something/else"), "something/else");
  EXPECT_EQ(NamespaceOf("namespaces/shop/pods?labelSelector=a"), "shop");
  EXPECT_EQ(NamespaceOf("namespaces/shop?x"), "shop");
  EXPECT_EQ(NamespaceOf("operations/x"), "");
}

// Found by fuzzing (test/fuzz/corpus/duration/beyond-protobuf-range):
// "9223372036854775807m" parsed into a duration no google.protobuf.Duration
// can hold (at most 10000 years), which went to the server as an invalid
// message. Every duration flag now stops there.
TEST(ParseDurations, RefusesDurationsTheApiCannotCarry) {
  ExpectUsageError({"purge", "deploy/web", "--older-than=9223372036854775807m"}, "must be at most 10000 years",
                   "purge");
  ExpectUsageError({"scale", "deploy/web", "--replicas=1", "--hpa-hold=87660001h"}, "must be at most 10000 years",
                   "scale");
  absl::StatusOr<Command> longest = Parse({"scale", "deploy/web", "--replicas=1", "--hpa-hold=87600000h"});
  ASSERT_TRUE(longest.ok()) << longest.status();
  EXPECT_EQ(longest->scale.hpa_hold().seconds(), 315'360'000'000);
}

}  // namespace
}  // namespace herd::herdctl
