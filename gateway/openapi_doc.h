// The OpenAPI document of herd's REST API (herd.v1.Herd), generated at
// build time from herd.proto with its comments (gateway/openapi_gen.cc).
#ifndef HERD_GATEWAY_OPENAPI_DOC_H_
#define HERD_GATEWAY_OPENAPI_DOC_H_

#include <string>

namespace herd::gateway {

const std::string& EmbeddedOpenApi();

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_OPENAPI_DOC_H_
