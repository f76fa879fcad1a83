#include "server/kube/errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kube/testing/fake_apiserver.h"

namespace herd::kube {
namespace {

using ::testing::HasSubstr;

std::string Body(const std::string& file) {
  auto body = ReferenceBody(std::string(HERD_KUBE_TESTDATA) + "/" + file);
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : "";
}

struct Case {
  const char* file;
  int http;
  absl::StatusCode code;
  const char* reason;
};

class ReferenceErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceErrorTest, MapsCodeAndKeepsReasonHttpCodeAndObject) {
  const Case& c = GetParam();
  absl::Status st = StatusFromResponse(c.http, Body(c.file));
  EXPECT_EQ(st.code(), c.code) << st;
  EXPECT_EQ(ErrorReason(st), c.reason);
  EXPECT_EQ(ErrorHttpCode(st), c.http);
  auto obj = ErrorStatusObject(st);
  ASSERT_TRUE(obj.has_value());
  EXPECT_EQ((*obj)["kind"], "Status");
  EXPECT_EQ(st.message(), (*obj)["message"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(
    Reference, ReferenceErrorTest,
    ::testing::Values(Case{"error-400-bad-selector.txt", 400, absl::StatusCode::kInvalidArgument, "BadRequest"},
                      Case{"error-404-notfound.txt", 404, absl::StatusCode::kNotFound, "NotFound"},
                      Case{"error-409-alreadyexists.txt", 409, absl::StatusCode::kAlreadyExists, "AlreadyExists"},
                      Case{"error-409-conflict.txt", 409, absl::StatusCode::kAborted, "Conflict"},
                      Case{"error-415-patch-type.txt", 415, absl::StatusCode::kInvalidArgument,
                           "UnsupportedMediaType"},
                      Case{"error-422-invalid.txt", 422, absl::StatusCode::kInvalidArgument, "Invalid"},
                      Case{"eviction-refused-429.txt", 429, absl::StatusCode::kResourceExhausted,
                           "TooManyRequests"}));

TEST(ErrorsTest, PredicatesFollowTheReason) {
  absl::Status not_found = StatusFromResponse(404, Body("error-404-notfound.txt"));
  EXPECT_TRUE(IsNotFound(not_found));
  EXPECT_FALSE(IsConflict(not_found));
  EXPECT_EQ((*ErrorStatusObject(not_found))["details"]["name"], "nope");

  absl::Status exists = StatusFromResponse(409, Body("error-409-alreadyexists.txt"));
  EXPECT_TRUE(IsAlreadyExists(exists));
  EXPECT_FALSE(IsConflict(exists));

  absl::Status conflict = StatusFromResponse(409, Body("error-409-conflict.txt"));
  EXPECT_TRUE(IsConflict(conflict));
  EXPECT_FALSE(IsAlreadyExists(conflict));

  absl::Status invalid = StatusFromResponse(422, Body("error-422-invalid.txt"));
  EXPECT_TRUE(IsInvalid(invalid));
  EXPECT_EQ((*ErrorStatusObject(invalid))["details"]["causes"][0]["field"], "spec.replicas");
}

TEST(ErrorsTest, EvictionRefusalNamesTheBudget) {
  absl::Status st = StatusFromResponse(429, Body("eviction-refused-429.txt"));
  EXPECT_TRUE(IsTooManyRequests(st));
  EXPECT_EQ(DisruptionBudgetCause(st), "The disruption budget web-pdb needs 4 healthy pods and has 4 currently");
  EXPECT_EQ(DisruptionBudgetCause(StatusFromResponse(404, Body("error-404-notfound.txt"))), "");
}

TEST(ErrorsTest, WatchExpiredEventIsGone) {
  auto event = nlohmann::json::parse(Body("watch-too-old.txt"));
  absl::Status st = StatusFromStatusObject(event["object"]);
  EXPECT_EQ(st.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(IsGone(st));
  EXPECT_EQ(ErrorReason(st), "Expired");
  EXPECT_EQ(ErrorHttpCode(st), 410);
  EXPECT_THAT(st.message(), HasSubstr("too old resource version: 1 (3388)"));
}

TEST(ErrorsTest, BareHttpCodesGetTheirReasonAndBody) {
  absl::Status st = StatusFromResponse(503, "upstream connect error\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(st), "ServiceUnavailable");
  EXPECT_EQ(ErrorHttpCode(st), 503);
  EXPECT_THAT(st.message(), HasSubstr("upstream connect error"));
  EXPECT_FALSE(ErrorStatusObject(st).has_value());

  struct {
    int http;
    absl::StatusCode code;
  } table[] = {{400, absl::StatusCode::kInvalidArgument},  {401, absl::StatusCode::kUnauthenticated},
               {403, absl::StatusCode::kPermissionDenied}, {404, absl::StatusCode::kNotFound},
               {405, absl::StatusCode::kUnimplemented},    {409, absl::StatusCode::kAborted},
               {410, absl::StatusCode::kOutOfRange},       {415, absl::StatusCode::kInvalidArgument},
               {422, absl::StatusCode::kInvalidArgument},  {429, absl::StatusCode::kResourceExhausted},
               {500, absl::StatusCode::kInternal},         {502, absl::StatusCode::kUnavailable},
               {503, absl::StatusCode::kUnavailable},      {504, absl::StatusCode::kDeadlineExceeded}};
  for (const auto& row : table) {
    absl::Status s = StatusFromResponse(row.http, "");
    EXPECT_EQ(s.code(), row.code) << row.http;
    EXPECT_EQ(ErrorHttpCode(s), row.http);
  }
  EXPECT_TRUE(IsGone(StatusFromResponse(410, "")));
}

TEST(ErrorsTest, ConnectionErrorsHaveNoReasonOrCode) {
  absl::Status st = absl::UnavailableError("connection refused");
  EXPECT_EQ(ErrorReason(st), "");
  EXPECT_EQ(ErrorHttpCode(st), 0);
  EXPECT_FALSE(IsNotFound(st));
  EXPECT_FALSE(ErrorStatusObject(st).has_value());
}

TEST(ErrorsTest, TransientErrorsAreServerTroubleNotTheRequests) {
  EXPECT_TRUE(IsTransient(StatusFromResponse(500, "")));
  EXPECT_TRUE(IsTransient(StatusFromResponse(503, "")));
  EXPECT_TRUE(IsTransient(StatusFromResponse(504, "")));
  EXPECT_TRUE(IsTransient(StatusFromResponse(429, "")));  // the server's rate limit
  EXPECT_TRUE(IsTransient(absl::UnavailableError("connection refused")));
  // A budget's refusal is an answer about the request.
  EXPECT_FALSE(IsTransient(StatusFromResponse(429, Body("eviction-refused-429.txt"))));
  EXPECT_FALSE(IsTransient(StatusFromResponse(409, Body("error-409-conflict.txt"))));
  EXPECT_FALSE(IsTransient(StatusFromResponse(404, Body("error-404-notfound.txt"))));
  EXPECT_FALSE(IsTransient(StatusFromResponse(422, Body("error-422-invalid.txt"))));
  EXPECT_FALSE(IsTransient(absl::OkStatus()));
}

}  // namespace
}  // namespace herd::kube
