#include "server/kube/rest_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/tls/certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kube/errors.h"
#include "server/kube/testing/fake_apiserver.h"
#include "server/kube/testing/fake_clock.h"

namespace herd::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Testdata(const std::string& file) {
  auto body = ReferenceBody(std::string(HERD_KUBE_TESTDATA) + "/" + file);
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : "";
}

http::Response Raw(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

std::vector<std::pair<std::string, std::string>> Query(const http::Request& r) { return r.query; }

class RestClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto api = FakeApiServer::Start();
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);
  }

  RestClientOptions Options() {
    RestClientOptions o;
    o.clock = &clock_;
    o.jitter = [] { return 1.0; };  // the ceiling: sleeps are exact
    return o;
  }

  std::unique_ptr<KubeClient> Client(RestConfig config, RestClientOptions options) {
    auto c = NewRestClient(config, std::move(options));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::unique_ptr<KubeClient> Client() { return Client(api_->Config(), Options()); }

  void Serve(FakeApiServer::Handler h) { api_->SetHandler(std::move(h)); }
  void ServeJson(int status, const Json& body) {
    Serve([status, body](const http::Request&, http::Responder res) { res.Respond(JsonResponse(status, body)); });
  }

  FakeClock clock_;
  std::unique_ptr<FakeApiServer> api_;
};

// ---- Verbs ----------------------------------------------------------------

TEST_F(RestClientTest, GetSendsJsonHeadersAndFillsTypeMeta) {
  ServeJson(200, {{"metadata", {{"name", "web"}, {"namespace", "shop"}}}});
  RestConfig config = api_->Config();
  config.bearer_token = "sekret";
  auto client = Client(config, Options());
  auto got = client->Get(kDeployments, "shop", "web");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["kind"], "Deployment");
  EXPECT_EQ((*got)["apiVersion"], "apps/v1");
  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/apis/apps/v1/namespaces/shop/deployments/web");
  EXPECT_EQ(reqs[0].headers.Get("Accept"), "application/json");
  EXPECT_EQ(reqs[0].headers.Get("User-Agent"), "herd/0.1");
  EXPECT_EQ(reqs[0].headers.Get("Authorization"), "Bearer sekret");
}

