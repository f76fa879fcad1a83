#include "sim/rbac/rbac.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

class FakeObjects : public RbacObjects {
 public:
  FakeObjects() {
    for (auto& r : BootstrapClusterRoles()) cluster_roles[r["metadata"]["name"]] = r;
    for (auto& b : BootstrapClusterRoleBindings()) cluster_bindings.push_back(b);
  }
  void ForEachClusterRoleBinding(const std::function<void(const Json&)>& fn) const override {
    for (const auto& b : cluster_bindings) fn(b);
  }
  void ForEachRoleBinding(const std::string& ns, const std::function<void(const Json&)>& fn) const override {
    for (const auto& b : role_bindings) {
      if (b["metadata"]["namespace"] == ns) fn(b);
    }
  }
  const Json* ClusterRole(const std::string& name) const override {
    auto it = cluster_roles.find(name);
    return it == cluster_roles.end() ? nullptr : &it->second;
  }
  const Json* Role(const std::string& ns, const std::string& name) const override {
    auto it = roles.find(ns + "/" + name);
    return it == roles.end() ? nullptr : &it->second;
  }
  std::map<std::string, Json> cluster_roles, roles;
  std::vector<Json> cluster_bindings, role_bindings;
};

UserInfo Ci() { return ServiceAccountUser("refrbac", "ci", "u"); }

// ../shared/k8s-reference/rbac-403-forbidden.txt and selfsubjectaccessreview.txt
TEST(Rbac, AServiceAccountWithoutBindingsIsRefusedThenAllowedByARoleBindingToView) {
  FakeObjects objects;
  RbacAuthorizer rbac(objects);
  RequestAttributes list{.user = Ci(), .verb = "list", .resource = "pods", .ns = "refrbac"};
  EXPECT_FALSE(rbac.Authorize(list).allowed);
  ForbiddenStatus f = Forbidden(list);
  EXPECT_EQ(f.message,
            "pods is forbidden: User \"system:serviceaccount:refrbac:ci\" cannot list resource \"pods\" in API group "
            "\"\" in the namespace \"refrbac\"");
  EXPECT_EQ(f.details, Json::parse(R"({"kind":"pods"})"));

  objects.role_bindings.push_back(Json::parse(R"({"metadata":{"name":"ci-view","namespace":"refrbac"},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},
    "subjects":[{"kind":"ServiceAccount","name":"ci","namespace":"refrbac"}]})"));
  Decision d = rbac.Authorize(list);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: allowed by RoleBinding \"ci-view/refrbac\" of ClusterRole \"view\" to ServiceAccount \"ci/refrbac\"");
  RequestAttributes all{.user = Ci(), .verb = "list", .resource = "pods"};
  EXPECT_FALSE(rbac.Authorize(all).allowed);
  EXPECT_EQ(Forbidden(all).message,
            "pods is forbidden: User \"system:serviceaccount:refrbac:ci\" cannot list resource \"pods\" in API group "
            "\"\" at the cluster scope");
  RequestAttributes del{.user = Ci(), .verb = "delete", .resource = "configmaps", .ns = "refrbac", .name = "a"};
  EXPECT_FALSE(rbac.Authorize(del).allowed);
  f = Forbidden(del);
  EXPECT_EQ(f.message,
            "configmaps \"a\" is forbidden: User \"system:serviceaccount:refrbac:ci\" cannot delete resource "
            "\"configmaps\" in API group \"\" in the namespace \"refrbac\"");
  EXPECT_EQ(f.details, Json::parse(R"({"name":"a","kind":"configmaps"})"));
  EXPECT_TRUE(rbac.Authorize({.user = Ci(), .verb = "get", .resource = "pods", .subresource = "log", .ns = "refrbac"}).allowed);
  EXPECT_FALSE(rbac.Authorize({.user = Ci(), .verb = "get", .api_group = "apps", .resource = "deployments", .ns = "other"}).allowed);
}

// ../shared/k8s-reference/impersonation.txt
TEST(Rbac, ImpersonationNeedsTheImpersonateVerb) {
  FakeObjects objects;
  RbacAuthorizer rbac(objects);
  RequestAttributes a{.user = Ci(), .verb = "impersonate", .resource = "users", .name = "alice"};
  EXPECT_FALSE(rbac.Authorize(a).allowed);
  EXPECT_EQ(Forbidden(a).message,
            "users \"alice\" is forbidden: User \"system:serviceaccount:refrbac:ci\" cannot impersonate resource "
            "\"users\" in API group \"\" at the cluster scope");
  UserInfo admin{kAdminUser, "", {"system:masters", "system:authenticated"}};
  EXPECT_TRUE(rbac.Authorize({.user = admin, .verb = "impersonate", .resource = "users", .name = "alice"}).allowed);
}

TEST(Rbac, NonResourceUrlsAndRulesReviews) {
  FakeObjects objects;
  RbacAuthorizer rbac(objects);
  EXPECT_TRUE(rbac.Authorize({.user = Ci(), .verb = "get", .resource_request = false, .path = "/apis"}).allowed);
  EXPECT_TRUE(rbac.Authorize({.user = Anonymous(), .verb = "get", .resource_request = false, .path = "/version"}).allowed);
  RequestAttributes root{.user = Anonymous(), .verb = "get", .resource_request = false, .path = "/api"};
  EXPECT_FALSE(rbac.Authorize(root).allowed);
  EXPECT_EQ(Forbidden(root).message, "forbidden: User \"system:anonymous\" cannot get path \"/api\"");
  Json status = rbac.RulesReviewStatus(Ci(), "refrbac");
  EXPECT_EQ(status["resourceRules"][0], Json::parse(R"({"verbs":["create"],"apiGroups":["authorization.k8s.io"],
    "resources":["selfsubjectaccessreviews","selfsubjectrulesreviews"]})"));
  EXPECT_EQ(status["incomplete"], false);
  EXPECT_FALSE(status["nonResourceRules"].empty());
}

}  // namespace
}  // namespace herd::sim
