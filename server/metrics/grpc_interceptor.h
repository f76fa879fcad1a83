// A gRPC server interceptor that keeps the grpc_server_* metrics of a
// Metrics (metrics.h) for every call: started, handled by status code,
// messages received and sent, and handling time, for unary and streaming
// methods alike.
//
//   herd::metrics::Metrics metrics({.version = "0.1.0"});
//   grpc::ServerBuilder builder;
//   builder.experimental().SetInterceptorCreators(herd::metrics::GrpcServerInterceptors(metrics));
//   metrics.InitializeGrpcService(   // optional: zero series before the first call
//       *herd::v1::Operation::descriptor()->file()->FindServiceByName("Herd"));
//
// A call counts as started when gRPC hands it to the service, and as
// handled with the status the server sends; a call that ends without
// sending one (the client went away) counts as handled with "Canceled".
#ifndef HERD_SERVER_METRICS_GRPC_INTERCEPTOR_H_
#define HERD_SERVER_METRICS_GRPC_INTERCEPTOR_H_

#include <memory>
#include <vector>

#include "grpcpp/support/server_interceptor.h"
#include "server/metrics/metrics.h"

namespace herd::metrics {

// The factory for ServerBuilder::experimental().SetInterceptorCreators.
// `metrics` is not owned and must outlive the server. Thread-safe.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcServerInterceptorFactory(
    Metrics& metrics);

// The same, as the vector SetInterceptorCreators takes.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> GrpcServerInterceptors(
    Metrics& metrics);

}  // namespace herd::metrics

#endif  // HERD_SERVER_METRICS_GRPC_INTERCEPTOR_H_
