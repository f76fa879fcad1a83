#include "sim/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "sim/json_text.h"
#include "sim/resources.h"

namespace herd::sim {
namespace {

constexpr char kPayloadUrl[] = "type.googleapis.com/herd.sim.Status";

absl::StatusCode CodeFor(int http) {
  switch (http) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: return absl::StatusCode::kUnimplemented;
    case 409: return absl::StatusCode::kAborted;
    case 410: return absl::StatusCode::kOutOfRange;
    case 415: return absl::StatusCode::kInvalidArgument;
    case 422: return absl::StatusCode::kInvalidArgument;
    case 429: return absl::StatusCode::kResourceExhausted;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default: return http >= 500 ? absl::StatusCode::kInternal : absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status ApiError(int code, absl::string_view reason, absl::string_view message, nlohmann::json details) {
  nlohmann::json obj = {
      {"kind", "Status"},
      {"apiVersion", "v1"},
      {"metadata", nlohmann::json::object()},
      {"status", "Failure"},
      {"message", std::string(message)},
      {"code", code},
  };
  if (!reason.empty()) obj["reason"] = std::string(reason);  // metav1.Status omits an unknown reason
  if (!details.is_null()) obj["details"] = std::move(details);
  absl::Status st(CodeFor(code), message);
  st.SetPayload(kPayloadUrl, absl::Cord(JsonText(obj)));
  return st;
}

nlohmann::json StatusObject(const absl::Status& status) {
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    return nlohmann::json::parse(std::string(*payload));
  }
  return {
      {"kind", "Status"},
      {"apiVersion", "v1"},
      {"metadata", nlohmann::json::object()},
      {"status", "Failure"},
      {"message", std::string(status.message())},
      {"reason", "InternalError"},
      {"code", 500},
  };
}

int HttpCode(const absl::Status& status) {
  if (status.ok()) return 200;
  return StatusObject(status).value("code", 500);
}

absl::Status NotFound(const ResourceType& r, absl::string_view name) {
  nlohmann::json details = {{"name", std::string(name)}, {"kind", r.plural}};
  if (!r.group.empty()) details["group"] = r.group;
  return ApiError(404, "NotFound", absl::StrCat(r.GroupResource(), " \"", name, "\" not found"), details);
}

absl::Status AlreadyExists(const ResourceType& r, absl::string_view name) {
  nlohmann::json details = {{"name", std::string(name)}, {"kind", r.plural}};
  if (!r.group.empty()) details["group"] = r.group;
  return ApiError(409, "AlreadyExists", absl::StrCat(r.GroupResource(), " \"", name, "\" already exists"),
                  details);
}

absl::Status Conflict(const ResourceType& r, absl::string_view name, absl::string_view why) {
  nlohmann::json details = {{"name", std::string(name)}, {"kind", r.plural}};
  if (!r.group.empty()) details["group"] = r.group;
  return ApiError(409, "Conflict",
                  absl::StrCat("Operation cannot be fulfilled on ", r.GroupResource(), " \"", name, "\": ", why),
                  details);
}

absl::Status BadRequest(absl::string_view message) { return ApiError(400, "BadRequest", message); }

absl::Status UnsupportedMediaType() {
  return ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", nlohmann::json::object());
}

absl::Status MethodNotAllowed(absl::string_view message) {
  return ApiError(405, "MethodNotAllowed", message, nlohmann::json::object());
}

nlohmann::json Cause(absl::string_view reason, absl::string_view field, absl::string_view message) {
  return {{"reason", std::string(reason)}, {"message", std::string(message)}, {"field", std::string(field)}};
}

absl::Status Invalid(const ResourceType& r, absl::string_view name, const nlohmann::json& causes) {
  std::string msg = absl::StrCat(r.GroupKind(), " \"", name, "\" is invalid: ");
  if (causes.size() > 1) msg += "[";
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i > 0) msg += ", ";
    absl::StrAppend(&msg, causes[i].value("field", ""), ": ", causes[i].value("message", ""));
  }
  if (causes.size() > 1) msg += "]";
  nlohmann::json details = {{"name", std::string(name)}, {"kind", r.kind}, {"causes", causes}};
  if (!r.group.empty()) details["group"] = r.group;
  return ApiError(422, "Invalid", msg, details);
}

absl::Status Expired(absl::string_view message) { return ApiError(410, "Expired", message); }

absl::Status TooManyRequests(absl::string_view message, nlohmann::json details) {
  return ApiError(429, "TooManyRequests", message, std::move(details));
}

absl::Status Internal(absl::string_view message) {
  return ApiError(500, "InternalError", message, nlohmann::json::object());
}

absl::Status Forbidden(const ResourceType& r, absl::string_view name, absl::string_view why) {
  nlohmann::json details = {{"name", std::string(name)}, {"kind", r.plural}};
  if (!r.group.empty()) details["group"] = r.group;
  return ApiError(403, "Forbidden",
                  absl::StrCat(r.GroupResource(), " \"", name, "\" is forbidden: ", why), details);
}

}  // namespace herd::sim
