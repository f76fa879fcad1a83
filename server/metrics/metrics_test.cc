#include "server/metrics/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.grpc.pb.h"
#include "server/metrics/process_collector.h"

namespace herd::metrics {
namespace {

// Every refusal reason, exported from 0 before the first.
constexpr char kAuthDenialsAtZero[] = R"(# HELP herd_auth_denials_total Calls refused: no valid credentials (unauthenticated), no rule of herd's allowing it (rules), a protected namespace, the cluster's RBAC (cluster_rbac, herdd --impersonate), or a requester approving their own operation (self_approval).
# TYPE herd_auth_denials_total counter
herd_auth_denials_total{reason="cluster_rbac"} 0
herd_auth_denials_total{reason="protected_namespace"} 0
herd_auth_denials_total{reason="rules"} 0
herd_auth_denials_total{reason="self_approval"} 0
herd_auth_denials_total{reason="unauthenticated"} 0
)";

using ::testing::HasSubstr;

MetricsOptions SmallBuckets() {
  return {.version = "1.2.3", .grpc_buckets = {0.1, 1}, .operation_buckets = {10, 60}, .kube_buckets = {0.1, 1}};
}

const google::protobuf::ServiceDescriptor& HerdService() {
  // Through a message's descriptor: that links herd.pb.cc in, which
  // registers the file with the generated pool.
  return *herd::v1::Operation::descriptor()->file()->FindServiceByName("Herd");
}

void Populate(Metrics& m) {
  m.OperationStarted("rollout");
  m.OperationStarted("rollout");
  m.OperationStarted("scale");
  m.OperationFinished("rollout", "succeeded", absl::Seconds(42));
  m.OperationFinished("scale", "failed", absl::Seconds(5));
  m.KubeRequest("GET", 200, absl::Milliseconds(50));
  m.KubeRequest("GET", 404, absl::Milliseconds(250));
  m.KubeRequest("PATCH", 0, absl::Seconds(2));
  const Metrics::GrpcMethod* scale = m.Grpc(GrpcType::kUnary, "/herd.v1.Herd/Scale");
  scale->started->Increment();
  scale->msg_received->Increment();
  m.GrpcHandled(*scale, 7, absl::Milliseconds(500));
}

TEST(MetricsTest, ExpositionOfKnownIncrements) {
  Metrics m(SmallBuckets());
  Populate(m);
  EXPECT_EQ(m.Exposition(), std::string(R"(# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="PermissionDenied",grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
# HELP grpc_server_handling_seconds Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_count{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
grpc_server_handling_seconds_sum{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 0.5
grpc_server_handling_seconds_bucket{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary",le="0.1"} 0
grpc_server_handling_seconds_bucket{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary",le="1"} 1
grpc_server_handling_seconds_bucket{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary",le="+Inf"} 1
# HELP grpc_server_msg_received_total Total number of RPC stream messages received on the server.
# TYPE grpc_server_msg_received_total counter
grpc_server_msg_received_total{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
# HELP grpc_server_msg_sent_total Total number of gRPC stream messages sent by the server.
# TYPE grpc_server_msg_sent_total counter
grpc_server_msg_sent_total{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 0
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method="Scale",grpc_service="herd.v1.Herd",grpc_type="unary"} 1
)") + kAuthDenialsAtZero +
                                R"(# HELP herd_build_info Always 1; the labels tell which herd is running.
# TYPE herd_build_info gauge
herd_build_info{version="1.2.3"} 1
# HELP herd_kube_request_duration_seconds Latency of requests to the Kubernetes API, by verb.
# TYPE herd_kube_request_duration_seconds histogram
herd_kube_request_duration_seconds_count{verb="GET"} 2
herd_kube_request_duration_seconds_sum{verb="GET"} 0.3
herd_kube_request_duration_seconds_bucket{verb="GET",le="0.1"} 1
herd_kube_request_duration_seconds_bucket{verb="GET",le="1"} 2
herd_kube_request_duration_seconds_bucket{verb="GET",le="+Inf"} 2
herd_kube_request_duration_seconds_count{verb="PATCH"} 1
herd_kube_request_duration_seconds_sum{verb="PATCH"} 2
herd_kube_request_duration_seconds_bucket{verb="PATCH",le="0.1"} 0
herd_kube_request_duration_seconds_bucket{verb="PATCH",le="1"} 0
herd_kube_request_duration_seconds_bucket{verb="PATCH",le="+Inf"} 1
# HELP herd_kube_requests_total Requests to the Kubernetes API, by verb and HTTP status code.
# TYPE herd_kube_requests_total counter
herd_kube_requests_total{code="200",verb="GET"} 1
herd_kube_requests_total{code="404",verb="GET"} 1
herd_kube_requests_total{code="<error>",verb="PATCH"} 1
# HELP herd_operation_duration_seconds How long finished operations ran, by kind.
# TYPE herd_operation_duration_seconds histogram
herd_operation_duration_seconds_count{kind="rollout"} 1
herd_operation_duration_seconds_sum{kind="rollout"} 42
herd_operation_duration_seconds_bucket{kind="rollout",le="10"} 0
herd_operation_duration_seconds_bucket{kind="rollout",le="60"} 1
herd_operation_duration_seconds_bucket{kind="rollout",le="+Inf"} 1
herd_operation_duration_seconds_count{kind="scale"} 1
herd_operation_duration_seconds_sum{kind="scale"} 5
herd_operation_duration_seconds_bucket{kind="scale",le="10"} 1
herd_operation_duration_seconds_bucket{kind="scale",le="60"} 1
herd_operation_duration_seconds_bucket{kind="scale",le="+Inf"} 1
# HELP herd_operations_running Operations running now, by kind.
# TYPE herd_operations_running gauge
herd_operations_running{kind="rollout"} 1
herd_operations_running{kind="scale"} 0
# HELP herd_operations_total Operations herd has finished, by kind and result.
# TYPE herd_operations_total counter
herd_operations_total{kind="rollout",result="succeeded"} 1
herd_operations_total{kind="scale",result="failed"} 1
)");
}

TEST(MetricsTest, FreshMetricsExposeOnlyTheBuild) {
  Metrics m({.version = "0.1.0"});
  EXPECT_EQ(m.Exposition(), std::string(kAuthDenialsAtZero) + R"(# HELP herd_build_info Always 1; the labels tell which herd is running.
# TYPE herd_build_info gauge
herd_build_info{version="0.1.0"} 1
)");
}

TEST(MetricsTest, GrpcCodeAndTypeNamesAreGoGrpcPrometheusOnes) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(1), "Canceled");
  EXPECT_EQ(GrpcCodeName(3), "InvalidArgument");
  EXPECT_EQ(GrpcCodeName(4), "DeadlineExceeded");
  EXPECT_EQ(GrpcCodeName(5), "NotFound");
  EXPECT_EQ(GrpcCodeName(9), "FailedPrecondition");
  EXPECT_EQ(GrpcCodeName(10), "Aborted");
  EXPECT_EQ(GrpcCodeName(14), "Unavailable");
  EXPECT_EQ(GrpcCodeName(16), "Unauthenticated");
  EXPECT_EQ(GrpcCodeName(17), "Code(17)");
  EXPECT_EQ(GrpcTypeName(GrpcType::kUnary), "unary");
  EXPECT_EQ(GrpcTypeName(GrpcType::kClientStream), "client_stream");
  EXPECT_EQ(GrpcTypeName(GrpcType::kServerStream), "server_stream");
  EXPECT_EQ(GrpcTypeName(GrpcType::kBidiStream), "bidi_stream");
}

TEST(MetricsTest, MethodNamesSplitLikeGoGrpcPrometheus) {
  Metrics m;
  const Metrics::GrpcMethod* a = m.Grpc(GrpcType::kUnary, "/grpc.health.v1.Health/Check");
  EXPECT_EQ(a->service, "grpc.health.v1.Health");
  EXPECT_EQ(a->method, "Check");
  EXPECT_EQ(m.Grpc(GrpcType::kUnary, "/grpc.health.v1.Health/Check"), a) << "resolved once";
  const Metrics::GrpcMethod* odd = m.Grpc(GrpcType::kUnary, "nonsense");
  EXPECT_EQ(odd->service, "unknown");
  EXPECT_EQ(odd->method, "unknown");
}

TEST(MetricsTest, InitializeGrpcServiceCreatesZeroSeriesForEveryMethodAndCode) {
  Metrics m;
  m.InitializeGrpcService(HerdService());
  std::string text = m.Exposition();
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{grpc_method=\"Rollout\",grpc_service=\"herd.v1.Herd\","
                              "grpc_type=\"unary\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_msg_sent_total{grpc_method=\"WatchOperation\","
                              "grpc_service=\"herd.v1.Herd\",grpc_type=\"server_stream\"} 0\n"));
  int rollout_codes = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "grpc_server_handled_total{") &&
        absl::StrContains(line, "grpc_method=\"Rollout\"")) {
      ++rollout_codes;
    }
  }
  EXPECT_EQ(rollout_codes, 17);
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code=\"Unauthenticated\",grpc_method=\"Kill\","
                              "grpc_service=\"herd.v1.Herd\",grpc_type=\"unary\"} 0\n"));
}

