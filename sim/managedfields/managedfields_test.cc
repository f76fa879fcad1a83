#include "sim/managedfields/managedfields.h"

#include "gtest/gtest.h"

namespace herd::sim::managedfields {
namespace {

const schema::Message& DeploymentKind() { return *schema::FindKind("apps/v1", "Deployment"); }

// A Deployment as kubesim stores it after defaults (trimmed).
Json Deployment(int replicas, const std::string& image) {
  return Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "ref", "uid": "u1", "labels": {"app": "web"}},
    "spec": {
      "replicas": )" + std::to_string(replicas) + R"(,
      "selector": {"matchLabels": {"app": "web"}},
      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
      "template": {
        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": ")" + image + R"(", "resources": {}}],
                 "securityContext": {}}}},
    "status": {}})");
}

Writer By(const std::string& manager, const std::string& sub = "") { return {manager, "apps/v1", sub}; }

TEST(ManagedFields, CreateRecordsWhatTheRealServerRecords) {
  Entries entries;
  Json zero = ZeroObject(DeploymentKind());
  RecordUpdate(&zero, Deployment(3, "web:1"), DeploymentKind(), By("kubectl-create"), "2026-11-25T10:58:32Z", entries);
  ASSERT_EQ(entries.size(), 1u);
  // As deployment-after-rollout.txt: "." on nodes that are new (labels,
  // rollingUpdate, the container), none on value structs (spec, strategy,
  // template), atomic selector and empty maps as leaves, server metadata out.
  EXPECT_EQ(EncodeEntries(entries), Json::parse(R"([{
    "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-11-25T10:58:32Z",
    "fieldsType": "FieldsV1", "fieldsV1": {
      "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
      "f:spec": {
        "f:replicas": {}, "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
        "f:template": {
          "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
          "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}},
                     "f:securityContext": {}}}}}}])"));
}

TEST(ManagedFields, UpdatesTakeOwnershipMergeByManagerAndDropEmptiedEntries) {
  Entries entries;
  Json zero = ZeroObject(DeploymentKind());
  Json v1 = Deployment(3, "web:1");
  RecordUpdate(&zero, v1, DeploymentKind(), By("kubectl-create"), "t1", entries);
  // A write that changes nothing records nothing.
  RecordUpdate(&v1, v1, DeploymentKind(), By("kubectl-edit"), "t2", entries);
  ASSERT_EQ(entries.size(), 1u);

  Json v2 = Deployment(5, "web:1");
  RecordUpdate(&v1, v2, DeploymentKind(), By("kubectl", "scale"), "t3", entries);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_FALSE(entries[0].fields.Has({"f:spec", "f:replicas"}));
  EXPECT_EQ(entries[1].fields.ToJson(), Json::parse(R"({"f:spec": {"f:replicas": {}}})"));
  EXPECT_EQ(entries[1].subresource, "scale");

  // The same manager again merges into its entry, with the new time.
  Json v3 = Deployment(6, "web:1");
  RecordUpdate(&v2, v3, DeploymentKind(), By("kubectl", "scale"), "t4", entries);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].time, "t4");

  // Taking the only field a manager had removes its entry.
  Json v4 = Deployment(7, "web:1");
  RecordUpdate(&v3, v4, DeploymentKind(), By("herd"), "t5", entries);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].manager, "herd");
}

TEST(ManagedFields, StatusWritesOwnOnlyTheStatus) {
  Entries entries;
  Json before = Deployment(3, "web:1");
  Json after = before;
  after["status"] = {{"replicas", 3}, {"conditions", {{{"type", "Available"}, {"status", "True"}}}}};
  RecordUpdate(&before, after, DeploymentKind(), By("kube-controller-manager", "status"), "t", entries);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].fields.ToJson(), Json::parse(R"({"f:status": {"f:replicas": {}, "f:conditions": {".": {},
      "k:{\"type\":\"Available\"}": {".": {}, "f:status": {}, "f:type": {}}}}})"));
}

TEST(ManagedFields, EntriesRoundTripAndSortApplyFirst) {
  Json in = Json::parse(R"([
    {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:02Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:x": {}}}},
    {"manager": "a", "operation": "Apply", "apiVersion": "v1", "time": "2026-01-01T00:00:05Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:y": {}}}}])");
  auto entries = DecodeEntries(in);
  ASSERT_TRUE(entries.ok());
  Json out = EncodeEntries(*entries);
  EXPECT_EQ(out[0], in[1]);
  EXPECT_EQ(out[1], in[0]);
  EXPECT_FALSE(DecodeEntries(Json::parse(R"([{"manager": "x", "operation": "Nope"}])")).ok());
  EXPECT_TRUE(IsReset(Json::parse("[{}]")));
  EXPECT_FALSE(IsReset(Json::parse("[]")));
}

Json Applied(int replicas, bool with_replicas = true) {
  Json c = Json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}})");
  if (with_replicas) c["spec"]["replicas"] = replicas;
  return c;
}

