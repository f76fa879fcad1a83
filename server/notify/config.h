// Where herd tells the world that an operation ended: the notifications
// file (herdd --notifications-file), re-read when it changes.
//
//   sinks:
//     - name: oncall                       # Slack incoming webhook
//       slackWebhook: https://hooks.slack.com/services/T000/B000/XXXX
//       match:
//         namespaces: ["prod-*"]           # globs; default every namespace
//         kinds: [rollout, purge]          # rollout undo scale purge kill cronjob; default all
//         outcomes: [failed, rolled_back]  # started succeeded failed cancelled rolled_back
//                                          # pending_approval (held by an approval rule);
//                                          # default all but started
//     - name: ci                           # CloudEvents 1.0, structured JSON
//       cloudEvents: https://ci.example/herd/events
//       secret: "…"                        # HMAC-SHA256 of the body in X-Herd-Signature
//
// `slackWebhookFile:`, `cloudEventsFile:` and `secretFile:` read the value
// from a file instead (a mounted Secret), relative to the config's folder.
#ifndef HERD_SERVER_NOTIFY_CONFIG_H_
#define HERD_SERVER_NOTIFY_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herd::notify {

struct Sink {
  enum class Type { kSlack, kCloudEvents };
  std::string name;
  Type type = Type::kCloudEvents;
  std::string url;
  // HMAC-SHA256 key for X-Herd-Signature ("": unsigned).
  std::string secret;
  std::vector<std::string> namespaces;  // globs
  std::vector<std::string> kinds;       // empty: all
  std::vector<std::string> outcomes;    // empty: every end, and pending_approval

  // Whether an event of operation `kind` ("rollout", "cronjob", …) in `ns`
  // with `outcome` ("failed", …) goes here.
  bool Matches(absl::string_view ns, absl::string_view kind, absl::string_view outcome) const;
};

struct Config {
  std::vector<Sink> sinks;
};

// INVALID_ARGUMENT as "SOURCE:LINE:COLUMN: what is wrong": malformed YAML,
// unknown keys, kinds or outcomes, a sink without a name or URL (or with
// two), a URL that is not http(s), a name used twice, an unreadable file.
// Files named in it are read relative to `dir`.
absl::StatusOr<Config> ParseConfig(absl::string_view yaml, absl::string_view source, const std::string& dir);
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

}  // namespace herd::notify

#endif  // HERD_SERVER_NOTIFY_CONFIG_H_
