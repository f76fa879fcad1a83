// herd's Prometheus metrics: one registry with the gRPC server metrics
// under the names go-grpc-prometheus uses (so existing dashboards work),
// herd's operations, its Kubernetes API requests and its build.
//
//   herd::metrics::Metrics metrics({.version = "0.1.0"});
//   builder.experimental().SetInterceptorCreators(
//       herd::metrics::GrpcServerInterceptors(metrics));   // grpc_interceptor.h
//   metrics.OperationStarted("rollout");
//   metrics.OperationFinished("rollout", "succeeded", absl::Seconds(42));
//   metrics.KubeRequest("PATCH", 200, absl::Milliseconds(12));
//   std::string text = metrics.Exposition();  // what /metrics serves (handlers.h)
//
// The families:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
//   herd_operations_total{kind,result}
//   herd_operations_running{kind} (gauge)
//   herd_operation_duration_seconds{kind} (histogram)
//   herd_operation_phase_duration_seconds{kind,phase} (histogram: where an
//       operation's time went, from its Timing phases)
//   herd_pods_killed_total{kind} (pods killed by kill, replaced by purge)
//   herd_rollbacks_total{reason} (rollouts rolled back, by failure reason)
//   herd_operation_adoptions_total{kind} (operations taken over from a
//       replica that stopped or died)
//   herd_auth_denials_total{reason} (calls refused: unauthenticated, rules,
//       protected_namespace, cluster_rbac, self_approval)
//   herd_kube_requests_total{verb,code}
//   herd_kube_request_duration_seconds{verb} (histogram)
//   herd_build_info{version} (gauge, always 1)
// herdd adds herd_cache_synced (CallbackGauge: 1 when its caches are synced),
// herd_cache_objects{resource}, herd_cache_relists_total{resource} and
// herd_watch_restarts_total{resource} (CallbackFamily, from its informers),
// and those of any Collectable added, such as the process metrics
// (process_collector.h).
#ifndef HERD_SERVER_METRICS_METRICS_H_
#define HERD_SERVER_METRICS_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace google::protobuf {
class ServiceDescriptor;
}

namespace herd::metrics {

// The go-grpc-prometheus grpc_type values.
enum class GrpcType { kUnary, kClientStream, kServerStream, kBidiStream };
absl::string_view GrpcTypeName(GrpcType type);  // "unary", "server_stream", …
// Go's names of gRPC status codes, as grpc_code carries them: "OK",
// "InvalidArgument", "PermissionDenied", …; "Code(N)" beyond the known.
std::string GrpcCodeName(int code);

struct MetricsOptions {
  std::string version;  // the herd_build_info version label
  // Bucket bounds in seconds. The gRPC ones are Prometheus' defaults, as
  // go-grpc-prometheus uses; operations take seconds to many minutes.
  std::vector<double> grpc_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::vector<double> operation_buckets = {1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600};
  std::vector<double> kube_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  // Where gRPC call durations are read; null: absl::Now. Called from any thread.
  std::function<absl::Time()> now;
};

// A gauge without labels whose value `value` gives at scrape time (for
// Metrics::AddCollectable), e.g. whether the caches are synced:
//   metrics.AddCollectable(std::make_shared<CallbackGauge>("herd_cache_synced", "…", [&] { … }));
// `value` is called from the scraping thread and must be thread-safe.
class CallbackGauge : public prometheus::Collectable {
 public:
  CallbackGauge(std::string name, std::string help, std::function<double()> value)
      : name_(std::move(name)), help_(std::move(help)), value_(std::move(value)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string name_;
  const std::string help_;
  const std::function<double()> value_;
};

// A family whose samples `samples` gives at scrape time, one per set of
// label values (in the order of `labels`), e.g. the objects in each cache:
//   metrics.AddCollectable(std::make_shared<CallbackFamily>(
//       "herd_cache_objects", "…", prometheus::MetricType::Gauge, std::vector<std::string>{"resource"},
//       [&] { return std::vector<CallbackFamily::Sample>{{{"pods"}, 120}}; }));
// `samples` is called from the scraping thread and must be thread-safe.
class CallbackFamily : public prometheus::Collectable {
 public:
  struct Sample {
    std::vector<std::string> label_values;
    double value = 0;
  };
  CallbackFamily(std::string name, std::string help, prometheus::MetricType type, std::vector<std::string> labels,
                 std::function<std::vector<Sample>()> samples)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        labels_(std::move(labels)),
        samples_(std::move(samples)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string name_;
  const std::string help_;
  const prometheus::MetricType type_;
  const std::vector<std::string> labels_;
  const std::function<std::vector<Sample>()> samples_;
};

// Thread-safe: every method may be called from any thread.
class Metrics {
 public:
  explicit Metrics(MetricsOptions options = {});
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The registry behind everything here; more families may be added to it.
  prometheus::Registry& registry() { return *registry_; }

