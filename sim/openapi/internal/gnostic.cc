#include "sim/openapi/internal/gnostic.h"

#include <cstdint>
#include <string>

#include "absl/strings/match.h"

namespace herd::sim::openapi_internal {
namespace {

using Json = nlohmann::json;

// Field numbers from gnostic's openapiv2/OpenAPIv2.proto.
namespace doc {
constexpr uint32_t kSwagger = 1, kInfo = 2, kPaths = 8, kDefinitions = 9, kVendorExtension = 16;
}
namespace info {
constexpr uint32_t kTitle = 1, kVersion = 2;
}
namespace path_item {
constexpr uint32_t kGet = 2, kPut = 3, kPost = 4, kDelete = 5, kHead = 7, kPatch = 8, kParameters = 9,
                   kVendorExtension = 10;
}
namespace operation {
constexpr uint32_t kTags = 1, kDescription = 3, kOperationId = 5, kProduces = 6, kConsumes = 7, kParameters = 8,
                   kResponses = 9, kSchemes = 10, kVendorExtension = 13;
}
namespace schema {
constexpr uint32_t kRef = 1, kFormat = 2, kDescription = 4, kDefault = 5, kRequired = 19, kEnum = 20,
                   kAdditionalProperties = 21, kType = 22, kItems = 23, kAllOf = 24, kProperties = 25,
                   kVendorExtension = 31;
}

// o[key], or an empty array or object when absent (ranging over a
// temporary from Json::value trips GCC's -Wmaybe-uninitialized).
const Json& Member(const Json& o, const char* key) {
  static const Json* const kEmpty = new Json(Json::array());
  auto it = o.find(key);
  return it == o.end() ? *kEmpty : *it;
}

class Writer {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Tag(uint32_t field, uint32_t wire) { Varint((static_cast<uint64_t>(field) << 3) | wire); }
  void String(uint32_t field, const std::string& s) {
    Tag(field, 2);
    Varint(s.size());
    out_ += s;
  }
  void Bool(uint32_t field, bool b) {
    if (!b) return;
    Tag(field, 0);
    Varint(1);
  }
  // A length-delimited submessage written by `fill`.
  template <typename F>
  void Message(uint32_t field, F&& fill) {
    Writer sub;
    fill(sub);
    String(field, sub.out_);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Any{yaml = 2}: JSON is YAML, and kube-openapi parses the yaml field.
void AnyValue(Writer& w, uint32_t field, const Json& v) {
  w.Message(field, [&](Writer& a) { a.String(2, v.dump()); });
}

void VendorExtensions(Writer& w, uint32_t field, const Json& obj) {
  for (const auto& [k, v] : obj.items()) {
    if (!absl::StartsWith(k, "x-")) continue;
    w.Message(field, [&](Writer& named) {
      named.String(1, k);
      AnyValue(named, 2, v);
    });
  }
}

void Schema(Writer& w, const Json& s);

void NamedSchemas(Writer& w, uint32_t field, const Json& obj) {
  for (const auto& [name, value] : obj.items()) {
    w.Message(field, [&](Writer& named) {
      named.String(1, name);
      named.Message(2, [&](Writer& sw) { Schema(sw, value); });
    });
  }
}

void Schema(Writer& w, const Json& s) {
  if (!s.is_object()) return;
  if (s.contains("$ref")) w.String(schema::kRef, s["$ref"].get<std::string>());
  if (s.contains("format")) w.String(schema::kFormat, s["format"].get<std::string>());
  if (s.contains("description")) w.String(schema::kDescription, s["description"].get<std::string>());
  if (s.contains("default")) AnyValue(w, schema::kDefault, s["default"]);
  if (s.contains("required")) {
    for (const auto& r : s["required"]) w.String(schema::kRequired, r.get<std::string>());
  }
  if (s.contains("enum")) {
    for (const auto& e : s["enum"]) AnyValue(w, schema::kEnum, e);
  }
  if (s.contains("additionalProperties")) {
    w.Message(schema::kAdditionalProperties, [&](Writer& a) {
      if (s["additionalProperties"].is_boolean()) {
        a.Bool(2, s["additionalProperties"].get<bool>());
      } else {
        a.Message(1, [&](Writer& sw) { Schema(sw, s["additionalProperties"]); });
      }
    });
  }
  if (s.contains("type")) w.Message(schema::kType, [&](Writer& t) { t.String(1, s["type"].get<std::string>()); });
  if (s.contains("items")) {
    w.Message(schema::kItems, [&](Writer& items) { items.Message(1, [&](Writer& sw) { Schema(sw, s["items"]); }); });
  }
  if (s.contains("allOf")) {
    for (const auto& a : s["allOf"]) w.Message(schema::kAllOf, [&](Writer& sw) { Schema(sw, a); });
  }
  if (s.contains("properties")) {
    w.Message(schema::kProperties, [&](Writer& p) { NamedSchemas(p, 1, s["properties"]); });
  }
  VendorExtensions(w, schema::kVendorExtension, s);
}

void Parameter(Writer& w, const Json& p) {
  // ParametersItem{parameter = 1: Parameter{body_parameter = 1 | non_body_parameter = 2}}
  w.Message(1, [&](Writer& param) {
    std::string in = p.value("in", "");
    if (in == "body") {
      param.Message(1, [&](Writer& b) {
        b.String(1, p.value("description", ""));
        b.String(2, p.value("name", ""));
        b.String(3, in);
        b.Bool(4, p.value("required", false));
        if (p.contains("schema")) b.Message(5, [&](Writer& sw) { Schema(sw, p["schema"]); });
      });
      return;
    }
    param.Message(2, [&](Writer& nb) {
      if (in == "path") {
        nb.Message(4, [&](Writer& q) {  // PathParameterSubSchema
          q.Bool(1, p.value("required", false));
          q.String(2, in);
          q.String(3, p.value("description", ""));
          q.String(4, p.value("name", ""));
          q.String(5, p.value("type", "string"));
          q.Bool(19, p.value("uniqueItems", false));
        });
      } else {
        nb.Message(3, [&](Writer& q) {  // QueryParameterSubSchema
          q.Bool(1, p.value("required", false));
          q.String(2, in);
          q.String(3, p.value("description", ""));
          q.String(4, p.value("name", ""));
          q.String(6, p.value("type", "string"));
          q.Bool(20, p.value("uniqueItems", false));
        });
      }
    });
  });
}

void Operation(Writer& w, const Json& op) {
  for (const auto& t : Member(op, "tags")) w.String(operation::kTags, t.get<std::string>());
  if (op.contains("description")) w.String(operation::kDescription, op["description"].get<std::string>());
  w.String(operation::kOperationId, op.value("operationId", ""));
  for (const auto& p : Member(op, "produces")) w.String(operation::kProduces, p.get<std::string>());
  for (const auto& c : Member(op, "consumes")) w.String(operation::kConsumes, c.get<std::string>());
  for (const auto& p : Member(op, "parameters")) {
    w.Message(operation::kParameters, [&](Writer& pw) { Parameter(pw, p); });
  }
  w.Message(operation::kResponses, [&](Writer& rs) {
    for (const auto& [code, resp] : Member(op, "responses").items()) {
      rs.Message(1, [&](Writer& named) {  // NamedResponseValue
        named.String(1, code);
        named.Message(2, [&](Writer& value) {      // ResponseValue
          value.Message(1, [&](Writer& r) {        // Response
            r.String(1, resp.value("description", ""));
            if (resp.contains("schema")) {
              r.Message(2, [&](Writer& item) { item.Message(1, [&](Writer& sw) { Schema(sw, resp["schema"]); }); });
            }
          });
        });
      });
    }
  });
  for (const auto& s : Member(op, "schemes")) w.String(operation::kSchemes, s.get<std::string>());
  VendorExtensions(w, operation::kVendorExtension, op);
}

void PathItem(Writer& w, const Json& item) {
  const std::pair<const char*, uint32_t> ops[] = {{"get", path_item::kGet},       {"put", path_item::kPut},
                                                  {"post", path_item::kPost},     {"delete", path_item::kDelete},
                                                  {"head", path_item::kHead},     {"patch", path_item::kPatch}};
  for (auto [name, field] : ops) {
    if (item.contains(name)) w.Message(field, [&](Writer& o) { Operation(o, item[name]); });
  }
  for (const auto& p : Member(item, "parameters")) {
    w.Message(path_item::kParameters, [&](Writer& pw) { Parameter(pw, p); });
  }
  VendorExtensions(w, path_item::kVendorExtension, item);
}

}  // namespace

std::string EncodeGnosticDocument(const Json& v2) {
  Writer w;
  w.String(doc::kSwagger, v2.value("swagger", "2.0"));
  const Json& in = Member(v2, "info");
  w.Message(doc::kInfo, [&](Writer& i) {
    i.String(info::kTitle, in.value("title", ""));
    i.String(info::kVersion, in.value("version", ""));
  });
  w.Message(doc::kPaths, [&](Writer& paths) {
    for (const auto& [path, item] : Member(v2, "paths").items()) {
      paths.Message(2, [&](Writer& named) {  // NamedPathItem
        named.String(1, path);
        named.Message(2, [&](Writer& pi) { PathItem(pi, item); });
      });
    }
  });
  w.Message(doc::kDefinitions, [&](Writer& defs) { NamedSchemas(defs, 1, Member(v2, "definitions")); });
  VendorExtensions(w, doc::kVendorExtension, v2);
  return w.Take();
}

}  // namespace herd::sim::openapi_internal
