// kubesim over HTTP: the answers a client sees, compared with what a real
// v1.26 API server answers (../shared/k8s-reference/).
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/kubesim.h"

namespace herd::sim {
namespace {

using ::testing::HasSubstr;
using testing::Fetch;
using testing::FetchResponse;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulatorOptions o;
    o.controllers.pod_start_delay = absl::Milliseconds(10);
    o.controllers.kubelet_poll = absl::Milliseconds(5);
    o.controllers.controller_qps = 0;
    o.watch_history = 50;
    Start(o);
  }
  void Start(SimulatorOptions o) {
    auto sim = Simulator::Start(o);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_EQ(Call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"ref"}})").status, 201);
  }
  FetchResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                     std::vector<std::string> headers = {}) {
    return Fetch({.method = method, .url = sim_->url() + path, .body = body, .headers = std::move(headers)});
  }
  nlohmann::json CallJson(const std::string& method, const std::string& path, const std::string& body = "") {
    FetchResponse r = Call(method, path, body);
    return nlohmann::json::parse(r.body);
  }
  std::unique_ptr<Simulator> sim_;
};

const char kDeployment[] = R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
  "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
  "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"web:1"}]}}}})";

TEST_F(HttpApiTest, NotFoundAndAlreadyExistsBodiesMatchARealServer) {
  FetchResponse r = Call("GET", "/apis/apps/v1/namespaces/ref/deployments/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "deployments.apps \"nope\" not found", "reason": "NotFound",
    "details": {"name": "nope", "group": "apps", "kind": "deployments"}, "code": 404})"));
  ASSERT_EQ(Call("POST", "/apis/apps/v1/namespaces/ref/deployments", kDeployment).status, 201);
  r = Call("POST", "/apis/apps/v1/namespaces/ref/deployments", kDeployment);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "deployments.apps \"web\" already exists", "reason": "AlreadyExists",
    "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 409})"));
}

// Found by fuzzing (test/fuzz/corpus/kubesim_http/patch-name-not-utf8): a
// name that is not UTF-8 went into the NotFound message, and the JSON writer
// threw on it, taking kubesim down. Go's encoding/json, and now kubesim,
// write each bad byte as U+FFFD.
TEST_F(HttpApiTest, NamesThatAreNotUtf8GetAJsonNotFound) {
  FetchResponse r = Call("PATCH", "/apis/apps/v1/namespaces/ref/deployments/w%9Eb", R"({"spec":{}})",
                         {"Content-Type: application/strategic-merge-patch+json"});
  EXPECT_EQ(r.status, 404);
  nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["reason"], "NotFound");
  EXPECT_EQ(body["message"], "deployments.apps \"w\xef\xbf\xbd" "b\" not found");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/pods/%FF").status, 404);
}

TEST_F(HttpApiTest, BadSelectorAndBadPatchTypeBodiesMatchARealServer) {
  FetchResponse r = Call("GET", "/api/v1/namespaces/ref/pods?labelSelector=app%3D%3D%3Dx%20in");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "unable to parse requirement: found '=', expected: identifier", "reason": "BadRequest",
    "code": 400})"));
  ASSERT_EQ(Call("POST", "/apis/apps/v1/namespaces/ref/deployments", kDeployment).status, 201);
  r = Call("PATCH", "/apis/apps/v1/namespaces/ref/deployments/web", "x", {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "415: Unsupported Media Type", "reason": "UnsupportedMediaType", "details": {}, "code": 415})"));
}

