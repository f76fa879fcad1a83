#include "common/k8s/image.h"

#include "gtest/gtest.h"

namespace herd::k8s {
namespace {

TEST(WithTag, KeepsTheRepositoryAndReplacesTagAndDigest) {
  EXPECT_EQ(WithTag("web", "42"), "web:42");
  EXPECT_EQ(WithTag("web:1.4", "42"), "web:42");
  EXPECT_EQ(WithTag("registry:5000/shop/web", "42"), "registry:5000/shop/web:42");
  EXPECT_EQ(WithTag("registry:5000/shop/web:1.4", "42"), "registry:5000/shop/web:42");
  EXPECT_EQ(WithTag("shop/web:1.4@sha256:0123abcd", "42"), "shop/web:42");
  EXPECT_EQ(WithTag("shop/web@sha256:0123abcd", "42"), "shop/web:42");
  EXPECT_EQ(WithTag("web:42", "42"), "web:42");  // again: the same
}

TEST(CheckImageTag, WhatRegistriesTake) {
  EXPECT_TRUE(CheckImageTag("42").ok());
  EXPECT_TRUE(CheckImageTag("v1.2.3-rc_1").ok());
  EXPECT_TRUE(CheckImageTag(std::string(128, 'a')).ok());
  for (const char* bad : {"", "-x", ".x", "a:b", "a/b", "a b", "é"}) {
    EXPECT_FALSE(CheckImageTag(bad).ok()) << bad;
  }
  EXPECT_FALSE(CheckImageTag(std::string(129, 'a')).ok());
}

}  // namespace
}  // namespace herd::k8s
