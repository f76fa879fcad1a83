// The API server's field validation (?fieldValidation=Strict|Warn|Ignore):
// a JSON request body decoded against sim/schema, its unknown fields dropped
// (as decoding into the Go types drops them) and, with its duplicate keys,
// reported in document order with their paths, worded as the real server
// words them:
//
//   auto decoded = DecodeChecked(body, schema::FindKind("apps/v1", "Deployment"));
//   decoded->issues;   // {"unknown field \"spec.replicass\"", "duplicate field \"spec.replicas\""}
//   decoded->object;   // the body without spec.replicass; a duplicate's last value wins
//
// Strict turns issues into a 400 (StrictError); Warn sends each as a
// `Warning: 299 - "…"` header; Ignore drops them silently. Pure functions,
// thread-safe.
#ifndef HERD_SIM_FIELDVALIDATION_FIELD_VALIDATION_H_
#define HERD_SIM_FIELDVALIDATION_FIELD_VALIDATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "sim/schema/schema.h"

namespace herd::sim {

enum class FieldValidation { kIgnore, kWarn, kStrict };

// The directive of a request's fieldValidation parameter (nullptr when
// absent: Warn, the v1.26 default). INVALID_ARGUMENT for other values.
absl::StatusOr<FieldValidation> ParseFieldValidation(const std::string* value);

struct CheckedObject {
  nlohmann::json object;
  // "unknown field \"spec.replicass\"", "duplicate field \"spec.replicas\"",
  // in the order they appear in the body.
  std::vector<std::string> issues;
};

// Parses `body` as the JSON of a `root` message (nullptr: nothing is
// checked but duplicates). `patch`: keys starting with "$" (strategic merge
// directives) are known. nullopt when the body is not JSON.
std::optional<CheckedObject> DecodeChecked(absl::string_view body, const schema::Message* root, bool patch = false);

// The Strict 400 message: `Deployment in version "v1" cannot be handled as
// a Deployment: strict decoding error: unknown field "spec.replicass", …`.
std::string StrictErrorMessage(absl::string_view kind, absl::string_view version,
                               const std::vector<std::string>& issues);

// A Warning header value: `299 - "unknown field \"spec.replicass\""`.
std::string WarningHeader(absl::string_view text);

}  // namespace herd::sim

#endif  // HERD_SIM_FIELDVALIDATION_FIELD_VALIDATION_H_
