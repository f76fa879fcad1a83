#include "server/slack/command.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::slack {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using herdctl::Action;

// shop/db is a StatefulSet, shop/both is both kinds, nothing else exists
// but Deployments.
absl::StatusOr<std::string> Resolve(const std::string& ns, const std::string& name) {
  if (ns == "shop" && name == "db") return "sts";
  if (name == "both") return absl::InvalidArgumentError("shop/both is both a Deployment and a StatefulSet");
  if (name == "ghost") return absl::NotFoundError("there is no Deployment or StatefulSet shop/ghost");
  return "deploy";
}

absl::StatusOr<SlackCommand> Parse(absl::string_view text) { return ParseSlackCommand(text, Resolve); }

std::string Error(absl::string_view text) {
  absl::StatusOr<SlackCommand> c = Parse(text);
  EXPECT_FALSE(c.ok()) << text;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(SlackCommandTest, RolloutWithImagesFlagsAndAReason) {
  auto c = Parse("rollout shop/web web=registry.example/web:42 --strategy=rolling reason: \u201chotfix for #812\u201d");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->command.action, Action::kRollout);
  EXPECT_EQ(c->command.rollout.workload(), "namespaces/shop/deployments/web");
  EXPECT_EQ(c->command.rollout.images().at("web"), "registry.example/web:42");
  EXPECT_EQ(c->command.rollout.strategy(), v1::ROLLOUT_STRATEGY_ROLLING);
  EXPECT_EQ(c->command.rollout.options().reason(), "hotfix for #812");
  EXPECT_FALSE(c->command.rollout.options().dry_run());
}

TEST(SlackCommandTest, KindsComeFromTheResolverOrAreWritten) {
  auto sts = Parse("undo shop/db --dry-run");
  ASSERT_TRUE(sts.ok()) << sts.status();
  EXPECT_EQ(sts->command.undo.workload(), "namespaces/shop/statefulsets/db");
  EXPECT_TRUE(sts->command.undo.options().dry_run());
  auto written = Parse("undo shop/sts/cache");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->command.undo.workload(), "namespaces/shop/statefulsets/cache");
  EXPECT_THAT(Error("undo shop/both"), HasSubstr("both a Deployment and a StatefulSet"));
  EXPECT_THAT(Error("status shop/ghost"), HasSubstr("no Deployment or StatefulSet"));
}

TEST(SlackCommandTest, ScaleTakesACountOrADelta) {
  auto to = Parse("scale shop/worker 12");
  ASSERT_TRUE(to.ok()) << to.status();
  EXPECT_EQ(to->command.scale.replicas(), 12);
  auto up = Parse("scale shop/worker +2");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->command.scale.delta(), 2);
  auto down = Parse("scale shop/worker -2 --hpa-hold=20m");
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->command.scale.delta(), -2);
  EXPECT_EQ(down->command.scale.hpa_hold().seconds(), 1200);
  EXPECT_THAT(Error("scale shop/worker"), HasSubstr("give the replica count"));
  EXPECT_THAT(Error("scale shop/worker lots"), HasSubstr("Usage: `/herd scale"));
}

TEST(SlackCommandTest, PurgeKillAndCronJobs) {
  auto burn = Parse("purge shop/web burn");
  ASSERT_TRUE(burn.ok()) << burn.status();
  EXPECT_EQ(burn->command.purge.mode(), v1::PURGE_MODE_BURN);
  auto rolling = Parse("purge shop/web");
  ASSERT_TRUE(rolling.ok()) << rolling.status();
  EXPECT_EQ(rolling->command.purge.workload(), "namespaces/shop/deployments/web");

  auto kill = Parse("kill shop/web-7f9c-abcde shop/web-7f9c-fghij");
  ASSERT_TRUE(kill.ok()) << kill.status();
  EXPECT_EQ(kill->command.action, Action::kKill);
  EXPECT_EQ(kill->command.kill.namespace_(), "shop");
  ASSERT_EQ(kill->command.kill.pods_size(), 2);
  EXPECT_EQ(kill->command.kill.pods(1), "web-7f9c-fghij");
  EXPECT_THAT(Error("kill shop/a other/b"), HasSubstr("one namespace at a time"));

  auto run = Parse("cronjob run batch/report");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->command.action, Action::kCronJobRun);
  EXPECT_EQ(run->command.cronjob.cronjob(), "namespaces/batch/cronjobs/report");
  auto kill_jobs = Parse("cronjob kill-jobs batch/report");
  ASSERT_TRUE(kill_jobs.ok()) << kill_jobs.status();
  EXPECT_EQ(kill_jobs->command.action, Action::kCronJobKill);
  EXPECT_THAT(Error("cronjob explode batch/report"), HasSubstr("unknown action \"explode\""));
}

