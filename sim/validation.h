// Validation of objects on create and update, with the API server's field
// paths and wording, so a bad object gets the same 422 it would get from a
// real cluster.
#ifndef HERD_SIM_VALIDATION_H_
#define HERD_SIM_VALIDATION_H_

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "sim/resources.h"

namespace herd::sim {

// Validates a new object (after defaulting). 422 Invalid with causes.
absl::Status ValidateCreate(const ResourceType& r, const nlohmann::json& object);
// Validates an update of `old` into `object` (immutable fields included).
absl::Status ValidateUpdate(const ResourceType& r, const nlohmann::json& object, const nlohmann::json& old);

// RFC 1123 checks, worded like apimachinery's validation messages; "" when valid.
std::string CheckDnsSubdomain(const std::string& value);
std::string CheckDnsLabel(const std::string& value);

// Parses an IntOrString such as 3 or "25%" against `total`, rounding up or
// down as the deployment controller does; false when malformed.
bool ScaledValue(const nlohmann::json& int_or_percent, int64_t total, bool round_up, int64_t* out);

}  // namespace herd::sim

#endif  // HERD_SIM_VALIDATION_H_
