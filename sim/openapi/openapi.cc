#include "sim/openapi/openapi.h"

#include <openssl/sha.h>

#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "sim/openapi/internal/gnostic.h"
#include "sim/schema/schema.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;
using schema::Field;
using schema::Kind;
using schema::Message;

constexpr char kTime[] = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
constexpr char kMicroTime[] = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
constexpr char kIntOrString[] = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
constexpr char kQuantity[] = "io.k8s.apimachinery.pkg.api.resource.Quantity";
constexpr char kPatch[] = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
constexpr char kStatus[] = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";

// The two dialects: v2 refers to "#/definitions/X" and puts a description
// beside a $ref; v3 refers to "#/components/schemas/X" and wraps a
// described reference in allOf, as the API server's v3 documents do.
enum class Dialect { kV2, kV3 };

struct GroupVersionKind {
  std::string group, version, kind;
};

class Builder {
 public:
  Builder(Dialect d, const std::vector<OpenApiResource>& resources) : d_(d), resources_(resources) {
    for (const schema::KindInfo& k : schema::Kinds()) {
      std::vector<std::string> gv = absl::StrSplit(k.api_version, '/');
      GroupVersionKind gvk = gv.size() == 2 ? GroupVersionKind{gv[0], gv[1], k.kind}
                                            : GroupVersionKind{"", gv[0], k.kind};
      kinds_[k.message].push_back(gvk);
    }
  }

  std::string Ref(absl::string_view definition) {
    referenced_.insert(std::string(definition));
    return absl::StrCat(d_ == Dialect::kV2 ? "#/definitions/" : "#/components/schemas/", definition);
  }

  // The schema of one value of a field (an element, for lists and maps).
  Json ValueSchema(const Field& f) {
    switch (f.kind) {
      case Kind::kString:
      case Kind::kDuration: return {{"type", "string"}};
      case Kind::kBool: return {{"type", "boolean"}};
      case Kind::kInt32: return {{"type", "integer"}, {"format", "int32"}};
      case Kind::kInt64: return {{"type", "integer"}, {"format", "int64"}};
      case Kind::kDouble: return {{"type", "number"}, {"format", "double"}};
      case Kind::kBytes: return {{"type", "string"}, {"format", "byte"}};
      case Kind::kRawJson: return {{"type", "object"}};
      case Kind::kTime: return {{"$ref", Ref(kTime)}};
      case Kind::kMicroTime: return {{"$ref", Ref(kMicroTime)}};
      case Kind::kIntOrString: return {{"$ref", Ref(kIntOrString)}};
      case Kind::kQuantity: return {{"$ref", Ref(kQuantity)}};
      case Kind::kMessage: return {{"$ref", Ref(schema::DefinitionName(f.message))}};
    }
    return Json::object();
  }

  // A reference that carries more (a description, a default) is wrapped in
  // allOf in v3.
  Json Described(Json s) {
    if (d_ == Dialect::kV3 && s.contains("$ref")) {
      Json ref = {{"$ref", s["$ref"]}};
      s.erase("$ref");
      s["allOf"] = Json::array({ref});
    }
    return s;
  }

  Json Property(const Message& owner, const Field& f) {
    const schema::FieldSemantics& sem = schema::Semantics(owner, f);
    Json s;
    if (f.repeated() || f.map()) {
      Json elem = ValueSchema(f);
      if (d_ == Dialect::kV3 && elem.contains("$ref") && f.kind == Kind::kMessage) {
        elem = Described(Json{{"$ref", elem["$ref"]}, {"default", Json::object()}});
      }
      s = f.map() ? Json{{"type", "object"}, {"additionalProperties", elem}} : Json{{"type", "array"}, {"items", elem}};
    } else {
      s = ValueSchema(f);
    }
    if (*sem.description) s["description"] = sem.description;
    if (*sem.enum_values) {
      Json values = Json::array();
      for (absl::string_view v : absl::StrSplit(sem.enum_values, ',')) values.push_back(std::string(v));
      s["enum"] = values;
    }
    if (f.repeated()) {
      if (sem.list_type == schema::ListType::kAssociative) {
        s["x-kubernetes-list-type"] = "map";
        Json keys = Json::array();
        for (absl::string_view k : absl::StrSplit(sem.map_keys, ',')) keys.push_back(std::string(k));
        s["x-kubernetes-list-map-keys"] = keys;
      } else if (sem.list_type == schema::ListType::kSet) {
        s["x-kubernetes-list-type"] = "set";
      }
    }
    if (*sem.patch_strategy) s["x-kubernetes-patch-strategy"] = sem.patch_strategy;
    if (*sem.merge_key) s["x-kubernetes-patch-merge-key"] = sem.merge_key;
    return s.contains("$ref") ? Described(std::move(s)) : s;
  }

