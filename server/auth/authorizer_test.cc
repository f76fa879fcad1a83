#include "server/auth/authorizer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/authenticator.h"
#include "server/auth/policy.h"

namespace herd::auth {
namespace {

Principal FromYaml(const std::string& yaml) {
  auto policy = ParsePolicy(yaml, "test");
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok() || policy->principals.empty()) return {};
  return policy->principals.front();
}

// ci-shop: deploys web-* in shop and team-*, reads everywhere, kills
// nothing; ops: everything in kube-system, explicitly.
const char kPolicy[] = R"(principals:
  - name: ci-shop
    token: t1
    rules:
      - verbs: [rollout, undo, scale]
        namespaces: [shop, "team-*"]
        workloads: ["web-*", api]
      - verbs: [read]
        namespaces: ["*"]
)";

class AuthorizerTest : public ::testing::Test {
 protected:
  Principal ci_ = FromYaml(kPolicy);
  Authorizer authz_;
};

void ExpectDenied(const absl::Status& st, const std::string& message) {
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_EQ(std::string(st.message()), message);
}

TEST_F(AuthorizerTest, VerbNamespaceAndWorkloadMustAllMatchOneRule) {
  EXPECT_TRUE(authz_.Authorize(ci_, Verb::kRollout, "shop", "web-frontend").ok());
  EXPECT_TRUE(authz_.Authorize(ci_, Verb::kScale, "team-a", "api").ok());
  EXPECT_TRUE(authz_.Authorize(ci_, Verb::kUndo, "team-", "web-x").ok());
  EXPECT_TRUE(authz_.Authorize(ci_, Verb::kRead, "payments", "anything").ok());

  ExpectDenied(authz_.Authorize(ci_, Verb::kKill, "shop", "web-frontend"),
               "principal ci-shop may not kill in namespace shop");
  ExpectDenied(authz_.Authorize(ci_, Verb::kRollout, "payments", "web-frontend"),
               "principal ci-shop may not rollout in namespace payments");
  ExpectDenied(authz_.Authorize(ci_, Verb::kRollout, "team", "web-frontend"),
               "principal ci-shop may not rollout in namespace team");
  ExpectDenied(authz_.Authorize(ci_, Verb::kRollout, "shop", "worker"),
               "principal ci-shop may not rollout workload \"worker\" in namespace shop");
  ExpectDenied(authz_.Authorize(ci_, Verb::kCancel, "shop", "web-frontend"),
               "principal ci-shop may not cancel in namespace shop");
}

TEST_F(AuthorizerTest, EmptyWorkloadMeansEveryWorkloadAndNeedsAStarPattern) {
  ExpectDenied(authz_.Authorize(ci_, Verb::kScale, "shop", ""),
               "principal ci-shop may not scale every workload in namespace shop");
  EXPECT_TRUE(authz_.Authorize(ci_, Verb::kRead, "shop", "").ok());
}

TEST_F(AuthorizerTest, EmptyNamespaceMeansAllNamespacesAndNeedsAStarPattern) {
  EXPECT_TRUE(authz_.AuthorizeNamespace(ci_, Verb::kRead, "").ok());
  ExpectDenied(authz_.AuthorizeNamespace(ci_, Verb::kRollout, ""),
               "principal ci-shop may not rollout in all namespaces");
}

TEST_F(AuthorizerTest, AuthorizeNamespaceIgnoresWorkloadPatterns) {
  EXPECT_TRUE(authz_.AuthorizeNamespace(ci_, Verb::kRollout, "shop").ok());
  ExpectDenied(authz_.AuthorizeNamespace(ci_, Verb::kRollout, "payments"),
               "principal ci-shop may not rollout in namespace payments");
}

