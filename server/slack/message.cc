#include "server/slack/message.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "client/herdctl_args.h"
#include "client/herdctl_format.h"

namespace herd::slack {
namespace {

using Json = nlohmann::json;
namespace v1 = ::herd::v1;

constexpr int kBarWidth = 20;
// Slack refuses a section text longer than 3000 characters.
constexpr size_t kMaxSectionText = 2900;

std::string Emoji(v1::OperationState s) {
  switch (s) {
    case v1::OPERATION_STATE_SUCCEEDED: return ":white_check_mark:";
    case v1::OPERATION_STATE_FAILED: return ":x:";
    case v1::OPERATION_STATE_ROLLED_BACK: return ":leftwards_arrow_with_hook:";
    case v1::OPERATION_STATE_CANCELLED: return ":no_entry_sign:";
    case v1::OPERATION_STATE_PENDING_APPROVAL: return ":raised_hand:";
    default: return ":hourglass_flowing_sand:";
  }
}

bool Running(const v1::Operation& op) {
  return op.state() == v1::OPERATION_STATE_PENDING || op.state() == v1::OPERATION_STATE_RUNNING ||
         op.state() == v1::OPERATION_STATE_PENDING_APPROVAL;
}

bool Held(const v1::Operation& op) { return op.state() == v1::OPERATION_STATE_PENDING_APPROVAL; }

std::string Utc(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

// Who may approve and until when, or who decided.
std::string ApprovalLine(const v1::Operation& op) {
  if (!op.has_approval()) return "";
  const v1::Approval& a = op.approval();
  std::string approvers;
  for (const auto& name : a.approvers()) absl::StrAppend(&approvers, approvers.empty() ? "" : ", ", "*", EscapeMrkdwn(name), "*");
  switch (a.decision()) {
    case v1::APPROVAL_DECISION_UNSPECIFIED:
      if (!Held(op)) return "";
      return absl::StrCat(":raised_hand: waits for approval by ", approvers, " until ", Utc(a.deadline()),
                          " (rule ", EscapeMrkdwn(a.rule()), ")");
    case v1::APPROVAL_DECISION_APPROVED:
      return absl::StrCat("approved by *", EscapeMrkdwn(a.decided_by()), "*",
                          a.comment().empty() ? "" : absl::StrCat(": ", EscapeMrkdwn(a.comment())));
    case v1::APPROVAL_DECISION_REJECTED:
      return absl::StrCat("rejected by *", EscapeMrkdwn(a.decided_by()), "*",
                          a.comment().empty() ? "" : absl::StrCat(": ", EscapeMrkdwn(a.comment())));
    case v1::APPROVAL_DECISION_EXPIRED:
      return absl::StrCat("not approved by its deadline, ", Utc(a.deadline()));
    default:
      return "";
  }
}

Json Mrkdwn(std::string text) {
  if (text.size() > kMaxSectionText) text = absl::StrCat(text.substr(0, kMaxSectionText), "…");
  return {{"type", "mrkdwn"}, {"text", std::move(text)}};
}

Json Section(std::string text) { return {{"type", "section"}, {"text", Mrkdwn(std::move(text))}}; }

Json Button(absl::string_view label, absl::string_view action, const std::string& value, absl::string_view style,
            absl::string_view confirm) {
  Json b = {{"type", "button"},
            {"text", {{"type", "plain_text"}, {"text", label}}},
            {"action_id", action},
            {"value", value}};
  if (!style.empty()) b["style"] = style;
  if (!confirm.empty()) {
    b["confirm"] = {{"title", {{"type", "plain_text"}, {"text", "Are you sure?"}}},
                    {"text", {{"type", "mrkdwn"}, {"text", EscapeMrkdwn(confirm)}}},
                    {"confirm", {{"type", "plain_text"}, {"text", label}}},
                    {"deny", {{"type", "plain_text"}, {"text", "Keep it"}}}};
  }
  return b;
}

std::string Bar(double fraction) {
  const int filled = std::clamp(static_cast<int>(fraction * kBarWidth + 0.5), 0, kBarWidth);
  std::string out;
  for (int i = 0; i < kBarWidth; ++i) out += i < filled ? "\u2588" : "\u2591";
  return absl::StrCat("`", out, "` ", static_cast<int>(fraction * 100 + 0.5), "%");
}

}  // namespace

std::string EscapeMrkdwn(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

Json OperationMessage(const v1::Operation& op, const Asker& asker, absl::Time now) {
  const std::string target = herdctl::ShortResourceName(op.target(), /*with_namespace=*/true);
  const std::string id = herdctl::OperationId(op.name());
  const std::string kind = herdctl::KindName(op.kind());
  std::string headline;
  if (Running(op)) {
    headline = absl::StrCat(Emoji(op.state()), " *", kind, "* of `", EscapeMrkdwn(target), "`: ",
                            herdctl::StateName(op.state()));
    if (auto start = op.create_time().seconds(); start > 0) {
      absl::StrAppend(&headline, " for ", herdctl::ShortDuration(now - absl::FromUnixSeconds(start)));
    }
  } else {
    headline = absl::StrCat(Emoji(op.state()), " ", EscapeMrkdwn(herdctl::FormatOutcome(op)));
  }

  std::vector<Json> blocks;
  blocks.push_back(Section(headline));

  std::string who = asker.slack_user.empty() ? "" : absl::StrCat("<@", EscapeMrkdwn(asker.slack_user), "> as ");
  std::string context = absl::StrCat("by ", who, "*", EscapeMrkdwn(op.principal()), "* · `", EscapeMrkdwn(id), "`");
  if (!op.reason().empty()) absl::StrAppend(&context, " · reason: ", EscapeMrkdwn(op.reason()));
  blocks.push_back({{"type", "context"}, {"elements", Json::array({Mrkdwn(context)})}});

  std::string detail;
  for (const std::string& change : op.plan().changes()) absl::StrAppend(&detail, "• ", EscapeMrkdwn(change), "\n");
  if (std::optional<double> f = herdctl::ProgressFraction(op)) absl::StrAppend(&detail, Bar(*f), "  ");
  absl::StrAppend(&detail, EscapeMrkdwn(herdctl::ProgressText(op)));
  if (Running(op) && op.events_size() > 0) {
    absl::StrAppend(&detail, "\n_", EscapeMrkdwn(op.events(op.events_size() - 1).message()), "_");
  }
  if (std::string approval = ApprovalLine(op); !approval.empty()) absl::StrAppend(&detail, "\n", approval);
  if (!absl::StripAsciiWhitespace(detail).empty()) blocks.push_back(Section(detail));

  if (std::string failure = herdctl::FormatFailure(op); !failure.empty()) {
    blocks.push_back(Section(absl::StrCat("```", EscapeMrkdwn(failure), "```")));
  }

  std::vector<Json> buttons;
  if (Held(op)) {
    buttons.push_back(Button("Approve", kApproveAction, op.name(), "primary",
                             absl::StrCat("Approve the ", kind, " of ", target, "? It starts at once.")));
    buttons.push_back(Button("Reject", kRejectAction, op.name(), "danger", ""));
  }
  if (Running(op)) {
    buttons.push_back(Button("Cancel", kCancelAction, op.name(), "danger",
                             absl::StrCat("Cancel the ", kind, " of ", target, "?")));
  } else if (op.state() == v1::OPERATION_STATE_SUCCEEDED &&
             (op.kind() == v1::OPERATION_KIND_ROLLOUT || op.kind() == v1::OPERATION_KIND_UNDO)) {
    buttons.push_back(Button("Roll back", kRollBackAction, op.name(), "",
                             absl::StrCat("Roll ", target, " back to the revision before this ", kind, "?")));
  }
  if (!buttons.empty()) blocks.push_back({{"type", "actions"}, {"elements", buttons}});

  std::string fallback = Running(op) ? absl::StrCat(kind, " of ", target, ": ", herdctl::StateName(op.state()))
                                     : herdctl::FormatOutcome(op);
  return {{"text", fallback}, {"blocks", blocks}};
}

Json TextReply(absl::string_view mrkdwn, bool ephemeral) {
  return {{"response_type", ephemeral ? "ephemeral" : "in_channel"}, {"text", std::string(mrkdwn)}};
}

}  // namespace herd::slack
