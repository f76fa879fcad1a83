#include "server/api/cluster_access.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kube/rest_client.h"
#include "server/kube/testing/fake_apiserver.h"

namespace herd::api {
namespace {

using ::testing::HasSubstr;
using kube::Json;

v1::Plan PlanWith(std::initializer_list<v1::Permission> permissions) {
  v1::Plan plan;
  for (const auto& p : permissions) *plan.add_permissions() = p;
  return plan;
}

v1::Permission Perm(const std::string& verb, const std::string& group, const std::string& resource,
                    const std::string& subresource, const std::string& ns, const std::string& name) {
  v1::Permission p;
  p.set_verb(verb);
  p.set_group(group);
  p.set_resource(resource);
  p.set_subresource(subresource);
  p.set_namespace_(ns);
  p.set_name(name);
  return p;
}

class ClusterAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto api = kube::FakeApiServer::Start();
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);
    auto client = kube::NewRestClient(api_->Config());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  // Answers each review: allowed unless its verb is `refused_verb`.
  void AllowAllBut(const std::string& refused_verb) {
    api_->SetHandler([refused_verb](const http::Request& req, http::Responder res) {
      Json review = Json::parse(req.body);
      review["status"] = {{"allowed", review["spec"]["resourceAttributes"]["verb"] != refused_verb}};
      res.Respond(kube::JsonResponse(201, review));
    });
  }
  std::unique_ptr<kube::FakeApiServer> api_;
  std::unique_ptr<kube::KubeClient> client_;
};

TEST_F(ClusterAccessTest, AsksOneReviewPerDistinctPermission) {
  AllowAllBut("none");
  v1::Plan plan = PlanWith({Perm("patch", "apps", "deployments", "", "shop", "web"),
                            Perm("create", "", "pods", "eviction", "shop", ""),
                            Perm("patch", "apps", "deployments", "", "shop", "web")});
  ASSERT_TRUE(CheckWrites(*client_, "alice", plan).ok());
  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
  Json second = Json::parse(reqs[1].body);
  EXPECT_EQ(second["kind"], "SelfSubjectAccessReview");
  EXPECT_EQ(second["spec"]["resourceAttributes"],
            Json({{"verb", "create"}, {"group", ""}, {"resource", "pods"}, {"subresource", "eviction"},
                  {"namespace", "shop"}, {"name", ""}}));
}

TEST_F(ClusterAccessTest, ARefusalIsPermissionDeniedWordedAsTheApiServerWordsIt) {
  AllowAllBut("update");
  v1::Plan plan = PlanWith({Perm("update", "apps", "deployments", "scale", "shop", "web")});
  absl::Status st = CheckWrites(*client_, "alice", plan);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("deployments.apps \"web\" is forbidden: User \"alice\" cannot update resource "
                                      "\"deployments/scale\" in API group \"apps\" in the namespace \"shop\""));
  EXPECT_THAT(st.message(), HasSubstr("nothing was started"));
}

TEST_F(ClusterAccessTest, TheFirstRefusalEndsTheQuestions) {
  AllowAllBut("delete");
  v1::Plan plan = PlanWith({Perm("delete", "", "pods", "", "shop", ""), Perm("patch", "", "pods", "", "shop", "")});
  absl::Status st = CheckWrites(*client_, "bob", plan);
  EXPECT_THAT(st.message(), HasSubstr("User \"bob\" cannot delete resource \"pods\" in API group \"\" in the namespace \"shop\""));
  EXPECT_EQ(api_->request_count(), 1u);
}

TEST_F(ClusterAccessTest, AReviewThatCannotBeAskedIsItsOwnError) {
  api_->SetHandler([](const http::Request&, http::Responder res) {
    res.Respond(kube::JsonResponse(403, {{"kind", "Status"},
                                         {"apiVersion", "v1"},
                                         {"status", "Failure"},
                                         {"reason", "Forbidden"},
                                         {"code", 403},
                                         {"message", "users \"alice\" is forbidden: User \"herd\" cannot impersonate resource \"users\""}}));
  });
  absl::Status st = CheckWrites(*client_, "alice", PlanWith({Perm("patch", "apps", "deployments", "", "shop", "web")}));
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("asking the cluster whether alice may patch deployments"));
  EXPECT_THAT(st.message(), HasSubstr("cannot impersonate"));
}

TEST_F(ClusterAccessTest, NoPermissionsNoQuestions) {
  EXPECT_TRUE(CheckWrites(*client_, "alice", v1::Plan()).ok());
  EXPECT_EQ(api_->request_count(), 0u);
}

}  // namespace
}  // namespace herd::api
