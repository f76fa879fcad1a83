#include "server/slack/message.h"

#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::slack {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

v1::Operation Rollout(v1::OperationState state) {
  v1::Operation op;
  op.set_name("operations/7f3a9c");
  op.set_kind(v1::OPERATION_KIND_ROLLOUT);
  op.set_target("namespaces/shop/deployments/web");
  op.set_state(state);
  op.set_principal("alice");
  op.set_reason("release <42> & more");
  op.mutable_create_time()->set_seconds(1'700'000'000);
  op.mutable_progress()->set_desired(6);
  op.mutable_progress()->set_updated(6);
  op.mutable_progress()->set_ready(3);
  op.mutable_progress()->set_remaining(3);
  op.mutable_plan()->add_changes("image web: web:1 → web:2");
  return op;
}

std::string AllText(const Json& m) { return m.dump(); }

const Json* Actions(const Json& m) {
  for (const Json& b : m["blocks"]) {
    if (b["type"] == "actions") return &b;
  }
  return nullptr;
}

TEST(MessageTest, ARunningOperationShowsWhoWhatProgressAndCancel) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'012);
  Json m = OperationMessage(Rollout(v1::OPERATION_STATE_RUNNING), {.slack_user = "U024BE7LH"}, now);
  std::string text = AllText(m);
  EXPECT_THAT(text, HasSubstr("*rollout* of `shop/deploy/web`: Running for 12.0s"));
  EXPECT_THAT(text, HasSubstr("<@U024BE7LH> as *alice*"));
  EXPECT_THAT(text, HasSubstr("release &lt;42&gt; &amp; more"));
  EXPECT_THAT(text, HasSubstr("image web: web:1 → web:2"));
  EXPECT_THAT(text, HasSubstr("50%"));
  EXPECT_THAT(text, HasSubstr("updated 6/6, ready 3, available 0, old pods left 3"));
  EXPECT_EQ(m["text"], "rollout of shop/deploy/web: Running");
  const Json* actions = Actions(m);
  ASSERT_NE(actions, nullptr);
  ASSERT_EQ((*actions)["elements"].size(), 1u);
  EXPECT_EQ((*actions)["elements"][0]["action_id"], kCancelAction);
  EXPECT_EQ((*actions)["elements"][0]["value"], "operations/7f3a9c");
  EXPECT_TRUE((*actions)["elements"][0].contains("confirm"));
}

TEST(MessageTest, ASucceededRolloutOffersARollBack) {
  v1::Operation op = Rollout(v1::OPERATION_STATE_SUCCEEDED);
  op.mutable_end_time()->set_seconds(1'700'000'014);
  op.set_revision(7);
  Json m = OperationMessage(op, {}, absl::FromUnixSeconds(1'700'000'020));
  EXPECT_THAT(AllText(m), HasSubstr(":white_check_mark: rollout of deploy/web succeeded in 14.0s (revision 7)"));
  const Json* actions = Actions(m);
  ASSERT_NE(actions, nullptr);
  EXPECT_EQ((*actions)["elements"][0]["action_id"], kRollBackAction);
}

TEST(MessageTest, AHeldOperationOffersApproveRejectAndCancelThenSaysWhoDecided) {
  v1::Operation op = Rollout(v1::OPERATION_STATE_PENDING_APPROVAL);
  op.mutable_approval()->set_requester("alice");
  op.mutable_approval()->add_approvers("bob");
  op.mutable_approval()->add_approvers("<carol>");
  op.mutable_approval()->mutable_deadline()->set_seconds(1'700'003'600);
  op.mutable_approval()->set_rule("prod");
  Json m = OperationMessage(op, {}, absl::FromUnixSeconds(1'700'000'012));
  std::string text = AllText(m);
  EXPECT_THAT(text, HasSubstr(":raised_hand: *rollout* of `shop/deploy/web`: PendingApproval"));
  EXPECT_THAT(text, HasSubstr("waits for approval by *bob*, *&lt;carol&gt;* until 2023-11-14 23:13 UTC (rule prod)"));
  const Json* actions = Actions(m);
  ASSERT_NE(actions, nullptr);
  ASSERT_EQ((*actions)["elements"].size(), 3u);
  EXPECT_EQ((*actions)["elements"][0]["action_id"], kApproveAction);
  EXPECT_EQ((*actions)["elements"][0]["style"], "primary");
  EXPECT_EQ((*actions)["elements"][1]["action_id"], kRejectAction);
  EXPECT_EQ((*actions)["elements"][2]["action_id"], kCancelAction);
  for (const Json& b : (*actions)["elements"]) EXPECT_EQ(b["value"], "operations/7f3a9c");

  op.set_state(v1::OPERATION_STATE_CANCELLED);
  op.mutable_approval()->set_decision(v1::APPROVAL_DECISION_REJECTED);
  op.mutable_approval()->set_decided_by("bob");
  op.mutable_approval()->set_comment("not during the sale");
  m = OperationMessage(op, {}, absl::FromUnixSeconds(1'700'000'020));
  EXPECT_THAT(AllText(m), HasSubstr("rejected by *bob*: not during the sale"));
  EXPECT_THAT(AllText(m), Not(HasSubstr("waits for approval")));
  EXPECT_EQ(Actions(m), nullptr);
}

TEST(MessageTest, AFailureQuotesThePodsAndTheirLogLines) {
  v1::Operation op = Rollout(v1::OPERATION_STATE_ROLLED_BACK);
  op.mutable_end_time()->set_seconds(1'700'000'030);
  op.mutable_failure()->set_reason(v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF);
  v1::PodProblem* p = op.mutable_failure()->add_pods();
  p->set_pod("web-7f9c-abcde");
  p->set_reason("CrashLoopBackOff");
  p->add_log_tail("panic: <nil> map");
  Json m = OperationMessage(op, {}, absl::FromUnixSeconds(1'700'000'040));
  std::string text = AllText(m);
  EXPECT_THAT(text, HasSubstr("failed and was rolled back"));
  EXPECT_THAT(text, HasSubstr("web-7f9c-abcde"));
  EXPECT_THAT(text, HasSubstr("panic: &lt;nil&gt; map"));
  EXPECT_EQ(Actions(m), nullptr);  // nothing to cancel, nothing to roll back
}

TEST(MessageTest, NamesFromTheClusterAreEscaped) {
  v1::Operation op = Rollout(v1::OPERATION_STATE_RUNNING);
  op.set_principal("<!channel>");
  std::string text = AllText(OperationMessage(op, {}, absl::Now()));
  EXPECT_THAT(text, Not(HasSubstr("<!channel>")));
  EXPECT_THAT(text, HasSubstr("&lt;!channel&gt;"));
}

TEST(MessageTest, RepliesAreEphemeralUnlessSaid) {
  EXPECT_EQ(TextReply("hi")["response_type"], "ephemeral");
  EXPECT_EQ(TextReply("hi", false)["response_type"], "in_channel");
}

}  // namespace
}  // namespace herd::slack
