#include "server/metrics/grpc_interceptor.h"

#include <atomic>

namespace herd::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

GrpcType TypeOf(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY: return GrpcType::kUnary;
    case ServerRpcInfo::Type::CLIENT_STREAMING: return GrpcType::kClientStream;
    case ServerRpcInfo::Type::SERVER_STREAMING: return GrpcType::kServerStream;
    case ServerRpcInfo::Type::BIDI_STREAMING: return GrpcType::kBidiStream;
  }
  return GrpcType::kUnary;
}

// One per call. gRPC may run a streaming call's hooks on different
// threads, hence the atomic.
class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(Metrics& metrics, const Metrics::GrpcMethod& method)
      : metrics_(metrics), method_(method), start_(metrics.Now()) {
    method_.started->Increment();
  }

  ~MetricsInterceptor() override {
    if (!handled_.exchange(true)) {
      metrics_.GrpcHandled(method_, static_cast<int>(grpc::StatusCode::CANCELLED), metrics_.Now() - start_);
    }
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    // POST_RECV_MESSAGE also marks the end of a client's stream; only a
    // message that arrived counts.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      method_.msg_received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      method_.msg_sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !handled_.exchange(true)) {
      metrics_.GrpcHandled(method_, static_cast<int>(methods->GetSendStatus().error_code()),
                           metrics_.Now() - start_);
    }
    methods->Proceed();
  }

 private:
  Metrics& metrics_;
  const Metrics::GrpcMethod& method_;
  const absl::Time start_;
  std::atomic<bool> handled_{false};
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Metrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    const Metrics::GrpcMethod* method = metrics_.Grpc(TypeOf(info->type()), info->method() != nullptr ? info->method() : "");
    return new MetricsInterceptor(metrics_, *method);
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcServerInterceptorFactory(
    Metrics& metrics) {
  return std::make_unique<Factory>(metrics);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> GrpcServerInterceptors(
    Metrics& metrics) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(NewGrpcServerInterceptorFactory(metrics));
  return out;
}

}  // namespace herd::metrics
