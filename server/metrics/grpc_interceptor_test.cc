#include "server/metrics/grpc_interceptor.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::metrics {
namespace {

namespace v1 = ::herd::v1;

// Scale succeeds, Kill is refused, WatchOperation streams three updates;
// everything else is the generated UNIMPLEMENTED.
class FakeHerd : public v1::Herd::Service {
 public:
  grpc::Status Scale(grpc::ServerContext*, const v1::ScaleRequest* req, v1::Operation* op) override {
    op->set_name("operations/1");
    op->set_target(req->workload());
    return grpc::Status::OK;
  }
  grpc::Status Kill(grpc::ServerContext*, const v1::KillRequest* req, v1::Operation*) override {
    return {grpc::StatusCode::PERMISSION_DENIED, "principal ci-shop may not kill in namespace " + req->namespace_()};
  }
  grpc::Status WatchOperation(grpc::ServerContext*, const v1::WatchOperationRequest* req,
                              grpc::ServerWriter<v1::Operation>* writer) override {
    for (int i = 0; i < 3; ++i) {
      v1::Operation op;
      op.set_name(req->name());
      op.mutable_progress()->set_ready(i);
      if (!writer->Write(op)) break;
    }
    return grpc::Status::OK;
  }
};

class GrpcInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    builder.experimental().SetInterceptorCreators(GrpcServerInterceptors(metrics_));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = v1::Herd::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // The grpc_server_* part of the exposition.
  std::string GrpcExposition() {
    std::string out;
    for (absl::string_view line : absl::StrSplit(metrics_.Exposition(), '\n', absl::SkipEmpty())) {
      if (absl::StrContains(line, "grpc_server_")) absl::StrAppend(&out, line, "\n");
    }
    return out;
  }

  // Every call takes exactly 10ms: the interceptor reads the clock once
  // when a call starts and once when it ends, and the calls run one at a
  // time.
  std::atomic<int64_t> ticks_{0};
  Metrics metrics_{{.version = "test",
                    .grpc_buckets = {0.005, 0.05},
                    .now = [this] { return absl::UnixEpoch() + absl::Milliseconds(10 * ticks_++); }}};
  FakeHerd service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Herd::Stub> stub_;
};

TEST_F(GrpcInterceptorTest, CountsUnaryAndStreamingCallsWithTheirCodes) {
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::ScaleRequest req;
    req.set_workload("namespaces/shop/deployments/web");
    v1::Operation op;
    grpc::Status st = stub_->Scale(&ctx, req, &op);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(op.target(), "namespaces/shop/deployments/web");
  }
  {
    grpc::ClientContext ctx;
    v1::KillRequest req;
    req.set_namespace_("payments");
    v1::Operation op;
    grpc::Status st = stub_->Kill(&ctx, req, &op);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    v1::RolloutRequest req;
    v1::Operation op;
    EXPECT_EQ(stub_->Rollout(&ctx, req, &op).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  {
    grpc::ClientContext ctx;
    v1::WatchOperationRequest req;
    req.set_name("operations/1");
    auto reader = stub_->WatchOperation(&ctx, req);
    v1::Operation op;
    int n = 0;
    while (reader->Read(&op)) ++n;
    EXPECT_EQ(n, 3);
    EXPECT_TRUE(reader->Finish().ok());
  }

  EXPECT_EQ(GrpcExposition(), R"(# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 2
grpc_server_handled_total{grpc_code="OK",grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream"} 1
grpc_server_handled_total{grpc_code="PermissionDenied",grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="Unimplemented",grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
# HELP grpc_server_handling_seconds Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_count{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_handling_seconds_sum{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary"} 0.01
grpc_server_handling_seconds_bucket{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.005"} 0
grpc_server_handling_seconds_bucket{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.05"} 1
grpc_server_handling_seconds_bucket{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary",le="+Inf"} 1
grpc_server_handling_seconds_count{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_handling_seconds_sum{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary"} 0.01
grpc_server_handling_seconds_bucket{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.005"} 0
grpc_server_handling_seconds_bucket{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.05"} 1
grpc_server_handling_seconds_bucket{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary",le="+Inf"} 1
grpc_server_handling_seconds_count{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 2
grpc_server_handling_seconds_sum{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 0.02
grpc_server_handling_seconds_bucket{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.005"} 0
grpc_server_handling_seconds_bucket{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.05"} 2
grpc_server_handling_seconds_bucket{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary",le="+Inf"} 2
grpc_server_handling_seconds_count{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream"} 1
grpc_server_handling_seconds_sum{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream"} 0.01
grpc_server_handling_seconds_bucket{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream",le="0.005"} 0
grpc_server_handling_seconds_bucket{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream",le="0.05"} 1
grpc_server_handling_seconds_bucket{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream",le="+Inf"} 1
# HELP grpc_server_msg_received_total Total number of RPC stream messages received on the server.
# TYPE grpc_server_msg_received_total counter
grpc_server_msg_received_total{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_msg_received_total{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_msg_received_total{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 2
grpc_server_msg_received_total{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream"} 1
# HELP grpc_server_msg_sent_total Total number of gRPC stream messages sent by the server.
# TYPE grpc_server_msg_sent_total counter
grpc_server_msg_sent_total{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary"} 0
grpc_server_msg_sent_total{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary"} 0
grpc_server_msg_sent_total{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 2
grpc_server_msg_sent_total{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream"} 3
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method="Kill",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_started_total{grpc_method="Rollout",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_started_total{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 2
grpc_server_started_total{grpc_method="WatchOperation",grpc_service="herd.v1.Herd",grpc_type="server_stream"} 1
)");
}

}  // namespace
}  // namespace herd::metrics
