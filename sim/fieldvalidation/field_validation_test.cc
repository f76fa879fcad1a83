#include "sim/fieldvalidation/field_validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::sim {
namespace {

using ::testing::ElementsAre;

// The body of ../shared/k8s-reference/field-validation.txt: two unknown
// fields and a duplicate.
const char kTypo[] = R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"typo"},
  "spec":{"replicas":2,"replicass":3,"replicas":2,"selector":{"matchLabels":{"app":"t"}},
  "template":{"metadata":{"labels":{"app":"t"}},"spec":{"containers":[
    {"name":"c","image":"t:1","imagePullPolicyy":"Always","ports":[{"containerPort":80,"nope":{"deep":1}}]}]}}}})";

TEST(FieldValidation, ReportsUnknownAndDuplicateFieldsWithTheirPathsInOrder) {
  auto d = DecodeChecked(kTypo, schema::FindKind("apps/v1", "Deployment"));
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->issues, ElementsAre("unknown field \"spec.replicass\"", "duplicate field \"spec.replicas\"",
                                     "unknown field \"spec.template.spec.containers[0].imagePullPolicyy\"",
                                     "unknown field \"spec.template.spec.containers[0].ports[0].nope\""));
  // Unknown fields are dropped; the last duplicate wins.
  EXPECT_FALSE(d->object["spec"].contains("replicass"));
  EXPECT_EQ(d->object["spec"]["replicas"], 2);
  EXPECT_FALSE(d->object["spec"]["template"]["spec"]["containers"][0].contains("imagePullPolicyy"));
  EXPECT_EQ(d->object["spec"]["template"]["spec"]["containers"][0]["image"], "t:1");
  EXPECT_EQ(d->object["spec"]["template"]["spec"]["containers"][0]["ports"][0],
            nlohmann::json::parse(R"({"containerPort":80})"));
  EXPECT_EQ(StrictErrorMessage("Deployment", "v1", {d->issues[0], d->issues[1]}),
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: "
            "unknown field \"spec.replicass\", duplicate field \"spec.replicas\"");
  EXPECT_EQ(WarningHeader(d->issues[0]), R"(299 - "unknown field \"spec.replicass\"")");
}

TEST(FieldValidation, MapsRawJsonAndDirectivesAreNotUnknown) {
  auto d = DecodeChecked(R"({"metadata":{"labels":{"any":"x"},"annotations":{"a/b":"y"}},"data":{"k":"v"}})",
                         schema::FindKind("v1", "ConfigMap"));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->issues.empty());
  d = DecodeChecked(R"({"data":{"anything":{"goes":1}},"revision":1})", schema::FindKind("apps/v1", "ControllerRevision"));
  EXPECT_TRUE(d->issues.empty());
  d = DecodeChecked(R"({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"}]}}}})",
                    schema::FindKind("apps/v1", "Deployment"), /*patch=*/true);
  EXPECT_TRUE(d->issues.empty());
  d = DecodeChecked(R"({"spec":{"$retainKeys":["type"]}})", schema::FindKind("apps/v1", "Deployment"));
  EXPECT_THAT(d->issues, ElementsAre("unknown field \"spec.$retainKeys\""));
  // Inline fields: a Volume's configMap; an Eviction's DeleteOptions with its own kind.
  d = DecodeChecked(R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"c"}}],"containers":[]}})",
                    schema::FindKind("v1", "Pod"));
  EXPECT_TRUE(d->issues.empty());
  d = DecodeChecked(R"({"apiVersion":"policy/v1","kind":"Eviction","deleteOptions":{"kind":"DeleteOptions","apiVersion":"v1"}})",
                    schema::FindKind("policy/v1", "Eviction"));
  EXPECT_TRUE(d->issues.empty());
  EXPECT_FALSE(DecodeChecked("{nope", nullptr).has_value());
}

TEST(FieldValidation, ParsesTheDirective) {
  EXPECT_EQ(*ParseFieldValidation(nullptr), FieldValidation::kWarn);
  std::string s = "Strict", i = "Ignore", bad = "Loose";
  EXPECT_EQ(*ParseFieldValidation(&s), FieldValidation::kStrict);
  EXPECT_EQ(*ParseFieldValidation(&i), FieldValidation::kIgnore);
  EXPECT_FALSE(ParseFieldValidation(&bad).ok());
}

}  // namespace
}  // namespace herd::sim
