#include "server/slack/verify.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "openssl/crypto.h"
#include "server/auth/policy.h"

namespace herd::slack {

RequestVerifier::RequestVerifier(std::string signing_secret, VerifierOptions options)
    : secret_(std::move(signing_secret)), options_(std::move(options)) {}

absl::Status RequestVerifier::Verify(const http::Headers& headers, absl::string_view body) {
  absl::string_view timestamp = absl::StripAsciiWhitespace(headers.Get("X-Slack-Request-Timestamp"));
  absl::string_view signature = absl::StripAsciiWhitespace(headers.Get("X-Slack-Signature"));
  if (timestamp.empty() || signature.empty()) {
    return absl::UnauthenticatedError("not signed by Slack: X-Slack-Request-Timestamp or X-Slack-Signature is missing");
  }
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(timestamp, &seconds)) {
    return absl::UnauthenticatedError("X-Slack-Request-Timestamp is not a Unix time");
  }
  const absl::Time now = options_.now ? options_.now() : absl::Now();
  const absl::Time sent = absl::FromUnixSeconds(seconds);
  if (absl::AbsDuration(now - sent) > options_.window) {
    return absl::UnauthenticatedError(absl::StrCat("X-Slack-Request-Timestamp is more than ",
                                                   absl::FormatDuration(options_.window),
                                                   " away from herdd's clock (a replay, or a clock to fix)"));
  }
  std::string expected = absl::StrCat(
      "v0=", auth::HexOf(auth::HmacSha256(secret_, absl::StrCat("v0:", timestamp, ":", body))));
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return absl::UnauthenticatedError("X-Slack-Signature does not match the body (wrong signing secret?)");
  }

  absl::MutexLock lock(&mu_);
  while (!expiry_.empty() && expiry_.begin()->first < now) {
    seen_.erase(expiry_.begin()->second);
    expiry_.erase(expiry_.begin());
  }
  if (!seen_.insert(std::string(signature)).second) {
    return absl::UnauthenticatedError("this request was already received (a replay)");
  }
  expiry_.emplace(sent + options_.window, std::string(signature));
  return absl::OkStatus();
}

}  // namespace herd::slack