TEST(ManagedFields, ApplyConflictsWithAnotherManagersDifferentValueUnlessForced) {
  Entries entries;
  Json live = Deployment(3, "web:1");
  auto merged = Apply(nullptr, Applied(3), DeploymentKind(), By("kubectl"), false, "t1", entries);
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].operation, "Apply");
  EXPECT_TRUE(entries[0].fields.Has({"f:spec", "f:replicas"}));
  EXPECT_TRUE(entries[0].fields.Has({"f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"web\"}"}));

  // kubectl scale takes .spec.replicas through the scale subresource.
  Json scaled = live;
  scaled["spec"]["replicas"] = 5;
  RecordUpdate(&live, scaled, DeploymentKind(), By("kubectl", "scale"), "t2", entries);

  // Applying the value kubectl scale set is no conflict: both own it.
  Entries shared = entries;
  ASSERT_TRUE(Apply(&scaled, Applied(5), DeploymentKind(), By("kubectl"), false, "t3", shared).ok());
  EXPECT_TRUE(shared[0].fields.Has({"f:spec", "f:replicas"}));
  EXPECT_TRUE(shared[1].fields.Has({"f:spec", "f:replicas"}));

  std::vector<Conflict> conflicts;
  Entries refused = entries;
  auto conflict = Apply(&scaled, Applied(3), DeploymentKind(), By("kubectl"), false, "t3", refused, &conflicts);
  ASSERT_EQ(conflict.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(conflict.status().message(),
            "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: "
            ".spec.replicas");
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].path, ".spec.replicas");

  auto forced = Apply(&scaled, Applied(3), DeploymentKind(), By("kubectl"), true, "t3", entries);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ((*forced)["spec"]["replicas"], 3);
  ASSERT_EQ(entries.size(), 1u);  // the scale entry lost its only field
  EXPECT_TRUE(entries[0].fields.Has({"f:spec", "f:replicas"}));
}

TEST(ManagedFields, ApplyRemovesWhatTheManagerNoLongerAppliesUnlessOthersOwnIt) {
  Entries entries;
  Json config = Applied(3);
  config["metadata"]["labels"] = {{"app", "web"}, {"tier", "front"}};
  config["spec"]["template"]["spec"]["containers"].push_back({{"name", "sidecar"}, {"image", "log:1"}});
  auto first = Apply(nullptr, config, DeploymentKind(), By("kubectl"), false, "t1", entries);
  ASSERT_TRUE(first.ok());

  // Another manager shares the tier label.
  Json live = *first;
  Entries two = entries;
  Json labelled = live;
  labelled["metadata"]["labels"]["tier"] = "back";
  RecordUpdate(&live, labelled, DeploymentKind(), By("herd"), "t2", two);

  Json next = Applied(3);  // no tier label, no sidecar
  next["metadata"]["labels"] = {{"app", "web"}};
  auto second = Apply(&labelled, next, DeploymentKind(), By("kubectl"), false, "t3", two);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)["metadata"]["labels"], Json({{"app", "web"}, {"tier", "back"}}));
  ASSERT_EQ((*second)["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ((*second)["spec"]["template"]["spec"]["containers"][0]["name"], "web");
}

TEST(ManagedFields, AssociativeListsMergeByKeyAndPathsPrintLikeUpstream) {
  Entries entries;
  Json live = Deployment(3, "web:1");
  live["spec"]["template"]["spec"]["containers"][0]["ports"] = {{{"containerPort", 80}, {"protocol", "TCP"}}};
  Json config = Applied(3);
  config["spec"]["template"]["spec"]["containers"][0]["ports"] = {{{"containerPort", 80}}, {{"containerPort", 443}}};
  auto merged = Apply(&live, config, DeploymentKind(), By("kubectl"), false, "t", entries);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ((*merged)["spec"]["template"]["spec"]["containers"][0]["ports"].size(), 2u);
  EXPECT_TRUE(entries[0].fields.Has({"f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"web\"}",
                                     "f:ports", "k:{\"containerPort\":443,\"protocol\":\"TCP\"}"}));
  EXPECT_EQ(PathString({"f:spec", "f:containers", "k:{\"name\":\"web\"}", "f:image"}),
            ".spec.containers[name=\"web\"].image");
  EXPECT_EQ(PathString({"f:metadata", "f:finalizers", "v:\"x\""}), ".metadata.finalizers[=\"x\"]");
}


TEST(ManagedFields, ApplyRefusesFieldsTheSchemaDoesNotDeclareAsStructuredMergeDiffDoes) {
  Entries entries;
  Json config = Applied(3);
  config["spec"]["replicass"] = 2;
  auto refused = Apply(nullptr, config, DeploymentKind(), By("kubectl"), false, "t", entries);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), ".spec.replicass: field not declared in schema");
  EXPECT_TRUE(entries.empty());

  // Items of an associative list are named by their keys, of an atomic one
  // by their index; one undeclared field a struct, each on its own line.
  config = Applied(3);
  config["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always";
  config["spec"]["template"]["spec"]["containers"][0]["command"] = {"run"};
  config["spec"]["template"]["spec"]["tolerations"] = {{{"key", "k"}, {"effectt", "NoSchedule"}}};
  config["metadata"]["labelz"] = {{"a", "b"}};
  config["metadata"]["zzz"] = 1;
  refused = Apply(nullptr, config, DeploymentKind(), By("kubectl"), false, "t", entries);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "errors:\n"
            "  .metadata.labelz: field not declared in schema\n"
            "  .spec.template.spec.containers[name=\"web\"].imagePullPolicyy: field not declared in schema\n"
            "  .spec.template.spec.tolerations[0].effectt: field not declared in schema");
}

}  // namespace
}  // namespace herd::sim::managedfields