TEST_F(HttpApiTest, ServerSideApplyCreatesMergesAndReportsConflictsAsARealServer) {
  const std::string path = "/apis/apps/v1/namespaces/ref/deployments/web";
  const std::string yaml =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"
      "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n"
      "    spec:\n      containers:\n      - name: web\n        image: \"web:1\"\n";
  const std::vector<std::string> apply = {"Content-Type: application/apply-patch+yaml"};
  FetchResponse r = Call("PATCH", path, yaml, apply);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(nlohmann::json::parse(r.body)["message"],
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");

  r = Call("PATCH", path + "?fieldManager=team", yaml, apply);
  ASSERT_EQ(r.status, 201) << r.body;
  nlohmann::json d = nlohmann::json::parse(r.body);
  EXPECT_EQ(d["spec"]["replicas"], 2);
  ASSERT_EQ(d["metadata"]["managedFields"].size(), 1u);
  EXPECT_EQ(d["metadata"]["managedFields"][0]["manager"], "team");
  EXPECT_EQ(d["metadata"]["managedFields"][0]["operation"], "Apply");
  FetchResponse again = Call("PATCH", path + "?fieldManager=team", yaml, apply);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(nlohmann::json::parse(again.body)["metadata"]["resourceVersion"], d["metadata"]["resourceVersion"])
      << "an apply that changes nothing writes nothing";

  // A merge patch without fieldManager: the manager is the User-Agent's product.
  r = Call("PATCH", path, R"({"spec":{"replicas":4}})",
           {"Content-Type: application/merge-patch+json", "User-Agent: herd/1.0 (linux)"});
  ASSERT_EQ(r.status, 200);
  d = nlohmann::json::parse(r.body);
  bool herd = false;
  for (const auto& e : d["metadata"]["managedFields"]) {
    if (e["manager"] == "herd") {
      herd = true;
      EXPECT_EQ(e["operation"], "Update");
      EXPECT_EQ(e["fieldsV1"], nlohmann::json::parse(R"({"f:spec":{"f:replicas":{}}})"));
    }
  }
  EXPECT_TRUE(herd) << d["metadata"]["managedFields"];

  r = Call("PATCH", path + "?fieldManager=team", yaml, apply);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "Apply failed with 1 conflict: conflict with \"herd\" using apps/v1: .spec.replicas",
    "reason": "Conflict", "code": 409,
    "details": {"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"herd\" using apps/v1",
                            "field": ".spec.replicas"}]}})"));
  r = Call("PATCH", path + "?fieldManager=team&force=true", yaml, apply);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["spec"]["replicas"], 2);
  EXPECT_EQ(Call("PATCH", path + "?force=true", R"({"spec":{}})", {"Content-Type: application/merge-patch+json"}).status,
            422);
}

// Upstream's apply field validation (its field_validation_test): duplicate
// keys as its YAML decoder words them; unknown fields refused by the field
// manager under every directive, as a 500 without a reason.
TEST_F(HttpApiTest, ServerSideApplyFieldValidationAnswersAsARealServer) {
  const std::string path = "/apis/apps/v1/namespaces/ref/deployments/web";
  const std::vector<std::string> apply = {"Content-Type: application/apply-patch+yaml"};
  const std::string twice =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  replicas: 2\n"
      "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n"
      "    spec:\n      containers:\n      - name: web\n        image: \"web:1\"\n";
  FetchResponse r = Call("PATCH", path + "?fieldManager=team&fieldValidation=Strict", twice, apply);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key \"replicas\" already set in map",
    "reason": "BadRequest", "code": 400})"));
  EXPECT_EQ(Call("GET", path).status, 404);
  r = Call("PATCH", path + "?fieldManager=team", twice, apply);  // Warn
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.headers["warning"], R"(299 - "line 7: key \"replicas\" already set in map")");
  EXPECT_EQ(nlohmann::json::parse(r.body)["spec"]["replicas"], 2);
  r = Call("PATCH", path + "?fieldManager=team&fieldValidation=Ignore", twice, apply);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("warning"), 0u);

  // kubectl's JSON: an unknown field is refused whatever the directive.
  nlohmann::json typo = nlohmann::json::parse(kDeployment);
  typo["metadata"]["namespace"] = "ref";
  typo["spec"]["replicass"] = 3;
  r = Call("PATCH", path + "?fieldManager=team&fieldValidation=Ignore", typo.dump(), apply);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "failed to create typed patch object (ref/web; apps/v1, Kind=Deployment): .spec.replicass: field not declared in schema",
    "code": 500})"));
  EXPECT_EQ(CallJson("GET", path)["spec"]["replicas"], 2);
}

