// The REST routes of gRPC services, read from the google.api.http
// annotations in their compiled descriptors: nothing here knows herd's
// methods, so an RPC given an annotation is on REST by itself.
//
//   auto routes = RoutesOf(*herd::v1::Herd::descriptor());
//   for (const Route& r : *routes) …  // POST /v1/{workload=namespaces/*/deployments/*}:rollout → herd.v1.Herd/Rollout
#ifndef HERD_GATEWAY_ROUTES_H_
#define HERD_GATEWAY_ROUTES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/path_template.h"
#include "google/protobuf/descriptor.h"

namespace herd::gateway {

struct Route {
  std::string http_method;  // "GET", "POST", "PUT", "PATCH", "DELETE"
  PathTemplate path;
  // "*" (the whole request), a field name (that field), or "" (no body:
  // the fields not in the path come from the query).
  std::string body;
  // "" (the whole response) or the response field sent as the body.
  std::string response_body;
  const google::protobuf::MethodDescriptor* method = nullptr;

  // "/herd.v1.Herd/Rollout", the gRPC method path.
  std::string GrpcPath() const;
  bool server_streaming() const { return method->server_streaming(); }
};

// Every binding (additional ones too) of every method of `service` that
// has a google.api.http option. INVALID_ARGUMENT for an annotation that
// does not make sense (bad template, a body or path field the request
// does not have, a client-streaming method).
absl::StatusOr<std::vector<Route>> RoutesOf(const google::protobuf::ServiceDescriptor& service);

// The field of `message` at a dotted path of proto field names (or their
// JSON names), or null; `fields` gets the chain when not null.
const google::protobuf::FieldDescriptor* FindFieldPath(const google::protobuf::Descriptor& message,
                                                       const std::string& path,
                                                       std::vector<const google::protobuf::FieldDescriptor*>* fields = nullptr);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_ROUTES_H_
