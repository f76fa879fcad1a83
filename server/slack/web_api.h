// What herd says to Slack: its Web API (chat.postMessage, chat.update, with
// the bot token) and a command's response_url. Calls are synchronous (made
// from chatops' worker threads, never an operation's), retried on 429 after
// the Retry-After Slack sends, and (but for chat.postMessage, which would
// post twice) on 5xx or a connection failure with exponential backoff.
//
//   WebApi api({.api_url = "https://slack.com/api", .bot_token = token});
//   absl::StatusOr<std::string> ts = api.PostMessage("C0SHOP", message);
//   api.UpdateMessage("C0SHOP", *ts, newer);
//
// Thread-safe.
#ifndef HERD_SERVER_SLACK_WEB_API_H_
#define HERD_SERVER_SLACK_WEB_API_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace herd::slack {

struct WebApiOptions {
  // Where the Web API's methods live (herdd --slack-api-url).
  std::string api_url = "https://slack.com/api";
  // xoxb-…; empty: no bot, PostMessage and UpdateMessage are FAILED_PRECONDITION.
  std::string bot_token;
  absl::Duration timeout = absl::Seconds(10);
  // Tries per call, the first included.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(500);
  // Longest wait for a Retry-After.
  absl::Duration max_retry_after = absl::Seconds(30);
  // Tests: waits; null: absl::SleepFor.
  std::function<void(absl::Duration)> sleep;
};

class WebApi {
 public:
  explicit WebApi(WebApiOptions options);

  bool has_bot() const { return !options_.bot_token.empty(); }

  // chat.postMessage to `channel` of `message` (text, blocks); the new
  // message's ts.
  absl::StatusOr<std::string> PostMessage(const std::string& channel, nlohmann::json message);
  // chat.update of the message `ts` in `channel`.
  absl::Status UpdateMessage(const std::string& channel, const std::string& ts, nlohmann::json message);
  // POSTs `message` to a command's or an action's response_url.
  absl::Status Respond(const std::string& response_url, const nlohmann::json& message);

  // Counts of what was sent and what failed, for /metrics.
  struct Stats {
    int64_t calls = 0;
    int64_t retries = 0;
    int64_t failures = 0;
  };
  Stats stats() const;

 private:
  // Posts with retries (only after a 429 unless `idempotent`); the
  // answer's JSON for the Web API.
  absl::StatusOr<nlohmann::json> Send(const std::string& what, const std::string& url, const nlohmann::json& body,
                                      bool with_token, bool idempotent);

  const WebApiOptions options_;
  mutable std::atomic<int64_t> calls_{0}, retries_{0}, failures_{0};
};

}  // namespace herd::slack

#endif  // HERD_SERVER_SLACK_WEB_API_H_
