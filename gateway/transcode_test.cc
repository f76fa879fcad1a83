#include "gateway/transcode.h"

#include "gateway/testdata/echo.pb.h"
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.pb.h"

namespace herd::gateway {
namespace {

using ::testing::HasSubstr;
using gatewaytest::EchoRequest;

class TranscodeTest : public ::testing::Test {
 protected:
  TranscodeTest() : router_(*RoutesOf(*EchoRequest::descriptor()->file()->service(0))) {}

  absl::StatusOr<EchoRequest> Build(const std::string& method, const std::string& path,
                                    std::vector<std::pair<std::string, std::string>> query, const std::string& body) {
    auto m = router_.Find(method, path);
    if (!m.ok()) return m.status();
    auto msg = BuildRequest(*m, query, body);
    if (!msg.ok()) return msg.status();
    EchoRequest out;
    out.CopyFrom(**msg);
    return out;
  }

  Router router_;
};

TEST_F(TranscodeTest, EveryAnnotatedBindingIsARouteAndTheUnannotatedIsNot) {
  std::vector<std::string> seen;
  for (const Route& r : router_.routes()) seen.push_back(r.http_method + " " + r.path.text() + " " + r.GrpcPath());
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre(
                        "POST /t/{name=rooms/*/speakers/*}:say /herd.gatewaytest.Echo/Say",
                        "GET /t/{name=rooms/*/speakers/*} /herd.gatewaytest.Echo/Say",
                        "PUT /t/rooms/{room}/note /herd.gatewaytest.Echo/Say",
                        "GET /t/{name=rooms/*}:count /herd.gatewaytest.Echo/Count",
                        "GET /t/{name=rooms/*/speakers/*}:count /herd.gatewaytest.Echo/Count",
                        "GET /t/fail/{code} /herd.gatewaytest.Echo/Fail", "GET /t/only /herd.gatewaytest.Echo/Only"));
}

TEST_F(TranscodeTest, BodyStarTakesEitherSpellingAndThePathWins) {
  auto r = Build("POST", "/t/rooms/r1/speakers/ann:say", {},
                 R"({"name":"ignored","speakerName":"Ann","note":{"text":"hi","stars":3},"tags":["a","b"],
                     "mood":"HAPPY","wait":"1.5s","at":"2026-01-02T03:04:05Z","big":"9007199254740993","loud":true,
                     "labels":{"k":"v"},"ratio":0.25})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name(), "rooms/r1/speakers/ann");
  EXPECT_EQ(r->speaker_name(), "Ann");
  EXPECT_EQ(r->note().stars(), 3);
  EXPECT_EQ(r->tags_size(), 2);
  EXPECT_EQ(r->mood(), gatewaytest::HAPPY);
  EXPECT_EQ(r->wait().seconds(), 1);
  EXPECT_EQ(r->wait().nanos(), 500000000);
  EXPECT_EQ(r->big(), 9007199254740993);
  EXPECT_EQ(r->labels().at("k"), "v");
  auto snake = Build("POST", "/t/rooms/r1/speakers/ann:say", {}, R"({"speaker_name":"Bo"})");
  ASSERT_TRUE(snake.ok()) << snake.status();
  EXPECT_EQ(snake->speaker_name(), "Bo");
}

