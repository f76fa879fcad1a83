#include "server/kube/errors.h"

#include <cstdint>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace herd::kube {
namespace {

using Json = nlohmann::json;

// Payload keys: the status carries what the server said, so that callers
// can ask for the reason or the object without parsing the message.
constexpr absl::string_view kReasonKey = "herd.kube/reason";
constexpr absl::string_view kCodeKey = "herd.kube/http_code";
constexpr absl::string_view kObjectKey = "herd.kube/status";

// The reason the API server would give for a bare HTTP code (client-go's
// reasonForError), used when the body is not a metav1.Status.
absl::string_view ReasonForCode(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "";
  }
}

absl::StatusCode CodeFor(int http_code, absl::string_view reason) {
  switch (http_code) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: return absl::StatusCode::kUnimplemented;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists : absl::StatusCode::kAborted;
    case 410: return absl::StatusCode::kOutOfRange;
    case 412: return absl::StatusCode::kFailedPrecondition;
    case 413:
    case 415:
    case 422: return absl::StatusCode::kInvalidArgument;
    case 429: return absl::StatusCode::kResourceExhausted;
    case 500: return absl::StatusCode::kInternal;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default: break;
  }
  if (http_code >= 500 && http_code < 600) return absl::StatusCode::kUnavailable;
  // A Status without a usable code (some watch errors): go by the reason.
  if (reason == "Expired" || reason == "Gone") return absl::StatusCode::kOutOfRange;
  if (reason == "NotFound") return absl::StatusCode::kNotFound;
  if (reason == "Conflict") return absl::StatusCode::kAborted;
  if (reason == "AlreadyExists") return absl::StatusCode::kAlreadyExists;
  if (reason == "Invalid" || reason == "BadRequest") return absl::StatusCode::kInvalidArgument;
  if (reason == "Forbidden") return absl::StatusCode::kPermissionDenied;
  if (reason == "Unauthorized") return absl::StatusCode::kUnauthenticated;
  if (reason == "TooManyRequests") return absl::StatusCode::kResourceExhausted;
  if (reason == "Timeout" || reason == "ServerTimeout") return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kUnknown;
}

std::string StringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

absl::Status Build(int http_code, std::string reason, std::string message, const Json* object) {
  if (reason.empty()) reason = std::string(ReasonForCode(http_code));
  if (message.empty()) message = absl::StrCat("the server answered HTTP ", http_code);
  absl::Status st(CodeFor(http_code, reason), message);
  st.SetPayload(kReasonKey, absl::Cord(reason));
  st.SetPayload(kCodeKey, absl::Cord(absl::StrCat(http_code)));
  if (object != nullptr) {
    st.SetPayload(kObjectKey, absl::Cord(object->dump(-1, ' ', false, Json::error_handler_t::replace)));
  }
  return st;
}

bool IsStatusObject(const Json& j) {
  return j.is_object() && StringField(j, "kind") == "Status";
}

int IntField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  int64_t v = it->get<int64_t>();
  if (v < 0 || v > 999) return 0;
  return static_cast<int>(v);
}

}  // namespace

absl::Status StatusFromResponse(int http_code, const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && IsStatusObject(j)) {
    // The HTTP code is what the server meant; the object's code only fills
    // in when it is missing (it is the same on a real server).
    int code = http_code != 0 ? http_code : IntField(j, "code");
    return Build(code, StringField(j, "reason"), StringField(j, "message"), &j);
  }
  std::string message;
  absl::string_view text(body);
  if (text.size() > 512) text = text.substr(0, 512);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (!text.empty()) {
    message = absl::StrCat("the server answered HTTP ", http_code, ": ", text);
  }
  return Build(http_code, "", std::move(message), nullptr);
}

absl::Status StatusFromStatusObject(const nlohmann::json& status_object) {
  if (!status_object.is_object()) {
    return Build(500, "InternalError", "the server sent an error event without a Status object", nullptr);
  }
  return Build(IntField(status_object, "code"), StringField(status_object, "reason"),
               StringField(status_object, "message"), &status_object);
}

std::string ErrorReason(const absl::Status& status) {
  auto p = status.GetPayload(kReasonKey);
  return p ? std::string(*p) : std::string();
}

int ErrorHttpCode(const absl::Status& status) {
  auto p = status.GetPayload(kCodeKey);
  int code = 0;
  if (!p || !absl::SimpleAtoi(std::string(*p), &code)) return 0;
  return code;
}

std::optional<nlohmann::json> ErrorStatusObject(const absl::Status& status) {
  auto p = status.GetPayload(kObjectKey);
  if (!p) return std::nullopt;
  Json j = Json::parse(std::string(*p), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

bool IsConflict(const absl::Status& status) { return ErrorReason(status) == "Conflict"; }
bool IsGone(const absl::Status& status) {
  std::string reason = ErrorReason(status);
  return ErrorHttpCode(status) == 410 || reason == "Expired" || reason == "Gone";
}
bool IsInvalid(const absl::Status& status) { return ErrorReason(status) == "Invalid"; }
bool IsTooManyRequests(const absl::Status& status) {
  return ErrorHttpCode(status) == 429 || ErrorReason(status) == "TooManyRequests";
}

bool IsTransient(const absl::Status& status) {
  if (status.ok()) return false;
  int code = ErrorHttpCode(status);
  if (code == 0) return absl::IsUnavailable(status);
  if (code >= 500 && code < 600) return true;
  return code == 429 && DisruptionBudgetCause(status).empty();
}

std::string DisruptionBudgetCause(const absl::Status& status) {
  std::optional<Json> obj = ErrorStatusObject(status);
  if (!obj) return "";
  auto details = obj->find("details");
  if (details == obj->end() || !details->is_object()) return "";
  auto causes = details->find("causes");
  if (causes == details->end() || !causes->is_array()) return "";
  for (const Json& cause : *causes) {
    if (cause.is_object() && StringField(cause, "reason") == "DisruptionBudget") {
      return StringField(cause, "message");
    }
  }
  return "";
}

}  // namespace herd::kube