// The identity checks of an apply (upstream's field manager, then the
// namespace and name of the merged object against the URL's).
TEST_F(HttpApiTest, ServerSideApplyOfAnotherObjectIsRefusedAsARealServerRefusesIt) {
  const std::string path = "/apis/apps/v1/namespaces/ref/deployments/web";
  const std::vector<std::string> apply = {"Content-Type: application/apply-patch+yaml"};
  ASSERT_EQ(Call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"other"}})").status, 201);
  ASSERT_EQ(Call("PATCH", path + "?fieldManager=team", kDeployment, apply).status, 201);
  auto refused = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json d = nlohmann::json::parse(kDeployment);
    edit(d);
    FetchResponse r = Call("PATCH", path + "?fieldManager=team", d.dump(), apply);
    EXPECT_EQ(r.status, 400) << r.body;
    nlohmann::json status = nlohmann::json::parse(r.body);
    EXPECT_EQ(status["reason"], "BadRequest");
    return status["message"].get<std::string>();
  };
  EXPECT_EQ(refused([](nlohmann::json& d) { d["kind"] = "StatefulSet"; }),
            "invalid object type: apps/v1, Kind=StatefulSet");
  EXPECT_EQ(refused([](nlohmann::json& d) { d["apiVersion"] = "apps/v1beta2"; }),
            "invalid object type: apps/v1beta2, Kind=Deployment");
  EXPECT_EQ(refused([](nlohmann::json& d) { d["apiVersion"] = "v1"; }), "invalid object type: /v1, Kind=Deployment");
  EXPECT_EQ(refused([](nlohmann::json& d) { d["metadata"]["namespace"] = "other"; }),
            "the namespace of the provided object does not match the namespace sent on the request");
  EXPECT_EQ(refused([](nlohmann::json& d) { d["metadata"]["name"] = "db"; }),
            "the name of the object (db) does not match the name on the URL (web)");
  EXPECT_EQ(Call("GET", "/apis/apps/v1/namespaces/other/deployments/web").status, 404);
  EXPECT_EQ(Call("GET", "/apis/apps/v1/namespaces/ref/deployments/db").status, 404);

  // A cluster-scoped object's namespace is dropped, not refused.
  FetchResponse r = Call("PATCH", "/api/v1/namespaces/other?fieldManager=team",
                         R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other","namespace":"ref","labels":{"a":"b"}}})",
                         apply);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(nlohmann::json::parse(r.body)["metadata"].contains("namespace"));
}

TEST_F(HttpApiTest, ListsPageWithContinueTokensAndCountWhatRemains) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Call("POST", "/api/v1/namespaces/ref/configmaps",
                   absl::StrCat(R"({"metadata":{"name":"cm-)", i, R"("}})")).status, 201);
  }
  auto page = CallJson("GET", "/api/v1/namespaces/ref/configmaps?limit=2");
  EXPECT_EQ(page["kind"], "ConfigMapList");
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_FALSE(page["items"][0].contains("kind")) << "list items carry no kind, as on a real server";
  EXPECT_EQ(page["items"][0]["metadata"]["name"], "cm-0");
  EXPECT_EQ(page["metadata"]["remainingItemCount"], 3);
  std::string token = page["metadata"]["continue"];
  std::string rv = page["metadata"]["resourceVersion"];
  auto next = CallJson("GET", "/api/v1/namespaces/ref/configmaps?limit=2&continue=" + token);
  EXPECT_EQ(next["items"][0]["metadata"]["name"], "cm-2");
  EXPECT_EQ(next["metadata"]["resourceVersion"], rv) << "pages report the first page's version";
  auto last = CallJson("GET", "/api/v1/namespaces/ref/configmaps?limit=2&continue=" +
                                  std::string(next["metadata"]["continue"]));
  EXPECT_EQ(last["items"].size(), 1u);
  EXPECT_FALSE(last["metadata"].contains("continue"));
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/configmaps?limit=2&continue=garbage").status, 400);
}

TEST_F(HttpApiTest, TablesCarryColumnsRowsAndPartialMetadata) {
  ASSERT_EQ(Call("POST", "/apis/apps/v1/namespaces/ref/deployments", kDeployment).status, 201);
  FetchResponse r = Call("GET", "/apis/apps/v1/namespaces/ref/deployments", "",
                         {"Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json"});
  ASSERT_EQ(r.status, 200);
  auto t = nlohmann::json::parse(r.body);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(t["columnDefinitions"][0]["name"], "Name");
  ASSERT_EQ(t["rows"].size(), 1u);
  EXPECT_EQ(t["rows"][0]["cells"][0], "web");
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["name"], "web");
}

