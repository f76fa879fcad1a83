#include "sim/discovery.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/resources.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

const std::vector<std::string>& AllVerbs() {
  static const auto* v = new std::vector<std::string>{"create", "delete", "deletecollection", "get",
                                                      "list",   "patch",  "update",           "watch"};
  return *v;
}

// Groups in the order a v1.26 server lists them (only those kubesim serves).
std::vector<std::string> Groups() {
  std::vector<std::string> out;
  for (const char* g : {"apps", "autoscaling", "batch", "policy", "coordination.k8s.io"}) out.push_back(g);
  return out;
}

std::vector<std::string> VersionsOf(const std::string& group) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& r : Resources()) {
    if (r.group == group && seen.insert(r.version).second) out.push_back(r.version);
  }
  return out;
}

Json GroupJson(const std::string& group) {
  Json versions = Json::array();
  for (const auto& v : VersionsOf(group)) {
    versions.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  }
  return {{"name", group}, {"versions", versions}, {"preferredVersion", versions[0]}};
}

Json ResourceEntry(const ResourceType& r) {
  Json e = {{"name", r.plural},
            {"singularName", ""},
            {"namespaced", r.namespaced},
            {"kind", r.kind},
            {"verbs", AllVerbs()},
            {"storageVersionHash", r.storage_version_hash}};
  if (r.id == kNamespaces) e["verbs"] = {"create", "delete", "get", "list", "patch", "update", "watch"};
  if (!r.short_names.empty()) e["shortNames"] = r.short_names;
  if (!r.categories.empty()) e["categories"] = r.categories;
  return e;
}

Json SubresourceEntry(const ResourceType& r, const std::string& sub) {
  Json e = {{"name", r.plural + "/" + sub}, {"singularName", ""}, {"namespaced", r.namespaced}, {"kind", r.kind}};
  if (sub == "status") {
    e["verbs"] = {"get", "patch", "update"};
  } else if (sub == "scale") {
    e["group"] = "autoscaling";
    e["version"] = "v1";
    e["kind"] = "Scale";
    e["verbs"] = {"get", "patch", "update"};
  } else if (sub == "eviction") {
    e["group"] = "policy";
    e["version"] = "v1";
    e["kind"] = "Eviction";
    e["verbs"] = {"create"};
  } else if (sub == "binding") {
    e["kind"] = "Binding";
    e["verbs"] = {"create"};
  }
  return e;
}

// A short stable hash of a document, as the index's ?hash= query.
std::string DocHash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016X%016X", h, h * 0x9E3779B97F4A7C15ull);
}