TEST_F(TranscodeTest, QueryParametersByNameNestedRepeatedEnumsDurationsAndTimestamps) {
  auto r = Build("GET", "/t/rooms/r1/speakers/ann",
                 {{"note.text", "hi"}, {"tags", "a"}, {"tags", "b"}, {"mood", "GRUMPY"}, {"wait", "30s"},
                  {"at", "2026-01-02T03:04:05Z"}, {"big", "-5"}, {"loud", "true"}, {"ratio", "0.5"},
                  {"speakerName", "Cy"}},
                 "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->note().text(), "hi");
  EXPECT_THAT(r->tags(), ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(r->mood(), gatewaytest::GRUMPY);
  EXPECT_EQ(r->wait().seconds(), 30);
  EXPECT_EQ(r->at().seconds(), 1767323045);
  EXPECT_EQ(r->big(), -5);
  EXPECT_TRUE(r->loud());
  EXPECT_EQ(r->ratio(), 0.5);
  EXPECT_EQ(r->speaker_name(), "Cy");
}

TEST_F(TranscodeTest, ABodyFieldRouteTakesThatFieldFromTheBody) {
  auto r = Build("PUT", "/t/rooms/r9/note", {{"mood", "HAPPY"}}, R"({"text":"x","stars":2})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->room(), "r9");
  EXPECT_EQ(r->note().text(), "x");
  EXPECT_EQ(r->mood(), gatewaytest::HAPPY);
}

TEST_F(TranscodeTest, BadInputIsInvalidArgumentNamingTheProblem) {
  auto code_and = [&](const absl::StatusOr<EchoRequest>& r, const std::string& text) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(text));
  };
  code_and(Build("POST", "/t/rooms/r/speakers/s:say", {}, "{\"tags\": [1,"), "malformed JSON body");
  code_and(Build("POST", "/t/rooms/r/speakers/s:say", {}, R"({"nope": 1})"), "nope");
  code_and(Build("POST", "/t/rooms/r/speakers/s:say", {}, R"({"note": {"stars": "many"}})"), "stars");
  code_and(Build("POST", "/t/rooms/r/speakers/s:say", {}, "[1]"), "must be a JSON object");
  code_and(Build("POST", "/t/rooms/r/speakers/s:say", {{"tags", "a"}}, "{}"), "takes its fields in the JSON body");
  code_and(Build("GET", "/t/rooms/r/speakers/s", {{"nope", "1"}}, ""), "unknown query parameter \"nope\"");
  code_and(Build("GET", "/t/rooms/r/speakers/s", {{"loud", "maybe"}}, ""), "not a boolean");
  code_and(Build("GET", "/t/rooms/r/speakers/s", {{"mood", "SLEEPY"}}, ""), "mood");
  code_and(Build("GET", "/t/rooms/r/speakers/s", {{"labels", "x"}}, ""), "map field");
  code_and(Build("GET", "/t/rooms/r/speakers/s", {{"note", "x"}}, ""), "cannot be given");
  code_and(Build("GET", "/t/rooms/r/speakers/s", {}, "{}"), "takes no body");
}

TEST_F(TranscodeTest, RoutingSaysNotFoundOrWhichMethodsAreAllowed) {
  std::vector<std::string> allowed;
  EXPECT_TRUE(absl::IsNotFound(router_.Find("GET", "/t/nowhere", &allowed).status()));
  auto wrong = router_.Find("DELETE", "/t/rooms/r1/speakers/ann", &allowed);
  EXPECT_TRUE(absl::IsUnimplemented(wrong.status())) << wrong.status();
  EXPECT_THAT(allowed, ::testing::ElementsAre("GET"));
  // A route with the verb wins over one whose last wildcard would take it.
  auto count = router_.Find("GET", "/t/rooms/a/speakers/b:count");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->route->method->name(), "Count");
  auto say = router_.Find("GET", "/t/rooms/a/speakers/b:shout");
  ASSERT_TRUE(say.ok()) << say.status();
  EXPECT_EQ(say->route->method->name(), "Say");
  // An escaped colon is part of the value, not a verb.
  auto colon = router_.Find("GET", "/t/rooms/a%3Asay/speakers/b%3Ac", &allowed);
  ASSERT_TRUE(colon.ok()) << colon.status();
  EXPECT_EQ(colon->bindings[0].second, "rooms/a:say/speakers/b:c");
}

TEST(StatusMappingTest, GrpcCodesMapAsGrpcGatewayDoes) {
  EXPECT_EQ(HttpStatusForCode(5), 404);   // NOT_FOUND
  EXPECT_EQ(HttpStatusForCode(3), 400);   // INVALID_ARGUMENT
  EXPECT_EQ(HttpStatusForCode(7), 403);   // PERMISSION_DENIED
  EXPECT_EQ(HttpStatusForCode(16), 401);  // UNAUTHENTICATED
  EXPECT_EQ(HttpStatusForCode(10), 409);  // ABORTED
  EXPECT_EQ(HttpStatusForCode(6), 409);   // ALREADY_EXISTS
  EXPECT_EQ(HttpStatusForCode(9), 400);   // FAILED_PRECONDITION
  EXPECT_EQ(HttpStatusForCode(8), 429);   // RESOURCE_EXHAUSTED
  EXPECT_EQ(HttpStatusForCode(14), 503);  // UNAVAILABLE
  EXPECT_EQ(HttpStatusForCode(4), 504);   // DEADLINE_EXCEEDED
  EXPECT_EQ(HttpStatusForCode(12), 501);  // UNIMPLEMENTED
  EXPECT_EQ(HttpStatusForCode(13), 500);  // INTERNAL
  EXPECT_EQ(HttpStatusForCode(1), 499);   // CANCELLED
  EXPECT_EQ(ErrorJson(5, "gone").dump(), R"({"code":5,"details":[],"message":"gone"})");
}

TEST(HerdRoutesTest, EveryHerdRpcIsOnRest) {
  const auto* herd = v1::RolloutRequest::descriptor()->file()->FindServiceByName("Herd");
  ASSERT_NE(herd, nullptr);
  auto routes = RoutesOf(*herd);
  ASSERT_TRUE(routes.ok()) << routes.status();
  std::set<std::string> methods;
  for (const Route& r : *routes) methods.insert(r.method->name());
  EXPECT_EQ(static_cast<int>(methods.size()), herd->method_count());
}

}  // namespace
}  // namespace herd::gateway