TEST_F(HttpApiTest, WatchFromATooOldVersionGetsAnExpiredErrorEvent) {
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(Call("POST", "/api/v1/namespaces/ref/configmaps",
                   absl::StrCat(R"({"metadata":{"name":"old-)", i, R"("}})")).status, 201);
  }
  FetchResponse r = Call("GET", "/api/v1/namespaces/ref/configmaps?watch=1&resourceVersion=2&timeoutSeconds=2");
  EXPECT_EQ(r.status, 200);
  auto ev = nlohmann::json::parse(r.body);
  EXPECT_EQ(ev["type"], "ERROR");
  EXPECT_EQ(ev["object"]["code"], 410);
  EXPECT_EQ(ev["object"]["reason"], "Expired");
  EXPECT_THAT(ev["object"]["message"].get<std::string>(), ::testing::StartsWith("too old resource version: 2 ("));
}

TEST_F(HttpApiTest, WatchWithASelectorSeesObjectsLeaveItAsDeletions) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/ref/configmaps", R"({"metadata":{"name":"a","labels":{"t":"x"}}})").status,
            201);
  std::string rv = CallJson("GET", "/api/v1/namespaces/ref/configmaps")["metadata"]["resourceVersion"];
  std::string seen;
  absl::Notification got_two;
  std::thread watcher([&] {
    int lines = 0;
    Fetch({.url = sim_->url() + "/api/v1/namespaces/ref/configmaps?watch=true&labelSelector=t%3Dx&resourceVersion=" +
                  rv + "&timeoutSeconds=10",
           .on_data = [&](const std::string& chunk) {
             seen += chunk;
             for (char c : chunk) lines += c == '\n';
             if (lines >= 2) {
               got_two.Notify();
               return false;
             }
             return true;
           }});
    if (!got_two.HasBeenNotified()) got_two.Notify();
  });
  ASSERT_EQ(Call("PATCH", "/api/v1/namespaces/ref/configmaps/a", R"({"data":{"k":"v"}})",
                 {"Content-Type: application/merge-patch+json"}).status, 200);
  ASSERT_EQ(Call("PATCH", "/api/v1/namespaces/ref/configmaps/a", R"({"metadata":{"labels":{"t":"y"}}})",
                 {"Content-Type: application/merge-patch+json"}).status, 200);
  ASSERT_TRUE(got_two.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watcher.join();
  std::vector<std::string> lines = absl::StrSplit(seen, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u) << seen;
  EXPECT_EQ(nlohmann::json::parse(lines[0])["type"], "MODIFIED");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["type"], "DELETED");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["object"]["metadata"]["labels"]["t"], "y");
}

TEST_F(HttpApiTest, WatchWithoutAVersionStartsWithTheCurrentObjects) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/ref/configmaps", R"({"metadata":{"name":"a"}})").status, 201);
  FetchResponse r = Call("GET", "/api/v1/namespaces/ref/configmaps?watch=true&timeoutSeconds=1");
  std::vector<std::string> lines = absl::StrSplit(r.body, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << r.body;
  auto ev = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(ev["type"], "ADDED");
  EXPECT_EQ(ev["object"]["kind"], "ConfigMap");
}

TEST_F(HttpApiTest, InjectedFaultsFailTheNextRequestsOfAVerb) {
  ASSERT_EQ(Call("PUT", "/kubesim/faults", R"({"failNext":{"list":2},"errorCode":429,"retryAfterSeconds":3})").status,
            200);
  FetchResponse r = Call("GET", "/api/v1/namespaces/ref/pods");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "3");
  EXPECT_EQ(nlohmann::json::parse(r.body)["reason"], "TooManyRequests");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/configmaps/x").status, 404) << "other verbs are untouched";
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/pods").status, 429);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/pods").status, 200);
  EXPECT_EQ(Call("PUT", "/kubesim/faults", R"({"errorCode":418})").status, 400);
}

TEST_F(HttpApiTest, ServerErrorsAndThrottlingAreInjectedTogetherAndCounted) {
  // Every request fails: half the draws are 503s (errorRate), the others
  // 429s (throttleRate), whatever errorCode says.
  ASSERT_EQ(Call("PUT", "/kubesim/faults",
                 R"({"errorRate":{"list":0.5},"errorCode":503,"throttleRate":{"list":1},"retryAfterSeconds":2})")
                .status,
            200);
  std::map<long, int> seen;
  for (int i = 0; i < 200; ++i) {
    FetchResponse r = Call("GET", "/api/v1/namespaces/ref/pods");
    seen[r.status]++;
    if (r.status == 429) {
      EXPECT_EQ(r.headers["retry-after"], "2");
    }
  }
  EXPECT_EQ(seen[503] + seen[429], 200);
  EXPECT_GT(seen[503], 50);
  EXPECT_GT(seen[429], 50);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/configmaps/x").status, 404) << "other verbs are untouched";
  auto doc = CallJson("GET", "/kubesim/faults");
  EXPECT_EQ(doc["injected"]["errors"]["503"], seen[503]);
  EXPECT_EQ(doc["injected"]["errors"]["429"], seen[429]);
  EXPECT_EQ(doc["injected"]["byVerb"]["list"], 200);
  EXPECT_FALSE(doc["injected"]["byVerb"].contains("get"));
  EXPECT_EQ(doc["throttleRate"]["list"], 1.0);
  EXPECT_GE(doc["requests"]["list"], 200);
  EXPECT_EQ(Call("PUT", "/kubesim/faults", R"({"throttleRate":{"list":1.5}})").status, 400);
}