  // Adds `collectable`'s families to every exposition from now on (for
  // metrics read at scrape time, such as ProcessCollector). Shared: the
  // caller may keep it.
  void AddCollectable(std::shared_ptr<const prometheus::Collectable> collectable);

  // An operation of `kind` ("rollout", "scale", …) began running.
  void OperationStarted(absl::string_view kind);
  // … and ended with `result` ("succeeded", "failed", "cancelled",
  // "rolled_back") after `took`. Pairs with OperationStarted.
  void OperationFinished(absl::string_view kind, absl::string_view result, absl::Duration took);

  // The phases of a finished operation of `kind` (v1::Timing: "api-write",
  // "pods-ready", …) and how long each took.
  void OperationPhase(absl::string_view kind, absl::string_view phase, absl::Duration took);
  // An operation of `kind` ended having killed (or replaced) `pods` pods.
  void PodsKilled(absl::string_view kind, int64_t pods);
  // A rollout was rolled back because of `reason` ("crash_loop_back_off", …).
  void RolledBack(absl::string_view reason);
  // This replica adopted an operation of `kind`.
  void OperationAdopted(absl::string_view kind);
  // A call was refused for `reason` ("unauthenticated", "rules",
  // "protected_namespace", "cluster_rbac").
  void AuthDenied(absl::string_view reason);

  // One Kubernetes API request: `verb` as the API names it ("GET", "LIST",
  // "WATCH", "POST", "PATCH", …), its HTTP status, or 0 when no answer came
  // (counted as code "<error>", as client-go does).
  void KubeRequest(absl::string_view verb, int http_code, absl::Duration took);

  // The time source gRPC call durations use.
  absl::Time Now() const { return now_ ? now_() : absl::Now(); }

  // The series of one gRPC method, resolved once and kept: the interceptor
  // works on these so a call costs no label lookups but the one for its code.
  struct GrpcMethod {
    GrpcType type;
    std::string service;  // "herd.v1.Herd"
    std::string method;   // "Rollout"
    prometheus::Counter* started;
    prometheus::Counter* msg_received;
    prometheus::Counter* msg_sent;
    prometheus::Histogram* handling;
  };
  // `full_method` as gRPC gives it: "/herd.v1.Herd/Rollout". The pointer
  // lives as long as the Metrics.
  const GrpcMethod* Grpc(GrpcType type, absl::string_view full_method);
  // Counts a finished call with status `code` that took `took`.
  void GrpcHandled(const GrpcMethod& method, int code, absl::Duration took);

  // Creates the zero series of every method of `service` (every code
  // included), as go-grpc-prometheus' InitializeMetrics does, so rates and
  // alerts see a method before its first call.
  void InitializeGrpcService(const google::protobuf::ServiceDescriptor& service);

  // The text exposition format (version 0.0.4) of the whole registry,
  // families and series sorted by name and labels.
  std::string Exposition() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  const MetricsOptions options_;
  const std::function<absl::Time()> now_;

  prometheus::Family<prometheus::Counter>& grpc_started_;
  prometheus::Family<prometheus::Counter>& grpc_handled_;
  prometheus::Family<prometheus::Counter>& grpc_msg_received_;
  prometheus::Family<prometheus::Counter>& grpc_msg_sent_;
  prometheus::Family<prometheus::Histogram>& grpc_handling_;
  prometheus::Family<prometheus::Counter>& operations_;
  prometheus::Family<prometheus::Gauge>& operations_running_;
  prometheus::Family<prometheus::Histogram>& operation_duration_;
  prometheus::Family<prometheus::Histogram>& operation_phase_duration_;
  prometheus::Family<prometheus::Counter>& pods_killed_;
  prometheus::Family<prometheus::Counter>& rollbacks_;
  prometheus::Family<prometheus::Counter>& adoptions_;
  prometheus::Family<prometheus::Counter>& auth_denials_;
  prometheus::Family<prometheus::Counter>& kube_requests_;
  prometheus::Family<prometheus::Histogram>& kube_request_duration_;

  absl::Mutex mu_;
  // Keyed by type and full method name; node_hash_map keeps the values put.
  absl::node_hash_map<std::string, GrpcMethod> grpc_methods_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex collectables_mu_;
  std::vector<std::shared_ptr<const prometheus::Collectable>> collectables_ ABSL_GUARDED_BY(collectables_mu_);
};

}  // namespace herd::metrics

#endif  // HERD_SERVER_METRICS_METRICS_H_
