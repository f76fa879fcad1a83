#include "gateway/path_template.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(PathTemplateTest, BindsAResourceNameVariableAndTheVerb) {
  auto t = PathTemplate::Parse("/v1/{workload=namespaces/*/deployments/*}:rollout");
  ASSERT_TRUE(t.ok()) << t.status();
  PathTemplate::Bindings b;
  EXPECT_TRUE(t->Match({"v1", "namespaces", "shop", "deployments", "web"}, "rollout", &b));
  EXPECT_THAT(b, ElementsAre(Pair("workload", "namespaces/shop/deployments/web")));
  EXPECT_FALSE(t->Match({"v1", "namespaces", "shop", "statefulsets", "web"}, "rollout", &b));
  EXPECT_FALSE(t->Match({"v1", "namespaces", "shop", "deployments", "web"}, "undo", &b));
  EXPECT_FALSE(t->Match({"v1", "namespaces", "shop", "deployments"}, "rollout", &b));
  EXPECT_EQ(t->verb(), "rollout");
  EXPECT_THAT(t->Variables(), ElementsAre("workload"));
  EXPECT_EQ(t->VariablePattern("workload"), "namespaces/*/deployments/*");
}

TEST(PathTemplateTest, ShortVariablesStarsAndDoubleStars) {
  auto t = PathTemplate::Parse("/v1/namespaces/{namespace}/pods:kill");
  ASSERT_TRUE(t.ok());
  PathTemplate::Bindings b;
  EXPECT_TRUE(t->Match({"v1", "namespaces", "shop", "pods"}, "kill", &b));
  EXPECT_THAT(b, ElementsAre(Pair("namespace", "shop")));
  EXPECT_FALSE(t->Match({"v1", "namespaces", "", "pods"}, "kill", &b));  // a wildcard needs a segment

  auto all = PathTemplate::Parse("/files/{path=**}");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->Match({"files", "a", "b", "c"}, "", &b));
  EXPECT_THAT(b, ElementsAre(Pair("path", "a/b/c")));

  auto nested = PathTemplate::Parse("/t/{msg.id}/x/*");
  ASSERT_TRUE(nested.ok());
  EXPECT_TRUE(nested->Match({"t", "7", "x", "y"}, "", &b));
  EXPECT_THAT(b, ElementsAre(Pair("msg.id", "7")));
}

TEST(PathTemplateTest, OpenApiFormNamesEachWildcardAfterItsCollection) {
  std::vector<PathTemplate::OpenApiParam> params;
  EXPECT_EQ(PathTemplate::Parse("/v1/{workload=namespaces/*/deployments/*}:rollout")->OpenApiPath(&params),
            "/v1/namespaces/{namespace}/deployments/{deployment}:rollout");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "namespace");
  EXPECT_EQ(params[0].field_path, "workload");
  EXPECT_EQ(PathTemplate::Parse("/v1/{name=operations/*}:watch")->OpenApiPath(), "/v1/operations/{operation}:watch");
  EXPECT_EQ(PathTemplate::Parse("/v1/namespaces/{namespace}/workloads")->OpenApiPath(),
            "/v1/namespaces/{namespace}/workloads");
}

TEST(PathTemplateTest, RefusesMalformedTemplates) {
  for (const char* bad : {"v1/x", "/v1/{x", "/v1/x}", "/v1//x", "/v1/{1x}", "/v1/**/x", "/v1/x:", "/v1/{a=}",
                          "/v1/a*b"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
  EXPECT_THAT(PathTemplate::Parse("/v1/{x").status().message(), HasSubstr("unbalanced"));
}

}  // namespace
}  // namespace herd::gateway