  void AddProperties(const Message& m, Json& props, Json& required, int depth) {
    for (const Field& f : m.fields) {
      if (f.inlined()) {
        if (const Message* sub = schema::FindMessage(f.message); sub != nullptr && depth < 4) {
          AddProperties(*sub, props, required, depth + 1);
        }
        continue;
      }
      props[f.json] = Property(m, f);
      if (schema::Semantics(m, f).required) required.push_back(f.json);
    }
  }

  Json Definition(const Message& m) {
    Json props = Json::object();
    Json required = Json::array();
    auto kinds = kinds_.find(m.name);
    if (kinds != kinds_.end()) {
      props["apiVersion"] = {{"type", "string"},
                             {"description", "The versioned schema of this representation of an object."}};
      props["kind"] = {{"type", "string"}, {"description", "The REST resource this object represents."}};
    }
    AddProperties(m, props, required, 0);
    Json s = {{"type", "object"}, {"properties", props}};
    const schema::MessageSemantics& sem = schema::Semantics(m);
    if (*sem.description) s["description"] = sem.description;
    if (!required.empty()) s["required"] = required;
    if (sem.atomic) s["x-kubernetes-map-type"] = "atomic";
    if (kinds != kinds_.end()) s["x-kubernetes-group-version-kind"] = GvkJson(kinds->second);
    return s;
  }

  static Json GvkJson(const std::vector<GroupVersionKind>& gvks) {
    Json out = Json::array();
    for (const auto& g : gvks) out.push_back({{"group", g.group}, {"kind", g.kind}, {"version", g.version}});
    return out;
  }

  // Every definition referenced so far, transitively.
  Json Definitions() {
    Json defs = Json::object();
    std::set<std::string> done;
    while (true) {
      std::vector<std::string> todo;
      for (const auto& r : referenced_) {
        if (!done.count(r)) todo.push_back(r);
      }
      if (todo.empty()) break;
      for (const auto& name : todo) {
        done.insert(name);
        defs[name] = DefinitionByName(name);
      }
    }
    return defs;
  }

  Json DefinitionByName(const std::string& name) {
    if (name == kTime || name == kMicroTime) {
      return {{"type", "string"}, {"format", "date-time"}, {"description", "A time in RFC 3339 form."}};
    }
    if (name == kIntOrString) {
      return {{"type", "string"},
              {"format", "int-or-string"},
              {"description", "A number or a string (such as a percentage)."}};
    }
    if (name == kQuantity) {
      return {{"type", "string"}, {"description", "A fixed-point number with a suffix: 100m, 1Gi, 2."}};
    }
    if (name == kPatch) return {{"type", "object"}, {"description", "A patch, in the form its content type names."}};
    for (const auto& [list, item] : lists_) {
      if (list == name) return ListDefinition(list, item);
    }
    for (const Message* m : schema::AllMessages()) {
      if (schema::DefinitionName(m->name) == name) return Definition(*m);
    }
    return {{"type", "object"}};
  }

