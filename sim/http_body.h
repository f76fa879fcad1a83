// The body of a write request, decoded as the API server decodes it: the
// content type checked (JSON, or the protobuf kubectl's typed clients send;
// a patch's type from its content type), then field validation
// (?fieldValidation=Strict|Warn|Ignore) against the type the route takes:
// unknown fields dropped, and with duplicates either refused (Strict: 400)
// or returned as the Warning headers to send (Warn). And the answers
// every handler sends: JSON with the API server's headers, errors as
// metav1.Status.
#ifndef HERD_SIM_HTTP_BODY_H_
#define HERD_SIM_HTTP_BODY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http.h"
#include "nlohmann/json.hpp"
#include "sim/apiserver.h"
#include "sim/schema/schema.h"

namespace herd::sim {

// A JSON answer with the API server's headers.
http::Response JsonResponse(int status, std::string body);
// The metav1.Status of an error (429s carry Retry-After).
http::Response ErrorResponse(const absl::Status& st);

struct RequestBody {
  nlohmann::json object;
  // Warning header values to send with the answer.
  std::vector<std::string> warnings;
};

// What a write's body must be: its message, and the kind and version the
// Strict error names.
struct BodyType {
  const schema::Message* message = nullptr;  // nullptr: not checked
  std::string kind;
  std::string version;
};

// POST and PUT bodies.
absl::StatusOr<RequestBody> DecodeBody(const http::Request& req, const BodyType& type);

struct PatchBody {
  PatchType type;
  nlohmann::json patch;
  std::vector<std::string> warnings;
};

// PATCH bodies: 415 for an unknown patch type, 400 for one that does not
// parse; merge and strategic merge patches are field-validated. Apply
// patches (application/apply-patch+yaml) are JSON or YAML; their field
// validation is upstream's: duplicate keys worded as its YAML decoder words
// them (Strict: a 400 "error strict decoding YAML: …"; Warn: a warning
// each), unknown fields left to ApiServer::Apply, which refuses them under
// every directive. A refused duplicate is answered before the apply's own
// errors (upstream checks it after the merge).
absl::StatusOr<PatchBody> DecodePatch(const http::Request& req, const BodyType& type);

}  // namespace herd::sim

#endif  // HERD_SIM_HTTP_BODY_H_
