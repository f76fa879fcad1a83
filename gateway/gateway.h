// herd's REST gateway: HTTP/JSON in front of gRPC, driven by the
// google.api.http annotations of the services it is given (no per-route
// code), calling them through any gRPC channel — herdd's own in-process
// channel, or a connection to a remote herdd (the herd-gateway binary).
//
//   auto gw = Gateway::Create(channel, {.services = {herd::v1::Herd::descriptor()},
//                                       .openapi_json = EmbeddedOpenApi()});
//   server handler: if ((*gw)->Serves(req)) return (*gw)->Handle(std::move(req), std::move(res));
//
// Per request: `Authorization` goes on as the `authorization` metadata,
// `Grpc-Metadata-<Key>` headers as `<key>` metadata, `Grpc-Timeout` as the
// deadline; `X-Request-Id` is answered (made up when absent); a reply is
// gzipped when the client accepts it. Server-streaming methods answer as
// newline-delimited JSON ({"result": …} per message, {"error": …} on
// failure), or as Server-Sent Events when the client accepts
// text/event-stream; a client that leaves cancels the call.
//
// Thread-safe.
#ifndef HERD_GATEWAY_GATEWAY_H_
#define HERD_GATEWAY_GATEWAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http.h"
#include "gateway/transcode.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"

namespace herd::gateway {

struct GatewayOptions {
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  // Served at GET /openapi.json ("" for none).
  std::string openapi_json;
  // Replies at least this big are gzipped for clients that accept it.
  size_t gzip_min_bytes = 1024;
};

class Gateway {
 public:
  // INVALID_ARGUMENT when an annotation is unusable.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(std::shared_ptr<grpc::Channel> channel, GatewayOptions options);

  // Whether `request` is the gateway's to answer: /openapi.json, or a path
  // under the prefix of any route (/v1/…), so that unknown paths there get
  // the gateway's 404 in JSON.
  bool Serves(const http::Request& request) const;
  // Answers through `responder`, now or from a gRPC thread later.
  void Handle(http::Request request, http::Responder responder);

  const Router& router() const { return router_; }

 private:
  Gateway(std::shared_ptr<grpc::Channel> channel, GatewayOptions options, std::vector<Route> routes);
  void CallUnary(const Match& match, std::unique_ptr<google::protobuf::Message> request, http::Request http_request,
                 http::Responder responder);
  void CallStreaming(const Match& match, std::unique_ptr<google::protobuf::Message> request,
                     http::Request http_request, http::Responder responder);

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  const GatewayOptions options_;
  Router router_;
  std::vector<std::string> prefixes_;
};

// The answer for an error: the gRPC code's HTTP status and a
// google.rpc.Status JSON body.
http::Response ErrorResponse(int grpc_code, absl::string_view message);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_GATEWAY_H_
