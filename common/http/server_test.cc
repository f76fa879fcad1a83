#include <curl/curl.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/http/http.h"
#include "common/tls/certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::http {
namespace {

using ::testing::HasSubstr;

struct CurlResult {
  long status = 0;
  std::string body;
  long connects = 0;
  CURLcode code = CURLE_OK;
};

size_t Collect(char* p, size_t size, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}

// One libcurl handle per test: reused across calls, so keep-alive shows.
class Client {
 public:
  Client() : h_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(h_); }
  CurlResult Do(const std::string& url, const std::string& method = "GET", const std::string& body = "",
                const std::string& ca_file = "") {
    CurlResult r;
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h_, CURLOPT_TIMEOUT, 10L);
    if (!body.empty() || method == "POST") {
      curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    } else {
      curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (!ca_file.empty()) curl_easy_setopt(h_, CURLOPT_CAINFO, ca_file.c_str());
    r.code = curl_easy_perform(h_);
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h_, CURLINFO_NUM_CONNECTS, &r.connects);
    return r;
  }

 private:
  CURL* h_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_.Start(2); }
  void StartServer(Handler h, ServerOptions o = {}) {
    auto s = Server::Start(loop_, std::move(o), std::move(h));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  std::string Url(absl::string_view path) { return absl::StrCat("http://", server_->address(), path); }

  EventLoop loop_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, DecodesPathQueryHeadersAndBody) {
  StartServer([](Request req, Responder res) {
    Response r{.status = 201};
    r.headers.Add("Content-Type", "text/plain");
    const std::string* sel = req.Query("labelSelector");
    r.body = absl::StrCat(req.method, "|", req.path, "|", sel ? *sel : "-", "|", req.body, "|",
                          req.headers.Get("content-length"));
    res.Respond(std::move(r));
  });
  Client c;
  auto r = c.Do(Url("/api/v1/namespaces/a%20b/pods?labelSelector=app%3Dweb%2Ctier+in+(x)"), "PATCH",
                "{\"x\":1}");
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "PATCH|/api/v1/namespaces/a b/pods|app=web,tier in (x)|{\"x\":1}|7");
}

TEST_F(ServerTest, ReusesTheConnectionAcrossRequests) {
  StartServer([](Request, Responder res) { res.Respond({.body = "ok"}); });
  Client c;
  EXPECT_EQ(c.Do(Url("/a")).connects, 1);
  auto second = c.Do(Url("/b"));
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.connects, 0) << "a second request should reuse the kept-alive connection";
}

TEST_F(ServerTest, AnswersFromAnotherThreadLater) {
  StartServer([](Request req, Responder res) {
    std::thread([req = std::move(req), res = std::move(res)]() mutable {
      res.Respond({.status = 202, .body = req.path});
    }).detach();
  });
  Client c;
  auto r = c.Do(Url("/later"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "/later");
}

TEST_F(ServerTest, DroppedResponderAnswers500) {
  StartServer([](Request, Responder) {});
  Client c;
  EXPECT_EQ(c.Do(Url("/x")).status, 500);
}

TEST_F(ServerTest, StreamsChunksAndThenServesTheNextRequestOnTheSameConnection) {
  StartServer([](Request req, Responder res) {
    if (req.path != "/stream") return res.Respond({.body = "plain"});
    auto stream = res.StartStream(200, {{"Content-Type", "application/json"}});
    std::thread([stream] {
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(stream->Write(absl::StrCat("{\"n\":", i, "}\n")));
      stream->Finish();
      EXPECT_FALSE(stream->Write("late"));
    }).detach();
  });
  Client c;
  auto r = c.Do(Url("/stream"));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.body, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
  auto next = c.Do(Url("/after"));
  EXPECT_EQ(next.body, "plain");
  EXPECT_EQ(next.connects, 0);
}

TEST_F(ServerTest, StreamSeesTheClientGoAway) {
  absl::Notification closed;
  std::shared_ptr<Stream> held;
  absl::Notification started;
  StartServer([&](Request, Responder res) {
    held = res.StartStream(200, {});
    held->OnClose([&] { closed.Notify(); });
    held->Write("hello\n");
    started.Notify();
  });
  {
    // The client reads the first chunk and hangs up.
    CURL* h = curl_easy_init();
    std::string url = Url("/watch");
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION,
                     +[](char*, size_t size, size_t n, void*) -> size_t { return size * n > 0 ? 0 : 0; });
    CURLcode code = curl_easy_perform(h);
    EXPECT_EQ(code, CURLE_WRITE_ERROR);
    curl_easy_cleanup(h);
  }
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(held->Closed());
  EXPECT_FALSE(held->Write("more"));
}

TEST_F(ServerTest, RefusesBodiesOverTheLimit) {
  StartServer([](Request, Responder res) { res.Respond({.body = "ok"}); }, {.max_body_bytes = 10});
  Client c;
  auto r = c.Do(Url("/big"), "POST", std::string(100, 'x'));
  EXPECT_EQ(r.status, 413);
}

TEST_F(ServerTest, ServesTlsWithAGeneratedCertificate) {
  auto ca = tls::MakeCa("test-ca");
  ASSERT_TRUE(ca.ok());
  auto cert = tls::IssueCert(*ca, "server", {"127.0.0.1", "localhost"});
  ASSERT_TRUE(cert.ok());
  std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& data) {
    std::string path = absl::StrCat(dir, "/", name);
    std::ofstream(path) << data;
    return path;
  };
  ServerOptions o;
  o.tls_cert_file = write("srv.crt", cert->cert_pem);
  o.tls_key_file = write("srv.key", cert->key_pem);
  std::string ca_file = write("ca.crt", ca->cert_pem);
  StartServer([](Request req, Responder res) { res.Respond({.body = req.path}); }, o);
  EXPECT_TRUE(server_->tls());
  Client c;
  auto r = c.Do(absl::StrCat("https://127.0.0.1:", server_->port(), "/secure"), "GET", "", ca_file);
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.body, "/secure");
  auto again = c.Do(absl::StrCat("https://127.0.0.1:", server_->port(), "/again"), "GET", "", ca_file);
  EXPECT_EQ(again.body, "/again");
  EXPECT_EQ(again.connects, 0);
}

TEST_F(ServerTest, ShutdownEndsOpenStreams) {
  absl::Notification closed, started;
  std::shared_ptr<Stream> held;
  StartServer([&](Request, Responder res) {
    held = res.StartStream(200, {});
    held->OnClose([&] { closed.Notify(); });
    started.Notify();
  });
  std::thread client([&] {
    Client c;
    c.Do(Url("/watch"));
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  server_->Shutdown();
  EXPECT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  client.join();
}

TEST(ServerStartTest, RejectsABadListenAddress) {
  EventLoop loop;
  loop.Start();
  auto s = Server::Start(loop, {.listen = "nonsense"}, [](Request, Responder) {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("HOST:PORT"));
}

TEST(QueryTest, ParsesAndEncodes) {
  auto q = ParseQuery("a=1&b=x%20y&c&d=p+q");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "x y");
  EXPECT_EQ(q[2].first, "c");
  EXPECT_EQ(q[3].second, "p q");
  EXPECT_EQ(PercentEncode("app=web,x y"), "app%3Dweb%2Cx%20y");
  std::string out;
  EXPECT_FALSE(PercentDecode("%4", &out));
  EXPECT_TRUE(PercentDecode("%41b", &out));
  EXPECT_EQ(out, "Ab");
}

}  // namespace
}  // namespace herd::http