TEST(SlackCommandTest, StatusOpsCancelAndHelp) {
  auto status = Parse("status shop/web");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->command.action, Action::kGet);
  EXPECT_EQ(status->command.get.name(), "namespaces/shop/deployments/web");

  auto all = Parse("ops");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->command.action, Action::kOpsList);
  EXPECT_TRUE(all->command.global.all_namespaces);
  EXPECT_EQ(all->command.ops_limit, 10);
  auto shop = Parse("ops shop --limit=3");
  ASSERT_TRUE(shop.ok()) << shop.status();
  EXPECT_EQ(shop->command.ops_list.namespace_(), "shop");
  EXPECT_EQ(shop->command.ops_limit, 3);

  auto cancel = Parse("cancel 7f3a9c");
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  EXPECT_EQ(cancel->command.action, Action::kOpsCancel);
  EXPECT_EQ(cancel->command.cancel.name(), "operations/7f3a9c");

  auto help = Parse("help scale");
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->command.action, Action::kHelp);
  EXPECT_EQ(help->help_topic, "scale");
  auto empty = Parse("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->command.action, Action::kHelp);
  EXPECT_THAT(SlackHelp(""), HasSubstr("/herd rollout"));
  EXPECT_THAT(SlackHelp("scale"), StartsWith("`/herd scale"));
}

TEST(SlackCommandTest, ATypoGetsTheUsageOfItsCommand) {
  EXPECT_THAT(Error("rollout shop"), HasSubstr("Usage: `/herd rollout NAMESPACE/WORKLOAD"));
  EXPECT_THAT(Error("rollout shop/web --stratgy=fast"), HasSubstr("Usage: `/herd rollout"));
  EXPECT_THAT(Error("rolout shop/web"), HasSubstr("unknown command \"rolout\""));
  EXPECT_THAT(Error("undo shop/web extra"), HasSubstr("unexpected \"extra\""));
  EXPECT_THAT(Error("status shop/web reason: why"), HasSubstr("takes no reason"));
}

TEST(SlackCommandTest, FlagsSlackDecidesAreRefused) {
  EXPECT_THAT(Error("rollout shop/web web=x:1 --server=evil:50051"), HasSubstr("--server=evil:50051 has no meaning in Slack"));
  EXPECT_THAT(Error("rollout shop/web web=x:1 -n kube-system"), HasSubstr("has no meaning in Slack"));
  EXPECT_THAT(Error("scale shop/web 3 --token=abc"), HasSubstr("has no meaning in Slack"));
  // A short flag with its value glued on is still that flag.
  EXPECT_THAT(Error("scale shop/web 0 -nkube-system"), HasSubstr("-nkube-system has no meaning in Slack"));
  EXPECT_THAT(Error("status shop/web -ojson"), HasSubstr("has no meaning in Slack"));
  // --wait is what Slack always does.
  EXPECT_TRUE(Parse("scale shop/web 3 --wait").ok());
}

TEST(SlackCommandTest, SlackEscapesAndLinksAreUndone) {
  auto c = Parse("rollout shop/web web=<http://registry.example/web:42|registry.example/web:42> reason: a &lt;b&gt; &amp; c");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->command.rollout.images().at("web"), "registry.example/web:42");
  EXPECT_EQ(c->command.rollout.options().reason(), "a <b> & c");
}

}  // namespace
}  // namespace herd::slack
