#include "sim/rbac/rbac.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

bool Has(const Json& list, absl::string_view value) {
  if (!list.is_array()) return false;
  for (const auto& v : list) {
    if (v.is_string() && (v.get<std::string>() == "*" || v.get<std::string>() == value)) return true;
  }
  return false;
}

bool ResourceMatches(const Json& resources, const std::string& resource, const std::string& sub) {
  if (!resources.is_array()) return false;
  std::string combined = sub.empty() ? resource : absl::StrCat(resource, "/", sub);
  for (const auto& r : resources) {
    if (!r.is_string()) continue;
    std::string v = r.get<std::string>();
    if (v == "*" || v == combined) return true;
    if (!sub.empty() && (v == "*/" + sub || v == resource + "/*")) return true;
  }
  return false;
}

bool NonResourceMatches(const Json& urls, const std::string& path) {
  if (!urls.is_array()) return false;
  for (const auto& u : urls) {
    if (!u.is_string()) continue;
    std::string v = u.get<std::string>();
    if (v == "*" || v == path) return true;
    if (absl::EndsWith(v, "*") && absl::StartsWith(path, v.substr(0, v.size() - 1))) return true;
  }
  return false;
}

bool RuleAllows(const Json& rule, const RequestAttributes& a) {
  if (!Has(rule.value("verbs", Json::array()), a.verb)) return false;
  if (!a.resource_request) return NonResourceMatches(rule.value("nonResourceURLs", Json::array()), a.path);
  if (!Has(rule.value("apiGroups", Json::array()), a.api_group)) return false;
  if (!ResourceMatches(rule.value("resources", Json::array()), a.resource, a.subresource)) return false;
  const Json names = rule.value("resourceNames", Json::array());
  if (names.empty()) return true;
  return !a.name.empty() && Has(names, a.name);
}

// The subject of a binding `user` is, described as the allowed reason
// describes it; "" when none is.
std::string MatchingSubject(const Json& binding, const UserInfo& user, const std::string& binding_ns) {
  for (const auto& s : binding.value("subjects", Json::array())) {
    std::string kind = s.value("kind", ""), name = s.value("name", "");
    if (kind == "User" && name == user.name) return absl::StrCat("User \"", name, "\"");
    if (kind == "Group" && user.InGroup(name)) return absl::StrCat("Group \"", name, "\"");
    if (kind == "ServiceAccount") {
      std::string ns = s.value("namespace", binding_ns);
      if (user.name == absl::StrCat(kServiceAccountPrefix, ns, ":", name)) {
        return absl::StrCat("ServiceAccount \"", name, "/", ns, "\"");
      }
    }
  }
  return "";
}

Json Rule(std::vector<std::string> groups, std::vector<std::string> resources, std::vector<std::string> verbs) {
  return {{"verbs", verbs}, {"apiGroups", groups}, {"resources", resources}};
}

const std::vector<std::string> kRead = {"get", "list", "watch"};
const std::vector<std::string> kWrite = {"create", "delete", "deletecollection", "patch", "update"};

Json BootstrapMeta(const std::string& name) {
  return {{"name", name},
          {"labels", {{"kubernetes.io/bootstrapping", "rbac-defaults"}}},
          {"annotations", {{"rbac.authorization.kubernetes.io/autoupdate", "true"}}}};
}

Json ClusterRole(const std::string& name, Json rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", BootstrapMeta(name)},
          {"rules", std::move(rules)}};
}

