#include "server/slack/web_api.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/event_loop/event_loop.h"
#include "common/http/http.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::slack {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

// A Slack Web API that answers from a script: each call takes the next
// answer; the requests are kept.
class FakeSlack {
 public:
  FakeSlack() {
    loop_.Start();
    auto server = http::Server::Start(loop_, {}, [this](http::Request req, http::Responder res) {
      absl::MutexLock lock(&mu_);
      requests_.push_back(req);
      http::Response answer = script_.empty() ? http::Response{.status = 200, .body = R"({"ok":true})"} : script_.front();
      if (!script_.empty()) script_.erase(script_.begin());
      res.Respond(std::move(answer));
    });
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  ~FakeSlack() { server_->Shutdown(); }

  std::string url() const { return absl::StrCat("http://", server_->address()); }
  void Answer(http::Response r) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(r));
  }
  std::vector<http::Request> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
  absl::Mutex mu_;
  std::vector<http::Response> script_ ABSL_GUARDED_BY(mu_);
  std::vector<http::Request> requests_ ABSL_GUARDED_BY(mu_);
};

class WebApiTest : public ::testing::Test {
 protected:
  WebApi Make(std::string token = "xoxb-test") {
    return WebApi({.api_url = slack_.url(), .bot_token = std::move(token),
                   .sleep = [this](absl::Duration d) { waits_.push_back(d); }});
  }
  FakeSlack slack_;
  std::vector<absl::Duration> waits_;
};

TEST_F(WebApiTest, PostsWithTheBotTokenAndReturnsTheTs) {
  slack_.Answer({.status = 200, .body = R"({"ok":true,"channel":"C1","ts":"1700000000.000100"})"});
  WebApi api = Make();
  absl::StatusOr<std::string> ts = api.PostMessage("C1", {{"text", "hello"}});
  ASSERT_TRUE(ts.ok()) << ts.status();
  EXPECT_EQ(*ts, "1700000000.000100");
  ASSERT_EQ(slack_.requests().size(), 1u);
  const http::Request r = slack_.requests()[0];
  EXPECT_EQ(r.path, "/chat.postMessage");
  EXPECT_EQ(r.headers.Get("Authorization"), "Bearer xoxb-test");
  Json body = Json::parse(r.body);
  EXPECT_EQ(body["channel"], "C1");
  EXPECT_EQ(body["text"], "hello");

  ASSERT_TRUE(api.UpdateMessage("C1", *ts, {{"text", "bye"}}).ok());
  const http::Request second = slack_.requests()[1];
  Json update = Json::parse(second.body);
  EXPECT_EQ(second.path, "/chat.update");
  EXPECT_EQ(update["ts"], "1700000000.000100");
}

TEST_F(WebApiTest, RateLimitsWaitForRetryAfterAndServerErrorsBackOff) {
  slack_.Answer({.status = 429, .headers = {{"Retry-After", "3"}}, .body = R"({"ok":false,"error":"ratelimited"})"});
  slack_.Answer({.status = 500, .body = "oops"});
  slack_.Answer({.status = 200, .body = R"({"ok":true})"});
  WebApi api = Make();
  ASSERT_TRUE(api.UpdateMessage("C1", "1.2", {{"text", "x"}}).ok());
  EXPECT_THAT(waits_, ElementsAre(absl::Seconds(3), absl::Milliseconds(1000)));
  EXPECT_EQ(api.stats().calls, 3);
  EXPECT_EQ(api.stats().retries, 2);
}

// A new message Slack may have posted (it answered 5xx, or not at all) is
// not posted again, which would show it twice; a 429 posted nothing.
TEST_F(WebApiTest, ANewMessageIsRetriedOnlyWhenRateLimited) {
  slack_.Answer({.status = 429, .headers = {{"Retry-After", "2"}}, .body = R"({"ok":false,"error":"ratelimited"})"});
  slack_.Answer({.status = 500, .body = "oops"});
  WebApi api = Make();
  EXPECT_EQ(api.PostMessage("C1", {{"text", "x"}}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(waits_, ElementsAre(absl::Seconds(2)));
  EXPECT_EQ(slack_.requests().size(), 2u);
}

TEST_F(WebApiTest, AnAnswerOfTheWrongShapeIsAnErrorNotACrash) {
  slack_.Answer({.status = 200, .body = R"({"ok":"yes","ts":17})"});
  WebApi api = Make();
  EXPECT_EQ(api.PostMessage("C1", {{"text", "x"}}).status().code(), absl::StatusCode::kInternal);
}

TEST_F(WebApiTest, RefusalsAreNotRetried) {
  slack_.Answer({.status = 200, .body = R"({"ok":false,"error":"channel_not_found"})"});
  WebApi api = Make();
  absl::StatusOr<std::string> ts = api.PostMessage("C404", {{"text", "x"}});
  EXPECT_EQ(ts.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ts.status().message(), HasSubstr("channel_not_found"));
  EXPECT_EQ(slack_.requests().size(), 1u);
  EXPECT_EQ(api.stats().failures, 1);
}

TEST_F(WebApiTest, GivesUpAfterItsAttempts) {
  for (int i = 0; i < 4; ++i) slack_.Answer({.status = 503, .body = "down"});
  WebApi api = Make();
  EXPECT_EQ(api.UpdateMessage("C1", "1.2", {{"text", "x"}}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(slack_.requests().size(), 4u);
}

TEST_F(WebApiTest, ResponseUrlsTakeNoTokenAndNoBotIsNeeded) {
  slack_.Answer({.status = 200, .body = "ok"});
  WebApi api = Make("");
  EXPECT_FALSE(api.has_bot());
  ASSERT_TRUE(api.Respond(absl::StrCat(slack_.url(), "/commands/T1/42/abc"), {{"text", "done"}}).ok());
  const http::Request r = slack_.requests()[0];
  EXPECT_EQ(r.path, "/commands/T1/42/abc");
  EXPECT_FALSE(r.headers.Has("Authorization"));
  EXPECT_EQ(api.PostMessage("C1", {{"text", "x"}}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace herd::slack
