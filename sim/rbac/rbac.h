// Authorization as a v1.26 API server with --authorization-mode=RBAC does
// it: Roles, ClusterRoles, RoleBindings and ClusterRoleBindings
// (rbac.authorization.k8s.io/v1), members of system:masters allowed
// everything first, the bootstrap roles and bindings a new cluster has
// (cluster-admin, admin, edit, view, system:basic-user, system:discovery,
// system:public-info-viewer), the answers of SelfSubjectAccessReview and
// SelfSubjectRulesReview, and the 403 message worded as the real server's.
//
//   RbacAuthorizer rbac(objects);   // objects: where the RBAC kinds are read from
//   Decision d = rbac.Authorize({.user = sa, .verb = "list", .resource = "pods", .ns = "shop"});
//   if (!d.allowed) … ForbiddenMessage(attrs) …
//
// Not thread-safe: kubesim calls it from its loop thread.
#ifndef HERD_SIM_RBAC_RBAC_H_
#define HERD_SIM_RBAC_RBAC_H_

#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "sim/auth/auth.h"

namespace herd::sim {

// What a request asks to do, as the API server's RequestInfo has it.
struct RequestAttributes {
  UserInfo user;
  std::string verb;  // get, list, watch, create, update, patch, delete, deletecollection, impersonate
  bool resource_request = true;
  std::string api_group;
  std::string resource;  // "pods"; "users", "groups", "serviceaccounts" for impersonation
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;  // non-resource requests: "/api", "/version", …
};

struct Decision {
  bool allowed = false;
  // "RBAC: allowed by RoleBinding \"ci-view/shop\" of ClusterRole \"view\" to ServiceAccount \"ci/shop\"".
  std::string reason;
};

// The RBAC objects of the cluster, as JSON. Pointers stay valid for the
// duration of one call into the authorizer.
class RbacObjects {
 public:
  virtual ~RbacObjects() = default;
  virtual void ForEachClusterRoleBinding(const std::function<void(const nlohmann::json&)>& fn) const = 0;
  virtual void ForEachRoleBinding(const std::string& ns, const std::function<void(const nlohmann::json&)>& fn) const = 0;
  virtual const nlohmann::json* ClusterRole(const std::string& name) const = 0;
  virtual const nlohmann::json* Role(const std::string& ns, const std::string& name) const = 0;
};

class RbacAuthorizer {
 public:
  explicit RbacAuthorizer(const RbacObjects& objects) : objects_(objects) {}

  Decision Authorize(const RequestAttributes& a) const;

  // The status of a SelfSubjectRulesReview: what `user` may do in `ns`
  // ({resourceRules, nonResourceRules, incomplete}).
  nlohmann::json RulesReviewStatus(const UserInfo& user, const std::string& ns) const;

 private:
  // Calls `fn` with each rule that applies to `user` in `ns` ("" for the
  // cluster scope) and a description of what granted it; `fn` returns true
  // to stop.
  void VisitRules(const UserInfo& user, const std::string& ns,
                  const std::function<bool(const nlohmann::json& rule, const std::string& why)>& fn) const;

  const RbacObjects& objects_;
};

// `User "x" cannot list resource "pods" in API group "" in the namespace "shop"`.
std::string ForbiddenMessage(const RequestAttributes& a);

// The 403 body's message and details, as apierrors.NewForbidden builds them:
// `pods "web" is forbidden: User …` with {name, group, kind}.
struct ForbiddenStatus {
  std::string message;
  nlohmann::json details;
};
ForbiddenStatus Forbidden(const RequestAttributes& a);

// The ClusterRoles and ClusterRoleBindings a new cluster starts with.
std::vector<nlohmann::json> BootstrapClusterRoles();
std::vector<nlohmann::json> BootstrapClusterRoleBindings();

}  // namespace herd::sim

#endif  // HERD_SIM_RBAC_RBAC_H_
