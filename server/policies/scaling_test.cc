#include "server/policies/scaling.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/policies/prometheus.h"

namespace herd::policies {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

ScalingSpec Spec() {
  ScalingSpec s;
  s.query = "sum(queue_depth)";
  s.target = 10;
  s.min = 2;
  s.max = 8;
  s.up_window = absl::ZeroDuration();
  s.down_window = absl::Minutes(5);
  s.cooldown = absl::Minutes(1);
  return s;
}

TEST(DecideScale, FollowsTheValueWithinTheBounds) {
  ScalingMemory m;
  ScalingVerdict v = DecideScale(Spec(), m, 3, 41, kT0, absl::InfinitePast());
  EXPECT_EQ(v.recommended, 5);  // ceil(41 / 10)
  EXPECT_EQ(v.replicas, 5);
  EXPECT_EQ(v.why, "value 41 at 10 per replica → 5 (within 2–8); 3 → 5");
  ScalingMemory m2;
  EXPECT_EQ(DecideScale(Spec(), m2, 3, 1000, kT0, absl::InfinitePast()).replicas, 8);
  ScalingMemory m3;
  EXPECT_EQ(DecideScale(Spec(), m3, 3, 1e300, kT0, absl::InfinitePast()).replicas, 8);
  ScalingMemory m4;
  EXPECT_EQ(DecideScale(Spec(), m4, 3, 25, kT0, absl::InfinitePast()).replicas, 3);
}

TEST(DecideScale, AScaleDownWaitsOutItsWindowAndTakesItsHighestRecommendation) {
  ScalingSpec spec = Spec();
  ScalingMemory m;
  absl::Time now = kT0;
  // A leader that has just begun watching holds a scale-down.
  ScalingVerdict v = DecideScale(spec, m, 8, 30, now, absl::InfinitePast());
  EXPECT_EQ(v.replicas, 8);
  EXPECT_THAT(v.why, HasSubstr("held: the scale-down window (5m) is not yet watched in full"));
  // A spike within the window keeps the highest.
  now += absl::Minutes(2);
  DecideScale(spec, m, 8, 60, now, absl::InfinitePast());
  now += absl::Minutes(3) + absl::Seconds(1);
  v = DecideScale(spec, m, 8, 30, now, absl::InfinitePast());
  EXPECT_EQ(v.replicas, 6) << v.why;
  EXPECT_THAT(v.why, HasSubstr("highest of the last 5m: 6"));
}

TEST(DecideScale, StepsAreLimitedAndCooldownHoldsTheNext) {
  ScalingSpec spec = Spec();
  spec.step_up = 2;
  ScalingMemory m;
  ScalingVerdict v = DecideScale(spec, m, 2, 80, kT0, absl::InfinitePast());
  EXPECT_EQ(v.replicas, 4);
  EXPECT_THAT(v.why, HasSubstr("a step of at most 2: 4"));
  v = DecideScale(spec, m, 4, 80, kT0 + absl::Seconds(30), kT0);
  EXPECT_EQ(v.replicas, 4);
  EXPECT_THAT(v.why, HasSubstr("held: cooling down until"));
  v = DecideScale(spec, m, 4, 80, kT0 + absl::Seconds(61), kT0);
  EXPECT_EQ(v.replicas, 6);
}

TEST(DecideScale, AScaleUpWindowTakesItsLowestRecommendation) {
  ScalingSpec spec = Spec();
  spec.up_window = absl::Minutes(1);
  spec.cooldown = absl::ZeroDuration();
  ScalingMemory m;
  EXPECT_EQ(DecideScale(spec, m, 2, 50, kT0, absl::InfinitePast()).replicas, 2);  // not watched a minute yet
  DecideScale(spec, m, 2, 30, kT0 + absl::Seconds(30), absl::InfinitePast());
  ScalingVerdict v = DecideScale(spec, m, 2, 80, kT0 + absl::Seconds(61), absl::InfinitePast());
  EXPECT_EQ(v.replicas, 3) << v.why;  // the lowest of the last minute: 30 → 3
}

TEST(ParseLoadScaling, DefaultsAndRefusals) {
  v1::LoadScaling s;
  s.set_workload("namespaces/shop/deployments/worker");
  s.set_query("sum(queue_depth)");
  s.set_target_per_replica(10);
  s.set_max_replicas(20);
  auto spec = ParseLoadScaling(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->min, 1);
  EXPECT_EQ(spec->down_window, absl::Minutes(5));
  EXPECT_EQ(spec->interval, absl::Seconds(30));
  struct Case {
    std::function<void(v1::LoadScaling&)> edit;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {[](auto& x) { x.set_target_per_replica(0); }, "target_per_replica must be more than 0"},
           {[](auto& x) { x.set_max_replicas(0); }, "max_replicas must be from"},
           {[](auto& x) { x.set_min_replicas(30); }, "max_replicas must be from"},
           {[](auto& x) { x.set_query(""); }, "query is required"},
           {[](auto& x) { x.set_workload("namespaces/shop/cronjobs/x"); }, "load_scaling.workload"},
           {[](auto& x) { x.mutable_interval()->set_nanos(5000); }, "interval must be from 1s"},
           {[](auto& x) { x.set_max_step_down(-1); }, "cannot be negative"},
       }) {
    v1::LoadScaling bad = s;
    c.edit(bad);
    auto got = ParseLoadScaling(bad);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.want;
    EXPECT_THAT(got.status().message(), HasSubstr(c.want));
  }
}

TEST(ParseQueryAnswer, OneNumberOrWhyNot) {
  EXPECT_EQ(*ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"42"]}})"), 42);
  EXPECT_EQ(*ParseQueryAnswer(
                200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"7.5"]}]}})"),
            7.5);
  auto none = ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  EXPECT_THAT(none.status().message(), HasSubstr("no sample"));
  auto two = ParseQueryAnswer(
      200, R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]}})");
  EXPECT_THAT(two.status().message(), HasSubstr("2 series, not one: aggregate them"));
  auto nan = ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}})");
  EXPECT_THAT(nan.status().message(), HasSubstr("not a finite number"));
  auto bad = ParseQueryAnswer(400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 4"})");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("bad_data: parse error at char 4"));
  EXPECT_EQ(ParseQueryAnswer(503, "down").status().code(), absl::StatusCode::kUnavailable);
  // Shapes no Prometheus sends (a proxy's), read without throwing.
  for (const char* odd : {"502", "[1,2]", R"({"status":401,"title":"Unauthorized"})", R"({"status":null})",
                          R"({"status":"success","data":[]})", R"({"status":"success","data":{"resultType":7}})",
                          R"({"status":"success","data":{"resultType":"vector","result":[7]}})",
                          R"({"status":"error","errorType":{"x":1},"error":2})"}) {
    for (long code : {200L, 401L, 502L}) {
      absl::StatusOr<double> got = ParseQueryAnswer(code, odd);
      EXPECT_FALSE(got.ok()) << code << " " << odd;
    }
  }
}

}  // namespace
}  // namespace herd::policies
