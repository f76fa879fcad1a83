// The OpenAPI 3.0 document of the REST routes, made from the same
// descriptors the gateway routes by, with the proto comments as
// descriptions (present when the descriptors carry source info, as the
// descriptor set the build makes with --include_source_info does).
//
//   nlohmann::json doc = OpenApiDocument(routes, {.title = "herd", .version = "0.1.0"});
#ifndef HERD_GATEWAY_OPENAPI_H_
#define HERD_GATEWAY_OPENAPI_H_

#include <string>
#include <vector>

#include "gateway/routes.h"
#include "nlohmann/json.hpp"

namespace herd::gateway {

struct OpenApiInfo {
  std::string title;
  std::string version;
  std::string description;
};

// Paths (one per route, the wildcards of a resource-name variable as
// parameters: PathTemplate::OpenApiPath), query parameters of body-less
// routes, request and reply schemas (protobuf's JSON mapping), streaming
// replies as NDJSON and Server-Sent Events, errors as google.rpc.Status,
// bearer-token security.
nlohmann::json OpenApiDocument(const std::vector<Route>& routes, const OpenApiInfo& info);

// The operationId of each route: the method's name, with "_2", "_3", …
// for its additional bindings.
std::vector<std::string> OperationIds(const std::vector<Route>& routes);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_OPENAPI_H_
