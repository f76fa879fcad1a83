#include "server/auth/policy.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// sha256("s3cret-b")
constexpr char kSecretBSha256[] = "5bcde0d53c394ec504671149ad5ef50d653e44a88393a5ac0f26c2b1a5cc2b16";

std::string Hex(const Sha256& d) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

absl::Status ParseError(const std::string& yaml) { return ParsePolicy(yaml, "tokens.yaml").status(); }

TEST(PolicyTest, ParsesPrincipalsTokensCertificatesAndRules) {
  auto policy = ParsePolicy(R"(
principals:
  - name: ci-shop
    tokens:
      - token: s3cret-a
      - tokenSha256: 5BCDE0D53C394EC504671149AD5EF50D653E44A88393A5AC0F26C2B1A5CC2B16
    clientCertCN: ci-shop.example.com
    rules:
      - verbs: [rollout, scale, list]
        namespaces: [shop, "team-*"]
        workloads: ["web-*", api]
      - verbs: "*"
        namespaces: kube-system
        allowProtected: true
  - name: viewer
    token: s3cret-c
    rules:
      - verbs: [get, watch]
        namespaces: ["*"]
)",
                            "tokens.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->principals.size(), 2u);

  const Principal& ci = policy->principals[0];
  EXPECT_EQ(ci.name, "ci-shop");
  EXPECT_EQ(ci.client_cert_cn, "ci-shop.example.com");
  ASSERT_EQ(ci.token_sha256.size(), 2u);
  EXPECT_EQ(ci.token_sha256[0], ComputeSha256("s3cret-a"));
  EXPECT_EQ(Hex(ci.token_sha256[1]), kSecretBSha256);
  ASSERT_EQ(ci.rules.size(), 2u);
  const Rule& r0 = ci.rules[0];
  EXPECT_TRUE(r0.AllowsVerb(Verb::kRollout));
  EXPECT_TRUE(r0.AllowsVerb(Verb::kScale));
  EXPECT_TRUE(r0.AllowsVerb(Verb::kRead));
  EXPECT_FALSE(r0.AllowsVerb(Verb::kKill));
  EXPECT_THAT(r0.namespaces, ElementsAre("shop", "team-*"));
  EXPECT_THAT(r0.workloads, ElementsAre("web-*", "api"));
  EXPECT_FALSE(r0.allow_protected);
  const Rule& r1 = ci.rules[1];
  for (Verb v : {Verb::kRollout, Verb::kUndo, Verb::kScale, Verb::kPurge, Verb::kKill, Verb::kCronJob,
                 Verb::kRead, Verb::kCancel}) {
    EXPECT_TRUE(r1.AllowsVerb(v)) << VerbName(v);
  }
  EXPECT_THAT(r1.namespaces, ElementsAre("kube-system"));
  EXPECT_THAT(r1.workloads, ElementsAre("*"));  // the default
  EXPECT_TRUE(r1.allow_protected);

  const Principal& viewer = policy->principals[1];
  EXPECT_THAT(viewer.token_sha256, ElementsAre(ComputeSha256("s3cret-c")));
  EXPECT_EQ(viewer.rules[0].verbs, 1u << static_cast<unsigned>(Verb::kRead));
}

TEST(PolicyTest, TokenSha256IsTheHexDigestOfTheToken) {
  EXPECT_EQ(Hex(ComputeSha256("s3cret-b")), kSecretBSha256);
  // The empty string's well-known digest.
  EXPECT_EQ(Hex(ComputeSha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(PolicyTest, GroupsAreKeptForImpersonation) {
  auto policy = ParsePolicy(R"(principals:
  - name: ci-shop
    token: x
    groups: [ci, shop-deployers]
    rules:
      - verbs: [scale]
        namespaces: [shop]
  - name: alice
    token: y
    groups: oncall
    rules:
      - verbs: [read]
        namespaces: ["*"]
  - name: bob
    token: z
    rules:
      - verbs: [read]
        namespaces: ["*"]
)",
                            "t");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->principals[0].groups, ElementsAre("ci", "shop-deployers"));
  EXPECT_THAT(policy->principals[1].groups, ElementsAre("oncall"));
  EXPECT_TRUE(policy->principals[2].groups.empty());
  absl::Status st = ParseError("principals:\n  - name: ci\n    token: x\n    groups: [\"\"]\n    rules:\n"
                               "      - verbs: [read]\n        namespaces: [shop]\n");
  EXPECT_THAT(st.ToString(), HasSubstr("tokens.yaml:4:14: each entry of groups must be a non-empty string"));
}

TEST(PolicyTest, EmptyPrincipalsListLetsNobodyIn) {
  auto policy = ParsePolicy("principals:\n", "t");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->principals.empty());
}

