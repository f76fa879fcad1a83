// Authorization: may this principal do this verb to this workload in this
// namespace? The principal's rules (policy.h) decide, and protected
// namespaces are refused to every mutating verb unless the allowing rule
// says `allowProtected: true`.
//
//   herd::auth::Authorizer authz({.protected_namespaces = {"kube-system", "prod-*"}});
//   absl::Status st = authz.Authorize(principal, herd::auth::Verb::kKill, "payments", "api");
//   // PERMISSION_DENIED: principal ci-shop may not kill workload "api" in namespace payments
//
// Both refusals are PERMISSION_DENIED (as DESIGN.md lists for the API): a
// protected namespace is a matter of policy, like a missing rule, and no
// change to the cluster's state would make the same call succeed, which is
// what FAILED_PRECONDITION would promise. The message says which it was.
#ifndef HERD_SERVER_AUTH_AUTHORIZER_H_
#define HERD_SERVER_AUTH_AUTHORIZER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/auth/policy.h"

namespace herd::auth {

// kube-system, kube-public, kube-node-lease.
std::vector<std::string> DefaultProtectedNamespaces();

struct AuthorizerOptions {
  // Globs. Empty protects nothing.
  std::vector<std::string> protected_namespaces = DefaultProtectedNamespaces();
};

// Immutable after construction; every method is const and thread-safe.
class Authorizer {
 public:
  explicit Authorizer(AuthorizerOptions options = {});

  // OK when one of the principal's rules allows `verb` in `ns` on the
  // workload `workload`. `workload` "" stands for every workload of the
  // namespace (a kill by label selector): only a rule whose workload
  // patterns match everything ("*") allows it. `ns` "" stands for all
  // namespaces: only a namespace pattern "*" allows it.
  absl::Status Authorize(const Principal& principal, Verb verb, absl::string_view ns,
                         absl::string_view workload) const;

  // OK when some rule allows `verb` on at least some workload in `ns`: for
  // listings, whose items are then filtered with Authorize.
  absl::Status AuthorizeNamespace(const Principal& principal, Verb verb, absl::string_view ns) const;

  bool IsProtected(absl::string_view ns) const;

  // Why Authorize refused: "protected_namespace" when a rule allowed the
  // call but the namespace is protected (and the rule lacks
  // allowProtected), else "rules"; "" for a status that is not its refusal.
  static absl::string_view RefusalReason(const absl::Status& st);

 private:
  absl::Status Check(const Principal& principal, Verb verb, absl::string_view ns,
                     const absl::string_view* workload) const;

  AuthorizerOptions options_;
};

}  // namespace herd::auth

#endif  // HERD_SERVER_AUTH_AUTHORIZER_H_
