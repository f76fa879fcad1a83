// Slack messages (Block Kit JSON) herd posts: one per operation, updated in
// place as it runs (who, what, target, a progress bar, the result with its
// reason and the failing pods' last log lines, the duration, and buttons:
// Approve and Reject while it waits for approval, Cancel until it ends,
// Roll back after a rollout or undo succeeded), and
// short replies. Everything that comes from the cluster or a person is
// escaped for mrkdwn.
//
//   nlohmann::json m = OperationMessage(op, {.slack_user = "U024BE7LH"}, absl::Now());
//   api.UpdateMessage(channel, ts, m);
#ifndef HERD_SERVER_SLACK_MESSAGE_H_
#define HERD_SERVER_SLACK_MESSAGE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "herd/v1/herd.pb.h"

namespace herd::slack {

// action_ids of the buttons; their value is the operation's name.
inline constexpr char kCancelAction[] = "herd_cancel";
inline constexpr char kRollBackAction[] = "herd_roll_back";
inline constexpr char kApproveAction[] = "herd_approve";
inline constexpr char kRejectAction[] = "herd_reject";

struct Asker {
  // The Slack member who asked ("" when not from Slack).
  std::string slack_user;
};

// The message of an operation as it stands.
nlohmann::json OperationMessage(const herd::v1::Operation& op, const Asker& asker, absl::Time now);

// A reply only the asker sees ("ephemeral") or everyone in the channel.
nlohmann::json TextReply(absl::string_view mrkdwn, bool ephemeral = true);

// `&`, `<` and `>` as Slack's mrkdwn wants them.
std::string EscapeMrkdwn(absl::string_view text);

}  // namespace herd::slack

#endif  // HERD_SERVER_SLACK_MESSAGE_H_