  Json ListDefinition(const std::string& list, const std::string& item) {
    const OpenApiResource* r = nullptr;
    for (const auto& res : resources_) {
      if (ListName(res) == list) r = &res;
    }
    Json s = {{"type", "object"},
              {"required", Json::array({"items"})},
              {"properties",
               {{"apiVersion", {{"type", "string"}}},
                {"kind", {{"type", "string"}}},
                {"items", {{"type", "array"}, {"items", {{"$ref", Ref(item)}}}}},
                {"metadata", Described({{"$ref", Ref("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")}})}}}};
    if (r != nullptr) s["x-kubernetes-group-version-kind"] = GvkJson({{r->group, r->version, r->kind + "List"}});
    return s;
  }

  // The definition of a resource's kind ("" when the schema lacks it).
  std::string KindDefinition(const OpenApiResource& r) {
    const Message* m = schema::FindKind(r.group.empty() ? r.version : r.group + "/" + r.version, r.kind);
    return m == nullptr ? "" : schema::DefinitionName(m->name);
  }
  std::string ListName(const OpenApiResource& r) {
    std::string k = KindDefinition(r);
    return k.empty() ? "" : k + "List";
  }

  Json Param(const std::string& name, const std::string& in, const std::string& description, bool required = false) {
    Json p = {{"name", name}, {"in", in}, {"description", description}};
    if (d_ == Dialect::kV2) {
      p["type"] = "string";
      p["uniqueItems"] = true;
    } else {
      p["schema"] = {{"type", "string"}, {"uniqueItems", true}};
    }
    if (required) p["required"] = true;
    return p;
  }

  Json WriteParams(bool patch) {
    Json ps = Json::array(
        {Param("dryRun", "query", "When present, modifications are not persisted."),
         Param("fieldManager", "query", "The name of the actor making the change, for managed fields."),
         Param("fieldValidation", "query",
               "How the server treats unknown or duplicate fields in the request: Ignore (drop them), Warn (drop "
               "them with a Warning header each; the default) or Strict (fail with 400 BadRequest).")});
    if (patch) ps.push_back(Param("force", "query", "Apply requests only: take fields other managers own."));
    return ps;
  }

  Json Operation(const OpenApiResource& r, const std::string& verb, const std::string& action,
                 const std::string& sub, const std::string& body_ref, const std::string& response_ref) {
    std::string gv_tag = r.group.empty() ? "core_" + r.version
                                         : absl::StrCat(absl::StrReplaceAll(r.group, {{".k8s.io", ""}, {".", "_"}}),
                                                        "_", r.version);
    std::string id = absl::StrCat(verb, Camel(r.group.empty() ? "core" : r.group), Camel(r.version),
                                  r.namespaced ? "Namespaced" : "", r.kind, Camel(sub));
    Json op = {{"operationId", id}, {"tags", Json::array({gv_tag})}, {"x-kubernetes-action", action}};
    GroupVersionKind gvk{r.group, r.version, r.kind};
    if (sub == "scale") gvk = {"autoscaling", "v1", "Scale"};
    if (sub == "eviction") gvk = {"policy", "v1", "Eviction"};
    if (sub == "token") gvk = {"authentication.k8s.io", "v1", "TokenRequest"};
    if (sub == "log") gvk = {"", "v1", "Pod"};
    op["x-kubernetes-group-version-kind"] = GvkJson({gvk})[0];
    Json params = Json::array();
    bool write = action == "post" || action == "put" || action == "patch";
    if (write) params = WriteParams(action == "patch");
    std::vector<std::string> consumes;
    if (action == "patch") {
      // Strategic merge is accepted, but left out here on purpose: kubectl
      // then computes its apply patches from its own compiled-in type
      // metadata (upstream's struct tags) rather than from these notes.
      consumes = {"application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"};
    } else if (write) {
      consumes = {"*/*"};
    }
    std::string response_def = response_ref.empty() ? kStatus : response_ref;
    if (d_ == Dialect::kV2) {
      if (!body_ref.empty()) {
        params.insert(params.begin(), Json{{"name", "body"}, {"in", "body"}, {"required", true},
                                           {"schema", {{"$ref", Ref(body_ref)}}}});
      }
      if (!consumes.empty()) op["consumes"] = consumes;
      op["produces"] = sub == "log" ? Json::array({"text/plain", "application/json"})
                                    : Json::array({"application/json", "application/yaml",
                                                   "application/vnd.kubernetes.protobuf"});
      op["schemes"] = Json::array({"https"});
      Json ok = {{"description", "OK"}};
      ok["schema"] = sub == "log" ? Json{{"type", "string"}} : Json{{"$ref", Ref(response_def)}};
      op["responses"] = {{action == "post" ? "201" : "200", ok}, {"401", {{"description", "Unauthorized"}}}};
    } else {
      if (!body_ref.empty()) {
        Json content = Json::object();
        for (const auto& c : consumes) content[c] = {{"schema", {{"$ref", Ref(body_ref)}}}};
        op["requestBody"] = {{"content", content}, {"required", true}};
      }
      Json schema = sub == "log" ? Json{{"type", "string"}} : Json{{"$ref", Ref(response_def)}};
      op["responses"] = {{action == "post" ? "201" : "200",
                          {{"description", "OK"}, {"content", {{"application/json", {{"schema", schema}}}}}}},
                         {"401", {{"description", "Unauthorized"}}}};
    }
    if (!params.empty()) op["parameters"] = params;
    return op;
  }

