#include "sim/http_body.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "yaml-cpp/yaml.h"
#include "sim/errors.h"
#include "sim/fieldvalidation/field_validation.h"
#include "sim/json_text.h"
#include "sim/protobuf/protobuf.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

std::string MediaType(const http::Request& req) {
  absl::string_view ct = req.headers.Get("Content-Type");
  return std::string(absl::StripAsciiWhitespace(ct.substr(0, ct.find(';'))));
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

// A YAML node as JSON: plain scalars typed as YAML 1.2's core schema types
// them (null, booleans, numbers), quoted ones strings.
Json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : n) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : n) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Scalar: break;
  }
  const std::string& v = n.Scalar();
  if (n.Tag() != "?") return v;  // quoted or tagged: a string
  if (v == "null" || v == "Null" || v == "NULL" || v == "~") return nullptr;
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  int64_t i;
  if (absl::SimpleAtoi(v, &i)) return i;
  double d;
  if (v.find_first_of("0123456789") != std::string::npos && absl::SimpleAtod(v, &d) &&
      v.find_first_not_of("0123456789.eE+-") == std::string::npos) {
    return d;
  }
  return v;
}

// The strict decoding errors of an apply patch's duplicate keys, as the API
// server's YAML decoder (go-yaml, which reads JSON too) reports them: "line
// 3: key \"replicas\" already set in map", numbered by the duplicate's value
// and, as it decodes a value before setting its key, inner ones first.
void FindDuplicateKeys(const YAML::Node& n, std::vector<std::string>* out) {
  if (n.IsSequence()) {
    for (const auto& item : n) FindDuplicateKeys(item, out);
    return;
  }
  if (!n.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : n) {
    FindDuplicateKeys(kv.second, out);
    if (!seen.insert(kv.first.Scalar()).second) {
      out->push_back(absl::StrCat("line ", kv.second.Mark().line + 1, ": key ", JsonText(kv.first.Scalar()),
                                  " already set in map"));
    }
  }
}

std::vector<std::string> DuplicateKeys(const std::string& body) {
  std::vector<std::string> out;
  try {
    FindDuplicateKeys(YAML::Load(body), &out);
  } catch (const YAML::Exception&) {
    // Not YAML (JSON that yaml-cpp does not read): no duplicates to report.
  }
  return out;
}

// An apply patch: JSON (what kubectl sends) or YAML.
absl::StatusOr<Json> ParseApplyPatch(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_discarded()) return j;
  try {
    return YamlToJson(YAML::Load(body));
  } catch (const YAML::Exception& e) {
    return BadRequest(absl::StrCat("error decoding YAML: ", e.what()));
  }
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
  } else if (media == "application/apply-patch+yaml") {
    // Unknown fields are the field manager's to refuse (ApiServer::Apply);
    // field validation here is of duplicate keys only, as upstream's.
    out.type = PatchType::kApply;
    auto directive = ParseFieldValidation(req.Query("fieldValidation"));
    if (!directive.ok()) return BadRequest(directive.status().message());
    auto parsed = ParseApplyPatch(req.body);
    if (!parsed.ok()) return parsed.status();
    out.patch = *std::move(parsed);
    if (*directive == FieldValidation::kIgnore) return out;
    std::vector<std::string> duplicates = DuplicateKeys(req.body);
    if (!duplicates.empty() && *directive == FieldValidation::kStrict) {
      return BadRequest(absl::StrCat("error strict decoding YAML: error converting YAML to JSON: ",
                                     "yaml: unmarshal errors:\n  ", absl::StrJoin(duplicates, "\n  ")));
    }
    for (const auto& d : duplicates) out.warnings.push_back(WarningHeader(d));
    return out;
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
