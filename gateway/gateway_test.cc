// The gateway end to end: a test-only gRPC service (gateway/testdata/
// echo.proto: nothing in the gateway knows it), the gateway on an HTTP
// server, and libcurl as the REST client.
#include "gateway/gateway.h"

#include <curl/curl.h>
#include <zlib.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/event_loop/event_loop.h"
#include "gateway/testdata/echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace herd::gateway {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace gt = gatewaytest;

class EchoService final : public gt::Echo::Service {
 public:
  grpc::Status Say(grpc::ServerContext* ctx, const gt::EchoRequest* req, gt::EchoReply* out) override {
    *out->mutable_got() = *req;
    std::vector<std::string> md;
    for (const auto& [k, v] : ctx->client_metadata()) {
      std::string key(k.data(), k.size());
      if (key == "authorization" || key == "x-request-id" || key == "team") {
        md.push_back(absl::StrCat(key, "=", std::string(v.data(), v.size())));
      }
    }
    std::sort(md.begin(), md.end());
    for (auto& m : md) out->add_metadata(m);
    ctx->AddInitialMetadata("served-by", "echo");
    return grpc::Status::OK;
  }
  grpc::Status Count(grpc::ServerContext* ctx, const gt::CountRequest* req,
                     grpc::ServerWriter<gt::EchoReply>* writer) override {
    for (int i = 0; req->n() < 0 || i < req->n(); ++i) {
      if (ctx->IsCancelled()) {
        cancelled.Notify();
        return grpc::Status::CANCELLED;
      }
      gt::EchoReply r;
      r.set_seq(i);
      r.mutable_got()->set_name(req->name());
      if (!writer->Write(r)) {
        cancelled.Notify();
        return grpc::Status::CANCELLED;
      }
      if (req->n() < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (req->fail_after()) return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "counted too far");
    return grpc::Status::OK;
  }
  grpc::Status Fail(grpc::ServerContext*, const gt::FailRequest* req, gt::EchoReply*) override {
    return grpc::Status(static_cast<grpc::StatusCode>(req->code()), absl::StrCat("failed with ", req->code()));
  }
  grpc::Status Only(grpc::ServerContext*, const gt::EchoRequest* req, gt::EchoReply* out) override {
    *out->mutable_note() = req->note();
    return grpc::Status::OK;
  }
  absl::Notification cancelled;
};

struct Reply {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (absl::EqualsIgnoreCase(k, name)) return v;
    }
    return "";
  }
  Json json() const { return Json::parse(body, nullptr, false); }
};

