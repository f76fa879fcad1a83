#include "server/slack/verify.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/policy.h"

namespace herd::slack {
namespace {

using ::testing::HasSubstr;

// Slack's own example, from "Verifying requests from Slack".
constexpr char kSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr char kTimestamp[] = "1531420618";
constexpr char kBody[] =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
constexpr char kSignature[] = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

class VerifyTest : public ::testing::Test {
 protected:
  RequestVerifier Make() {
    return RequestVerifier(kSecret, {.now = [this] { return now_; }});
  }
  static http::Headers Signed(absl::string_view timestamp, absl::string_view signature) {
    return {{"X-Slack-Request-Timestamp", std::string(timestamp)}, {"X-Slack-Signature", std::string(signature)}};
  }
  absl::Time now_ = absl::FromUnixSeconds(1531420618) + absl::Seconds(3);
};

TEST_F(VerifyTest, SlacksPublishedExampleVerifies) {
  RequestVerifier v = Make();
  EXPECT_TRUE(v.Verify(Signed(kTimestamp, kSignature), kBody).ok());
}

TEST_F(VerifyTest, AWrongSignatureOrAChangedBodyIsRefused) {
  RequestVerifier v = Make();
  absl::Status changed = v.Verify(Signed(kTimestamp, kSignature), absl::StrCat(kBody, "&text=kill"));
  EXPECT_TRUE(absl::IsUnauthenticated(changed));
  EXPECT_THAT(changed.message(), HasSubstr("does not match"));
  std::string other = absl::StrCat(
      "v0=", auth::HexOf(auth::HmacSha256("another-secret", absl::StrCat("v0:", kTimestamp, ":", kBody))));
  EXPECT_TRUE(absl::IsUnauthenticated(v.Verify(Signed(kTimestamp, other), kBody)));
  EXPECT_TRUE(absl::IsUnauthenticated(v.Verify(Signed(kTimestamp, "v0=abc"), kBody)));
  EXPECT_TRUE(absl::IsUnauthenticated(v.Verify(Signed(kTimestamp, std::string(kSignature).substr(3)), kBody)));
}

TEST_F(VerifyTest, StaleAndFutureTimestampsAreRefused) {
  RequestVerifier v = Make();
  now_ = absl::FromUnixSeconds(1531420618) + absl::Minutes(5) + absl::Seconds(1);
  absl::Status stale = v.Verify(Signed(kTimestamp, kSignature), kBody);
  EXPECT_TRUE(absl::IsUnauthenticated(stale));
  EXPECT_THAT(stale.message(), HasSubstr("more than 5m"));
  now_ = absl::FromUnixSeconds(1531420618) - absl::Minutes(6);
  EXPECT_TRUE(absl::IsUnauthenticated(v.Verify(Signed(kTimestamp, kSignature), kBody)));
}

TEST_F(VerifyTest, MissingOrMalformedHeadersAreRefused) {
  RequestVerifier v = Make();
  EXPECT_THAT(v.Verify({}, kBody).message(), HasSubstr("missing"));
  EXPECT_THAT(v.Verify({{"X-Slack-Signature", kSignature}}, kBody).message(), HasSubstr("missing"));
  EXPECT_THAT(v.Verify(Signed("soon", kSignature), kBody).message(), HasSubstr("not a Unix time"));
}

TEST_F(VerifyTest, AReplayIsRefusedWhileItsTimestampIsFresh) {
  RequestVerifier v = Make();
  ASSERT_TRUE(v.Verify(Signed(kTimestamp, kSignature), kBody).ok());
  absl::Status again = v.Verify(Signed(kTimestamp, kSignature), kBody);
  EXPECT_TRUE(absl::IsUnauthenticated(again));
  EXPECT_THAT(again.message(), HasSubstr("replay"));
  // Once out of the window it is stale instead, and no longer remembered.
  now_ += absl::Minutes(6);
  EXPECT_THAT(v.Verify(Signed(kTimestamp, kSignature), kBody).message(), HasSubstr("more than 5m"));
}

}  // namespace
}  // namespace herd::slack