TEST(PolicyTest, UnknownVerbIsReportedWithLineAndColumn) {
  absl::Status st = ParseError(R"(principals:
  - name: ci
    token: x
    rules:
      - verbs: [rollout, deploy]
        namespaces: [shop]
)");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.ToString(), HasSubstr("tokens.yaml:5:26: unknown verb \"deploy\" (known: rollout, undo"));
}

TEST(PolicyTest, MalformedYamlIsReportedWithLine) {
  absl::Status st = ParseError("principals:\n  - name: ci\n    token: [unclosed\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.ToString(), ::testing::MatchesRegex("INVALID_ARGUMENT: tokens\\.yaml:[34]:[0-9]+: malformed YAML: .*"));
}

TEST(PolicyTest, BareStarIsMalformedYaml) {
  absl::Status st = ParseError("principals:\n  - name: ci\n    token: x\n    rules:\n      - verbs: *\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.ToString(), HasSubstr("tokens.yaml:5:"));
}

TEST(PolicyTest, UnknownKeysAreErrorsSoTyposDoNotWidenRules) {
  absl::Status st = ParseError(R"(principals:
  - name: ci
    token: x
    rules:
      - verbs: [kill]
        namespace: [shop]
)");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.ToString(), HasSubstr("tokens.yaml:6:9: unknown key \"namespace\" in a rule (known: verbs, "
                                      "namespaces, workloads, allowProtected)"));

  st = ParseError("principal:\n  - name: ci\n");
  EXPECT_THAT(st.ToString(), HasSubstr("tokens.yaml:1:1: unknown key \"principal\""));
}

TEST(PolicyTest, EachPrincipalNeedsNameCredentialsAndRules) {
  EXPECT_THAT(ParseError("principals:\n  - token: x\n    rules: []\n").ToString(),
              HasSubstr("tokens.yaml:2:5: a principal needs a \"name\""));
  EXPECT_THAT(ParseError("principals:\n  - name: ci\n    rules:\n      - {verbs: [kill], namespaces: [a]}\n")
                  .ToString(),
              HasSubstr("tokens.yaml:2:5: principal \"ci\" has no token, tokenSha256, tokens, clientCertCN, "
                        "slackUsers or slackChannels"));
  EXPECT_THAT(ParseError("principals:\n  - name: ci\n    token: x\n").ToString(),
              HasSubstr("tokens.yaml:2:5: principal \"ci\" has no \"rules\""));
  EXPECT_THAT(ParseError("principals:\n  - name: ci\n    token: x\n    rules:\n      - verbs: [kill]\n")
                  .ToString(),
              HasSubstr("tokens.yaml:5:9: a rule needs \"namespaces\""));
  EXPECT_THAT(ParseError("principals:\n  - name: ci\n    token: \"\"\n    rules: []\n").ToString(),
              HasSubstr("tokens.yaml:3:12: token must be a non-empty string"));
}

TEST(PolicyTest, NamesTokensAndCertificateNamesAreUnique) {
  constexpr char kRules[] = "    rules: [{verbs: [read], namespaces: [a]}]\n";
  EXPECT_THAT(ParseError(std::string("principals:\n  - name: a\n    token: x\n") + kRules +
                         "  - name: a\n    token: y\n" + kRules)
                  .ToString(),
              HasSubstr("tokens.yaml:5:11: principal \"a\" is defined twice"));
  // The same token, once plain and once hashed, is still the same token.
  EXPECT_THAT(ParseError(std::string("principals:\n  - name: a\n    token: s3cret-b\n") + kRules +
                         "  - name: b\n    tokenSha256: " + kSecretBSha256 + "\n" + kRules)
                  .ToString(),
              HasSubstr("tokens.yaml:6:18: this token is already given to principal \"a\""));
  EXPECT_THAT(ParseError(std::string("principals:\n  - name: a\n    clientCertCN: c\n") + kRules +
                         "  - name: b\n    clientCertCN: c\n" + kRules)
                  .ToString(),
              HasSubstr("tokens.yaml:6:19: clientCertCN \"c\" is already given to principal \"a\""));
}

