// API errors inside kubesim: an absl::Status that carries the metav1.Status
// the API server answers with (code, reason, message, details), so the HTTP
// layer sends exactly what a real server sends.
//
//   return NotFound(kDeployments, "web");  // 404 deployments.apps "web" not found
#ifndef HERD_SIM_ERRORS_H_
#define HERD_SIM_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace herd::sim {

struct ResourceType;

// A failure with the given HTTP code, reason and message; `details` is the
// Status "details" object (omitted when null). An empty reason is omitted,
// as upstream's for errors that are not API statuses.
absl::Status ApiError(int code, absl::string_view reason, absl::string_view message,
                      nlohmann::json details = nullptr);

// The metav1.Status object for a status (any absl::Status: those built
// without ApiError map to a 500 InternalError).
nlohmann::json StatusObject(const absl::Status& status);
int HttpCode(const absl::Status& status);

// The errors the API server gives, worded as it words them.
absl::Status NotFound(const ResourceType& r, absl::string_view name);
absl::Status AlreadyExists(const ResourceType& r, absl::string_view name);
absl::Status Conflict(const ResourceType& r, absl::string_view name, absl::string_view why);
absl::Status BadRequest(absl::string_view message);
absl::Status MethodNotAllowed(absl::string_view message);
// 415 for a body or patch type the resource does not take.
absl::Status UnsupportedMediaType();
// A 422 with one cause per invalid field; `causes` is an array of
// {reason, message, field}.
absl::Status Invalid(const ResourceType& r, absl::string_view name, const nlohmann::json& causes);
// One FieldValueInvalid / FieldValueRequired / … cause.
nlohmann::json Cause(absl::string_view reason, absl::string_view field, absl::string_view message);
absl::Status Expired(absl::string_view message);
absl::Status TooManyRequests(absl::string_view message, nlohmann::json details = nullptr);
absl::Status Internal(absl::string_view message);
absl::Status Forbidden(const ResourceType& r, absl::string_view name, absl::string_view why);

}  // namespace herd::sim

#endif  // HERD_SIM_ERRORS_H_