size_t Collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t CollectHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    static_cast<Reply*>(out)->headers.emplace_back(line.substr(0, colon), value);
  }
  return size * n;
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    auto gw = Gateway::Create(server_->InProcessChannel(grpc::ChannelArguments()),
                              {.services = {gt::EchoRequest::descriptor()->file()->service(0)},
                               .openapi_json = R"({"openapi":"3.0.3"})"});
    ASSERT_TRUE(gw.ok()) << gw.status();
    gateway_ = *std::move(gw);
    loop_.Start(2);
    Gateway* g = gateway_.get();
    auto http = http::Server::Start(loop_, {}, [g](http::Request req, http::Responder res) {
      if (g->Serves(req)) return g->Handle(std::move(req), std::move(res));
      res.Respond({.status = 418, .body = "not the gateway's"});
    });
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
  }
  void TearDown() override {
    http_->Shutdown();
    loop_.Stop();
    server_->Shutdown();
  }

  Reply Do(const std::string& method, const std::string& path, const std::string& body = "",
           std::vector<std::string> headers = {}, bool raw_encoding = true) {
    Reply r;
    CURL* h = curl_easy_init();
    std::string url = absl::StrCat("http://", http_->address(), path);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    if (!raw_encoding) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (!body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      headers.push_back("Content-Type: application/json");
    }
    curl_slist* list = nullptr;
    for (const auto& hd : headers) list = curl_slist_append(list, hd.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    EXPECT_EQ(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return r;
  }

  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Gateway> gateway_;
  EventLoop loop_;
  std::unique_ptr<http::Server> http_;
};

TEST_F(GatewayTest, PostsABodyAndAnswersCanonicalJson) {
  Reply r = Do("POST", "/t/rooms/r1/speakers/ann:say",
               R"({"speaker_name":"Ann","note":{"text":"hi"},"mood":"HAPPY","wait":"2s","big":"12"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  Json j = r.json();
  // camelCase out; enums by name; 64-bit integers and durations as strings.
  EXPECT_EQ(j["got"]["name"], "rooms/r1/speakers/ann");
  EXPECT_EQ(j["got"]["speakerName"], "Ann");
  EXPECT_EQ(j["got"]["mood"], "HAPPY");
  EXPECT_EQ(j["got"]["wait"], "2s");
  EXPECT_EQ(j["got"]["big"], "12");
  EXPECT_EQ(r.Header("Grpc-Metadata-served-by"), "echo");
}

TEST_F(GatewayTest, ABrowsersCrossOriginRequestIsRefusedASameOriginOneServed) {
  const std::string self = http_->address();
  const std::string say = R"({"speaker_name":"Ann"})";
  // A form on another site posting text/plain, as a browser sends it.
  Reply other = Do("POST", "/t/rooms/r1/speakers/ann:say", say, {"Origin: http://evil.example"});
  EXPECT_EQ(other.status, 403);
  EXPECT_THAT(other.json()["message"].get<std::string>(), HasSubstr("cross-origin request refused"));
  EXPECT_EQ(Do("POST", "/t/rooms/r1/speakers/ann:say", say, {"Origin: null"}).status, 403);
  // herd's own page (same host and port), a proxy's forwarded host, and
  // callers that send no Origin (curl, CI) are served.
  EXPECT_EQ(Do("POST", "/t/rooms/r1/speakers/ann:say", say, {"Origin: http://" + self}).status, 200);
  EXPECT_EQ(Do("POST", "/t/rooms/r1/speakers/ann:say", say,
               {"Origin: https://herd.example", "X-Forwarded-Host: herd.example"}).status, 200);
  EXPECT_EQ(Do("POST", "/t/rooms/r1/speakers/ann:say", say).status, 200);
}

TEST_F(GatewayTest, GetTakesQueryParameters) {
  Reply r = Do("GET", "/t/rooms/r1/speakers/ann?note.text=hi%20there&tags=a&tags=b&loud=true&at=2026-01-02T03:04:05Z");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  EXPECT_EQ(j["got"]["note"]["text"], "hi there");
  EXPECT_EQ(j["got"]["tags"], Json::array({"a", "b"}));
  EXPECT_EQ(j["got"]["loud"], true);
  EXPECT_EQ(j["got"]["at"], "2026-01-02T03:04:05Z");
}

TEST_F(GatewayTest, ResponseBodyAnswersWithThatFieldAlone) {
  Reply r = Do("GET", "/t/only?note.text=z&note.stars=4");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), Json::parse(R"({"text":"z","stars":4})"));
}