TEST(PolicyTest, SlackMembersAndChannelsAreCredentialsOfOnePrincipalEach) {
  constexpr char kRules[] = "    rules: [{verbs: [read], namespaces: [a]}]\n";
  auto policy = ParsePolicy(std::string("principals:\n  - name: alice\n    slackUsers: [U1, U2]\n") + kRules +
                                "  - name: ops\n    slackChannels: [C9]\n" + kRules,
                            "tokens.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->principals[0].slack_users, ElementsAre("U1", "U2"));
  EXPECT_THAT(policy->principals[1].slack_channels, ElementsAre("C9"));
  EXPECT_TRUE(policy->principals[1].token_sha256.empty());

  EXPECT_THAT(ParseError(std::string("principals:\n  - name: a\n    slackUsers: [U1]\n") + kRules +
                         "  - name: b\n    slackUsers: [U2, U1]\n" + kRules)
                  .ToString(),
              HasSubstr("tokens.yaml:6:22: slackUsers entry \"U1\" is already given to principal \"a\""));
  EXPECT_THAT(ParseError(std::string("principals:\n  - name: a\n    slackChannels: [\"\"]\n") + kRules).ToString(),
              HasSubstr("each entry of slackChannels must be a non-empty string"));
}

TEST(PolicyTest, TokenSha256MustBe64HexDigits) {
  EXPECT_THAT(ParseError("principals:\n  - name: a\n    tokenSha256: abc\n    rules: []\n").ToString(),
              HasSubstr("tokens.yaml:3:18: tokenSha256 must be 64 hex digits"));
  std::string not_hex(64, 'g');
  EXPECT_THAT(ParseError("principals:\n  - name: a\n    tokens:\n      - tokenSha256: " + not_hex + "\n")
                  .ToString(),
              HasSubstr("tokens.yaml:4:22: tokenSha256 must be 64 hex digits"));
}

TEST(PolicyTest, AllowProtectedMustBeABoolean) {
  EXPECT_THAT(ParseError(R"(principals:
  - name: a
    token: x
    rules:
      - {verbs: [kill], namespaces: [a], allowProtected: maybe}
)")
                  .ToString(),
              HasSubstr("tokens.yaml:5:58: allowProtected must be true or false"));
}

TEST(PolicyTest, VerbNamesRoundTripAndReadHasAliases) {
  for (Verb v : {Verb::kRollout, Verb::kUndo, Verb::kScale, Verb::kPurge, Verb::kKill, Verb::kCronJob,
                 Verb::kRead, Verb::kCancel, Verb::kApprove}) {
    EXPECT_EQ(ParseVerb(VerbName(v)), v);
  }
  EXPECT_EQ(ParseVerb("get"), Verb::kRead);
  EXPECT_EQ(ParseVerb("list"), Verb::kRead);
  EXPECT_EQ(ParseVerb("watch"), Verb::kRead);
  EXPECT_EQ(ParseVerb("*"), std::nullopt);
  EXPECT_EQ(ParseVerb("Rollout"), std::nullopt);
  EXPECT_FALSE(IsMutating(Verb::kRead));
  EXPECT_TRUE(IsMutating(Verb::kCancel));
}

constexpr char kOnePrincipal[] = R"(
principals:
  - name: a
    token: x
    rules:
      - {verbs: [rollout], namespaces: [a]}
)";

