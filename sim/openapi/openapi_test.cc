#include "sim/openapi/openapi.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

std::vector<OpenApiResource> Resources() {
  return {{"apps", "v1", "deployments", "Deployment", true, {"status", "scale"}},
          {"", "v1", "pods", "Pod", true, {"status", "eviction", "log"}},
          {"", "v1", "namespaces", "Namespace", false, {"status"}},
          {"authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, {}, true}};
}

const OpenApi& Docs() {
  static const OpenApi* docs = new OpenApi(OpenApi::Build(Resources()));
  return *docs;
}

TEST(OpenApiV2, DefinesKindsWithTheirGroupVersionKindAndEveryReference) {
  Json v2 = Json::parse(Docs().V2Json());
  EXPECT_EQ(v2["swagger"], "2.0");
  const Json& defs = v2["definitions"];
  const Json& d = defs["io.k8s.api.apps.v1.Deployment"];
  EXPECT_EQ(d["x-kubernetes-group-version-kind"], Json::parse(R"([{"group":"apps","kind":"Deployment","version":"v1"}])"));
  EXPECT_EQ(d["properties"]["spec"]["$ref"], "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
  const Json& containers = defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
  EXPECT_EQ(containers["type"], "array");
  EXPECT_EQ(containers["items"]["$ref"], "#/definitions/io.k8s.api.core.v1.Container");
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-list-map-keys"], Json::array({"name"}));
  EXPECT_EQ(defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"], "int-or-string");
  EXPECT_EQ(defs["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"]["type"]["enum"],
            Json::array({"Recreate", "RollingUpdate"}));
  // Inline fields are flattened: a Volume has configMap directly.
  EXPECT_TRUE(defs["io.k8s.api.core.v1.Volume"]["properties"].contains("configMap"));
  // Every $ref resolves.
  std::function<void(const Json&)> check = [&](const Json& j) {
    if (j.is_object()) {
      if (j.contains("$ref")) {
        std::string ref = j["$ref"];
        EXPECT_TRUE(defs.contains(ref.substr(strlen("#/definitions/")))) << ref;
      }
      for (const auto& [k, v] : j.items()) check(v);
    } else if (j.is_array()) {
      for (const auto& v : j) check(v);
    }
  };
  check(v2);
}

TEST(OpenApiV2, PatchOperationsTakeFieldValidation) {
  Json v2 = Json::parse(Docs().V2Json());
  const Json& patch = v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"]["kind"], "Deployment");
  bool found = false;
  for (const auto& p : patch["parameters"]) found |= p["name"] == "fieldValidation" && p["in"] == "query";
  EXPECT_TRUE(found);
  EXPECT_TRUE(v2["paths"].contains("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"));
  EXPECT_FALSE(v2["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"].contains("get"));
}

// The protobuf form starts with the swagger field and carries the paths and
// definitions: spot-check the bytes a gnostic decoder reads first.
TEST(OpenApiV2, ProtobufFormIsAGnosticDocument) {
  const std::string& pb = Docs().V2Protobuf();
  ASSERT_GT(pb.size(), 1000u);
  EXPECT_EQ(pb.substr(0, 5), std::string("\x0a\x03" "2.0", 5));
  EXPECT_NE(pb.find("io.k8s.api.apps.v1.Deployment"), std::string::npos);
  EXPECT_NE(pb.find("x-kubernetes-group-version-kind"), std::string::npos);
  EXPECT_NE(pb.find(R"([{"group":"apps","kind":"Deployment","version":"v1"}])"), std::string::npos);
}

TEST(OpenApiV3, IndexesADocumentPerGroupVersionWithAllOfReferences) {
  Json index = Json::parse(Docs().V3Index());
  std::string url = index["paths"]["apis/apps/v1"]["serverRelativeURL"];
  EXPECT_EQ(url.rfind("/openapi/v3/apis/apps/v1?hash=", 0), 0u);
  EXPECT_EQ(url.size(), strlen("/openapi/v3/apis/apps/v1?hash=") + 128);
  const std::string* doc = Docs().V3Document("apis/apps/v1");
  ASSERT_NE(doc, nullptr);
  Json d = Json::parse(*doc);
  const Json& strategy = d["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"];
  EXPECT_EQ(strategy["allOf"][0]["$ref"], "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy");
  EXPECT_FALSE(strategy["description"].get<std::string>().empty());
  EXPECT_TRUE(d["components"]["schemas"].contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
  EXPECT_EQ(Docs().V3Document("apis/nope/v1"), nullptr);
  EXPECT_NE(Docs().V3Document("api/v1"), nullptr);
}

}  // namespace
}  // namespace herd::sim
