#include "common/log/log.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSink([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    SetSink(nullptr);
    SetLevel(Level::kInfo);
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithTypedFields) {
  Info("rollout \"started\"\n", {{"op", "op-1"}, {"replicas", 20}, {"dry", true}, {"ratio", 0.5}});
  ASSERT_EQ(lines_.size(), 1u);
  ASSERT_EQ(lines_[0].back(), '\n');
  auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "rollout \"started\"\n");
  EXPECT_EQ(j["op"], "op-1");
  EXPECT_EQ(j["replicas"], 20);
  EXPECT_EQ(j["dry"], true);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 0.5);
  EXPECT_THAT(j["ts"].get<std::string>(), ::testing::MatchesRegex("[0-9-]+T[0-9:.]+Z"));
}

TEST_F(LogTest, DropsLinesBelowTheLevel) {
  SetLevel(Level::kWarn);
  Info("hidden");
  Debug("hidden");
  Warn("shown", {{"error", absl::NotFoundError("pods \"x\" not found")}});
  ASSERT_EQ(lines_.size(), 1u);
  auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["error"], "NOT_FOUND: pods \"x\" not found");
}

TEST_F(LogTest, EscapesControlCharacters) {
  Error(std::string("a\x01") + "b");
  auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j["msg"], std::string("a\x01") + "b");
}

TEST(ParseLevelTest, KnowsTheFourLevels) {
  Level l = Level::kInfo;
  EXPECT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_TRUE(ParseLevel("error", &l));
  EXPECT_EQ(l, Level::kError);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace herd::log
