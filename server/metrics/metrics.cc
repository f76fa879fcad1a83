#include "server/metrics/metrics.h"

#include <algorithm>
#include <iterator>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/text_serializer.h"

namespace herd::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr int kGrpcCodes = 17;  // OK … UNAUTHENTICATED

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(std::max(d, absl::ZeroDuration())); }

std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

Family<Counter>& CounterFamily(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

Family<Histogram>& HistogramFamily(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

bool LabelsLess(const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
  return std::lexicographical_compare(
      a.label.begin(), a.label.end(), b.label.begin(), b.label.end(),
      [](const prometheus::ClientMetric::Label& x, const prometheus::ClientMetric::Label& y) {
        return std::tie(x.name, x.value) < std::tie(y.name, y.value);
      });
}

}  // namespace

absl::string_view GrpcTypeName(GrpcType type) {
  switch (type) {
    case GrpcType::kUnary: return "unary";
    case GrpcType::kClientStream: return "client_stream";
    case GrpcType::kServerStream: return "server_stream";
    case GrpcType::kBidiStream: return "bidi_stream";
  }
  return "unknown";
}

std::string GrpcCodeName(int code) {
  static constexpr const char* kNames[kGrpcCodes] = {
      "OK",           "Canceled",          "Unknown",          "InvalidArgument", "DeadlineExceeded",
      "NotFound",     "AlreadyExists",     "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",      "OutOfRange",        "Unimplemented",    "Internal",        "Unavailable",
      "DataLoss",     "Unauthenticated"};
  if (code >= 0 && code < kGrpcCodes) return kNames[code];
  return absl::StrCat("Code(", code, ")");
}

Metrics::Metrics(MetricsOptions options)
    : registry_(std::make_shared<prometheus::Registry>()),
      options_(std::move(options)),
      now_(options_.now),
      grpc_started_(CounterFamily(*registry_, "grpc_server_started_total",
                                  "Total number of RPCs started on the server.")),
      grpc_handled_(CounterFamily(*registry_, "grpc_server_handled_total",
                                  "Total number of RPCs completed on the server, regardless of success or "
                                  "failure.")),
      grpc_msg_received_(CounterFamily(*registry_, "grpc_server_msg_received_total",
                                       "Total number of RPC stream messages received on the server.")),
      grpc_msg_sent_(CounterFamily(*registry_, "grpc_server_msg_sent_total",
                                   "Total number of gRPC stream messages sent by the server.")),
      grpc_handling_(HistogramFamily(*registry_, "grpc_server_handling_seconds",
                                     "Histogram of response latency (seconds) of gRPC that had been "
                                     "application-level handled by the server.")),
      operations_(CounterFamily(*registry_, "herd_operations_total",
                                "Operations herd has finished, by kind and result.")),
      operations_running_(prometheus::BuildGauge()
                              .Name("herd_operations_running")
                              .Help("Operations running now, by kind.")
                              .Register(*registry_)),
      operation_duration_(HistogramFamily(*registry_, "herd_operation_duration_seconds",
                                          "How long finished operations ran, by kind.")),
      operation_phase_duration_(HistogramFamily(*registry_, "herd_operation_phase_duration_seconds",
                                                "How long each phase of finished operations took, by kind and "
                                                "phase.")),
      pods_killed_(CounterFamily(*registry_, "herd_pods_killed_total",
                                 "Pods that finished operations killed (kill) or replaced (purge), by kind.")),
      rollbacks_(CounterFamily(*registry_, "herd_rollbacks_total",
                               "Rollouts rolled back automatically, by the reason of the failure.")),
      adoptions_(CounterFamily(*registry_, "herd_operation_adoptions_total",
                               "Operations this replica took over from one that stopped or died, by kind.")),
      auth_denials_(CounterFamily(*registry_, "herd_auth_denials_total",
                                  "Calls refused: no valid credentials (unauthenticated), no rule of herd's allowing "
                                  "it (rules), a protected namespace, the cluster's RBAC (cluster_rbac, herdd "
                                  "--impersonate), or a requester approving their own operation (self_approval).")),
      kube_requests_(CounterFamily(*registry_, "herd_kube_requests_total",
                                   "Requests to the Kubernetes API, by verb and HTTP status code.")),
      kube_request_duration_(HistogramFamily(*registry_, "herd_kube_request_duration_seconds",
                                             "Latency of requests to the Kubernetes API, by verb.")) {
  prometheus::BuildGauge()
      .Name("herd_build_info")
      .Help("Always 1; the labels tell which herd is running.")
      .Register(*registry_)
      .Add({{"version", options_.version}})
      .Set(1);
  // Every reason from 0, so that a rate over them works before the first.
  for (const char* reason : {"unauthenticated", "rules", "protected_namespace", "cluster_rbac",
                             "self_approval"}) {
    auth_denials_.Add({{"reason", reason}});
  }
}

std::vector<prometheus::MetricFamily> CallbackGauge::Collect() const {
  prometheus::ClientMetric m;
  m.gauge.value = value_();
  return {{.name = name_, .help = help_, .type = prometheus::MetricType::Gauge, .metric = {std::move(m)}}};
}

std::vector<prometheus::MetricFamily> CallbackFamily::Collect() const {
  prometheus::MetricFamily f{.name = name_, .help = help_, .type = type_};
  for (const Sample& s : samples_()) {
    prometheus::ClientMetric m;
    for (size_t i = 0; i < labels_.size() && i < s.label_values.size(); ++i) {
      m.label.push_back({.name = labels_[i], .value = s.label_values[i]});
    }
    if (type_ == prometheus::MetricType::Counter) {
      m.counter.value = s.value;
    } else {
      m.gauge.value = s.value;
    }
    f.metric.push_back(std::move(m));
  }
  return {std::move(f)};
}

void Metrics::AddCollectable(std::shared_ptr<const prometheus::Collectable> collectable) {
  absl::MutexLock lock(&collectables_mu_);
  collectables_.push_back(std::move(collectable));
}

void Metrics::OperationStarted(absl::string_view kind) {
  operations_running_.Add({{"kind", Str(kind)}}).Increment();
}

void Metrics::OperationFinished(absl::string_view kind, absl::string_view result, absl::Duration took) {
  operations_running_.Add({{"kind", Str(kind)}}).Decrement();
  operations_.Add({{"kind", Str(kind)}, {"result", Str(result)}}).Increment();
  operation_duration_.Add({{"kind", Str(kind)}}, options_.operation_buckets).Observe(Seconds(took));
}

void Metrics::OperationPhase(absl::string_view kind, absl::string_view phase, absl::Duration took) {
  operation_phase_duration_.Add({{"kind", Str(kind)}, {"phase", Str(phase)}}, options_.operation_buckets)
      .Observe(Seconds(took));
}

void Metrics::PodsKilled(absl::string_view kind, int64_t pods) {
  if (pods > 0) pods_killed_.Add({{"kind", Str(kind)}}).Increment(static_cast<double>(pods));
}

void Metrics::AuthDenied(absl::string_view reason) { auth_denials_.Add({{"reason", Str(reason)}}).Increment(); }

void Metrics::RolledBack(absl::string_view reason) { rollbacks_.Add({{"reason", Str(reason)}}).Increment(); }

void Metrics::OperationAdopted(absl::string_view kind) { adoptions_.Add({{"kind", Str(kind)}}).Increment(); }

void Metrics::KubeRequest(absl::string_view verb, int http_code, absl::Duration took) {
  std::string code = http_code > 0 ? absl::StrCat(http_code) : "<error>";
  kube_requests_.Add({{"verb", Str(verb)}, {"code", code}}).Increment();
  kube_request_duration_.Add({{"verb", Str(verb)}}, options_.kube_buckets).Observe(Seconds(took));
}

const Metrics::GrpcMethod* Metrics::Grpc(GrpcType type, absl::string_view full_method) {
  std::string key = absl::StrCat(static_cast<int>(type), full_method);
  absl::MutexLock lock(&mu_);
  auto it = grpc_methods_.find(key);
  if (it != grpc_methods_.end()) return &it->second;

  // go-grpc-prometheus' splitMethodName: "/pkg.Service/Method".
  absl::string_view name = full_method;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string service = "unknown", method = "unknown";
  if (size_t slash = name.find('/'); slash != absl::string_view::npos) {
    service = Str(name.substr(0, slash));
    method = Str(name.substr(slash + 1));
  }
  prometheus::Labels labels = {
      {"grpc_type", Str(GrpcTypeName(type))}, {"grpc_service", service}, {"grpc_method", method}};
  GrpcMethod m{
      .type = type,
      .service = service,
      .method = method,
      .started = &grpc_started_.Add(labels),
      .msg_received = &grpc_msg_received_.Add(labels),
      .msg_sent = &grpc_msg_sent_.Add(labels),
      .handling = &grpc_handling_.Add(labels, options_.grpc_buckets),
  };
  return &grpc_methods_.emplace(std::move(key), std::move(m)).first->second;
}

void Metrics::GrpcHandled(const GrpcMethod& method, int code, absl::Duration took) {
  grpc_handled_
      .Add({{"grpc_type", Str(GrpcTypeName(method.type))},
            {"grpc_service", method.service},
            {"grpc_method", method.method},
            {"grpc_code", GrpcCodeName(code)}})
      .Increment();
  method.handling->Observe(Seconds(took));
}

void Metrics::InitializeGrpcService(const google::protobuf::ServiceDescriptor& service) {
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& md = *service.method(i);
    GrpcType type = md.client_streaming()
                        ? (md.server_streaming() ? GrpcType::kBidiStream : GrpcType::kClientStream)
                        : (md.server_streaming() ? GrpcType::kServerStream : GrpcType::kUnary);
    const GrpcMethod* m = Grpc(type, absl::StrCat("/", service.full_name(), "/", md.name()));
    for (int code = 0; code < kGrpcCodes; ++code) {
      grpc_handled_.Add({{"grpc_type", Str(GrpcTypeName(type))},
                         {"grpc_service", m->service},
                         {"grpc_method", m->method},
                         {"grpc_code", GrpcCodeName(code)}});
    }
  }
}

std::string Metrics::Exposition() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  {
    absl::MutexLock lock(&collectables_mu_);
    for (const auto& c : collectables_) {
      std::vector<prometheus::MetricFamily> more = c->Collect();
      families.insert(families.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
  }
  // The registry keeps series in hash order; sorted, the output is stable
  // from scrape to scrape and readable.
  std::sort(families.begin(), families.end(),
            [](const prometheus::MetricFamily& a, const prometheus::MetricFamily& b) { return a.name < b.name; });
  for (auto& f : families) std::stable_sort(f.metric.begin(), f.metric.end(), LabelsLess);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace herd::metrics
