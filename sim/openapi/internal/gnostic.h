// An OpenAPI v2 (Swagger 2.0) document in JSON, encoded as gnostic's
// openapi.v2.Document protobuf, the form client-go's OpenAPISchema() reads.
// Covers what kubesim's documents contain: info, paths (operations with
// body, query and path parameters, responses), definitions (schemas with
// $ref, type, format, description, properties, items, additionalProperties,
// required, enum, allOf) and x- vendor extensions (their value as YAML, of
// which JSON is a subset).
#ifndef HERD_SIM_OPENAPI_INTERNAL_GNOSTIC_H_
#define HERD_SIM_OPENAPI_INTERNAL_GNOSTIC_H_

#include <string>

#include "nlohmann/json.hpp"

namespace herd::sim::openapi_internal {

std::string EncodeGnosticDocument(const nlohmann::json& v2);

}  // namespace herd::sim::openapi_internal

#endif  // HERD_SIM_OPENAPI_INTERNAL_GNOSTIC_H_
