// herdctl's command line (client/herdctl_args.h): the arguments, one per
// input line, through ParseCommandLine and the name helpers. A command line
// either parses or is refused with INVALID_ARGUMENT and a usage line.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/herdctl_args.h"

namespace hc = herd::herdctl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  if (!input.empty()) args = absl::StrSplit(input, '\n');

  absl::StatusOr<hc::Command> cmd = hc::ParseCommandLine(args, "default");
  if (!cmd.ok() && cmd.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
  if (cmd.ok()) {
    // What herdctl reads from a parsed command before sending it.
    for (const std::string* name : std::initializer_list<const std::string*>{&cmd->rollout.workload(), &cmd->undo.workload(), &cmd->scale.workload(),
                                    &cmd->purge.workload(), &cmd->cronjob.cronjob(), &cmd->get.name(),
                                    &cmd->operation, &cmd->cancel.name()}) {
      (void)hc::ShortResourceName(*name, true);
      (void)hc::NamespaceOf(*name);
      (void)hc::OperationId(*name);
    }
    (void)cmd->kill.SerializeAsString();
    (void)cmd->list.SerializeAsString();
    (void)cmd->ops_list.SerializeAsString();
    if (cmd->action == hc::Action::kHelp) (void)hc::VerbHelp(cmd->help_topic);
  }
  for (const std::string& a : args) {
    (void)hc::ShortResourceName(a, false);
    (void)hc::ShortResourceName(a, true);
    (void)hc::NamespaceOf(a);
    (void)hc::OperationId(a);
    (void)hc::UsageLine(a);
    (void)hc::VerbHelp(a);
  }
  return 0;
}
