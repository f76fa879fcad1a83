#include "sim/discovery.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
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
  for (const char* g : {"apps", "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch", "policy",
                        "rbac.authorization.k8s.io", "coordination.k8s.io"}) {
    out.push_back(g);
  }
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
  if (r.create_only) {
    e["verbs"] = {"create"};
    e.erase("storageVersionHash");
  }
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
  } else if (sub == "token") {
    e["group"] = "authentication.k8s.io";
    e["version"] = "v1";
    e["kind"] = "TokenRequest";
    e["verbs"] = {"create"};
  } else if (sub == "log") {
    e["kind"] = "Pod";
    e["verbs"] = {"get"};
  }
  return e;
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

const OpenApi& OpenApiDocuments() {
  // The documents depend only on what kubesim serves: built once per
  // process, on first use.
  static const OpenApi* const docs = [] {
    std::vector<OpenApiResource> rs;
    for (const auto& r : Resources()) {
      rs.push_back({r.group, r.version, r.plural, r.kind, r.namespaced, r.subresources, r.create_only});
    }
    return new OpenApi(OpenApi::Build(rs));
  }();
  return *docs;
}

}  // namespace herd::sim
