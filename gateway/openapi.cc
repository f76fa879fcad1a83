#include "gateway/openapi.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/rpc/status.pb.h"

namespace herd::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using Json = nlohmann::json;

// The comment before a declaration, without the comment markers' spaces.
template <typename D>
std::string CommentOf(const D& d) {
  google::protobuf::SourceLocation loc;
  if (!d.GetSourceLocation(&loc)) return "";
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(loc.leading_comments, '\n')) {
    lines.push_back(std::string(absl::StripPrefix(line, " ")));
  }
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  return absl::StrJoin(lines, "\n");
}

std::string Ref(const Descriptor& d) { return absl::StrCat("#/components/schemas/", d.full_name()); }

class Schemas {
 public:
  // The schema of a field's value (one element when repeated).
  Json ValueSchema(const FieldDescriptor& f) {
    switch (f.type()) {
      case FieldDescriptor::TYPE_BOOL: return {{"type", "boolean"}};
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32: return {{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32: return {{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        // protobuf's JSON writes 64-bit integers as strings.
        return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_FLOAT: return {{"type", "number"}, {"format", "float"}};
      case FieldDescriptor::TYPE_DOUBLE: return {{"type", "number"}, {"format", "double"}};
      case FieldDescriptor::TYPE_STRING: return {{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES: return {{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_ENUM: return EnumSchema(*f.enum_type());
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP: return MessageSchema(*f.message_type());
    }
    return Json::object();
  }

  Json FieldSchema(const FieldDescriptor& f) {
    Json s;
    if (f.is_map()) {
      s = {{"type", "object"}, {"additionalProperties", ValueSchema(*f.message_type()->map_value())}};
    } else if (f.is_repeated()) {
      s = {{"type", "array"}, {"items", ValueSchema(f)}};
    } else {
      s = ValueSchema(f);
    }
    std::string doc = CommentOf(f);
    if (!doc.empty()) {
      // A $ref takes no siblings in OpenAPI 3.0: wrap it.
      if (s.contains("$ref")) s = {{"allOf", Json::array({s})}};
      s["description"] = doc;
    }
    return s;
  }

  // A message's schema: a reference, defined once in `defined_`.
  Json MessageSchema(const Descriptor& d) {
    const std::string& name = d.full_name();
    if (name == "google.protobuf.Duration") {
      return {{"type", "string"}, {"pattern", "^-?[0-9]+(\\.[0-9]{1,9})?s$"}, {"example", "30s"},
              {"description", "A duration in seconds with an s suffix (protobuf's JSON form)."}};
    }
    if (name == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
    if (name == "google.protobuf.FieldMask") return {{"type", "string"}};
    if (name == "google.protobuf.Any") {
      return {{"type", "object"}, {"properties", {{"@type", {{"type", "string"}}}}}, {"additionalProperties", true}};
    }
    if (name == "google.protobuf.Struct") return {{"type", "object"}, {"additionalProperties", true}};
    if (name == "google.protobuf.Value") return Json::object();
    if (absl::StartsWith(name, "google.protobuf.") && absl::EndsWith(name, "Value") && d.field_count() == 1) {
      Json s = ValueSchema(*d.field(0));
      s["nullable"] = true;
      return s;
    }
    if (!defined_.count(name)) {
      defined_[name] = Json();  // placeholder: recursion ends here
      Json props = Json::object();
      for (int i = 0; i < d.field_count(); ++i) props[d.field(i)->json_name()] = FieldSchema(*d.field(i));
      Json s = {{"type", "object"}, {"properties", props}};
      std::string doc = CommentOf(d);
      if (!doc.empty()) s["description"] = doc;
      defined_[name] = std::move(s);
    }
    return {{"$ref", Ref(d)}};
  }

  Json EnumSchema(const EnumDescriptor& e) {
    Json values = Json::array();
    std::vector<std::string> docs;
    for (int i = 0; i < e.value_count(); ++i) {
      values.push_back(e.value(i)->name());
      std::string doc = CommentOf(*e.value(i));
      if (!doc.empty()) docs.push_back(absl::StrCat("- ", e.value(i)->name(), ": ", doc));
    }
    Json s = {{"type", "string"}, {"enum", values}};
    std::string doc = CommentOf(e);
    if (!docs.empty()) doc = absl::StrCat(doc, doc.empty() ? "" : "\n", absl::StrJoin(docs, "\n"));
    if (!doc.empty()) s["description"] = doc;
    return s;
  }

  Json Components() const {
    Json out = Json::object();
    for (const auto& [name, s] : defined_) out[name] = s;
    return out;
  }

 private:
  std::map<std::string, Json> defined_;
};

// Query parameters: the scalar (or repeated scalar) fields of `d` reached
// through singular message fields, dotted, except those in the path.
void QueryParams(Schemas& schemas, const Descriptor& d, const std::string& prefix, const std::set<std::string>& in_path,
                 int depth, Json& out) {
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor& f = *d.field(i);
    std::string name = prefix + f.name();
    if (in_path.count(name) || f.is_map()) continue;
    bool leaf_message = f.type() == FieldDescriptor::TYPE_MESSAGE &&
                        absl::StartsWith(f.message_type()->full_name(), "google.protobuf.");
    if (f.type() == FieldDescriptor::TYPE_MESSAGE && !leaf_message) {
      if (!f.is_repeated() && depth < 3) QueryParams(schemas, *f.message_type(), name + ".", in_path, depth + 1, out);
      continue;
    }
    Json p = {{"name", name}, {"in", "query"}, {"required", false}, {"schema", schemas.FieldSchema(f)}};
    if (f.is_repeated()) {
      p["style"] = "form";
      p["explode"] = true;
    }
    std::string doc = CommentOf(f);
    if (!doc.empty()) p["description"] = doc;
    out.push_back(std::move(p));
  }
}

}  // namespace

std::vector<std::string> OperationIds(const std::vector<Route>& routes) {
  std::map<std::string, int> seen;
  std::vector<std::string> out;
  for (const Route& r : routes) {
    int n = ++seen[r.method->name()];
    out.push_back(n == 1 ? r.method->name() : absl::StrCat(r.method->name(), "_", n));
  }
  return out;
}

nlohmann::json OpenApiDocument(const std::vector<Route>& routes, const OpenApiInfo& info) {
  Schemas schemas;
  Json paths = Json::object();
  Json tags = Json::array();
  std::set<std::string> tagged;
  std::vector<std::string> ids = OperationIds(routes);
  // google.rpc.Status from the routes' own pool (with its comments) when there.
  const Descriptor* status = nullptr;
  if (!routes.empty()) status = routes[0].method->file()->pool()->FindMessageTypeByName("google.rpc.Status");
  const Json error = schemas.MessageSchema(status ? *status : *google::rpc::Status::descriptor());
  for (size_t i = 0; i < routes.size(); ++i) {
    const Route& r = routes[i];
    const auto& service = *r.method->service();
    if (tagged.insert(service.full_name()).second) {
      Json tag = {{"name", service.name()}};
      std::string doc = CommentOf(service);
      if (!doc.empty()) tag["description"] = doc;
      tags.push_back(tag);
    }
    std::vector<PathTemplate::OpenApiParam> params;
    std::string path = r.path.OpenApiPath(&params);
    Json op = {{"operationId", ids[i]}, {"tags", Json::array({service.name()})}};
    std::string doc = CommentOf(*r.method);
    if (!doc.empty()) {
      op["summary"] = doc.substr(0, doc.find('\n'));
      op["description"] = doc;
    }
    Json parameters = Json::array();
    std::set<std::string> in_path;
    for (const auto& p : params) {
      in_path.insert(p.field_path);
      parameters.push_back({{"name", p.name},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}},
                            {"description", p.field_path.empty()
                                                ? std::string("a path segment")
                                                : absl::StrCat("part of `", p.field_path, "` (",
                                                               r.path.VariablePattern(p.field_path), ")")}});
    }
    const Descriptor& in = *r.method->input_type();
    if (r.body.empty()) {
      QueryParams(schemas, in, "", in_path, 0, parameters);
    } else {
      Json body_schema = r.body == "*" ? schemas.MessageSchema(in) : schemas.FieldSchema(*in.FindFieldByName(r.body));
      op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", body_schema}}}}}};
    }
    if (!parameters.empty()) op["parameters"] = parameters;
    const Descriptor& out = *r.method->output_type();
    Json reply = r.response_body.empty() ? schemas.MessageSchema(out)
                                         : schemas.FieldSchema(*out.FindFieldByName(r.response_body));
    if (r.server_streaming()) {
      Json item = {{"type", "object"},
                   {"description", "One line (NDJSON) or event (SSE) per message: {\"result\": …}, or "
                                   "{\"error\": …} when the call fails."},
                   {"properties", {{"result", reply}, {"error", error}}}};
      op["responses"] = {{"200",
                          {{"description", "A stream of messages until the call ends"},
                           {"content", {{"application/x-ndjson", {{"schema", item}}}, {"text/event-stream", {{"schema", item}}}}}}},
                         {"default", {{"description", "An error", }, {"content", {{"application/json", {{"schema", error}}}}}}}};
    } else {
      op["responses"] = {{"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", reply}}}}}}},
                         {"default", {{"description", "An error (a gRPC status)"},
                                      {"content", {{"application/json", {{"schema", error}}}}}}}};
    }
    paths[path][absl::AsciiStrToLower(r.http_method)] = std::move(op);
  }
  Json doc = {{"openapi", "3.0.3"},
              {"info", {{"title", info.title}, {"version", info.version}}},
              {"tags", tags},
              {"security", Json::array({{{"bearer", Json::array()}}})},
              {"paths", paths},
              {"components",
               {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                                                 {"description", "A herd token: Authorization: Bearer TOKEN"}}}}},
                {"schemas", schemas.Components()}}}};
  if (!info.description.empty()) doc["info"]["description"] = info.description;
  return doc;
}

}  // namespace herd::gateway