TEST_F(HttpApiTest, FaultsWithAUserAgentSpareOtherClients) {
  ASSERT_EQ(Call("PUT", "/kubesim/faults",
                 R"({"errorRate":{"*":1},"latencyMillis":50,"dropWatchesAfterMillis":100,"userAgent":"herd/"})")
                .status,
            200);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/pods", "", {"User-Agent: herd/0.1"}).status, 500);
  absl::Time t0 = absl::Now();
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/pods", "", {"User-Agent: kubectl/v1.31.0"}).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/ref/pods").status, 200);
  EXPECT_LT(absl::Now() - t0, absl::Milliseconds(100)) << "no latency for others";
  // A watch of another client outlives dropWatchesAfter; herd's would not.
  t0 = absl::Now();
  FetchResponse w = Call("GET", "/api/v1/namespaces/ref/configmaps?watch=true&timeoutSeconds=1");
  EXPECT_EQ(w.status, 200);
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(900));
  auto doc = CallJson("GET", "/kubesim/faults");
  EXPECT_EQ(doc["userAgent"], "herd/");
  EXPECT_EQ(doc["injected"]["errors"]["500"], 1);
  EXPECT_EQ(doc["injected"]["delayed"], 1);
  EXPECT_EQ(doc["injected"]["droppedWatches"], 0);
}

TEST_F(HttpApiTest, DroppedWatchesAreCounted) {
  ASSERT_EQ(Call("PUT", "/kubesim/faults", R"({"dropWatchesAfterMillis":100})").status, 200);
  absl::Time t0 = absl::Now();
  FetchResponse w = Call("GET", "/api/v1/namespaces/ref/configmaps?watch=true&timeoutSeconds=5");
  EXPECT_EQ(w.status, 200);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(4));
  EXPECT_EQ(CallJson("GET", "/kubesim/faults")["injected"]["droppedWatches"], 1);
}

TEST_F(HttpApiTest, DiscoveryDescribesTheServedResources) {
  auto v = CallJson("GET", "/version");
  EXPECT_EQ(v["gitVersion"], "v1.26.1");
  auto apps = CallJson("GET", "/apis/apps/v1");
  std::vector<std::string> names;
  for (const auto& r : apps["resources"]) names.push_back(r["name"]);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"deployments", "deployments/scale", "deployments/status",
                                               "replicasets", "statefulsets", "controllerrevisions"}));
  auto core = CallJson("GET", "/api/v1");
  bool eviction = false;
  for (const auto& r : core["resources"]) {
    if (r["name"] == "pods/eviction") {
      eviction = true;
      EXPECT_EQ(r["group"], "policy");
      EXPECT_EQ(r["kind"], "Eviction");
    }
  }
  EXPECT_TRUE(eviction);
  auto openapi = CallJson("GET", "/openapi/v3");
  EXPECT_TRUE(openapi["paths"].contains("apis/apps/v1"));
}

// ../shared/k8s-reference/field-validation.txt: two unknown fields and a duplicate.
const char kTypo[] = R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"typo"},
  "spec":{"replicas":2,"replicass":2,"replicas":2,"selector":{"matchLabels":{"app":"t"}},
  "template":{"metadata":{"labels":{"app":"t"}},"spec":{"containers":[{"name":"c","image":"t:1","imagePullPolicyy":"Always"}]}}}})";