TEST_F(AuthorizerTest, ProtectedNamespacesRefuseMutationsButNotReads) {
  Principal admin = FromYaml(R"(principals:
  - name: admin
    token: t
    rules: [{verbs: ["*"], namespaces: ["*"]}]
)");
  for (const char* ns : {"kube-system", "kube-public", "kube-node-lease"}) {
    EXPECT_TRUE(authz_.IsProtected(ns)) << ns;
    for (Verb v : {Verb::kRollout, Verb::kUndo, Verb::kScale, Verb::kPurge, Verb::kKill, Verb::kCronJob,
                   Verb::kCancel}) {
      absl::Status st = authz_.Authorize(admin, v, ns, "coredns");
      ExpectDenied(st, std::string("namespace ") + ns + " is protected: principal admin may not " +
                           std::string(VerbName(v)) +
                           " there (it takes a rule with allowProtected: true)");
      EXPECT_EQ(Authorizer::RefusalReason(st), "protected_namespace");
    }
    EXPECT_TRUE(authz_.Authorize(admin, Verb::kRead, ns, "coredns").ok());
  }
  EXPECT_FALSE(authz_.IsProtected("kube-systems"));
  EXPECT_TRUE(authz_.Authorize(admin, Verb::kKill, "default", "x").ok());
}

TEST_F(AuthorizerTest, AllowProtectedRuleOpensProtectedNamespaces) {
  Principal ops = FromYaml(R"(principals:
  - name: ops
    token: t
    rules:
      - {verbs: ["*"], namespaces: ["*"]}
      - {verbs: [purge], namespaces: [kube-system], workloads: [coredns], allowProtected: true}
)");
  EXPECT_TRUE(authz_.Authorize(ops, Verb::kPurge, "kube-system", "coredns").ok());
  // Only what that rule covers: another verb, workload or namespace stays shut.
  EXPECT_EQ(authz_.Authorize(ops, Verb::kKill, "kube-system", "coredns").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(authz_.Authorize(ops, Verb::kPurge, "kube-system", "kube-proxy").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(authz_.Authorize(ops, Verb::kPurge, "kube-public", "coredns").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, ProtectedNamespacesAreConfigurableWithGlobs) {
  Principal admin = FromYaml(R"(principals:
  - name: admin
    token: t
    rules: [{verbs: ["*"], namespaces: ["*"]}]
)");
  Authorizer custom({.protected_namespaces = {"prod-*"}});
  EXPECT_TRUE(custom.IsProtected("prod-eu"));
  EXPECT_FALSE(custom.IsProtected("kube-system"));
  EXPECT_EQ(custom.Authorize(admin, Verb::kScale, "prod-eu", "web").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(custom.Authorize(admin, Verb::kScale, "kube-system", "web").ok());

  Authorizer open({.protected_namespaces = {}});
  EXPECT_TRUE(open.Authorize(admin, Verb::kKill, "kube-system", "coredns").ok());
}

TEST_F(AuthorizerTest, OrdinaryRefusalWinsOverProtectedWhenNoRuleMatches) {
  // A principal with no rule there at all hears it has no rule, not that
  // the namespace is protected (which would suggest allowProtected helps).
  absl::Status st = authz_.Authorize(ci_, Verb::kRollout, "kube-system", "web-x");
  ExpectDenied(st, "principal ci-shop may not rollout in namespace kube-system");
  EXPECT_EQ(Authorizer::RefusalReason(st), "rules");
  EXPECT_EQ(Authorizer::RefusalReason(absl::OkStatus()), "");
}

TEST(InsecureModeTest, AnonymousMayDoAnythingOutsideProtectedNamespaces) {
  auto authn = Authenticator::Insecure();
  auto anon = authn->Authenticate({});
  ASSERT_TRUE(anon.ok());
  Authorizer authz;
  EXPECT_TRUE(authz.Authorize(**anon, Verb::kKill, "shop", "web").ok());
  EXPECT_TRUE(authz.Authorize(**anon, Verb::kRollout, "team-a", "").ok());
  EXPECT_TRUE(authz.AuthorizeNamespace(**anon, Verb::kRead, "").ok());
  ExpectDenied(authz.Authorize(**anon, Verb::kKill, "kube-system", "coredns"),
               "namespace kube-system is protected: principal anonymous may not kill there (it takes a "
               "rule with allowProtected: true)");
}

}  // namespace
}  // namespace herd::auth
