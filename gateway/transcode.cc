#include "gateway/transcode.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/http/http.h"
#include "google/protobuf/util/json_util.h"

namespace herd::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using Json = nlohmann::json;

// The JSON value protobuf's parser takes for `text` given as the value of
// `f` in a path or query.
absl::StatusOr<Json> ValueFor(const FieldDescriptor& f, const std::string& text) {
  auto bad = [&](absl::string_view want) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not ", want, " (field ", f.name(), ")"));
  };
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL: {
      std::string v = absl::AsciiStrToLower(text);
      if (v == "true" || v == "1") return Json(true);
      if (v == "false" || v == "0") return Json(false);
      return bad("a boolean");
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) return bad("a 32-bit integer");
      return Json(v);
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned 32-bit integer");
      return Json(v);
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) return bad("a 64-bit integer");
      return Json(text);  // JSON strings keep 64 bits exact
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned 64-bit integer");
      return Json(text);
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      if (text == "NaN" || text == "Infinity" || text == "-Infinity") return Json(text);
      double v = 0;
      if (!absl::SimpleAtod(text, &v)) return bad("a number");
      return Json(v);
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int v = 0;
      if (absl::SimpleAtoi(text, &v)) return Json(v);
      return Json(text);  // by name; the parser checks it
    }
    case FieldDescriptor::CPPTYPE_STRING:
      return Json(text);
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string& type = f.message_type()->full_name();
      if (type == "google.protobuf.Duration" || type == "google.protobuf.Timestamp" ||
          type == "google.protobuf.FieldMask") {
        return Json(text);
      }
      if (absl::StartsWith(type, "google.protobuf.") && absl::EndsWith(type, "Value") &&
          f.message_type()->field_count() == 1 && f.message_type()->field(0)->name() == "value") {
        return ValueFor(*f.message_type()->field(0), text);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("field ", f.name(), " (", type, ") cannot be given as a path or query parameter"));
    }
  }
  return bad("a value of this field");
}

// Sets `value` at the field chain in `root`, by proto field names, after
// dropping what the same fields were called by their JSON names; repeated
// fields collect values.
void SetAt(Json& root, const std::vector<const FieldDescriptor*>& chain, Json value, bool replace) {
  Json* node = &root;
  for (size_t i = 0; i < chain.size(); ++i) {
    const FieldDescriptor* f = chain[i];
    if (!node->is_object()) *node = Json::object();
    if (f->json_name() != f->name() && node->contains(f->json_name())) {
      if (!node->contains(f->name())) (*node)[f->name()] = (*node)[f->json_name()];
      node->erase(f->json_name());
    }
    Json& child = (*node)[f->name()];
    if (i + 1 < chain.size()) {
      node = &child;
      continue;
    }
    if (f->is_repeated() && !replace) {
      if (!child.is_array()) child = Json::array();
      child.push_back(std::move(value));
    } else if (f->is_repeated()) {
      child = Json::array({std::move(value)});
    } else {
      child = std::move(value);
    }
  }
}

std::string Names(const Descriptor& d) {
  std::vector<std::string> out;
  for (int i = 0; i < d.field_count(); ++i) out.push_back(d.field(i)->name());
  return absl::StrJoin(out, ", ");
}

}  // namespace

