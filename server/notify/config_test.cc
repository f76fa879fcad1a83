#include "server/notify/config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::notify {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Config> Parse(const std::string& yaml) { return ParseConfig(yaml, "notify.yaml", ::testing::TempDir()); }

std::string Error(const std::string& yaml) {
  absl::StatusOr<Config> c = Parse(yaml);
  EXPECT_FALSE(c.ok());
  return std::string(c.status().ToString());
}

TEST(NotifyConfigTest, SinksTheirUrlsSecretsAndMatches) {
  std::string secret_path = ::testing::TempDir() + "/ce-secret";
  { std::ofstream(secret_path) << "s3cret\n"; }
  auto c = Parse(R"(
sinks:
  - name: oncall
    slackWebhook: https://hooks.slack.com/services/T/B/X
    match: {namespaces: ["prod-*"], kinds: [rollout, purge], outcomes: [failed, rolled_back]}
  - name: ci
    cloudEvents: http://127.0.0.1:9/events
    secretFile: ce-secret
)");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->sinks.size(), 2u);
  const Sink& oncall = c->sinks[0];
  EXPECT_EQ(oncall.type, Sink::Type::kSlack);
  EXPECT_THAT(oncall.namespaces, ElementsAre("prod-*"));
  EXPECT_TRUE(oncall.Matches("prod-eu", "rollout", "failed"));
  EXPECT_FALSE(oncall.Matches("prod-eu", "rollout", "succeeded"));
  EXPECT_FALSE(oncall.Matches("staging", "rollout", "failed"));
  EXPECT_FALSE(oncall.Matches("prod-eu", "scale", "failed"));
  const Sink& ci = c->sinks[1];
  EXPECT_EQ(ci.type, Sink::Type::kCloudEvents);
  EXPECT_EQ(ci.secret, "s3cret");
  // By default every end, in every namespace, of every kind; not starts.
  EXPECT_TRUE(ci.Matches("any", "cronjob", "succeeded"));
  EXPECT_TRUE(ci.Matches("any", "kill", "cancelled"));
  EXPECT_FALSE(ci.Matches("any", "kill", "started"));
  std::remove(secret_path.c_str());
}

TEST(NotifyConfigTest, AnEmptyFileHasNoSinks) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->sinks.empty());
}

TEST(NotifyConfigTest, MistakesAreNamedWithTheirPlace) {
  EXPECT_THAT(Error("sinks:\n  - name: a\n"), HasSubstr("notify.yaml:2:5: sink \"a\" needs one of slackWebhook or cloudEvents"));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvents: ftp://x\n"), HasSubstr("must start with https:// or http://"));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvents: http://x\n    slackWebhook: http://y\n"),
              HasSubstr("needs one of"));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvents: http://x\n  - name: a\n    cloudEvents: http://y\n"),
              HasSubstr("notify.yaml:4:11: sink \"a\" is defined twice"));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvents: http://x\n    match: {outcomes: [exploded]}\n"),
              HasSubstr("unknown outcome \"exploded\""));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvents: http://x\n    match: {kinds: [deploy]}\n"),
              HasSubstr("unknown kind \"deploy\""));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvent: http://x\n"), HasSubstr("unknown key \"cloudEvent\""));
  EXPECT_THAT(Error("sinks:\n  - name: a\n    cloudEvents: http://x\n    secretFile: /nonexistent/secret\n"),
              HasSubstr("cannot read secretFile /nonexistent/secret: No such file"));
  EXPECT_THAT(Error("sinks: [\n"), HasSubstr("malformed YAML"));
}

}  // namespace
}  // namespace herd::notify