Json Param(const char* name, const char* in, const char* description, bool required = false) {
  Json p = {{"name", name}, {"in", in}, {"description", description}, {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
  if (required) p["required"] = true;
  return p;
}

Json Gvk(const ResourceType& r) { return {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}; }

Json Operation(const ResourceType& r, const std::string& id, const std::string& action, bool write) {
  Json op = {{"operationId", id},
             {"tags", Json::array({r.group.empty() ? "core_" + r.version : r.group + "_" + r.version})},
             {"responses", {{"200", {{"description", "OK"}}}, {"401", {{"description", "Unauthorized"}}}}},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind", Gvk(r)}};
  if (write) {
    op["parameters"] = Json::array(
        {Param("dryRun", "query", "When present, indicates that modifications should not be persisted."),
         Param("fieldManager", "query", "fieldManager is a name associated with the actor or entity that is making these changes."),
         Param("fieldValidation", "query",
               "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
               "containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.")});
  }
  return op;
}

std::string Ident(const std::string& s) {
  std::string out;
  bool up = true;
  for (char c : s) {
    if (c == '.' || c == '-' || c == '/') {
      up = true;
      continue;
    }
    out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    up = false;
  }
  return out;
}

}  // namespace

Json VersionInfo() {
  return {{"major", "1"},
          {"minor", "26"},
          {"gitVersion", "v1.26.1"},
          {"gitCommit", "8f94681cd294aa8cfd3407b8191f6c70214973a4"},
          {"gitTreeState", "clean"},
          {"buildDate", "2023-01-18T15:51:25Z"},
          {"goVersion", "go1.19.5"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

Json CoreApiVersions(absl::string_view server_address) {
  return {{"kind", "APIVersions"},
          {"versions", Json::array({"v1"})},
          {"serverAddressByClientCIDRs",
           Json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", std::string(server_address)}}})}};
}

Json ApiGroupList() {
  Json groups = Json::array();
  for (const auto& g : Groups()) groups.push_back(GroupJson(g));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<Json> ApiGroup(absl::string_view group) {
  for (const auto& g : Groups()) {
    if (g == group) {
      Json j = GroupJson(g);
      j["kind"] = "APIGroup";
      j["apiVersion"] = "v1";
      return j;
    }
  }
  return std::nullopt;
}

std::optional<Json> ApiResourceList(absl::string_view group, absl::string_view version) {
  std::vector<const ResourceType*> rs;
  for (const auto& r : Resources()) {
    if (r.group == group && r.version == version) rs.push_back(&r);
  }
  if (rs.empty()) return std::nullopt;
  // Discovery lists resources and subresources sorted by name.
  std::map<std::string, Json> entries;
  for (const ResourceType* r : rs) {
    entries.emplace(r->plural, ResourceEntry(*r));
    for (const auto& sub : r->subresources) entries.emplace(r->plural + "/" + sub, SubresourceEntry(*r, sub));
  }
  Json resources = Json::array();
  for (auto& [name, e] : entries) resources.push_back(std::move(e));
  std::string gv = group.empty() ? std::string(version) : absl::StrCat(group, "/", version);
  return Json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", resources}};
}

std::optional<Json> OpenApiV3Document(absl::string_view group, absl::string_view version) {
  Json paths = Json::object();
  bool any = false;
  for (const auto& r : Resources()) {
    if (r.group != group || r.version != version) continue;
    any = true;
    std::string base = r.group.empty() ? absl::StrCat("/api/", r.version) : absl::StrCat("/apis/", r.group, "/", r.version);
    std::string coll = r.namespaced ? absl::StrCat(base, "/namespaces/{namespace}/", r.plural) : absl::StrCat(base, "/", r.plural);
    std::string item = coll + "/{name}";
    std::string kind_id = Ident(r.group.empty() ? "core" : r.group) + Ident(r.version) + (r.namespaced ? "Namespaced" : "") + r.kind;
    paths[coll] = {{"get", Operation(r, "list" + kind_id, "list", false)},
                   {"post", Operation(r, "create" + kind_id, "post", true)}};
    // Strategic merge is supported by the server, but the patch content
    // types listed here leave it out on purpose: kubectl then builds its
    // apply patches from its own compiled-in type metadata, which these
    // documents (without full schemas) could not give it.
    Json patch_op = Operation(r, "patch" + kind_id, "patch", true);
    patch_op["requestBody"] = {{"content",
                                {{"application/json-patch+json", {{"schema", Json::object()}}},
                                 {"application/merge-patch+json", {{"schema", Json::object()}}}}}};
    paths[item] = {{"get", Operation(r, "read" + kind_id, "get", false)},
                   {"put", Operation(r, "replace" + kind_id, "put", true)},
                   {"patch", patch_op},
                   {"delete", Operation(r, "delete" + kind_id, "delete", false)}};
    for (const auto& sub : r.subresources) {
      if (sub != "status" && sub != "scale") continue;
      Json sub_patch = Operation(r, "patch" + kind_id + Ident(sub), "patch", true);
      if (sub == "scale") sub_patch["x-kubernetes-group-version-kind"] = {{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}};
      paths[item + "/" + sub] = {{"patch", sub_patch}};
    }
  }
  if (!any) return std::nullopt;
  return Json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.26.1"}}},
              {"paths", paths},
              {"components", {{"schemas", Json::object()}}}};
}

Json OpenApiV3Index() {
  Json paths = Json::object();
  std::set<std::pair<std::string, std::string>> gvs;
  for (const auto& r : Resources()) gvs.emplace(r.group, r.version);
  for (const auto& [g, v] : gvs) {
    std::string key = g.empty() ? "api/" + v : "apis/" + g + "/" + v;
    auto doc = OpenApiV3Document(g, v);
    paths[key] = {{"serverRelativeURL", absl::StrCat("/openapi/v3/", key, "?hash=", DocHash(doc->dump()))}};
  }
  return {{"paths", paths}};
}

}  // namespace herd::sim