absl::StatusOr<Match> Router::Find(absl::string_view method, absl::string_view raw_path,
                                   std::vector<std::string>* allowed) const {
  auto not_found = [&] {
    return absl::NotFoundError(absl::StrCat("no route for ", method, " ", raw_path,
                                            " (the routes are listed in /openapi.json)"));
  };
  if (raw_path.empty() || raw_path[0] != '/') return not_found();
  std::vector<absl::string_view> raw = absl::StrSplit(raw_path.substr(1), '/');
  std::vector<std::string> segs, segs_v;
  std::string verb;
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string decoded;
    if (!http::PercentDecode(raw[i], &decoded)) {
      return absl::InvalidArgumentError(absl::StrCat("bad percent-escape in the path ", raw_path));
    }
    segs.push_back(decoded);
    if (i + 1 < raw.size()) {
      segs_v.push_back(std::move(decoded));
      continue;
    }
    // A verb follows the last ":" of the last segment as sent (an escaped
    // colon is part of the value).
    size_t colon = raw[i].rfind(':');
    std::string head, tail;
    if (colon != absl::string_view::npos && http::PercentDecode(raw[i].substr(0, colon), &head) &&
        http::PercentDecode(raw[i].substr(colon + 1), &tail)) {
      segs_v.push_back(head);
      verb = tail;
    }
  }
  // Routes with a verb first: "/v1/operations/x:watch" is the watch, not
  // GET of an operation called "x:watch" (as grpc-gateway decides too).
  std::vector<std::string> methods;
  for (bool with_verb : {true, false}) {
    for (const Route& r : routes_) {
      if (r.path.verb().empty() == with_verb) continue;
      PathTemplate::Bindings b;
      bool matched = with_verb ? (!verb.empty() && segs_v.size() == segs.size() && r.path.Match(segs_v, verb, &b))
                               : r.path.Match(segs, "", &b);
      if (!matched) continue;
      if (r.http_method == method) return Match{&r, std::move(b)};
      methods.push_back(r.http_method);
    }
    if (!methods.empty()) break;
  }
  if (methods.empty()) return not_found();
  if (allowed) *allowed = methods;
  return absl::UnimplementedError(absl::StrCat("method ", method, " is not allowed on ", raw_path, "; allowed: ",
                                               absl::StrJoin(methods, ", ")));
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const Match& match, const std::vector<std::pair<std::string, std::string>>& query, absl::string_view body) {
  const Route& route = *match.route;
  const Descriptor& d = *route.method->input_type();
  const std::string where = absl::StrCat(route.http_method, " ", route.path.text());
  Json j = Json::object();
  const bool has_body = !absl::StripAsciiWhitespace(body).empty();
  if (has_body && route.body.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " takes no body: give the fields as query parameters"));
  }
  if (has_body) {
    Json parsed;
    try {
      parsed = Json::parse(body);
    } catch (const Json::parse_error& e) {
      // nlohmann's message names the byte where it went wrong.
      return absl::InvalidArgumentError(absl::StrCat("malformed JSON body: ", e.what()));
    }
    if (route.body == "*") {
      if (!parsed.is_object()) {
        return absl::InvalidArgumentError(absl::StrCat("the body of ", where, " must be a JSON object (", d.full_name(), ")"));
      }
      j = std::move(parsed);
    } else {
      const FieldDescriptor* f = d.FindFieldByName(route.body);
      j[f->name()] = std::move(parsed);
    }
  }
  for (const auto& [key, value] : query) {
    if (route.body == "*") {
      return absl::InvalidArgumentError(absl::StrCat(where, " takes its fields in the JSON body; unexpected query parameter \"",
                                                     key, "\""));
    }
    std::vector<const FieldDescriptor*> chain;
    const FieldDescriptor* f = FindFieldPath(d, key, &chain);
    if (!f) {
      return absl::InvalidArgumentError(absl::StrCat("unknown query parameter \"", key, "\" for ", where, " (fields of ",
                                                     d.full_name(), ": ", Names(d), ")"));
    }
    if (f->is_map()) return absl::InvalidArgumentError(absl::StrCat("map field ", key, " cannot be given in the query"));
    if (!route.body.empty() && chain.front()->name() == route.body) {
      return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" belongs in the body of ", where));
    }
    auto v = ValueFor(*f, value);
    if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat("query parameter ", key, ": ", v.status().message()));
    SetAt(j, chain, *std::move(v), /*replace=*/false);
  }
  for (const auto& [path, value] : match.bindings) {
    std::vector<const FieldDescriptor*> chain;
    const FieldDescriptor* f = FindFieldPath(d, path, &chain);
    auto v = ValueFor(*f, value);
    if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat("path: ", v.status().message()));
    SetAt(j, chain, *std::move(v), /*replace=*/true);
  }
  std::unique_ptr<google::protobuf::Message> msg(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(&d)->New());
  google::protobuf::util::JsonParseOptions po;
  po.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), msg.get(), po);
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request for ", where, " (", d.full_name(), "): ",
                                                   std::string(st.message().data(), st.message().size())));
  }
  return msg;
}

std::string MessageJson(const google::protobuf::Message& message) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out);
  return out;
}

std::string ReplyJson(const Route& route, const google::protobuf::Message& reply) {
  std::string whole = MessageJson(reply);
  if (route.response_body.empty()) return whole;
  const FieldDescriptor* f = reply.GetDescriptor()->FindFieldByName(route.response_body);
  Json j = Json::parse(whole, nullptr, false);
  if (!f || !j.is_object() || !j.contains(f->json_name())) return "null";
  return j[f->json_name()].dump();
}

int HttpStatusForCode(int grpc_code) {
  switch (grpc_code) {
    case 0: return 200;    // OK
    case 1: return 499;    // CANCELLED: the client closed the request
    case 2: return 500;    // UNKNOWN
    case 3: return 400;    // INVALID_ARGUMENT
    case 4: return 504;    // DEADLINE_EXCEEDED
    case 5: return 404;    // NOT_FOUND
    case 6: return 409;    // ALREADY_EXISTS
    case 7: return 403;    // PERMISSION_DENIED
    case 8: return 429;    // RESOURCE_EXHAUSTED
    case 9: return 400;    // FAILED_PRECONDITION
    case 10: return 409;   // ABORTED
    case 11: return 400;   // OUT_OF_RANGE
    case 12: return 501;   // UNIMPLEMENTED
    case 13: return 500;   // INTERNAL
    case 14: return 503;   // UNAVAILABLE
    case 15: return 500;   // DATA_LOSS
    case 16: return 401;   // UNAUTHENTICATED
    default: return 500;
  }
}

nlohmann::json ErrorJson(int grpc_code, absl::string_view message, nlohmann::json details) {
  return {{"code", grpc_code}, {"message", std::string(message)}, {"details", std::move(details)}};
}

}  // namespace herd::gateway