TEST_F(HttpApiTest, FieldValidationStrictWarnAndIgnoreAnswerAsARealServer) {
  FetchResponse r = Call("POST", "/apis/apps/v1/namespaces/ref/deployments?fieldValidation=Strict&dryRun=All", kTypo);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicass\", duplicate field \"spec.replicas\", unknown field \"spec.template.spec.containers[0].imagePullPolicyy\"",
    "reason": "BadRequest", "code": 400})"));
  r = Call("POST", "/apis/apps/v1/namespaces/ref/deployments?fieldValidation=Warn&dryRun=All", kTypo);
  EXPECT_EQ(r.status, 201);
  // The test client keeps the last Warning header of the three.
  EXPECT_EQ(r.headers["warning"], R"(299 - "unknown field \"spec.template.spec.containers[0].imagePullPolicyy\"")");
  auto created = nlohmann::json::parse(r.body);
  EXPECT_FALSE(created["spec"].contains("replicass"));
  EXPECT_EQ(created["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
  // No parameter means Warn; Ignore sends nothing.
  r = Call("POST", "/apis/apps/v1/namespaces/ref/deployments?dryRun=All", kTypo);
  EXPECT_EQ(r.status, 201);
  EXPECT_FALSE(r.headers["warning"].empty());
  r = Call("POST", "/apis/apps/v1/namespaces/ref/deployments?fieldValidation=Ignore", kTypo);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.headers.count("warning"), 0u);
  r = Call("PATCH", "/apis/apps/v1/namespaces/ref/deployments/typo?fieldValidation=Strict", R"({"spec":{"replicass":1}})",
           {"Content-Type: application/merge-patch+json"});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr(R"(unknown field \"spec.replicass\")"));
}

TEST_F(HttpApiTest, ServesOpenApiV2AsJsonAndAsTheProtobufKubectlAsksFor) {
  FetchResponse r = Call("GET", "/openapi/v2");
  EXPECT_EQ(r.status, 200);
  auto v2 = nlohmann::json::parse(r.body);
  EXPECT_TRUE(v2["definitions"].contains("io.k8s.api.apps.v1.Deployment"));
  EXPECT_TRUE(v2["paths"].contains("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"));
  // What kubectl sends (../shared/k8s-reference/openapi-v2-request.txt).
  r = Call("GET", "/openapi/v2?timeout=32s",  "",
           {"Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/octet-stream");
  EXPECT_EQ(r.headers["x-varied-accept"], "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
  EXPECT_EQ(r.body.substr(0, 5), std::string("\x0a\x03" "2.0", 5));
  auto index = CallJson("GET", "/openapi/v3");
  std::string url = index["paths"]["apis/apps/v1"]["serverRelativeURL"];
  auto doc = CallJson("GET", url);
  EXPECT_TRUE(doc["components"]["schemas"].contains("io.k8s.api.apps.v1.DeploymentStrategy"));
  EXPECT_EQ(Call("GET", "/openapi/v3/apis/nope/v1").status, 404);
}

TEST(HttpApiAuthTest, ATokenIsRequiredWhenConfiguredButHealthIsPublic) {
  SimulatorOptions o;
  o.token = "s3cret";
  auto sim = Simulator::Start(o);
  ASSERT_TRUE(sim.ok());
  FetchResponse r = Fetch({.url = (*sim)->url() + "/api/v1/namespaces"});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(nlohmann::json::parse(r.body)["reason"], "Unauthorized");
  r = Fetch({.url = (*sim)->url() + "/api/v1/namespaces", .headers = {"Authorization: Bearer s3cret"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Fetch({.url = (*sim)->url() + "/healthz"}).body, "ok");
  EXPECT_THAT((*sim)->Kubeconfig(), HasSubstr("token: s3cret"));
}

TEST(HttpApiTlsTest, ServesHttpsWithItsOwnCaInTheKubeconfig) {
  SimulatorOptions o;
  o.tls = true;
  auto sim = Simulator::Start(o);
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_THAT((*sim)->url(), ::testing::StartsWith("https://127.0.0.1:"));
  EXPECT_THAT((*sim)->Kubeconfig(), HasSubstr("certificate-authority-data: "));
  std::string ca = ::testing::TempDir() + "/kubesim-ca.pem";
  FILE* f = fopen(ca.c_str(), "w");
  fputs((*sim)->ca_pem().c_str(), f);
  fclose(f);
  // Without the CA the certificate is not trusted; with it, all is well.
  EXPECT_FALSE(Fetch({.url = (*sim)->url() + "/version"}).error.empty());
  FetchResponse r = Fetch({.url = (*sim)->url() + "/version", .ca_file = ca});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace herd::sim