  static std::string Camel(const std::string& s) {
    std::string out;
    bool up = true;
    for (char c : s) {
      if (c == '.' || c == '-' || c == '/') {
        up = true;
        continue;
      }
      out.push_back(up ? absl::ascii_toupper(static_cast<unsigned char>(c)) : c);
      up = false;
    }
    return out;
  }

  // The paths of one resource.
  void AddPaths(const OpenApiResource& r, Json& paths) {
    std::string kind_def = KindDefinition(r);
    if (kind_def.empty()) return;
    std::string base = r.group.empty() ? absl::StrCat("/api/", r.version) : absl::StrCat("/apis/", r.group, "/", r.version);
    std::string coll = r.namespaced ? absl::StrCat(base, "/namespaces/{namespace}/", r.plural) : absl::StrCat(base, "/", r.plural);
    std::string item = coll + "/{name}";
    Json ns_param = Param("namespace", "path", "The object's namespace.", true);
    Json name_param = Param("name", "path", "The object's name.", true);
    Json coll_params = r.namespaced ? Json::array({ns_param}) : Json::array();
    Json item_params = coll_params;
    item_params.push_back(name_param);
    if (r.create_only) {
      paths[coll] = {{"post", Operation(r, "create", "post", "", kind_def, kind_def)}, {"parameters", coll_params}};
      return;
    }
    lists_.emplace_back(ListName(r), kind_def);
    paths[coll] = {{"get", Operation(r, "list", "list", "", "", ListName(r))},
                   {"post", Operation(r, "create", "post", "", kind_def, kind_def)},
                   {"delete", Operation(r, "deletecollection", "deletecollection", "", "", "")},
                   {"parameters", coll_params}};
    if (r.namespaced) {
      paths[absl::StrCat(base, "/", r.plural)] = {
          {"get", Operation(r, "list", "list", "ForAllNamespaces", "", ListName(r))}};
    }
    paths[item] = {{"get", Operation(r, "read", "get", "", "", kind_def)},
                   {"put", Operation(r, "replace", "put", "", kind_def, kind_def)},
                   {"patch", Operation(r, "patch", "patch", "", kPatch, kind_def)},
                   {"delete", Operation(r, "delete", "delete", "", "", "")},
                   {"parameters", item_params}};
    for (const auto& sub : r.subresources) {
      std::string p = item + "/" + sub;
      if (sub == "status") {
        paths[p] = {{"get", Operation(r, "read", "get", sub, "", kind_def)},
                    {"put", Operation(r, "replace", "put", sub, kind_def, kind_def)},
                    {"patch", Operation(r, "patch", "patch", sub, kPatch, kind_def)},
                    {"parameters", item_params}};
      } else if (sub == "scale") {
        std::string scale = schema::DefinitionName("autoscaling.v1.Scale");
        paths[p] = {{"get", Operation(r, "read", "get", sub, "", scale)},
                    {"put", Operation(r, "replace", "put", sub, scale, scale)},
                    {"patch", Operation(r, "patch", "patch", sub, kPatch, scale)},
                    {"parameters", item_params}};
      } else if (sub == "eviction") {
        std::string eviction = schema::DefinitionName("policy.v1.Eviction");
        paths[p] = {{"post", Operation(r, "create", "post", sub, eviction, eviction)}, {"parameters", item_params}};
      } else if (sub == "binding") {
        std::string binding = schema::DefinitionName("core.v1.Binding");
        paths[p] = {{"post", Operation(r, "create", "post", sub, binding, binding)}, {"parameters", item_params}};
      } else if (sub == "token") {
        std::string tr = schema::DefinitionName("authentication.v1.TokenRequest");
        paths[p] = {{"post", Operation(r, "create", "post", sub, tr, tr)}, {"parameters", item_params}};
      } else if (sub == "log") {
        paths[p] = {{"get", Operation(r, "read", "get", sub, "", "")}, {"parameters", item_params}};
      }
    }
  }