TEST_F(RestClientTest, AnImpersonatingClientSendsTheUserAndEachGroup) {
  ServeJson(200, {{"metadata", {{"name", "web"}, {"namespace", "shop"}}}});
  auto client = Client();
  auto as = client->Impersonate({.user = "ci-shop", .groups = {"ci", "shop-deployers"}});
  ASSERT_TRUE(as.ok()) << as.status();
  ASSERT_TRUE((*as)->Patch(kDeployments, "shop", "web", PatchType::kMerge, "{}").ok());
  ASSERT_TRUE(client->Get(kDeployments, "shop", "web").ok());
  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].headers.Get("Impersonate-User"), "ci-shop");
  std::vector<std::string> groups;
  for (const auto& [name, value] : reqs[0].headers.fields()) {
    if (absl::EqualsIgnoreCase(name, "Impersonate-Group")) groups.push_back(value);
  }
  EXPECT_EQ(groups, (std::vector<std::string>{"ci", "shop-deployers"}));
  EXPECT_EQ(reqs[1].headers.Get("Impersonate-User"), "") << "the client it came from acts as itself";
  EXPECT_EQ(client->Impersonate({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RestClientTest, GetNeedsNameAndNamespace) {
  auto client = Client();
  EXPECT_EQ(client->Get(kPods, "", "p").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Get(kPods, "ns", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(api_->request_count(), 0u);
}

TEST_F(RestClientTest, BasicAuth) {
  ServeJson(200, Json::object());
  RestConfig config = api_->Config();
  config.username = "alice";
  config.password = "pw";
  ASSERT_TRUE(Client(config, Options())->Get(kNodes, "", "n1").ok());
  EXPECT_EQ(api_->requests()[0].headers.Get("Authorization"), "Basic YWxpY2U6cHc=");
}

TEST_F(RestClientTest, ListSendsQueryAndFillsTypeMetaOnItems) {
  std::string page = Testdata("pods-list-limit2.txt");
  Serve([page](const http::Request&, http::Responder res) { res.Respond(Raw(200, page)); });
  auto client = Client();
  auto list = client->List(kPods, "ref",
                           {.label_selector = "app=web,tier in (a,b)",
                            .field_selector = "status.phase!=Failed",
                            .limit = 2,
                            .resource_version = "0"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->resource_version, "4730");
  EXPECT_THAT(list->continue_token, HasSubstr("eyJ2Ijoi"));
  ASSERT_EQ(list->items.size(), 2u);
  for (const Json& item : list->items) {
    EXPECT_EQ(item["kind"], "Pod");
    EXPECT_EQ(item["apiVersion"], "v1");
  }
  EXPECT_EQ(list->items[0]["metadata"]["name"], "web-8555df4846-bsxw4");
  auto req = api_->requests().at(0);
  EXPECT_EQ(req.path, "/api/v1/namespaces/ref/pods");
  EXPECT_THAT(Query(req), ElementsAre(Pair("labelSelector", "app=web,tier in (a,b)"),
                                      Pair("fieldSelector", "status.phase!=Failed"), Pair("limit", "2"),
                                      Pair("resourceVersion", "0")));
  // The selector went over the wire percent-encoded.
  EXPECT_THAT(req.target, HasSubstr("labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29"));
}

TEST_F(RestClientTest, ListAllFollowsContinueTokens) {
  Serve([](const http::Request& req, http::Responder res) {
    const std::string* cont = req.Query("continue");
    Json page = {{"kind", "PodList"}, {"apiVersion", "v1"}, {"items", Json::array()}};
    if (cont == nullptr) {
      page["metadata"] = {{"resourceVersion", "10"}, {"continue", "tok-1"}, {"remainingItemCount", 1}};
      page["items"].push_back({{"metadata", {{"name", "a"}}}});
    } else {
      page["metadata"] = {{"resourceVersion", "10"}};
      page["items"].push_back({{"metadata", {{"name", "b"}}}});
    }
    res.Respond(JsonResponse(200, page));
  });
  auto client = Client();
  auto all = client->ListAll(kPods, "", {.label_selector = "app=web", .limit = 1, .resource_version = "5"});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->items[1]["metadata"]["name"], "b");
  EXPECT_EQ(all->resource_version, "10");
  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/api/v1/pods");
  EXPECT_THAT(Query(reqs[1]),
              ElementsAre(Pair("labelSelector", "app=web"), Pair("limit", "1"), Pair("continue", "tok-1")));
}

TEST_F(RestClientTest, CreateUpdateAndPatchBodiesAndContentTypes) {
  Serve([](const http::Request& req, http::Responder res) {
    Json echo = req.body.empty() ? Json::object() : Json::parse(req.body, nullptr, false);
    if (echo.is_array()) echo = Json::object();
    echo["metadata"]["resourceVersion"] = "2";
    res.Respond(JsonResponse(req.method == "POST" ? 201 : 200, echo));
  });
  auto client = Client();
  Json deploy = {{"metadata", {{"name", "web"}}}, {"spec", {{"replicas", 2}}}};
  auto created = client->Create(kDeployments, "shop", deploy, {.dry_run = true});
  ASSERT_TRUE(created.ok()) << created.status();
  Json updated_obj = deploy;
  updated_obj["metadata"]["resourceVersion"] = "1";
  updated_obj["metadata"]["namespace"] = "shop";
  auto updated = client->Update(kDeployments, "", updated_obj, {.field_manager = "herd-rollout"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_TRUE(client->Patch(kDeployments, "shop", "web", PatchType::kMerge, R"({"spec":{"replicas":3}})").ok());
  ASSERT_TRUE(client->Patch(kDeployments, "shop", "web", PatchType::kStrategicMerge, R"({"spec":{}})").ok());
  ASSERT_TRUE(client
                  ->Patch(kDeployments, "shop", "web", PatchType::kJson,
                          R"([{"op":"replace","path":"/spec/replicas","value":1}])", {.subresource = "status"})
                  .ok());

  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/apis/apps/v1/namespaces/shop/deployments");
  EXPECT_THAT(Query(reqs[0]), ElementsAre(Pair("dryRun", "All"), Pair("fieldManager", "herd")));
  EXPECT_EQ(reqs[0].headers.Get("Content-Type"), "application/json");
  Json sent = Json::parse(reqs[0].body);
  EXPECT_EQ(sent["apiVersion"], "apps/v1");
  EXPECT_EQ(sent["kind"], "Deployment");
  EXPECT_EQ(sent["spec"]["replicas"], 2);

  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/apis/apps/v1/namespaces/shop/deployments/web");
  EXPECT_THAT(Query(reqs[1]), ElementsAre(Pair("fieldManager", "herd-rollout")));
  EXPECT_EQ(Json::parse(reqs[1].body)["metadata"]["resourceVersion"], "1");

  EXPECT_EQ(reqs[2].method, "PATCH");
  EXPECT_EQ(reqs[2].headers.Get("Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(reqs[2].body, R"({"spec":{"replicas":3}})");
  EXPECT_EQ(reqs[3].headers.Get("Content-Type"), "application/strategic-merge-patch+json");
  EXPECT_EQ(reqs[4].headers.Get("Content-Type"), "application/json-patch+json");
  EXPECT_EQ(reqs[4].path, "/apis/apps/v1/namespaces/shop/deployments/web/status");
}

TEST_F(RestClientTest, WritesRefuseMismatchedNamespaces) {
  auto client = Client();
  Json obj = {{"metadata", {{"name", "web"}, {"namespace", "other"}}}};
  EXPECT_EQ(client->Create(kDeployments, "shop", obj).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Update(kDeployments, "", {{"metadata", {{"name", "x"}}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(api_->request_count(), 0u);
}

TEST_F(RestClientTest, DeleteSendsDeleteOptionsAndDryRun) {
  ServeJson(200, {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Success"}});
  auto client = Client();
  auto del = client->Delete(kDeployments, "shop", "web",
                            {.grace_period_seconds = 0,
                             .propagation_policy = "Foreground",
                             .precondition_uid = "uid-1",
                             .precondition_resource_version = "7",
                             .dry_run = true});
  ASSERT_TRUE(del.ok()) << del.status();
  ASSERT_TRUE(client->DeleteCollection(kPods, "shop", {.label_selector = "app=web"}, {.grace_period_seconds = 5})
                  .ok());

  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "DELETE");
  EXPECT_EQ(reqs[0].path, "/apis/apps/v1/namespaces/shop/deployments/web");
  EXPECT_THAT(Query(reqs[0]), ElementsAre(Pair("dryRun", "All")));
  EXPECT_EQ(Json::parse(reqs[0].body),
            Json::parse(R"({"apiVersion":"v1","kind":"DeleteOptions","gracePeriodSeconds":0,
                           "propagationPolicy":"Foreground",
                           "preconditions":{"uid":"uid-1","resourceVersion":"7"}})"));
  EXPECT_EQ(reqs[1].method, "DELETE");
  EXPECT_EQ(reqs[1].path, "/api/v1/namespaces/shop/pods");
  EXPECT_THAT(Query(reqs[1]), ElementsAre(Pair("labelSelector", "app=web")));
  EXPECT_EQ(Json::parse(reqs[1].body)["gracePeriodSeconds"], 5);
}

TEST_F(RestClientTest, EvictPostsEvictionAndReportsTheBudget) {
  std::string allowed = Testdata("eviction-allowed-201.txt");
  std::string refused = Testdata("eviction-refused-429.txt");
  Serve([&](const http::Request& req, http::Responder res) {
    if (absl::EndsWith(req.path, "/web-1/eviction")) {
      res.Respond(Raw(201, allowed));
    } else {
      res.Respond(Raw(429, refused));
    }
  });
  auto client = Client();
  ASSERT_TRUE(client->Evict("ref", "web-1", {.grace_period_seconds = 10}).ok());
  absl::Status st = client->Evict("ref", "web-2");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(IsTooManyRequests(st));
  EXPECT_EQ(DisruptionBudgetCause(st), "The disruption budget web-pdb needs 4 healthy pods and has 4 currently");

  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 2u) << "a refused eviction (POST) is not retried";
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/ref/pods/web-1/eviction");
  EXPECT_EQ(Json::parse(reqs[0].body), Json::parse(R"({"apiVersion":"policy/v1","kind":"Eviction",
      "metadata":{"name":"web-1","namespace":"ref"},
      "deleteOptions":{"apiVersion":"v1","kind":"DeleteOptions","gracePeriodSeconds":10}})"));
  EXPECT_FALSE(Json::parse(reqs[1].body).contains("deleteOptions"));
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(RestClientTest, LogsReadsAContainersPreviousRunAsText) {
  Serve([](const http::Request& req, http::Responder res) {
    if (req.Query("container") && *req.Query("container") == "nope") {
      return res.Respond(JsonResponse(400, {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                                            {"message", "container nope is not valid for pod web-1"},
                                            {"reason", "BadRequest"}, {"code", 400}}));
    }
    http::Response r{.status = 200, .body = "panic: boom\nexit status 1\n"};
    r.headers.Add("Content-Type", "text/plain");
    res.Respond(std::move(r));
  });
  auto client = Client();
  auto log = client->Logs("ref", "web-1", {.container = "web", .previous = true, .tail_lines = 20});
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*log, "panic: boom\nexit status 1\n");
  auto reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/ref/pods/web-1/log");
  EXPECT_EQ(*reqs[0].Query("container"), "web");
  EXPECT_EQ(*reqs[0].Query("previous"), "true");
  EXPECT_EQ(*reqs[0].Query("tailLines"), "20");
  auto bad = client->Logs("ref", "web-1", {.container = "nope"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("is not valid for pod web-1"), absl::string_view::npos);
}

TEST_F(RestClientTest, ScaleSubresource) {
  std::string scale = Testdata("scale-get.txt");
  Serve([scale](const http::Request& req, http::Responder res) {
    if (req.method == "GET") return res.Respond(Raw(200, scale));
    Json body = Json::parse(req.body);
    body["status"] = {{"replicas", 3}, {"selector", "app=web"}};
    body["metadata"]["resourceVersion"] = "4731";
    res.Respond(JsonResponse(200, body));
  });
  auto client = Client();
  auto s = client->GetScale(kDeployments, "ref", "web");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->replicas, 3);
  EXPECT_EQ(s->status_replicas, 3);
  EXPECT_EQ(s->selector, "app=web");
  EXPECT_EQ(s->resource_version, "4730");
  auto u = client->UpdateScale(kDeployments, "ref", "web", 5, "4730");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->replicas, 5);
  EXPECT_EQ(u->resource_version, "4731");
  auto reqs = api_->requests();
  EXPECT_EQ(reqs[0].path, "/apis/apps/v1/namespaces/ref/deployments/web/scale");
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/apis/apps/v1/namespaces/ref/deployments/web/scale");
  EXPECT_EQ(Json::parse(reqs[1].body),
            Json::parse(R"({"apiVersion":"autoscaling/v1","kind":"Scale",
                           "metadata":{"name":"web","namespace":"ref","resourceVersion":"4730"},
                           "spec":{"replicas":5}})"));
}

// ---- Errors through the client ---------------------------------------------

TEST_F(RestClientTest, ApiErrorsKeepReasonCodeAndObject) {
  struct Case {
    const char* file;
    int http;
    absl::StatusCode code;
    const char* reason;
  } cases[] = {
      {"error-400-bad-selector.txt", 400, absl::StatusCode::kInvalidArgument, "BadRequest"},
      {"error-404-notfound.txt", 404, absl::StatusCode::kNotFound, "NotFound"},
      {"error-409-alreadyexists.txt", 409, absl::StatusCode::kAlreadyExists, "AlreadyExists"},
      {"error-409-conflict.txt", 409, absl::StatusCode::kAborted, "Conflict"},
      {"error-415-patch-type.txt", 415, absl::StatusCode::kInvalidArgument, "UnsupportedMediaType"},
      {"error-422-invalid.txt", 422, absl::StatusCode::kInvalidArgument, "Invalid"},
  };
  auto client = Client();
  for (const Case& c : cases) {
    std::string body = Testdata(c.file);
    int http = c.http;
    Serve([body, http](const http::Request&, http::Responder res) { res.Respond(Raw(http, body)); });
    auto got = client->Patch(kDeployments, "ref", "web", PatchType::kMerge, "{}");
    EXPECT_EQ(got.status().code(), c.code) << c.file;
    EXPECT_EQ(ErrorReason(got.status()), c.reason) << c.file;
    EXPECT_EQ(ErrorHttpCode(got.status()), c.http) << c.file;
    ASSERT_TRUE(ErrorStatusObject(got.status()).has_value()) << c.file;
  }
  EXPECT_TRUE(clock_.sleeps().empty());
  EXPECT_EQ(api_->request_count(), std::size(cases));
}

TEST_F(RestClientTest, ConflictOnUpdateIsNotRetried) {
  std::string body = Testdata("error-409-conflict.txt");
  Serve([body](const http::Request&, http::Responder res) { res.Respond(Raw(409, body)); });
  auto client = Client();
  auto got = client->Update(kDeployments, "ref", {{"metadata", {{"name", "web"}, {"resourceVersion", "1"}}}});
  EXPECT_TRUE(IsConflict(got.status()));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(api_->request_count(), 1u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

// ---- Retries ---------------------------------------------------------------

TEST_F(RestClientTest, TooManyRequestsHonoursRetryAfter) {
  std::atomic<int> calls{0};
  Serve([&](const http::Request&, http::Responder res) {
    if (calls++ == 0) {
      http::Response r = JsonResponse(429, StatusObject(429, "TooManyRequests", "slow down"));
      r.headers.Add("Retry-After", "2");
      return res.Respond(std::move(r));
    }
    res.Respond(JsonResponse(200, {{"metadata", {{"name", "p"}}}}));
  });
  std::vector<std::string> lines;
  log::SetSink([&](absl::string_view line) { lines.emplace_back(line); });
  auto got = Client()->Get(kPods, "ns", "p");
  log::SetSink(nullptr);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_THAT(clock_.sleeps(), ElementsAre(absl::Seconds(2)));
  ASSERT_EQ(lines.size(), 1u);
  Json line = Json::parse(lines[0]);
  EXPECT_EQ(line["level"], "warn");
  EXPECT_EQ(line["attempt"], 1);
  EXPECT_EQ(line["http_code"], 429);
  EXPECT_EQ(line["delay_ms"], 2000);
  EXPECT_EQ(line["path"], "/api/v1/namespaces/ns/pods/p");
}

TEST_F(RestClientTest, ServerErrorThenSuccess) {
  std::atomic<int> calls{0};
  Serve([&](const http::Request&, http::Responder res) {
    if (calls++ == 0) return res.Respond(JsonResponse(500, StatusObject(500, "InternalError", "etcd hiccup")));
    res.Respond(JsonResponse(200, {{"items", Json::array()}, {"metadata", {{"resourceVersion", "3"}}}}));
  });
  auto list = Client()->List(kPods, "ns");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->resource_version, "3");
  EXPECT_THAT(clock_.sleeps(), ElementsAre(absl::Milliseconds(100)));
}

TEST_F(RestClientTest, BackoffDoublesUpToTheCapAndStopsAtMaxAttempts) {
  ServeJson(503, StatusObject(503, "ServiceUnavailable", "down"));
  RestClientOptions o = Options();
  o.retry = {.max_attempts = 8, .base_delay = absl::Milliseconds(100), .max_delay = absl::Seconds(5)};
  auto got = Client(api_->Config(), o)->Get(kPods, "ns", "p");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorHttpCode(got.status()), 503);
  EXPECT_EQ(api_->request_count(), 8u);
  EXPECT_THAT(clock_.sleeps(),
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(400),
                          absl::Milliseconds(800), absl::Milliseconds(1600), absl::Milliseconds(3200),
                          absl::Seconds(5)));
}

TEST_F(RestClientTest, JitterScalesTheDelay) {
  ServeJson(503, StatusObject(503, "ServiceUnavailable", "down"));
  RestClientOptions o = Options();
  o.jitter = [] { return 0.25; };
  auto got = Client(api_->Config(), o)->Get(kPods, "ns", "p");
  EXPECT_EQ(api_->request_count(), 5u);  // the default: 5 attempts
  EXPECT_THAT(clock_.sleeps(), ElementsAre(absl::Milliseconds(25), absl::Milliseconds(50), absl::Milliseconds(100),
                                           absl::Milliseconds(200)));
}

TEST_F(RestClientTest, PostAndPatchAreNotRetriedOnceSent) {
  ServeJson(503, StatusObject(503, "ServiceUnavailable", "down"));
  auto client = Client();
  EXPECT_EQ(client->Create(kConfigMaps, "ns", {{"metadata", {{"name", "c"}}}}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->Patch(kConfigMaps, "ns", "c", PatchType::kMerge, "{}").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(api_->request_count(), 2u);
  EXPECT_TRUE(clock_.sleeps().empty());
  // PUT and DELETE are idempotent: retried.
  EXPECT_FALSE(client->Update(kConfigMaps, "ns", {{"metadata", {{"name", "c"}}}}).ok());
  EXPECT_EQ(api_->request_count(), 7u);
  EXPECT_FALSE(client->Delete(kConfigMaps, "ns", "c").ok());
  EXPECT_EQ(api_->request_count(), 12u);
}

// A TCP listener that reads each request and closes the connection without
// answering: the request was sent, the answer never comes.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        std::string got;
        while (got.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          got.append(buf, static_cast<size_t>(n));
        }
        accepted_++;
        ::close(c);
      }
    });
  }
  ~BlackHole() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_;
  int port_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

TEST_F(RestClientTest, ConnectionDroppedAfterSendRetriesOnlyIdempotent) {
  BlackHole hole;
  RestConfig config = api_->Config();
  config.server = absl::StrCat("http://127.0.0.1:", hole.port());
  auto client = Client(config, Options());
  auto got = client->Get(kPods, "ns", "p");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorHttpCode(got.status()), 0);
  EXPECT_EQ(ErrorReason(got.status()), "");
  EXPECT_EQ(hole.accepted(), 5);
  EXPECT_EQ(clock_.sleeps().size(), 4u);

  auto created = client->Create(kPods, "ns", {{"metadata", {{"name", "p"}}}});
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(hole.accepted(), 6) << "a POST that may have arrived is not repeated";
}

TEST_F(RestClientTest, ConnectionRefusedIsRetriedEvenForPost) {
  int port = api_->port();
  api_->Shutdown();  // the port is closed now
  std::unique_ptr<FakeApiServer> revived;
  // The server comes back while the client sleeps after its second refusal.
  clock_.OnSleep([&](absl::Duration) {
    if (clock_.sleeps().size() != 2) return;
    auto s = FakeApiServer::Start({.listen = absl::StrCat("127.0.0.1:", port)});
    ASSERT_TRUE(s.ok()) << s.status();
    (*s)->SetHandler([](const http::Request& req, http::Responder res) {
      res.Respond(JsonResponse(201, Json::parse(req.body)));
    });
    revived = std::move(*s);
  });
  RestConfig config = api_->Config();
  auto created = Client(config, Options())->Create(kConfigMaps, "ns", {{"metadata", {{"name", "c"}}}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["metadata"]["name"], "c");
  EXPECT_EQ(clock_.sleeps().size(), 2u);
  ASSERT_NE(revived, nullptr);
  EXPECT_EQ(revived->request_count(), 1u);
}

TEST_F(RestClientTest, ConnectionRefusedGivesUpAfterMaxAttempts) {
  api_->Shutdown();
  auto got = Client()->Get(kPods, "ns", "p");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(got.status().message(), HasSubstr("cannot reach the Kubernetes API"));
  EXPECT_EQ(clock_.sleeps().size(), 4u);
}

TEST_F(RestClientTest, RequestTimeout) {
  std::vector<http::Responder> held;
  absl::Mutex mu;
  Serve([&](const http::Request&, http::Responder res) {
    absl::MutexLock lock(&mu);
    held.push_back(std::move(res));  // never answered
  });
  RestConfig config = api_->Config();
  config.timeout = absl::Milliseconds(200);
  RestClientOptions o = Options();
  o.retry.max_attempts = 1;
  absl::Time start = absl::Now();
  auto got = Client(config, o)->Get(kPods, "ns", "p");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(got.status().message(), HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  absl::MutexLock lock(&mu);
  held.clear();
}

// ---- Rate limit --------------------------------------------------------------

TEST_F(RestClientTest, RateLimiterDelaysBeyondTheBurstAndLogsTheWait) {
  ServeJson(200, Json::object());
  RestConfig config = api_->Config();
  config.qps = 10;
  config.burst = 1;
  std::vector<std::string> lines;
  log::SetLevel(log::Level::kDebug);
  log::SetSink([&](absl::string_view line) { lines.emplace_back(line); });
  auto client = Client(config, Options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Get(kNodes, "", "n").ok());
  log::SetSink(nullptr);
  log::SetLevel(log::Level::kInfo);
  EXPECT_THAT(clock_.sleeps(), ElementsAre(absl::Milliseconds(100), absl::Milliseconds(100)));
  ASSERT_EQ(lines.size(), 2u);
  Json line = Json::parse(lines[0]);
  EXPECT_EQ(line["level"], "debug");
  EXPECT_EQ(line["wait_ms"], 100);
}

// ---- Token file --------------------------------------------------------------

class TokenFileTest : public RestClientTest {
 protected:
  void SetUp() override {
    RestClientTest::SetUp();
    std::string tmpl = ::testing::TempDir() + "/token_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/token";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Rewrites the token in place (same inode) and sets its mtime.
  void WriteToken(const std::string& token, int64_t mtime_sec) {
    std::ofstream(path_, std::ios::trunc) << token << "\n";
    timespec times[2] = {{mtime_sec, 0}, {mtime_sec, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  }
  std::string dir_, path_;
};

TEST_F(TokenFileTest, FollowsRotationByMtimeAndAfter401) {
  WriteToken("t1", 1000);
  Serve([](const http::Request& req, http::Responder res) {
    if (req.headers.Get("Authorization") == "Bearer t2") {
      return res.Respond(JsonResponse(401, StatusObject(401, "Unauthorized", "Unauthorized")));
    }
    res.Respond(JsonResponse(200, Json::object()));
  });
  RestConfig config = api_->Config();
  config.bearer_token = "stale";
  config.bearer_token_file = path_;
  auto client = Client(config, Options());
  ASSERT_TRUE(client->Get(kNodes, "", "n").ok());
  // A rotation the mtime shows.
  WriteToken("t2", 2000);
  EXPECT_FALSE(client->Get(kNodes, "", "n").ok());
  // A rotation the mtime hides (same second, same size): the 401 makes the
  // client read the file again and retry once.
  WriteToken("t3", 2000);
  auto got = client->Get(kNodes, "", "n");
  ASSERT_TRUE(got.ok()) << got.status();

  std::vector<std::string> auth;
  for (const auto& r : api_->requests()) auth.emplace_back(r.headers.Get("Authorization"));
  EXPECT_THAT(auth, ElementsAre("Bearer t1", "Bearer t2", "Bearer t2", "Bearer t3"));
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(TokenFileTest, UnauthorizedWithUnchangedTokenIsReturned) {
  WriteToken("t1", 1000);
  ServeJson(401, StatusObject(401, "Unauthorized", "Unauthorized"));
  RestConfig config = api_->Config();
  config.bearer_token_file = path_;
  auto got = Client(config, Options())->Get(kNodes, "", "n");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(api_->request_count(), 1u);
}

// ---- TLS -------------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/tls_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto ca = tls::MakeCa("test-ca");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
  }
  void TearDown() override {
    api_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  void StartServer(const std::vector<std::string>& sans, bool require_client_cert) {
    auto cert = tls::IssueCert(ca_, "apiserver", sans);
    ASSERT_TRUE(cert.ok()) << cert.status();
    http::ServerOptions o;
    o.tls_cert_file = WriteFile("server.crt", cert->cert_pem);
    o.tls_key_file = WriteFile("server.key", cert->key_pem);
    if (require_client_cert) {
      o.tls_client_ca_file = WriteFile("client-ca.crt", ca_.cert_pem);
      o.require_client_cert = true;
    }
    auto api = FakeApiServer::Start(o);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);
    api_->SetHandler([](const http::Request& req, http::Responder res) {
      res.Respond(JsonResponse(200, {{"cn", req.client_cert_cn}}));
    });
  }
  absl::StatusOr<Json> Get(const RestConfig& config) {
    RestClientOptions o;
    o.retry.max_attempts = 1;
    auto client = NewRestClient(config, o);
    if (!client.ok()) return client.status();
    return (*client)->Get(kNodes, "", "n");
  }

  std::string dir_;
  tls::KeyPair ca_;
  std::unique_ptr<FakeApiServer> api_;
};

TEST_F(TlsTest, VerifiesTheServerWithTheCaData) {
  StartServer({"127.0.0.1"}, false);
  RestConfig config = api_->Config();
  ASSERT_TRUE(absl::StartsWith(config.server, "https://"));
  config.ca_pem = ca_.cert_pem;
  auto got = Get(config);
  ASSERT_TRUE(got.ok()) << got.status();

  // Another CA's certificate: refused.
  auto other = tls::MakeCa("other-ca");
  ASSERT_TRUE(other.ok());
  config.ca_pem = other->cert_pem;
  auto refused = Get(config);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("certificate"));

  // Unless told not to check.
  config.ca_pem.clear();
  config.insecure_skip_tls_verify = true;
  EXPECT_TRUE(Get(config).ok());
}

TEST_F(TlsTest, TlsServerNameChecksTheCertificateAgainstThatName) {
  StartServer({"kubernetes.default.svc"}, false);
  RestConfig config = api_->Config();
  config.ca_pem = ca_.cert_pem;
  EXPECT_EQ(Get(config).status().code(), absl::StatusCode::kUnavailable);  // the name is not 127.0.0.1
  config.tls_server_name = "kubernetes.default.svc";
  auto got = Get(config);
  ASSERT_TRUE(got.ok()) << got.status();
}

TEST_F(TlsTest, PresentsTheClientCertificate) {
  StartServer({"127.0.0.1"}, true);
  RestConfig config = api_->Config();
  config.ca_pem = ca_.cert_pem;
  EXPECT_FALSE(Get(config).ok()) << "the server requires a client certificate";
  auto client_cert = tls::IssueCert(ca_, "alice", {}, /*client=*/true);
  ASSERT_TRUE(client_cert.ok());
  config.client_cert_pem = client_cert->cert_pem;
  config.client_key_pem = client_cert->key_pem;
  auto got = Get(config);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["cn"], "alice");
}

// ---- Connection reuse ----------------------------------------------------------

TEST_F(RestClientTest, ReusesConnectionsAcrossRequestsAndThreads) {
  ServeJson(200, Json::object());
  auto client = Client();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client->Get(kNodes, "", "n").ok());
  std::set<std::string> remotes;
  for (const auto& r : api_->requests()) remotes.insert(r.remote);
  EXPECT_EQ(remotes.size(), 1u) << "sequential requests share one kept-alive connection";

  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!client->Get(kNodes, "", "n").ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  remotes.clear();
  for (const auto& r : api_->requests()) remotes.insert(r.remote);
  EXPECT_EQ(api_->request_count(), 120u);
  // At most one connection per concurrent caller (plus the first one).
  EXPECT_LE(remotes.size(), static_cast<size_t>(kThreads) + 1);
}

// ---- Watch -------------------------------------------------------------------

Json PodObject(const std::string& name, const std::string& rv) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", rv}}}};
}

TEST_F(RestClientTest, WatchParsesEventsAcrossChunkBoundaries) {
  WatchQueue watches;
  Serve([&](const http::Request& req, http::Responder res) { watches.Accept(req, std::move(res)); });
  auto client = Client();
  auto stream = client->Watch(kPods, "ns",
                              {.label_selector = "app=web", .resource_version = "41",
                               .server_timeout = absl::Seconds(30)});
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto w = watches.Next(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->request.path, "/api/v1/namespaces/ns/pods");
  EXPECT_THAT(Query(w->request),
              ElementsAre(Pair("watch", "true"), Pair("labelSelector", "app=web"), Pair("resourceVersion", "41"),
                          Pair("allowWatchBookmarks", "true"), Pair("timeoutSeconds", "30")));

  std::string added = EventLine("ADDED", PodObject("a", "42"));
  std::string modified = EventLine("MODIFIED", PodObject("a", "43"));
  // One event in three pieces, the next two glued together.
  w->stream->Write(added.substr(0, 5));
  w->stream->Write(added.substr(5, 20));
  w->stream->Write(added.substr(25));
  w->stream->Write(modified + EventLine("BOOKMARK", {{"kind", "Pod"}, {"metadata", {{"resourceVersion", "50"}}}}));
  w->stream->Write(EventLine("DELETED", PodObject("a", "51")).substr(0, 10));
  w->stream->Write(EventLine("DELETED", PodObject("a", "51")).substr(10));

  std::vector<std::pair<WatchEvent::Type, std::string>> got;
  for (int i = 0; i < 4; ++i) {
    auto ev = (*stream)->Next();
    ASSERT_TRUE(ev.ok()) << ev.status();
    got.emplace_back(ev->type, ev->object["metadata"]["resourceVersion"].get<std::string>());
  }
  EXPECT_THAT(got, ElementsAre(Pair(WatchEvent::Type::kAdded, "42"), Pair(WatchEvent::Type::kModified, "43"),
                               Pair(WatchEvent::Type::kBookmark, "50"), Pair(WatchEvent::Type::kDeleted, "51")));
  w->stream->Finish();
  auto end = (*stream)->Next();
  EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(IsGone(end.status()));
}

TEST_F(RestClientTest, WatchOfTheReferenceStream) {
  std::string raw = Testdata("watch-pods-raw.txt");
  Serve([raw](const http::Request&, http::Responder res) { res.Respond(Raw(200, raw)); });
  auto stream = Client()->Watch(kPods, "ref");
  ASSERT_TRUE(stream.ok()) << stream.status();
  int events = 0;
  std::set<std::string> types;
  while (true) {
    auto ev = (*stream)->Next();
    if (!ev.ok()) {
      EXPECT_EQ(ev.status().code(), absl::StatusCode::kOutOfRange) << ev.status();
      break;
    }
    EXPECT_EQ(ev->object["kind"], "Pod");
    ++events;
    types.insert(ev->type == WatchEvent::Type::kAdded      ? "ADDED"
                 : ev->type == WatchEvent::Type::kModified ? "MODIFIED"
                 : ev->type == WatchEvent::Type::kDeleted  ? "DELETED"
                                                           : "BOOKMARK");
  }
  EXPECT_GT(events, 10);
  EXPECT_THAT(types, ::testing::IsSupersetOf({"ADDED", "MODIFIED", "DELETED"}));
}

TEST_F(RestClientTest, WatchErrorEventBecomesItsStatus) {
  std::string too_old = Testdata("watch-too-old.txt");
  Serve([too_old](const http::Request&, http::Responder res) { res.Respond(Raw(200, too_old)); });
  auto stream = Client()->Watch(kPods, "ref", {.resource_version = "1"});
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto ev = (*stream)->Next();
  EXPECT_EQ(ev.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(IsGone(ev.status()));
  EXPECT_EQ(ErrorReason(ev.status()), "Expired");
  EXPECT_THAT(ev.status().message(), HasSubstr("too old resource version"));
  // The stream stays ended with that error.
  EXPECT_TRUE(IsGone((*stream)->Next().status()));
}

TEST_F(RestClientTest, WatchEstablishmentErrorsAreRetriedOrReturned) {
  std::atomic<int> calls{0};
  WatchQueue watches;
  Serve([&](const http::Request& req, http::Responder res) {
    if (calls++ == 0) return res.Respond(JsonResponse(503, StatusObject(503, "ServiceUnavailable", "later")));
    watches.Accept(req, std::move(res));
  });
  auto client = Client();
  auto stream = client->Watch(kPods, "ns");
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_THAT(clock_.sleeps(), ElementsAre(absl::Milliseconds(100)));

  ServeJson(403, StatusObject(403, "Forbidden", "pods is forbidden"));
  auto denied = client->Watch(kPods, "ns");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(denied.status()), "Forbidden");
  EXPECT_EQ(clock_.sleeps().size(), 1u);
}

TEST_F(RestClientTest, CancelWakesABlockedNextAtOnce) {
  WatchQueue watches;
  Serve([&](const http::Request& req, http::Responder res) { watches.Accept(req, std::move(res)); });
  auto stream = Client()->Watch(kPods, "ns");
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto w = watches.Next(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(w.has_value());

  absl::Notification returned;
  absl::Status result;
  std::thread reader([&] {
    result = (*stream)->Next().status();
    returned.Notify();
  });
  // Nothing was sent, so Next() must still be waiting.
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  absl::Time cancelled_at = absl::Now();
  (*stream)->Cancel();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::Duration latency = absl::Now() - cancelled_at;
  reader.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(latency, absl::Milliseconds(200));
  stream->reset();
  // The server sees the stream closed.
  absl::Notification closed;
  w->stream->OnClose([&] { closed.Notify(); });
  EXPECT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

TEST_F(RestClientTest, WatchConnectionBrokenMidStreamIsUnavailable) {
  WatchQueue watches;
  Serve([&](const http::Request& req, http::Responder res) { watches.Accept(req, std::move(res)); });
  auto stream = Client()->Watch(kPods, "ns");
  ASSERT_TRUE(stream.ok());
  auto w = watches.Next(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(w.has_value());
  w->stream->Write(EventLine("ADDED", PodObject("a", "1")));
  ASSERT_TRUE((*stream)->Next().ok());
  w->stream->Write("{\"type\":\"MODI");
  api_->Shutdown();  // the connection drops without the final chunk
  auto ev = (*stream)->Next();
  EXPECT_EQ(ev.status().code(), absl::StatusCode::kUnavailable) << ev.status();
}

TEST_F(RestClientTest, WatchStreamsOutliveTheClient) {
  WatchQueue watches;
  Serve([&](const http::Request& req, http::Responder res) { watches.Accept(req, std::move(res)); });
  auto client = Client();
  auto stream = client->Watch(kPods, "ns");
  ASSERT_TRUE(stream.ok());
  client.reset();
  auto w = watches.Next(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(w.has_value());
  w->stream->Write(EventLine("ADDED", PodObject("a", "1")));
  EXPECT_TRUE((*stream)->Next().ok());
}

TEST(NewRestClientTest, RejectsUnusableServers) {
  EXPECT_EQ(NewRestClient({}).status().code(), absl::StatusCode::kInvalidArgument);
  RestConfig c;
  c.server = "ftp://host";
  EXPECT_EQ(NewRestClient(c).status().code(), absl::StatusCode::kInvalidArgument);
  c.server = "host:6443";
  EXPECT_EQ(NewRestClient(c).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace herd::kube