TEST_F(GatewayTest, HeadersBecomeMetadataAndTheRequestIdIsAnswered) {
  Reply r = Do("POST", "/t/rooms/r/speakers/s:say", "{}",
               {"Authorization: Bearer t0k3n", "Grpc-Metadata-Team: blue", "X-Request-Id: req-42"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["metadata"], Json::array({"authorization=Bearer t0k3n", "team=blue", "x-request-id=req-42"}));
  EXPECT_EQ(r.Header("X-Request-Id"), "req-42");
  Reply made = Do("POST", "/t/rooms/r/speakers/s:say", "{}");
  EXPECT_THAT(made.Header("X-Request-Id"), ::testing::MatchesRegex("[0-9a-f]{16}"));
}

TEST_F(GatewayTest, ErrorsAreStatusesWithGrpcGatewaysHttpCodes) {
  struct {
    int code;
    long http;
  } table[] = {{3, 400}, {5, 404}, {6, 409}, {7, 403}, {8, 429}, {9, 400}, {10, 409}, {14, 503}, {16, 401}, {4, 504}, {13, 500}};
  for (const auto& row : table) {
    Reply r = Do("GET", absl::StrCat("/t/fail/", row.code));
    EXPECT_EQ(r.status, row.http) << row.code;
    EXPECT_EQ(r.json(), (Json{{"code", row.code}, {"message", absl::StrCat("failed with ", row.code)}, {"details", Json::array()}}));
  }
}

TEST_F(GatewayTest, BadRequestsNeverReachTheService) {
  Reply bad_json = Do("POST", "/t/rooms/r/speakers/s:say", "{\"note\":");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_THAT(bad_json.json()["message"].get<std::string>(), HasSubstr("malformed JSON body"));
  Reply unknown = Do("POST", "/t/rooms/r/speakers/s:say", R"({"colour":"red"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.json()["message"].get<std::string>(), HasSubstr("colour"));
  Reply wrong_type = Do("POST", "/t/rooms/r/speakers/s:say", R"({"loud":"very"})");
  EXPECT_EQ(wrong_type.status, 400);
  Reply no_route = Do("GET", "/t/nothing/here");
  EXPECT_EQ(no_route.status, 404);
  EXPECT_EQ(no_route.json()["code"], 5);
  Reply method = Do("DELETE", "/t/rooms/r/speakers/s");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Header("Allow"), "GET");
  Reply type = Do("POST", "/t/rooms/r/speakers/s:say", "<say/>", {"Content-Type: application/xml"});
  EXPECT_EQ(type.status, 415);
  // curl -d's default type is read as JSON, as grpc-gateway does.
  Reply form = Do("POST", "/t/rooms/r/speakers/s:say", R"({"room":"a"})", {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(form.status, 200) << form.body;
  Reply form_bad = Do("POST", "/t/rooms/r/speakers/s:say", "x=1", {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(form_bad.status, 400);
}

TEST_F(GatewayTest, GzipsForClientsThatAcceptIt) {
  std::string many = "[";
  for (int i = 0; i < 300; ++i) absl::StrAppend(&many, i ? "," : "", "\"tag-", i, "\"");
  many += "]";
  Reply r = Do("POST", "/t/rooms/r/speakers/s:say", absl::StrCat(R"({"tags":)", many, "}"), {}, /*raw_encoding=*/false);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(r.json()["got"]["tags"].size(), 300u);  // libcurl decoded it
  Reply plain = Do("POST", "/t/rooms/r/speakers/s:say", absl::StrCat(R"({"tags":)", many, "}"));
  EXPECT_EQ(plain.Header("Content-Encoding"), "");
}

TEST_F(GatewayTest, StreamsAsNdjsonAndAsServerSentEvents) {
  Reply nd = Do("GET", "/t/rooms/r1:count?n=3");
  ASSERT_EQ(nd.status, 200);
  EXPECT_EQ(nd.Header("Content-Type"), "application/x-ndjson");
  std::vector<std::string> lines = absl::StrSplit(nd.body, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << nd.body;
  EXPECT_EQ(Json::parse(lines[2])["result"]["seq"], 2);
  EXPECT_EQ(Json::parse(lines[0])["result"]["got"]["name"], "rooms/r1");

  Reply failed = Do("GET", "/t/rooms/r1:count?n=2&fail_after=true");
  lines = absl::StrSplit(failed.body, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << failed.body;
  EXPECT_EQ(Json::parse(lines[2])["error"]["code"], 8);
  EXPECT_EQ(Json::parse(lines[2])["error"]["message"], "counted too far");

  Reply sse = Do("GET", "/t/rooms/r1:count?n=2", "", {"Accept: text/event-stream"});
  EXPECT_EQ(sse.Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(sse.body, "data: {\"result\":{\"got\":{\"name\":\"rooms/r1\"}}}\n\n"
                      "data: {\"result\":{\"got\":{\"name\":\"rooms/r1\"},\"seq\":1}}\n\n");
  // A stream that fails before its first message is a plain error.
  Reply early = Do("GET", "/t/rooms/r1:count?n=0&fail_after=true");
  EXPECT_EQ(early.status, 429);
}

TEST_F(GatewayTest, AClientThatLeavesCancelsTheCall) {
  // Reads the first line of an endless stream, then hangs up.
  CURL* h = curl_easy_init();
  std::string url = absl::StrCat("http://", http_->address(), "/t/rooms/r1:count?n=-1");
  std::string got;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* out) -> size_t {
    auto* body = static_cast<std::string*>(out);
    body->append(p, s * n);
    return body->find('\n') == std::string::npos ? s * n : 0;  // 0: abort the transfer
  });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  EXPECT_EQ(curl_easy_perform(h), CURLE_WRITE_ERROR);
  curl_easy_cleanup(h);
  EXPECT_THAT(got, HasSubstr("\"result\""));
  EXPECT_TRUE(service_.cancelled.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(GatewayTest, ServesItsOpenApiDocumentAndOnlyItsOwnPaths) {
  Reply r = Do("GET", "/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["openapi"], "3.0.3");
  EXPECT_EQ(Do("GET", "/elsewhere").status, 418);  // not under a route's prefix: the server's own
}

}  // namespace
}  // namespace herd::gateway
