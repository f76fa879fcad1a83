#include "gateway/openapi.h"

#include <set>

#include "absl/strings/ascii.h"
#include "gateway/openapi_doc.h"
#include "gateway/testdata/echo.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.pb.h"

namespace herd::gateway {
namespace {

using Json = nlohmann::json;

std::set<std::string> RouteKeys(const std::vector<Route>& routes) {
  std::set<std::string> out;
  for (const Route& r : routes) out.insert(absl::AsciiStrToLower(r.http_method) + " " + r.path.OpenApiPath());
  return out;
}

std::set<std::string> DocKeys(const Json& doc) {
  std::set<std::string> out;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) out.insert(method + " " + path);
  }
  return out;
}

TEST(OpenApiTest, TheEmbeddedDocumentHasExactlyTheRoutesTheGatewayServes) {
  const auto* herd = v1::RolloutRequest::descriptor()->file()->FindServiceByName("Herd");
  auto routes = RoutesOf(*herd);
  ASSERT_TRUE(routes.ok());
  Json doc = Json::parse(EmbeddedOpenApi(), nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_EQ(DocKeys(doc), RouteKeys(*routes));
  EXPECT_EQ(DocKeys(doc).size(), routes->size());  // no two routes share a path and method
  // The proto comments are the descriptions.
  const Json& rollout = doc["paths"]["/v1/namespaces/{namespace}/deployments/{deployment}:rollout"]["post"];
  EXPECT_THAT(rollout["description"].get<std::string>(), ::testing::HasSubstr("Sets container images"));
  EXPECT_EQ(rollout["operationId"], "Rollout");
  EXPECT_EQ(rollout["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/herd.v1.RolloutRequest");
  const Json& schemas = doc["components"]["schemas"];
  EXPECT_TRUE(schemas.contains("herd.v1.Operation"));
  EXPECT_EQ(schemas["herd.v1.RolloutRequest"]["properties"]["noRollback"]["type"], "boolean");
  // Every $ref points at a schema the document defines.
  std::function<void(const Json&)> check = [&](const Json& j) {
    if (j.is_object()) {
      if (j.contains("$ref")) {
        std::string ref = j["$ref"];
        EXPECT_TRUE(schemas.contains(ref.substr(ref.rfind('/') + 1))) << ref;
      }
      for (const auto& [k, v] : j.items()) check(v);
    } else if (j.is_array()) {
      for (const auto& v : j) check(v);
    }
  };
  check(doc);
}

TEST(OpenApiTest, BodylessRoutesListTheirQueryParametersAndStreamsTheirFormats) {
  auto routes = RoutesOf(*gatewaytest::EchoRequest::descriptor()->file()->service(0));
  ASSERT_TRUE(routes.ok());
  Json doc = OpenApiDocument(*routes, {.title = "echo", .version = "1"});
  const Json& get = doc["paths"]["/t/rooms/{room}/speakers/{speaker}"]["get"];
  std::set<std::string> names;
  for (const auto& p : get["parameters"]) names.insert(p["in"].get<std::string>() + ":" + p["name"].get<std::string>());
  EXPECT_TRUE(names.count("path:room"));
  EXPECT_TRUE(names.count("path:speaker"));
  EXPECT_TRUE(names.count("query:note.text"));
  EXPECT_TRUE(names.count("query:tags"));
  EXPECT_FALSE(names.count("query:name"));    // in the path
  EXPECT_FALSE(names.count("query:labels"));  // a map cannot be given in a query
  const Json& count = doc["paths"]["/t/rooms/{room}:count"]["get"]["responses"]["200"]["content"];
  EXPECT_TRUE(count.contains("application/x-ndjson"));
  EXPECT_TRUE(count.contains("text/event-stream"));
  EXPECT_EQ(doc["paths"]["/t/rooms/{room}/speakers/{speaker}:say"]["post"]["operationId"], "Say");
  EXPECT_EQ(doc["paths"]["/t/rooms/{room}/speakers/{speaker}"]["get"]["operationId"], "Say_2");
}

}  // namespace
}  // namespace herd::gateway
