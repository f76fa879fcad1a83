#include "common/flags/flags.h"

#include "gtest/gtest.h"

namespace herd {
namespace {

TEST(DashedFlagToAbslTest, RewritesOnlyTheName) {
  EXPECT_EQ(DashedFlagToAbsl("--kubeconfig-out=/tmp/a-b"), "--kubeconfig_out=/tmp/a-b");
  EXPECT_EQ(DashedFlagToAbsl("--insecure-no-auth"), "--insecure_no_auth");
  EXPECT_EQ(DashedFlagToAbsl("-pod-start-delay=2s"), "-pod_start_delay=2s");
  EXPECT_EQ(DashedFlagToAbsl("--"), "--");
  EXPECT_EQ(DashedFlagToAbsl("plain-arg"), "plain-arg");
}

TEST(IsOwnFlagFileTest, HelpListsHerdFlagsNotAbsls) {
  EXPECT_TRUE(IsOwnFlagFile("sim/main.cc"));
  EXPECT_TRUE(IsOwnFlagFile("server/herdd/main.cc"));
  EXPECT_FALSE(IsOwnFlagFile("/build/absl/flags/parse.cc"));
  EXPECT_FALSE(IsOwnFlagFile("absl/flags/internal/usage.cc"));
}

}  // namespace
}  // namespace herd
