#include "server/metrics/handlers.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/event_loop/event_loop.h"
#include "common/http/http.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::metrics {
namespace {

// herdd's HTTP port in miniature: the three handlers behind a path switch,
// on a real server on port 0.
class HandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_.Start();
    http::Handler metrics = MetricsHandler(metrics_);
    http::Handler healthz = HealthzHandler();
    http::Handler readyz = ReadyzHandler([this]() -> absl::Status {
      if (!synced_.load()) return absl::UnavailableError("informers not synced");
      return absl::OkStatus();
    });
    auto server = http::Server::Start(
        loop_, {.listen = "127.0.0.1:0"},
        [metrics, healthz, readyz](http::Request req, http::Responder res) {
          if (req.path == "/metrics") return metrics(std::move(req), std::move(res));
          if (req.path == "/healthz") return healthz(std::move(req), std::move(res));
          if (req.path == "/readyz") return readyz(std::move(req), std::move(res));
          res.Respond({.status = 404});
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  testing::FetchResponse Fetch(const std::string& path, const std::string& method = "GET") {
    return testing::Fetch({.method = method, .url = absl::StrCat("http://", server_->address(), path)});
  }

  Metrics metrics_{{.version = "0.1.0"}};
  std::atomic<bool> synced_{false};
  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(HandlersTest, MetricsServesTheExpositionWithItsContentType) {
  metrics_.KubeRequest("GET", 200, absl::Milliseconds(3));
  auto r = Fetch("/metrics");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, metrics_.Exposition());
  EXPECT_THAT(r.body, ::testing::HasSubstr("herd_kube_requests_total{code=\"200\",verb=\"GET\"} 1\n"));
}

TEST_F(HandlersTest, HealthzIsOkWhileTheProcessAnswers) {
  auto r = Fetch("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(HandlersTest, ReadyzFollowsTheReadinessCheckAndSaysWhy) {
  auto r = Fetch("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: informers not synced\n");
  synced_.store(true);
  r = Fetch("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(HandlersTest, OnlyGetAndHeadAreAnswered) {
  auto r = Fetch("/metrics", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  r = Fetch("/healthz", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

}  // namespace
}  // namespace herd::metrics
