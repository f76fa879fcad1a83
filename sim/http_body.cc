#include "sim/http_body.h"
#include "sim/json_text.h"

#include "absl/strings/ascii.h"
#include "sim/errors.h"
#include "sim/fieldvalidation/field_validation.h"
#include "sim/protobuf/protobuf.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

std::string MediaType(const http::Request& req) {
  absl::string_view ct = req.headers.Get("Content-Type");
  return std::string(absl::StripAsciiWhitespace(ct.substr(0, ct.find(';'))));
}

absl::Status UnsupportedMediaType() {
  return ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", Json::object());
}

// Field validation of a JSON body; `out` gets the object and the warnings.
absl::Status Check(const http::Request& req, const BodyType& type, bool patch, Json* object,
                   std::vector<std::string>* warnings) {
  auto directive = ParseFieldValidation(req.Query("fieldValidation"));
  if (!directive.ok()) return BadRequest(directive.status().message());
  auto checked = DecodeChecked(req.body, type.message, patch);
  if (!checked) return absl::NotFoundError("");  // not JSON: the caller words the error
  *object = std::move(checked->object);
  if (checked->issues.empty() || *directive == FieldValidation::kIgnore) return absl::OkStatus();
  if (*directive == FieldValidation::kStrict) {
    return BadRequest(StrictErrorMessage(type.kind, type.version, checked->issues));
  }
  for (const auto& issue : checked->issues) warnings->push_back(WarningHeader(issue));
  return absl::OkStatus();
}

}  // namespace

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.headers.Add("Cache-Control", "no-cache, private");
  r.body = std::move(body);
  return r;
}

http::Response ErrorResponse(const absl::Status& st) {
  Json obj = StatusObject(st);
  int code = obj.value("code", 500);
  http::Response r = JsonResponse(code, JsonText(obj));
  if (code == 429 && obj.contains("details") && obj["details"].contains("retryAfterSeconds")) {
    r.headers.Add("Retry-After", std::to_string(obj["details"]["retryAfterSeconds"].get<int>()));
  }
  return r;
}

absl::StatusOr<RequestBody> DecodeBody(const http::Request& req, const BodyType& type) {
  std::string media = MediaType(req);
  if (IsProtobufContentType(req.headers.Get("Content-Type"))) {
    // Protobuf carries no unknown or duplicate fields the decoder accepts.
    auto body = ParseRequestBody(req);
    if (!body.ok()) return BadRequest(body.status().message());
    return RequestBody{*std::move(body), {}};
  }
  if (!media.empty() && media != "application/json" && media != "*/*") return UnsupportedMediaType();
  RequestBody out;
  absl::Status st = Check(req, type, false, &out.object, &out.warnings);
  if (absl::IsNotFound(st)) {
    auto body = ParseRequestBody(req);  // for its wording of the parse error
    return BadRequest(body.ok() ? "the body of the request was in an unknown format" : body.status().message());
  }
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<PatchBody> DecodePatch(const http::Request& req, const BodyType& type) {
  std::string media = MediaType(req);
  PatchBody out;
  if (media == "application/json-patch+json") {
    out.type = PatchType::kJson;
  } else if (media == "application/merge-patch+json") {
    out.type = PatchType::kMerge;
  } else if (media == "application/strategic-merge-patch+json") {
    out.type = PatchType::kStrategicMerge;
  } else {
    return UnsupportedMediaType();
  }
  if (out.type == PatchType::kJson) {
    out.patch = Json::parse(req.body, nullptr, false);
    if (out.patch.is_discarded()) return BadRequest("error decoding patch: invalid character in the patch body");
    return out;
  }
  absl::Status st = Check(req, type, true, &out.patch, &out.warnings);
  if (absl::IsNotFound(st)) return BadRequest("error decoding patch: invalid character in the patch body");
  if (!st.ok()) return st;
  return out;
}

}  // namespace herd::sim
