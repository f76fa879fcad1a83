#include "server/auth/authenticator.h"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string PrincipalYaml(const std::string& name, const std::string& token) {
  return absl::StrCat("  - name: ", name, "\n    token: ", token,
                      "\n    rules: [{verbs: [read], namespaces: [\"*\"]}]\n");
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/authn_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".yaml");
    log::SetSink([this](absl::string_view line) {
      absl::MutexLock lock(&log_mu_);
      log_.emplace_back(line);
    });
  }
  void TearDown() override {
    log::SetSink(nullptr);
    std::remove(path_.c_str());
  }

  // Replaces the file the way a Secret volume or a careful operator does:
  // write aside, then rename over.
  void WriteFile(const std::string& text) {
    std::string tmp = path_ + ".tmp";
    { std::ofstream(tmp) << text; }
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }

  std::unique_ptr<Authenticator> Make(AuthenticatorOptions options = {.check_interval = absl::ZeroDuration()}) {
    auto a = Authenticator::FromFile(path_, std::move(options));
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }

  std::vector<std::string> Logged() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  std::string path_;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

absl::StatusOr<std::string> Who(Authenticator& a, absl::string_view authorization,
                                absl::string_view cn = "") {
  auto p = a.Authenticate({.authorization = authorization, .client_cert_cn = cn});
  if (!p.ok()) return p.status();
  return (*p)->name;
}

TEST_F(AuthenticatorTest, MapsPlainAndHashedTokensToTheirPrincipals) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-alice"), R"(  - name: ci
    tokens:
      - tokenSha256: 5bcde0d53c394ec504671149ad5ef50d653e44a88393a5ac0f26c2b1a5cc2b16
      - token: tok-ci-2
    rules: [{verbs: [read], namespaces: ["*"]}]
)"));
  auto a = Make();
  EXPECT_EQ(Who(*a, "Bearer tok-alice").value_or("?"), "alice");
  EXPECT_EQ(Who(*a, "Bearer s3cret-b").value_or("?"), "ci");
  EXPECT_EQ(Who(*a, "Bearer tok-ci-2").value_or("?"), "ci");
  // The scheme is case-insensitive; spaces around are tolerated.
  EXPECT_EQ(Who(*a, "bearer tok-alice").value_or("?"), "alice");
  EXPECT_EQ(Who(*a, "  BEARER   tok-alice ").value_or("?"), "alice");
  EXPECT_FALSE(a->insecure());
}

TEST_F(AuthenticatorTest, RefusesMissingMalformedAndUnknownCredentialsWithoutEchoingTokens) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-alice")));
  auto a = Make();

  auto none = Who(*a, "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(none.status().ToString(), HasSubstr("no credentials: send the metadata \"authorization: Bearer"));

  for (absl::string_view bad : {"tok-alice", "Basic dG9rLWFsaWNl", "Bearer", "Bearer   ", "Bearertok-alice"}) {
    auto r = Who(*a, bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_THAT(r.status().ToString(), HasSubstr("must be \"Bearer TOKEN\"")) << bad;
  }

  auto unknown = Who(*a, "Bearer tok-mallory");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unknown.status().ToString(), HasSubstr("unknown bearer token"));
  EXPECT_THAT(unknown.status().ToString(), Not(HasSubstr("tok-mallory")));
  // A prefix of a real token is no token.
  EXPECT_EQ(Who(*a, "Bearer tok-alic").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ClientCertificateCnMapsWhenNoTokenIsSent) {
  WriteFile(R"(principals:
  - name: deployer
    token: tok-deployer
    clientCertCN: deployer.example.com
    rules: [{verbs: [read], namespaces: ["*"]}]
  - name: bot
    clientCertCN: bot.example.com
    rules: [{verbs: [read], namespaces: ["*"]}]
)");
  auto a = Make();
  EXPECT_EQ(Who(*a, "", "bot.example.com").value_or("?"), "bot");
  EXPECT_EQ(Who(*a, "", "deployer.example.com").value_or("?"), "deployer");
  // A token, when sent, decides: a good one wins over the certificate …
  EXPECT_EQ(Who(*a, "Bearer tok-deployer", "bot.example.com").value_or("?"), "deployer");
  // … and a bad one is not rescued by it.
  EXPECT_EQ(Who(*a, "Bearer nope", "bot.example.com").status().code(), absl::StatusCode::kUnauthenticated);

  auto stranger = Who(*a, "", "stranger.example.com");
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(stranger.status().ToString(),
              HasSubstr("client certificate CN \"stranger.example.com\" is not mapped to a principal"));
}

