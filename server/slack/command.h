// The text of a `/herd …` Slack command, parsed into what herdctl would
// send: the words are turned into herdctl's command line and read by
// herdctl's own parser (client/herdctl_args.h), so a flag means the same
// in Slack and in a terminal.
//
//   /herd rollout shop/web web=registry.example/web:42 reason: hotfix for #812
//   /herd undo shop/web            /herd scale shop/worker 12   (or +2, -2)
//   /herd purge shop/web [burn]    /herd kill shop/web-7f9c-abcde
//   /herd cronjob run batch/report /herd status shop/web   /herd ops [shop]
//   /herd cancel 7f3a9c            /herd help [rollout]
//
// Workloads are NAMESPACE/NAME (a Deployment, StatefulSet or CronJob,
// whichever exists; the caller's resolver decides) or NAMESPACE/KIND/NAME. Any
// herdctl flag of the verb works (--dry-run, --strategy=rolling, …), but
// not the connection, output or namespace flags, which have no meaning
// here. `reason:` takes the rest of the text, quotes removed.
//
//   absl::StatusOr<SlackCommand> c = ParseSlackCommand(text, resolver);
//   if (!c.ok()) reply(c.status().message());  // what is wrong, then the usage
#ifndef HERD_SERVER_SLACK_COMMAND_H_
#define HERD_SERVER_SLACK_COMMAND_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/herdctl_args.h"

namespace herd::slack {

struct SlackCommand {
  // kHelp: `help_topic` ("" for the overview); every other action as
  // herdctl parsed it (kGet for `status`, kOpsList for `ops`, kOpsCancel
  // for `cancel`).
  herdctl::Command command;
  std::string help_topic;
};

// The kind of workload NAMESPACE/NAME is: "deploy", "sts" or "cj", or an
// error to show (NOT_FOUND: none exists; INVALID_ARGUMENT: more than one).
using KindResolver = std::function<absl::StatusOr<std::string>(const std::string& ns, const std::string& name)>;

// INVALID_ARGUMENT for text herd cannot read: the first line says what is
// wrong, the rest is the usage of the command.
absl::StatusOr<SlackCommand> ParseSlackCommand(absl::string_view text, const KindResolver& resolve);

// `/herd help` (topic "") or `/herd help VERB`, as Slack mrkdwn.
std::string SlackHelp(absl::string_view topic);

}  // namespace herd::slack

#endif  // HERD_SERVER_SLACK_COMMAND_H_
