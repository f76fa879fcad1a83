#include "server/api/engine_factory.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::api {
namespace {

using ::testing::HasSubstr;

// Found while writing the request fuzz target, and confirmed with it
// (test/fuzz/corpus/request/scale-hpa-hold-1e15s):
// a binary request may carry any seconds and nanos in a Duration; the
// engine took hpa_hold = 10^15 s, and the JSON it stores for adoption could
// not hold it, so no other replica could ever rebuild the operation.
TEST(EngineFactoryTest, RefusesDurationsTheRecordCannotHold) {
  v1::ScaleRequest scale;
  scale.set_workload("namespaces/shop/deployments/web");
  scale.set_replicas(3);
  scale.mutable_hpa_hold()->set_seconds(1'000'000'000'000'000);
  EngineOrError e = NewEngine(scale);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("hpa_hold is not a valid duration"));

  v1::RolloutRequest rollout;
  rollout.set_workload("namespaces/shop/deployments/web");
  rollout.set_restart(true);
  rollout.mutable_deadline()->set_seconds(-1'000'000'000'000);
  EXPECT_EQ(NewEngine(rollout).status().code(), absl::StatusCode::kInvalidArgument);

  v1::PurgeRequest purge;
  purge.set_workload("namespaces/shop/deployments/web");
  purge.mutable_older_than()->set_seconds(5);
  purge.mutable_older_than()->set_nanos(-5);
  EXPECT_EQ(NewEngine(purge).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EngineFactoryTest, AnAcceptedRequestIsRebuiltFromItsRecord) {
  v1::ScaleRequest scale;
  scale.set_workload("namespaces/shop/deployments/web");
  scale.set_replicas(3);
  scale.mutable_hpa_hold()->set_seconds(315'576'000'000);  // the longest there is
  EngineOrError e = NewEngine(scale);
  ASSERT_TRUE(e.ok()) << e.status();
  ops::Record record;
  record.op.set_name("operations/x");
  record.op.set_kind(v1::OPERATION_KIND_SCALE);
  record.request_json = (*e)->request_json();
  EngineOrError again = EngineFromRecord(record);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->target(), (*e)->target());
}

}  // namespace
}  // namespace herd::api
