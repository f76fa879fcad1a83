#include "server/kube/resource.h"

#include "gtest/gtest.h"

namespace herd::kube {
namespace {

TEST(ResourceTest, PathsOfCoreAndGroupResources) {
  EXPECT_EQ(kDeployments.Path("shop", "web", "scale"), "/apis/apps/v1/namespaces/shop/deployments/web/scale");
  EXPECT_EQ(kDeployments.Path("shop"), "/apis/apps/v1/namespaces/shop/deployments");
  EXPECT_EQ(kDeployments.Path(""), "/apis/apps/v1/deployments");
  EXPECT_EQ(kPods.Path("shop", "web-1"), "/api/v1/namespaces/shop/pods/web-1");
  EXPECT_EQ(kNodes.Path("ignored", "n1"), "/api/v1/nodes/n1");
  EXPECT_EQ(kLeases.Path("herd", "l"), "/apis/coordination.k8s.io/v1/namespaces/herd/leases/l");
}

TEST(ResourceTest, ApiVersionAndGroupResource) {
  EXPECT_EQ(kPods.ApiVersion(), "v1");
  EXPECT_EQ(kDeployments.ApiVersion(), "apps/v1");
  EXPECT_EQ(kPods.GroupResource(), "pods");
  EXPECT_EQ(kDeployments.GroupResource(), "deployments.apps");
}

}  // namespace
}  // namespace herd::kube
