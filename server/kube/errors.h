// Kubernetes API errors as absl::Status. A failed call keeps what the API
// server said: the HTTP code, the metav1.Status reason ("NotFound",
// "Conflict", "AlreadyExists", "Expired", "TooManyRequests", "Invalid", …)
// and the whole Status object (details: name, kind, causes).
//
//   absl::Status st = kube->Evict("shop", "web-1").status();
//   if (IsTooManyRequests(st)) {
//     std::string budget = DisruptionBudgetCause(st);  // "The disruption budget web-pdb needs …"
//   }
//
// Code mapping (HTTP → absl): 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED,
// 403 PERMISSION_DENIED, 404 NOT_FOUND, 405 UNIMPLEMENTED, 409 ALREADY_EXISTS
// (reason AlreadyExists) or ABORTED (Conflict), 410 OUT_OF_RANGE (Expired /
// Gone), 415 INVALID_ARGUMENT, 422 INVALID_ARGUMENT (Invalid),
// 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE, 504
// DEADLINE_EXCEEDED, other 5xx UNAVAILABLE; no answer (connection refused,
// reset, timeout) UNAVAILABLE with reason "" and code 0.
#ifndef HERD_SERVER_KUBE_ERRORS_H_
#define HERD_SERVER_KUBE_ERRORS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace herd::kube {

// Builds the status for an HTTP answer whose body is a metav1.Status (or
// anything else: then the reason comes from the code and the body becomes
// part of the message).
absl::Status StatusFromResponse(int http_code, const std::string& body);
// Builds the status for a metav1.Status object (watch ERROR events).
absl::Status StatusFromStatusObject(const nlohmann::json& status_object);

// The Kubernetes reason ("" when none, e.g. a connection error).
std::string ErrorReason(const absl::Status& status);
// The HTTP code (0 when there was no HTTP answer).
int ErrorHttpCode(const absl::Status& status);
// The metav1.Status object the server sent, when it sent one.
std::optional<nlohmann::json> ErrorStatusObject(const absl::Status& status);

// 404 always maps to NOT_FOUND and 409 AlreadyExists to ALREADY_EXISTS, so
// these are absl's own predicates: a second overload here would make every
// unqualified call ambiguous through argument-dependent lookup.
using absl::IsAlreadyExists;
using absl::IsNotFound;
bool IsConflict(const absl::Status& status);
bool IsGone(const absl::Status& status);  // 410: Expired or Gone
bool IsInvalid(const absl::Status& status);
bool IsTooManyRequests(const absl::Status& status);
// The message of a DisruptionBudget cause of an eviction refusal, or "".
std::string DisruptionBudgetCause(const absl::Status& status);
// An error that says nothing about the request itself, so that the same
// request may succeed when sent again: a 5xx answer, no answer at all, or
// a 429 that is the server's rate limit (not a disruption budget's
// refusal). Whether the first attempt took effect is unknown: only a
// request that may be repeated (absolute values, preconditions) is resent.
bool IsTransient(const absl::Status& status);

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_ERRORS_H_