TEST_F(AuthenticatorTest, RotatedFileTakesEffectWithoutRestart) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-1")));
  auto a = Make();
  EXPECT_EQ(Who(*a, "Bearer tok-1").value_or("?"), "alice");

  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-2"), PrincipalYaml("bob", "tok-bob")));
  EXPECT_EQ(Who(*a, "Bearer tok-2").value_or("?"), "alice");
  EXPECT_EQ(Who(*a, "Bearer tok-bob").value_or("?"), "bob");
  EXPECT_EQ(Who(*a, "Bearer tok-1").status().code(), absl::StatusCode::kUnauthenticated);

  std::vector<std::string> log = Logged();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_THAT(log[0], HasSubstr("\"msg\":\"tokens file loaded\""));
  EXPECT_THAT(log[1], HasSubstr("\"msg\":\"tokens file reloaded\""));
  EXPECT_THAT(log[1], HasSubstr("\"principals\":2"));
}

TEST_F(AuthenticatorTest, LooksAtTheFileAtMostEveryCheckInterval) {
  absl::Mutex mu;
  absl::Time now = absl::FromUnixSeconds(1000);
  auto clock = [&] {
    absl::MutexLock lock(&mu);
    return now;
  };
  auto advance = [&](absl::Duration d) {
    absl::MutexLock lock(&mu);
    now += d;
  };
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-1")));
  auto a = Make({.check_interval = absl::Seconds(5), .now = clock});
  EXPECT_TRUE(Who(*a, "Bearer tok-1").ok());  // looks (and finds it unchanged)

  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-2")));
  advance(absl::Seconds(4));
  EXPECT_TRUE(Who(*a, "Bearer tok-1").ok()) << "looked before the interval passed";
  advance(absl::Seconds(1));
  EXPECT_EQ(Who(*a, "Bearer tok-2").value_or("?"), "alice");
  EXPECT_FALSE(Who(*a, "Bearer tok-1").ok());
}

TEST_F(AuthenticatorTest, BrokenOrMissingFileKeepsTheLastGoodTokensAndSaysSoOnce) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-1")));
  auto a = Make();

  WriteFile("principals:\n  - name: alice\n    token: [tok-2\n");
  EXPECT_EQ(Who(*a, "Bearer tok-1").value_or("?"), "alice");
  EXPECT_EQ(Who(*a, "Bearer tok-1").value_or("?"), "alice");
  std::vector<std::string> log = Logged();
  ASSERT_EQ(log.size(), 2u) << "a broken version is reported once";
  EXPECT_THAT(log[1], HasSubstr("\"level\":\"error\""));
  EXPECT_THAT(log[1], HasSubstr("tokens file rejected; keeping the tokens in force"));
  EXPECT_THAT(log[1], HasSubstr("malformed YAML"));

  absl::Status forced = a->Reload();
  EXPECT_EQ(forced.code(), absl::StatusCode::kInvalidArgument);

  std::remove(path_.c_str());
  EXPECT_EQ(Who(*a, "Bearer tok-1").value_or("?"), "alice");
  EXPECT_EQ(Who(*a, "Bearer tok-1").value_or("?"), "alice");
  EXPECT_EQ(Logged().size(), 4u);  // + the forced reload + the missing file, once
  EXPECT_THAT(Logged().back(), HasSubstr("tokens file unreadable"));

  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-3")));
  EXPECT_EQ(Who(*a, "Bearer tok-3").value_or("?"), "alice");
  EXPECT_FALSE(Who(*a, "Bearer tok-1").ok());
}

TEST_F(AuthenticatorTest, PrincipalOutlivesAReload) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-1")));
  auto a = Make();
  auto alice = a->Authenticate({.authorization = "Bearer tok-1"});
  ASSERT_TRUE(alice.ok());
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("bob", "tok-2")));
  ASSERT_TRUE(a->Reload().ok());
  EXPECT_FALSE(Who(*a, "Bearer tok-1").ok());
  EXPECT_EQ((*alice)->name, "alice");
  EXPECT_EQ((*alice)->rules.size(), 1u);
}

TEST_F(AuthenticatorTest, StartingWithABadOrMissingFileFails) {
  auto missing = Authenticator::FromFile(path_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  WriteFile("principals: {}\n");
  auto bad = Authenticator::FromFile(path_);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().ToString(), HasSubstr(path_ + ":1:13: \"principals\" must be a list"));
  EXPECT_EQ(Authenticator::FromFile("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AuthenticatorTest, ConcurrentCallsDuringRotationSeeOneVersionOrTheOther) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-1")));
  auto a = Make();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        auto r1 = Who(*a, "Bearer tok-1");
        auto r2 = Who(*a, "Bearer tok-2");
        if ((r1.ok() && *r1 != "alice") || (r2.ok() && *r2 != "alice")) bad.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", i % 2 ? "tok-1" : "tok-2")));
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(InsecureAuthenticatorTest, EveryCallIsAnonymousWithEveryRight) {
  auto a = Authenticator::Insecure();
  EXPECT_TRUE(a->insecure());
  for (absl::string_view header : {"", "Bearer whatever", "garbage"}) {
    auto p = a->Authenticate({.authorization = header});
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ((*p)->name, "anonymous");
    ASSERT_EQ((*p)->rules.size(), 1u);
    EXPECT_THAT((*p)->rules[0].namespaces, ::testing::ElementsAre("*"));
    EXPECT_THAT((*p)->rules[0].workloads, ::testing::ElementsAre("*"));
    EXPECT_FALSE((*p)->rules[0].allow_protected);
  }
  EXPECT_TRUE(a->Reload().ok());
}

