#include "sim/protobuf/protobuf.h"

#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/protobuf/internal/go_duration.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

// Bodies captured from kubectl 1.32 by testdata/capture.sh, next to
// kubectl's own JSON for the same object where it can print one.
std::string ReadTestdata(absl::string_view name) {
  std::ifstream in(absl::StrCat(HERD_PROTOBUF_TESTDATA, "/", name), std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json DecodeTestdata(absl::string_view name) {
  auto decoded = DecodeKubernetesProtobuf(ReadTestdata(absl::StrCat(name, ".pb")));
  EXPECT_TRUE(decoded.ok()) << name << ": " << decoded.status();
  return decoded.ok() ? *decoded : Json();
}

// Builds protobuf bytes field by field, as Go's encoder lays them out.
class Pb {
 public:
  Pb& Varint(uint32_t field, uint64_t v) {
    Key(field, 0);
    Raw(v);
    return *this;
  }
  Pb& Bytes(uint32_t field, absl::string_view v) {
    Key(field, 2);
    Raw(v.size());
    out_.append(v.data(), v.size());
    return *this;
  }
  Pb& Msg(uint32_t field, const Pb& m) { return Bytes(field, m.str()); }
  Pb& Fixed64(uint32_t field, uint64_t v) {
    Key(field, 1);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  // map<string, string> entry.
  Pb& Entry(uint32_t field, absl::string_view key, absl::string_view value) {
    return Msg(field, Pb().Bytes(1, key).Bytes(2, value));
  }
  const std::string& str() const { return out_; }

  // A varint without a key (for packed runs).
  Pb& Raw(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }

 private:
  void Key(uint32_t field, uint32_t wire_type) { Raw((uint64_t{field} << 3) | wire_type); }
  std::string out_;
};

std::string Envelope(absl::string_view api_version, absl::string_view kind, const Pb& object) {
  Pb unknown;
  unknown.Msg(1, Pb().Bytes(1, api_version).Bytes(2, kind)).Msg(2, object).Bytes(3, "").Bytes(4, "");
  return absl::StrCat(absl::string_view("k8s\0", 4), unknown.str());
}

Pb Meta(absl::string_view name) { return Pb().Bytes(1, name).Msg(8, Pb()); }

// --- Bodies kubectl sends -------------------------------------------------

class KubectlBodyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KubectlBodyTest, DecodesToKubectlsOwnJson) {
  Json want = Json::parse(ReadTestdata(absl::StrCat(GetParam(), ".json")));
  EXPECT_EQ(DecodeTestdata(GetParam()), want) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Captured, KubectlBodyTest,
                         ::testing::Values("create_deployment", "create_namespace", "create_configmap", "create_secret",
                                           "create_service", "create_pdb", "create_cronjob", "create_job_from_cronjob"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

TEST(DecodeKubernetesProtobuf, CreateDeploymentBody) {
  // kubectl create deployment web --image=nginx:1.25 --replicas=3 --port=80
  EXPECT_EQ(DecodeTestdata("create_deployment"), Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
    "spec": {
      "replicas": 3,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                 "ports": [{"containerPort": 80}], "resources": {}}]}},
      "strategy": {}},
    "status": {}})"));
}