  Dialect d_;
  const std::vector<OpenApiResource>& resources_;
  std::map<std::string, std::vector<GroupVersionKind>> kinds_;
  std::set<std::string> referenced_;
  std::vector<std::pair<std::string, std::string>> lists_;  // list definition → item definition
};

Json Info() { return {{"title", "Kubernetes"}, {"version", "v1.26.1"}}; }

std::string Sha512Hex(const std::string& text) {
  unsigned char digest[SHA512_DIGEST_LENGTH];
  SHA512(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string out;
  for (unsigned char c : digest) absl::StrAppendFormat(&out, "%02X", c);
  return out;
}

}  // namespace

OpenApi OpenApi::Build(const std::vector<OpenApiResource>& resources) {
  OpenApi out;
  {
    Builder b(Dialect::kV2, resources);
    Json paths = Json::object();
    for (const auto& r : resources) b.AddPaths(r, paths);
    Json v2 = {{"swagger", "2.0"},
               {"info", Info()},
               {"paths", paths},
               {"definitions", b.Definitions()},
               {"securityDefinitions",
                {{"BearerToken",
                  {{"type", "apiKey"}, {"name", "authorization"}, {"in", "header"},
                   {"description", "Bearer Token authentication"}}}}},
               {"security", Json::array({{{"BearerToken", Json::array()}}})}};
    out.v2_json_ = v2.dump();
    out.v2_protobuf_ = openapi_internal::EncodeGnosticDocument(v2);
  }
  std::map<std::string, std::vector<OpenApiResource>> by_gv;
  for (const auto& r : resources) {
    by_gv[r.group.empty() ? "api/" + r.version : absl::StrCat("apis/", r.group, "/", r.version)].push_back(r);
  }
  Json index = {{"paths", Json::object()}};
  for (const auto& [key, rs] : by_gv) {
    Builder b(Dialect::kV3, rs);
    Json paths = Json::object();
    for (const auto& r : rs) b.AddPaths(r, paths);
    Json doc = {{"openapi", "3.0.0"},
                {"info", Info()},
                {"paths", paths},
                {"components",
                 {{"schemas", b.Definitions()},
                  {"securitySchemes",
                   {{"BearerToken", {{"type", "apiKey"}, {"name", "authorization"}, {"in", "header"}}}}}}}};
    std::string text = doc.dump();
    index["paths"][key] = {{"serverRelativeURL", absl::StrCat("/openapi/v3/", key, "?hash=", Sha512Hex(text))}};
    out.v3_docs_.emplace(key, std::move(text));
  }
  out.v3_index_ = index.dump();
  return out;
}

const std::string* OpenApi::V3Document(absl::string_view key) const {
  auto it = v3_docs_.find(key);
  return it == v3_docs_.end() ? nullptr : &it->second;
}

}  // namespace herd::sim