// view's rules, for kubesim's resources (upstream's system:aggregate-to-view).
Json ViewRules() {
  return Json::array({
      Rule({""}, {"configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                  "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                  "services/status"},
           kRead),
      Rule({""}, {"bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                  "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"},
           kRead),
      Rule({""}, {"namespaces"}, kRead),
      Rule({"apps"}, {"controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                      "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
                      "statefulsets/scale", "statefulsets/status"},
           kRead),
      Rule({"autoscaling"}, {"horizontalpodautoscalers", "horizontalpodautoscalers/status"}, kRead),
      Rule({"batch"}, {"cronjobs", "cronjobs/status", "jobs", "jobs/status"}, kRead),
      Rule({"policy"}, {"poddisruptionbudgets", "poddisruptionbudgets/status"}, kRead),
  });
}

// edit adds writes (upstream's system:aggregate-to-edit).
Json EditRules() {
  Json rules = Json::array({
      Rule({""}, {"pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"}, kRead),
      Rule({""}, {"serviceaccounts"}, {"impersonate"}),
      Rule({""}, {"pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"}, kWrite),
      Rule({""}, {"pods/eviction"}, {"create"}),
      Rule({""}, {"configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                  "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"},
           kWrite),
      Rule({""}, {"serviceaccounts/token"}, {"create"}),
      Rule({"apps"}, {"daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                      "replicasets/scale", "statefulsets", "statefulsets/scale"},
           kWrite),
      Rule({"autoscaling"}, {"horizontalpodautoscalers"}, kWrite),
      Rule({"batch"}, {"cronjobs", "jobs"}, kWrite),
      Rule({"policy"}, {"poddisruptionbudgets"}, kWrite),
  });
  for (const auto& r : ViewRules()) rules.push_back(r);
  return rules;
}

Json AdminRules() {
  Json rules = Json::array({
      Rule({"authorization.k8s.io"}, {"localsubjectaccessreviews"}, {"create"}),
      Rule({"rbac.authorization.k8s.io"}, {"rolebindings", "roles"},
           {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}),
  });
  for (const auto& r : EditRules()) rules.push_back(r);
  return rules;
}

}  // namespace

void RbacAuthorizer::VisitRules(const UserInfo& user, const std::string& ns,
                                const std::function<bool(const Json&, const std::string&)>& fn) const {
  bool done = false;
  auto visit_role = [&](const Json* role, const std::string& why) {
    if (role == nullptr || done) return;
    for (const auto& rule : role->value("rules", Json::array())) {
      if (fn(rule, why)) {
        done = true;
        return;
      }
    }
  };
  objects_.ForEachClusterRoleBinding([&](const Json& b) {
    if (done) return;
    std::string subject = MatchingSubject(b, user, "");
    if (subject.empty()) return;
    const Json& ref = b.value("roleRef", Json::object());
    if (ref.value("kind", "") != "ClusterRole") return;
    std::string name = ref.value("name", "");
    visit_role(objects_.ClusterRole(name),
               absl::StrCat("ClusterRoleBinding \"", b["metadata"].value("name", ""), "\" of ClusterRole \"", name,
                            "\" to ", subject));
  });
  if (ns.empty() || done) return;
  objects_.ForEachRoleBinding(ns, [&](const Json& b) {
    if (done) return;
    std::string subject = MatchingSubject(b, user, ns);
    if (subject.empty()) return;
    const Json& ref = b.value("roleRef", Json::object());
    std::string kind = ref.value("kind", ""), name = ref.value("name", "");
    const Json* role = kind == "ClusterRole" ? objects_.ClusterRole(name) : kind == "Role" ? objects_.Role(ns, name)
                                                                                          : nullptr;
    visit_role(role, absl::StrCat("RoleBinding \"", b["metadata"].value("name", ""), "/", ns, "\" of ", kind, " \"",
                                  name, "\" to ", subject));
  });
}

Decision RbacAuthorizer::Authorize(const RequestAttributes& a) const {
  // The privileged group is allowed everything before RBAC is asked.
  if (a.user.InGroup("system:masters")) return {true, ""};
  Decision d;
  VisitRules(a.user, a.resource_request ? a.ns : "", [&](const Json& rule, const std::string& why) {
    if (!RuleAllows(rule, a)) return false;
    d = {true, absl::StrCat("RBAC: allowed by ", why)};
    return true;
  });
  return d;
}

Json RbacAuthorizer::RulesReviewStatus(const UserInfo& user, const std::string& ns) const {
  Json resource_rules = Json::array();
  Json non_resource_rules = Json::array();
  auto add = [&](const Json& rule, const std::string&) {
    if (rule.contains("nonResourceURLs") && !rule["nonResourceURLs"].empty()) {
      Json r = {{"verbs", rule.value("verbs", Json::array())}, {"nonResourceURLs", rule["nonResourceURLs"]}};
      if (std::find(non_resource_rules.begin(), non_resource_rules.end(), r) == non_resource_rules.end()) {
        non_resource_rules.push_back(std::move(r));
      }
    }
    if (rule.contains("resources") && !rule["resources"].empty()) {
      Json r = {{"verbs", rule.value("verbs", Json::array())},
                {"apiGroups", rule.value("apiGroups", Json::array())},
                {"resources", rule["resources"]}};
      if (rule.contains("resourceNames") && !rule["resourceNames"].empty()) r["resourceNames"] = rule["resourceNames"];
      if (std::find(resource_rules.begin(), resource_rules.end(), r) == resource_rules.end()) {
        resource_rules.push_back(std::move(r));
      }
    }
    return false;
  };
  VisitRules(user, ns, add);
  return {{"resourceRules", resource_rules}, {"nonResourceRules", non_resource_rules}, {"incomplete", false}};
}

std::string ForbiddenMessage(const RequestAttributes& a) {
  if (!a.resource_request) return absl::StrCat("User \"", a.user.name, "\" cannot ", a.verb, " path \"", a.path, "\"");
  std::string resource = a.subresource.empty() ? a.resource : absl::StrCat(a.resource, "/", a.subresource);
  std::string scope =
      a.ns.empty() ? "at the cluster scope" : absl::StrCat("in the namespace \"", a.ns, "\"");
  return absl::StrCat("User \"", a.user.name, "\" cannot ", a.verb, " resource \"", resource, "\" in API group \"",
                      a.api_group, "\" ", scope);
}

ForbiddenStatus Forbidden(const RequestAttributes& a) {
  std::string why = ForbiddenMessage(a);
  if (!a.resource_request) return {absl::StrCat("forbidden: ", why), Json::object()};
  std::string gr = a.api_group.empty() ? a.resource : absl::StrCat(a.resource, ".", a.api_group);
  Json details = Json::object();
  if (!a.name.empty()) details["name"] = a.name;
  if (!a.api_group.empty()) details["group"] = a.api_group;
  details["kind"] = a.resource;
  std::string message = a.name.empty() ? absl::StrCat(gr, " is forbidden: ", why)
                                       : absl::StrCat(gr, " \"", a.name, "\" is forbidden: ", why);
  return {message, details};
}

std::vector<Json> BootstrapClusterRoles() {
  Json all_verbs = Json::array({"*"});
  return {
      ClusterRole("cluster-admin",
                  Json::array({Rule({"*"}, {"*"}, {"*"}), {{"verbs", {"*"}}, {"nonResourceURLs", {"*"}}}})),
      ClusterRole("admin", AdminRules()),
      ClusterRole("edit", EditRules()),
      ClusterRole("view", ViewRules()),
      ClusterRole("system:basic-user",
                  Json::array({Rule({"authorization.k8s.io"}, {"selfsubjectaccessreviews", "selfsubjectrulesreviews"},
                                    {"create"})})),
      ClusterRole("system:discovery",
                  Json::array({{{"verbs", {"get"}},
                                {"nonResourceURLs", {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                     "/openapi", "/openapi/*", "/readyz", "/version", "/version/"}}}})),
      ClusterRole("system:public-info-viewer",
                  Json::array({{{"verbs", {"get"}},
                                {"nonResourceURLs", {"/healthz", "/livez", "/readyz", "/version", "/version/"}}}})),
  };
}

std::vector<Json> BootstrapClusterRoleBindings() {
  auto binding = [](const std::string& name, const std::string& role, std::vector<std::string> groups) {
    Json subjects = Json::array();
    for (const auto& g : groups) {
      subjects.push_back({{"kind", "Group"}, {"apiGroup", "rbac.authorization.k8s.io"}, {"name", g}});
    }
    return Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
                {"kind", "ClusterRoleBinding"},
                {"metadata", BootstrapMeta(name)},
                {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}}},
                {"subjects", subjects}};
  };
  return {binding("cluster-admin", "cluster-admin", {"system:masters"}),
          binding("system:basic-user", "system:basic-user", {"system:authenticated"}),
          binding("system:discovery", "system:discovery", {"system:authenticated"}),
          binding("system:public-info-viewer", "system:public-info-viewer",
                  {"system:authenticated", "system:unauthenticated"})};
}

}  // namespace herd::sim