TEST(PolicyTest, ApprovalRulesWithTheirDefaults) {
  auto policy = ParsePolicy(std::string(R"(approvals:
  - namespaces: ["prod-*"]
  - name: canary
    namespaces: [shop]
    workloads: ["*-canary"]
    verbs: [rollout, kill]
    timeout: 30m
)") + kOnePrincipal,
                            "tokens.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->approvals.size(), 2u);
  const ApprovalRule& prod = policy->approvals[0];
  EXPECT_EQ(prod.name, "approvals[0]");
  EXPECT_EQ(prod.timeout, absl::Hours(1));
  EXPECT_THAT(prod.workloads, ElementsAre("*"));
  for (Verb v : {Verb::kRollout, Verb::kUndo, Verb::kScale, Verb::kPurge, Verb::kKill, Verb::kCronJob}) {
    EXPECT_TRUE(prod.AppliesTo(v)) << VerbName(v);
  }
  for (Verb v : {Verb::kRead, Verb::kCancel, Verb::kApprove}) EXPECT_FALSE(prod.AppliesTo(v)) << VerbName(v);
  const ApprovalRule& canary = policy->approvals[1];
  EXPECT_EQ(canary.name, "canary");
  EXPECT_EQ(canary.timeout, absl::Minutes(30));
  EXPECT_TRUE(canary.AppliesTo(Verb::kKill));
  EXPECT_FALSE(canary.AppliesTo(Verb::kScale));

  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kScale, "prod-eu", "web"), &prod);
  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kScale, "prod", "web"), nullptr);
  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kRollout, "shop", "web-canary"), &canary);
  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kRollout, "shop", "web"), nullptr);
  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kScale, "shop", "web-canary"), nullptr);
  // A selector (every workload of the namespace) is held by any rule there.
  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kKill, "shop", ""), &canary);
  EXPECT_EQ(ApprovalRuleFor(*policy, Verb::kCancel, "prod-eu", "web"), nullptr);
}

TEST(PolicyTest, BadApprovalRulesAreRefusedWithTheirPlace) {
  auto error = [](const std::string& approvals) {
    return ParseError(approvals + kOnePrincipal).ToString();
  };
  EXPECT_THAT(error("approvals:\n  - {verbs: [rollout]}\n"), HasSubstr("tokens.yaml:2:5: an approval rule needs \"namespaces\""));
  EXPECT_THAT(error("approvals:\n  - {namespaces: [a], verbs: [read]}\n"),
              HasSubstr("an approval rule holds only verbs that start an operation"));
  EXPECT_THAT(error("approvals:\n  - {namespaces: [a], verbs: [approve]}\n"), HasSubstr("not \"approve\""));
  EXPECT_THAT(error("approvals:\n  - {namespaces: [a], timeout: soon}\n"),
              HasSubstr("timeout must be a positive duration"));
  EXPECT_THAT(error("approvals:\n  - {namespaces: [a], timeout: 0s}\n"), HasSubstr("timeout must be a positive"));
  EXPECT_THAT(error("approvals:\n  - {namespaces: [a], timeout: 200h}\n"), HasSubstr("at most 168h"));
  EXPECT_THAT(error("approvals:\n  - {namespaces: [a], approvers: [bob]}\n"),
              HasSubstr("unknown key \"approvers\" in an approval rule"));
  EXPECT_THAT(error("approvals:\n  - {name: x, namespaces: [a]}\n  - {name: x, namespaces: [b]}\n"),
              HasSubstr("approval rule \"x\" is defined twice"));
  EXPECT_THAT(error("approvals: {namespaces: [a]}\n"), HasSubstr("\"approvals\" must be a list"));
}

TEST(GlobMatchTest, StarAndQuestionMark) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("team-*", "team-a"));
  EXPECT_TRUE(GlobMatch("team-*", "team-"));
  EXPECT_FALSE(GlobMatch("team-*", "team"));
  EXPECT_FALSE(GlobMatch("team-*", "xteam-a"));
  EXPECT_TRUE(GlobMatch("*-canary", "web-canary"));
  EXPECT_FALSE(GlobMatch("*-canary", "web-canary-2"));
  EXPECT_TRUE(GlobMatch("web-*-v?", "web-eu-west-v2"));
  EXPECT_FALSE(GlobMatch("web-*-v?", "web-eu-west-v10"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(GlobMatch("shop", "shop"));
  EXPECT_FALSE(GlobMatch("shop", "shop2"));
  EXPECT_FALSE(GlobMatch("", "x"));
  EXPECT_TRUE(GlobMatch("", ""));
  // Hostile patterns stay fast: no exponential backtracking.
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(LoadPolicyFileTest, MissingFileIsNotFound) {
  auto policy = LoadPolicyFile(::testing::TempDir() + "/no-such-tokens.yaml");
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(policy.status().ToString(), HasSubstr("no-such-tokens.yaml"));
}

TEST(LoadPolicyFileTest, ErrorsNameTheFile) {
  std::string path = ::testing::TempDir() + "/policy_test_tokens.yaml";
  std::ofstream(path) << "principals: 3\n";
  auto policy = LoadPolicyFile(path);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().ToString(), HasSubstr(path + ":1:13: \"principals\" must be a list"));
}

}  // namespace
}  // namespace herd::auth
