#include "server/ops/names.h"

#include <regex>
#include <string>

#include "gtest/gtest.h"

namespace herd::ops {
namespace {

bool ValidName(const std::string& n) {
  static const std::regex kDns1123Label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return n.size() <= 63 && std::regex_match(n, kDns1123Label);
}

TEST(SafeNameTest, AWorkloadKeyKeepsItsReadableName) {
  EXPECT_EQ(SafeName("herd-lock-", {"namespaces/shop/deployments/web"}), "herd-lock-namespaces-shop-deployments-web");
}

TEST(SafeNameTest, ALongKeyIsShortenedWithAHash) {
  std::string key = "namespaces/production-eu-west/deployments/checkout-payment-gateway-v2";
  std::string n = SafeName("herd-lock-", {key});
  EXPECT_TRUE(ValidName(n)) << n;
  EXPECT_EQ(n.substr(0, 52), "herd-lock-namespaces-production-eu-west-deployments-");
}

// A purge by selector locks "namespaces/shop/pods?labelSelector=app in
// (web,db)": cleaned, its name ended in '-', which the API server refuses.
TEST(SafeNameTest, ASelectorKeyMakesAValidName) {
  std::string n = SafeName("herd-lock-", {"namespaces/shop/pods?labelSelector=app in (web,db)"});
  EXPECT_TRUE(ValidName(n)) << n;
}

TEST(SafeNameTest, KeysThatCleanTheSameGetDifferentNames) {
  const std::string pairs[][2] = {
      {"namespaces/shop/pods?labelSelector=app=web", "namespaces/shop/pods?labelSelector=app!=web"},
      {"namespaces/shop/deployments/web.v2", "namespaces/shop/deployments/web-v2"},
      {"namespaces/shop/pods?labelSelector=tier=API", "namespaces/shop/pods?labelSelector=tier=api"},
  };
  for (const auto& [a, b] : pairs) {
    std::string na = SafeName("herd-lock-", {a}), nb = SafeName("herd-lock-", {b});
    EXPECT_NE(na, nb) << a << " / " << b;
    EXPECT_TRUE(ValidName(na)) << na;
    EXPECT_TRUE(ValidName(nb)) << nb;
  }
}

}  // namespace
}  // namespace herd::ops