TEST_F(AuthenticatorTest, SlackMembersMapByTheirIdThenByTheirChannel) {
  WriteFile(R"(principals:
  - name: alice
    slackUsers: [U024BE7LH]
    rules: [{verbs: ["*"], namespaces: [shop]}]
  - name: shop-channel
    slackChannels: [C0SHOP]
    rules: [{verbs: [read], namespaces: [shop]}]
)");
  auto a = Make();
  ASSERT_NE(a, nullptr);
  auto alice = a->AuthenticateSlack("U024BE7LH", "C0SHOP");
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ((*alice)->name, "alice");
  auto bob = a->AuthenticateSlack("U0BOB", "C0SHOP");
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ((*bob)->name, "shop-channel");
  auto stranger = a->AuthenticateSlack("U0EVE", "C0OTHER");
  EXPECT_TRUE(absl::IsUnauthenticated(stranger.status())) << stranger.status();
  EXPECT_THAT(stranger.status().message(), HasSubstr("U0EVE"));
  EXPECT_THAT(stranger.status().message(), HasSubstr("C0OTHER"));
  EXPECT_THAT(stranger.status().message(), HasSubstr("slackUsers"));
}

TEST_F(AuthenticatorTest, DelegateTokensNameTheirPrincipalAndCannotBeForged) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-alice"), PrincipalYaml("bob", "tok-bob")));
  auto a = Make();
  ASSERT_NE(a, nullptr);
  std::string token = a->DelegateToken("alice");
  EXPECT_EQ(Who(*a, absl::StrCat("Bearer ", token)).value_or("refused"), "alice");

  // Another name with alice's MAC, a MAC changed, another herdd's token.
  std::string bob_hex = "626f62";
  std::string forged = absl::StrCat("herdd-delegate.", bob_hex, token.substr(token.rfind('.')));
  EXPECT_TRUE(absl::IsUnauthenticated(Who(*a, absl::StrCat("Bearer ", forged)).status()));
  std::string flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_TRUE(absl::IsUnauthenticated(Who(*a, absl::StrCat("Bearer ", flipped)).status()));
  auto other = Make();
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(absl::IsUnauthenticated(Who(*other, absl::StrCat("Bearer ", token)).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(Who(*a, "Bearer herdd-delegate.zz.00").status()));

  // A principal taken out of the file loses its delegate token too.
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("bob", "tok-bob")));
  auto gone = Who(*a, absl::StrCat("Bearer ", token));
  EXPECT_TRUE(absl::IsUnauthenticated(gone.status()));
  EXPECT_THAT(gone.status().message(), HasSubstr("no longer in the tokens file"));
}

TEST_F(AuthenticatorTest, ADelegateActingForAPrincipalHasItsRulesUnderItsOwnName) {
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("alice", "tok-alice"), PrincipalYaml("bob", "tok-bob")));
  auto a = Make();
  ASSERT_NE(a, nullptr);
  std::string token = a->DelegateToken("policy:nightly", "alice");
  auto who = a->Authenticate({.authorization = absl::StrCat("Bearer ", token)});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ((*who)->name, "policy:nightly");
  auto alice = a->Authenticate({.authorization = "Bearer tok-alice"});
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ((*who)->rules.size(), (*alice)->rules.size());
  EXPECT_TRUE((*who)->token_sha256.empty());
  // Neither half can be swapped: "policy:nightly" alone, or acting for bob.
  EXPECT_NE(token, a->DelegateToken("policy:nightly"));
  EXPECT_NE(token, a->DelegateToken("policy:nightly", "bob"));
  // Once alice is out of the file, so are her policies' rights.
  WriteFile(absl::StrCat("principals:\n", PrincipalYaml("bob", "tok-bob")));
  auto gone = Who(*a, absl::StrCat("Bearer ", token));
  EXPECT_TRUE(absl::IsUnauthenticated(gone.status()));
  EXPECT_THAT(gone.status().message(), HasSubstr("\"alice\" is no longer in the tokens file"));
}

TEST_F(AuthenticatorTest, InsecureModeNamesSlackMembersAndDelegates) {
  auto a = Authenticator::Insecure();
  auto member = a->AuthenticateSlack("U024BE7LH", "C0SHOP");
  ASSERT_TRUE(member.ok());
  EXPECT_EQ((*member)->name, "slack:U024BE7LH");
  EXPECT_EQ(Who(*a, absl::StrCat("Bearer ", a->DelegateToken("slack:U024BE7LH"))).value_or(""), "slack:U024BE7LH");
  EXPECT_EQ(Who(*a, absl::StrCat("Bearer ", a->DelegateToken("policy:nightly", "anonymous"))).value_or(""),
            "policy:nightly");
  EXPECT_EQ(Who(*a, "").value_or(""), "anonymous");
  EXPECT_EQ(Who(*a, "Bearer herdd-delegate.616c696365.00").status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace herd::auth
