#include "sim/auth/auth.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::sim {
namespace {

using ::testing::ElementsAre;

TEST(TokenFile, ParsesTheApiServersFormat) {
  auto tokens = ParseTokenFile("# users\nt1,alice,u-1,\"dev,ops\"\n\nt2,bob,u-2\n");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].token, "t1");
  EXPECT_EQ((*tokens)[0].user.name, "alice");
  EXPECT_EQ((*tokens)[0].user.uid, "u-1");
  EXPECT_THAT((*tokens)[0].user.groups, ElementsAre("dev", "ops", "system:authenticated"));
  EXPECT_THAT((*tokens)[1].user.groups, ElementsAre("system:authenticated"));
  EXPECT_FALSE(ParseTokenFile("only-a-token\n").ok());
}

TEST(TokenSigner, IssuesJwtsWithAServiceAccountsClaimsAndChecksThem) {
  TokenSigner signer;
  absl::Time now = absl::FromUnixSeconds(1796250695);
  auto token = signer.Issue("refrbac", "ci", "uid-1", {kTokenAudience}, now, absl::Hours(1));
  ASSERT_TRUE(token.ok()) << token.status();
  std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  // ../shared/k8s-reference/tokenrequest.txt
  EXPECT_EQ(nlohmann::json::parse(payload), nlohmann::json::parse(R"({
    "aud": ["https://kubernetes.default.svc.cluster.local"], "exp": 1796254295, "iat": 1796250695,
    "iss": "https://kubernetes.default.svc.cluster.local",
    "kubernetes.io": {"namespace": "refrbac", "serviceaccount": {"name": "ci", "uid": "uid-1"}},
    "nbf": 1796250695, "sub": "system:serviceaccount:refrbac:ci"})"));
  EXPECT_TRUE(signer.Verify(*token, now + absl::Minutes(59)).ok());
  EXPECT_FALSE(signer.Verify(*token, now + absl::Hours(1)).ok());  // expired
  std::string forged = *token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.Verify(forged, now).ok());
  EXPECT_FALSE(TokenSigner().Verify(*token, now).ok());  // another server's key
}

TEST(Authenticator, KnowsAdminStaticAndServiceAccountTokens) {
  Authenticator authn({.admin_token = "root", .static_tokens = *ParseTokenFile("t1,alice,u-1,dev\n")});
  absl::Time now = absl::Now();
  auto lookup = [](const std::string& ns, const std::string& name) -> std::optional<std::string> {
    if (ns == "shop" && name == "ci") return "sa-uid";
    return std::nullopt;
  };
  auto admin = authn.Authenticate("Bearer root", "", lookup, now);
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ((*admin)->name, kAdminUser);
  EXPECT_TRUE((*admin)->InGroup("system:masters"));
  auto alice = authn.Authenticate("Bearer t1", "", lookup, now);
  EXPECT_EQ((*alice)->name, "alice");
  EXPECT_FALSE(authn.Authenticate("", "", lookup, now)->has_value());
  EXPECT_EQ(authn.Authenticate("Bearer nope", "", lookup, now).status().code(), absl::StatusCode::kUnauthenticated);

  auto token = authn.signer().Issue("shop", "ci", "sa-uid", {kTokenAudience}, now, absl::Hours(1));
  auto sa = authn.Authenticate("Bearer " + *token, "", lookup, now);
  ASSERT_TRUE(sa.ok());
  EXPECT_EQ((*sa)->name, "system:serviceaccount:shop:ci");
  EXPECT_THAT((*sa)->groups, ElementsAre("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"));
  // The ServiceAccount was recreated (another uid): its old tokens stop working.
  auto gone = authn.signer().Issue("shop", "ci", "old-uid", {kTokenAudience}, now, absl::Hours(1));
  EXPECT_FALSE(authn.Authenticate("Bearer " + *gone, "", lookup, now).ok());
  EXPECT_EQ(*SplitServiceAccountUser("system:serviceaccount:shop:ci"), std::make_pair(std::string("shop"), std::string("ci")));
  EXPECT_FALSE(SplitServiceAccountUser("alice").has_value());
}

}  // namespace
}  // namespace herd::sim