// The path of `name` on $PATH, or "".
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

TEST(MetricsTest, OperationDetailsPhasesKillsRollbacksAdoptionsAndCallbackGauges) {
  Metrics m(SmallBuckets());
  m.OperationPhase("rollout", "pods-ready", absl::Seconds(12));
  m.OperationPhase("rollout", "api-write", absl::Milliseconds(20));
  m.PodsKilled("purge", 3);
  m.PodsKilled("purge", 2);
  m.PodsKilled("kill", 0);  // no series for nothing killed
  m.RolledBack("crash_loop_back_off");
  m.OperationAdopted("scale");
  double synced = 0;
  m.AddCollectable(std::make_shared<CallbackGauge>("herd_cache_synced", "Synced.", [&] { return synced; }));
  std::string text = m.Exposition();
  EXPECT_THAT(text, HasSubstr(R"(herd_operation_phase_duration_seconds_count{kind="rollout",phase="api-write"} 1
herd_operation_phase_duration_seconds_sum{kind="rollout",phase="api-write"} 0.02
herd_operation_phase_duration_seconds_bucket{kind="rollout",phase="api-write",le="10"} 1
)"));
  EXPECT_THAT(text, HasSubstr(R"(herd_operation_phase_duration_seconds_bucket{kind="rollout",phase="pods-ready",le="10"} 0
herd_operation_phase_duration_seconds_bucket{kind="rollout",phase="pods-ready",le="60"} 1
)"));
  EXPECT_THAT(text, HasSubstr("herd_pods_killed_total{kind=\"purge\"} 5\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("herd_pods_killed_total{kind=\"kill\"}")));
  EXPECT_THAT(text, HasSubstr("herd_rollbacks_total{reason=\"crash_loop_back_off\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("herd_operation_adoptions_total{kind=\"scale\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE herd_cache_synced gauge\nherd_cache_synced 0\n"));
  synced = 1;
  EXPECT_THAT(m.Exposition(), HasSubstr("herd_cache_synced 1\n"));
}

TEST(MetricsTest, AuthDenialsByReasonAndFamiliesGivenAtScrapeTime) {
  Metrics m;
  m.AuthDenied("unauthenticated");
  m.AuthDenied("rules");
  m.AuthDenied("rules");
  double pods = 3;
  m.AddCollectable(std::make_shared<CallbackFamily>(
      "herd_cache_objects", "Objects.", prometheus::MetricType::Gauge, std::vector<std::string>{"resource"},
      [&] {
        return std::vector<CallbackFamily::Sample>{{{"pods"}, pods}, {{"deployments.apps"}, 1}};
      }));
  m.AddCollectable(std::make_shared<CallbackFamily>(
      "herd_watch_restarts_total", "Restarts.", prometheus::MetricType::Counter, std::vector<std::string>{"resource"},
      [] { return std::vector<CallbackFamily::Sample>{{{"pods"}, 2}}; }));
  std::string text = m.Exposition();
  EXPECT_THAT(text, HasSubstr("herd_auth_denials_total{reason=\"rules\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("herd_auth_denials_total{reason=\"unauthenticated\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE herd_cache_objects gauge\nherd_cache_objects{resource=\"deployments.apps\"} 1\n"
                              "herd_cache_objects{resource=\"pods\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE herd_watch_restarts_total counter\nherd_watch_restarts_total{resource=\"pods\"} 2\n"));
  pods = 4;
  EXPECT_THAT(m.Exposition(), HasSubstr("herd_cache_objects{resource=\"pods\"} 4\n"));
}

TEST(MetricsTest, ExpositionPassesPromtoolCheckMetrics) {
  std::string promtool = FindOnPath("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool not found on PATH (Debian package prometheus)";
  Metrics m({.version = "0.1.0"});
  m.InitializeGrpcService(HerdService());
  m.AddCollectable(std::make_shared<ProcessCollector>());
  Populate(m);
  std::string dir = ::testing::TempDir();
  std::string in = dir + "/metrics_test_exposition.txt";
  std::string out = dir + "/metrics_test_promtool.txt";
  { std::ofstream(in) << m.Exposition(); }
  std::string cmd = absl::StrCat("'", promtool, "' check metrics < '", in, "' > '", out, "' 2>&1");
  int rc = std::system(cmd.c_str());
  std::ifstream result(out);
  std::string report((std::istreambuf_iterator<char>(result)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(rc)) << cmd;
  EXPECT_EQ(WEXITSTATUS(rc), 0) << report;
  EXPECT_EQ(report, "") << "promtool found problems";
}

}  // namespace
}  // namespace herd::metrics