TEST(DecodeKubernetesProtobuf, JobFromCronJobKeepsOwnerReferenceAndTemplate) {
  // kubectl create job manual --from=cronjob/tick
  Json job = DecodeTestdata("create_job_from_cronjob");
  const Json& owner = job["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "CronJob");
  EXPECT_EQ(owner["name"], "tick");
  EXPECT_EQ(owner["controller"], true);
  EXPECT_FALSE(owner.contains("blockOwnerDeletion"));  // *bool left nil
  EXPECT_EQ(job["metadata"]["annotations"], Json::parse(R"({"cronjob.kubernetes.io/instantiate": "manual"})"));
  EXPECT_EQ(job["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(job["spec"]["template"]["spec"]["securityContext"], Json::object());
  EXPECT_EQ(job["spec"]["template"]["spec"]["containers"][0]["command"], Json::parse(R"(["date"])"));
}

TEST(DecodeKubernetesProtobuf, DebugNodePodHasHostNamespacesAndHostPathVolume) {
  // kubectl debug node/kubesim-node-1 --image=busybox:1.36 --profile=general -- sleep 3600
  EXPECT_EQ(DecodeTestdata("debug_node"), Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "node-debugger-kubesim-node-1-g7zbr", "creationTimestamp": null},
    "spec": {
      "containers": [{"name": "debugger", "image": "busybox:1.36", "command": ["sleep", "3600"],
                      "resources": {}, "terminationMessagePolicy": "File",
                      "volumeMounts": [{"name": "host-root", "mountPath": "/host"}]}],
      "hostIPC": true, "hostNetwork": true, "hostPID": true,
      "nodeName": "kubesim-node-1",
      "restartPolicy": "Never",
      "tolerations": [{"operator": "Exists"}],
      "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}]},
    "status": {}})"));
}

TEST(DecodeKubernetesProtobuf, DebugCopyPodKeepsProjectedVolumeAndPointerZeros) {
  // kubectl debug victim --copy-to=victim-debug --container=dbg --env=… -- sleep 3600:
  // a copy of a pod the server defaulted, so most of PodSpec is set.
  Json pod = DecodeTestdata("debug_copy");
  const Json& spec = pod["spec"];
  EXPECT_EQ(spec["priority"], 0);  // *int32 set to 0 is not "unset"
  EXPECT_EQ(spec["enableServiceLinks"], true);
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(spec["tolerations"][0], Json::parse(R"({"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                                    "effect": "NoExecute", "tolerationSeconds": 300})"));
  EXPECT_EQ(spec["volumes"][0], Json::parse(R"({"name": "kube-api-access-jhckr", "projected": {
      "defaultMode": 420,
      "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})"));
  EXPECT_EQ(spec["containers"][0]["volumeMounts"][0], Json::parse(R"({"name": "kube-api-access-jhckr",
      "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true})"));
  EXPECT_EQ(spec["containers"][1], Json::parse(R"({"name": "dbg", "image": "busybox:1.36",
      "command": ["sleep", "3600"], "env": [{"name": "GREETING", "value": "hello"},
      {"name": "TARGET", "value": "world"}], "resources": {}, "terminationMessagePolicy": "File"})"));
}

TEST(DecodeKubernetesProtobuf, DrainDeleteOptions) {
  // kubectl drain NODE --disable-eviction --grace-period=30
  EXPECT_EQ(DecodeTestdata("drain_delete"),
            Json::parse(R"({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 30})"));
}

// --- Hand-built bodies ----------------------------------------------------

TEST(DecodeKubernetesProtobuf, EvictionWithDeleteOptions) {
  Pb meta = Pb().Bytes(1, "victim").Bytes(3, "default").Msg(8, Pb());
  Pb del = Pb().Varint(1, 0).Msg(2, Pb().Bytes(1, "uid-1"));
  auto got = DecodeKubernetesProtobuf(Envelope("policy/v1", "Eviction", Pb().Msg(1, meta).Msg(2, del)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Json::parse(R"({"apiVersion": "policy/v1", "kind": "Eviction",
      "metadata": {"name": "victim", "namespace": "default", "creationTimestamp": null},
      "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-1"}}})"));
}

TEST(DecodeKubernetesProtobuf, TimeIsRfc3339SecondsAndZeroTimeIsNull) {
  Pb meta = Pb().Bytes(1, "ns1").Msg(8, Pb().Varint(1, 1795604312).Varint(2, 999)).Msg(9, Pb());
  auto got = DecodeKubernetesProtobuf(Envelope("v1", "Namespace", Pb().Msg(1, meta)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["metadata"], Json::parse(R"({"name": "ns1", "creationTimestamp": "2026-11-25T10:58:32Z",
                                                "deletionTimestamp": null})"));
}

TEST(DecodeKubernetesProtobuf, MicroTimeHasMicrosecondsAndPointerZerosStay) {
  Pb spec =
      Pb().Bytes(1, "").Varint(2, 0).Msg(3, Pb().Varint(1, 1795604312).Varint(2, 123456789)).Msg(4, Pb().Varint(1, 0));
  auto got = DecodeKubernetesProtobuf(Envelope("coordination.k8s.io/v1", "Lease", Pb().Msg(1, Meta("l")).Msg(2, spec)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["spec"], Json::parse(R"({"holderIdentity": "", "leaseDurationSeconds": 0,
      "acquireTime": "2026-11-25T10:58:32.123456Z", "renewTime": "1970-01-01T00:00:00.000000Z"})"));
}

TEST(DecodeKubernetesProtobuf, IntOrStringIsNumberOrString) {
  Pb rolling =
      Pb().Msg(1, Pb().Varint(1, 0).Varint(2, 1).Bytes(3, "")).Msg(2, Pb().Varint(1, 1).Varint(2, 0).Bytes(3, "25%"));
  Pb spec = Pb().Msg(4, Pb().Bytes(1, "RollingUpdate").Msg(2, rolling));
  auto got = DecodeKubernetesProtobuf(Envelope("apps/v1", "Deployment", Pb().Msg(1, Meta("d")).Msg(2, spec)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["spec"]["strategy"], Json::parse(R"({"type": "RollingUpdate",
      "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}})"));
}

TEST(DecodeKubernetesProtobuf, PointerZeroKeptAndOmitemptyZeroDropped) {
  // replicas is *int32: 0 means zero pods. minReadySeconds and paused are
  // plain omitempty fields, which Go's encoder writes even when zero.
  Pb spec = Pb().Varint(1, 0).Varint(5, 0).Varint(7, 0).Varint(6, 10);
  auto got = DecodeKubernetesProtobuf(Envelope("apps/v1", "Deployment", Pb().Msg(1, Meta("d")).Msg(2, spec)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["spec"], Json::parse(R"({"replicas": 0, "revisionHistoryLimit": 10})"));
}

TEST(DecodeKubernetesProtobuf, QuantitiesProbesAndNegativeInts) {
  Pb resources = Pb().Msg(1, Pb().Bytes(1, "cpu").Msg(2, Pb().Bytes(1, "500m")))
                     .Msg(1, Pb().Bytes(1, "memory").Msg(2, Pb().Bytes(1, "128Mi")))
                     .Msg(2, Pb().Bytes(1, "cpu").Msg(2, Pb().Bytes(1, "")));
  Pb http_get = Pb().Bytes(1, "/healthz").Msg(2, Pb().Varint(1, 1).Bytes(3, "http")).Bytes(4, "HTTP");
  Pb probe = Pb().Msg(1, Pb().Msg(2, http_get)).Varint(2, 5).Varint(3, 0);
  Pb container = Pb().Bytes(1, "app").Bytes(2, "img").Msg(8, resources).Msg(10, probe);
  Pb spec = Pb().Msg(2, container).Varint(25, static_cast<uint64_t>(int64_t{-5}));
  auto got = DecodeKubernetesProtobuf(Envelope("v1", "Pod", Pb().Msg(1, Meta("p")).Msg(2, spec)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["spec"], Json::parse(R"({"priority": -5, "containers": [{"name": "app", "image": "img",
      "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "0"}},
      "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                        "initialDelaySeconds": 5}}]})"));
}

TEST(DecodeKubernetesProtobuf, RepeatedScalarsPackedOrNot) {
  Pb unpacked = Pb().Varint(4, 1000).Varint(4, 2000);
  Pb run = Pb().Raw(1000).Raw(2000);
  Pb packed = Pb().Bytes(4, run.str());
  for (const Pb& sc : {unpacked, packed}) {
    auto got = DecodeKubernetesProtobuf(Envelope("v1", "Pod", Pb().Msg(1, Meta("p")).Msg(2, Pb().Msg(14, sc))));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ((*got)["spec"]["securityContext"], Json::parse(R"({"supplementalGroups": [1000, 2000]})"));
  }
}

TEST(DecodeKubernetesProtobuf, BytesAreBase64) {
  Pb cm = Pb().Msg(1, Meta("cm")).Msg(3, Pb().Bytes(1, "bin").Bytes(2, absl::string_view("\x00\x01\xff", 3)));
  auto got = DecodeKubernetesProtobuf(Envelope("v1", "ConfigMap", cm));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["binaryData"], Json::parse(R"({"bin": "AAH/"})"));
}

TEST(DecodeKubernetesProtobuf, RawExtensionIsEmbeddedJson) {
  Pb rev = Pb().Msg(1, Meta("web-5d4f")).Msg(2, Pb().Bytes(1, R"({"spec":{"template":{"x":1}}})")).Varint(3, 2);
  auto got = DecodeKubernetesProtobuf(Envelope("apps/v1", "ControllerRevision", rev));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["data"], Json::parse(R"({"spec": {"template": {"x": 1}}})"));
  EXPECT_EQ((*got)["revision"], 2);
}

TEST(DecodeKubernetesProtobuf, UnknownFieldIsAnErrorNamingMessageAndNumber) {
  auto got = DecodeKubernetesProtobuf(Envelope("v1", "Pod", Pb().Msg(1, Meta("p")).Msg(2, Pb().Varint(99, 1))));
  EXPECT_EQ(got.status(), absl::InvalidArgumentError(
                              "kubesim cannot decode field 99 of k8s.io.api.core.v1.PodSpec from protobuf; send JSON"));
  got = DecodeKubernetesProtobuf(Envelope("v1", "Pod", Pb().Msg(1, Pb().Bytes(16, "x"))));
  EXPECT_EQ(got.status(),
            absl::InvalidArgumentError(
                "kubesim cannot decode field 16 of k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta from protobuf; "
                "send JSON"));
}

TEST(DecodeKubernetesProtobuf, UnknownKindIsAnError) {
  auto got = DecodeKubernetesProtobuf(Envelope("example.com/v1", "Widget", Pb().Msg(1, Meta("w"))));
  EXPECT_EQ(got.status(),
            absl::InvalidArgumentError(
                "kubesim cannot decode kind Widget (apiVersion example.com/v1) from protobuf; send JSON"));
}

TEST(DecodeKubernetesProtobuf, MalformedBodiesAreInvalidArgument) {
  EXPECT_THAT(DecodeKubernetesProtobuf(R"({"kind":"Pod"})").status().message(), HasSubstr("k8s\\x00"));
  // raw ahead of typeMeta, so that no cut ends on a field boundary that
  // leaves a complete body.
  std::string good =
      absl::StrCat(absl::string_view("k8s\0", 4),
                   Pb().Msg(2, Pb().Msg(1, Meta("ns"))).Msg(1, Pb().Bytes(1, "v1").Bytes(2, "Namespace")).str());
  ASSERT_TRUE(DecodeKubernetesProtobuf(good).ok());
  for (size_t cut = 4; cut < good.size(); ++cut) {
    auto got = DecodeKubernetesProtobuf(good.substr(0, cut));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << "cut at " << cut;
  }
  // A string field sent as a varint.
  auto got = DecodeKubernetesProtobuf(Envelope("v1", "Namespace", Pb().Msg(1, Pb().Varint(1, 7))));
  EXPECT_THAT(got.status().message(), HasSubstr("unexpected wire type 0"));
  got = DecodeKubernetesProtobuf(Envelope("v1", "Namespace", Pb().Msg(1, Pb().Bytes(1, "\xff\xfe"))));
  EXPECT_THAT(got.status().message(), HasSubstr("not valid UTF-8"));
  got = DecodeKubernetesProtobuf(Envelope("apps/v1", "ControllerRevision", Pb().Msg(2, Pb().Bytes(1, "{not json"))));
  EXPECT_THAT(got.status().message(), HasSubstr("neither JSON nor Kubernetes protobuf"));
}

TEST(DecodeKubernetesProtobuf, NestingIsBounded) {
  std::string body = Envelope("apps/v1", "ControllerRevision", Pb().Msg(2, Pb().Bytes(1, "{}")));
  for (int i = 0; i < 100; ++i) body = Envelope("apps/v1", "ControllerRevision", Pb().Msg(2, Pb().Bytes(1, body)));
  EXPECT_THAT(DecodeKubernetesProtobuf(body).status().message(), HasSubstr("nested too deeply"));
}

TEST(ParseRequestBody, DecodesProtobufOrParsesJsonByContentType) {
  http::Request req;
  req.headers.Add("Content-Type", "application/vnd.kubernetes.protobuf");
  req.body = Envelope("v1", "Namespace", Pb().Msg(1, Pb().Bytes(1, "ns1")));
  auto got = ParseRequestBody(req);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Json::parse(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}})"));

  http::Request json_req;
  json_req.headers.Add("Content-Type", "application/json; charset=utf-8");
  json_req.body = R"({"kind": "Namespace"})";
  EXPECT_EQ(*ParseRequestBody(json_req), Json::parse(R"({"kind": "Namespace"})"));
  json_req.body = "{";
  EXPECT_THAT(ParseRequestBody(json_req).status().message(), HasSubstr("unknown format"));

  EXPECT_TRUE(IsProtobufContentType("Application/Vnd.Kubernetes.Protobuf ; foo=bar"));
  EXPECT_FALSE(IsProtobufContentType("application/json"));
}

// --- Internals ------------------------------------------------------------

TEST(GoDuration, FormatsAsGoDoes) {
  using protobuf_internal::FormatGoDuration;
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(1), "1ns");
  EXPECT_EQ(FormatGoDuration(1'500), "1.5\xc2\xb5s");
  EXPECT_EQ(FormatGoDuration(1'500'000), "1.5ms");
  EXPECT_EQ(FormatGoDuration(1'000'000'000), "1s");
  EXPECT_EQ(FormatGoDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(FormatGoDuration(3'723'500'000'000), "1h2m3.5s");
  EXPECT_EQ(FormatGoDuration(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(-2'000'000'000), "-2s");
  EXPECT_EQ(FormatGoDuration(INT64_MIN), "-2562047h47m16.854775808s");
}

}  // namespace
}  // namespace herd::sim
