#include "server/slack/web_api.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/http/client.h"
#include "common/log/log.h"

namespace herd::slack {
namespace {

using Json = nlohmann::json;

}  // namespace

WebApi::WebApi(WebApiOptions options) : options_(std::move(options)) {}

absl::StatusOr<Json> WebApi::Send(const std::string& what, const std::string& url, const Json& body, bool with_token,
                                  bool idempotent) {
  const std::string text = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    ++calls_;
    std::vector<std::string> headers = {"Content-Type: application/json; charset=utf-8"};
    if (with_token) headers.push_back(absl::StrCat("Authorization: Bearer ", options_.bot_token));
    http::PostResult a = http::Post(url, text, headers, options_.timeout);
    absl::Duration wait = backoff;
    if (!a.error.empty()) {
      last = absl::UnavailableError(absl::StrCat(what, ": ", a.error));
    } else if (a.status == 429) {
      int64_t seconds = 1;
      if (!absl::SimpleAtoi(a.retry_after, &seconds) || seconds < 0) seconds = 1;
      wait = std::min(absl::Seconds(seconds), options_.max_retry_after);
      last = absl::ResourceExhaustedError(absl::StrCat(what, ": Slack answered 429 (rate limited)"));
    } else if (a.status >= 500) {
      last = absl::UnavailableError(absl::StrCat(what, ": Slack answered ", a.status));
    } else if (a.status >= 300) {
      ++failures_;
      return absl::FailedPreconditionError(absl::StrCat(what, ": Slack answered ", a.status, ": ", a.body.substr(0, 200)));
    } else {
      Json answer = Json::parse(a.body, nullptr, /*allow_exceptions=*/false);
      if (answer.is_object() && answer.contains("ok") && answer["ok"].is_boolean() && !answer["ok"].get<bool>()) {
        ++failures_;
        std::string error = answer.contains("error") && answer["error"].is_string() ? answer["error"].get<std::string>()
                                                                                    : "unknown error";
        return absl::FailedPreconditionError(absl::StrCat(what, ": Slack refused: ", error));
      }
      return answer;  // response_url answers "ok" as text: not JSON, still done
    }
    // A post that may have arrived (no answer, or a 5xx) is not made again
    // where a second one would show twice; a 429 was refused, so it may be.
    if (attempt == options_.max_attempts || (!idempotent && a.status != 429)) break;
    ++retries_;
    log::Info("slack call retried", {{"call", what}, {"error", last}, {"in", absl::FormatDuration(wait)}});
    if (options_.sleep) {
      options_.sleep(wait);
    } else {
      absl::SleepFor(wait);
    }
    backoff *= 2;
  }
  ++failures_;
  return last;
}

absl::StatusOr<std::string> WebApi::PostMessage(const std::string& channel, Json message) {
  if (!has_bot()) return absl::FailedPreconditionError("no Slack bot token (herdd --slack-bot-token-file)");
  message["channel"] = channel;
  absl::StatusOr<Json> answer =
      Send("chat.postMessage", absl::StrCat(options_.api_url, "/chat.postMessage"), message, true, /*idempotent=*/false);
  if (!answer.ok()) return answer.status();
  std::string ts = answer->is_object() && answer->contains("ts") && (*answer)["ts"].is_string()
                       ? (*answer)["ts"].get<std::string>()
                       : "";
  if (ts.empty()) return absl::InternalError("chat.postMessage: Slack's answer has no ts");
  return ts;
}

absl::Status WebApi::UpdateMessage(const std::string& channel, const std::string& ts, Json message) {
  if (!has_bot()) return absl::FailedPreconditionError("no Slack bot token (herdd --slack-bot-token-file)");
  message["channel"] = channel;
  message["ts"] = ts;
  return Send("chat.update", absl::StrCat(options_.api_url, "/chat.update"), message, true, /*idempotent=*/true).status();
}

absl::Status WebApi::Respond(const std::string& response_url, const Json& message) {
  return Send("response_url", response_url, message, false, /*idempotent=*/true).status();
}

WebApi::Stats WebApi::stats() const { return {calls_.load(), retries_.load(), failures_.load()}; }

}  // namespace herd::slack
