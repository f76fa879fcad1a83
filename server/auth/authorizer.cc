#include "server/auth/authorizer.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace herd::auth {

namespace {
// Marks the refusals of a protected namespace (RefusalReason).
constexpr char kRefusalPayload[] = "herd.dev/refusal";
constexpr char kProtectedNamespace[] = "protected_namespace";
}  // namespace

absl::string_view Authorizer::RefusalReason(const absl::Status& st) {
  if (!absl::IsPermissionDenied(st)) return "";
  return st.GetPayload(kRefusalPayload).has_value() ? kProtectedNamespace : "rules";
}
namespace {

std::string Where(absl::string_view ns) {
  return ns.empty() ? std::string("in all namespaces") : absl::StrCat("in namespace ", ns);
}

}  // namespace

std::vector<std::string> DefaultProtectedNamespaces() {
  return {"kube-system", "kube-public", "kube-node-lease"};
}

Authorizer::Authorizer(AuthorizerOptions options) : options_(std::move(options)) {}

bool Authorizer::IsProtected(absl::string_view ns) const {
  for (const auto& p : options_.protected_namespaces) {
    if (GlobMatch(p, ns)) return true;
  }
  return false;
}

absl::Status Authorizer::Authorize(const Principal& principal, Verb verb, absl::string_view ns,
                                   absl::string_view workload) const {
  return Check(principal, verb, ns, &workload);
}

absl::Status Authorizer::AuthorizeNamespace(const Principal& principal, Verb verb,
                                            absl::string_view ns) const {
  return Check(principal, verb, ns, nullptr);
}

absl::Status Authorizer::Check(const Principal& principal, Verb verb, absl::string_view ns,
                               const absl::string_view* workload) const {
  const bool guarded = IsMutating(verb) && IsProtected(ns);
  bool namespace_allowed = false;  // some rule has the verb and namespace
  bool matched = false;            // … and the workload
  for (const Rule& rule : principal.rules) {
    if (!rule.AllowsVerb(verb) || !rule.MatchesNamespace(ns)) continue;
    namespace_allowed = true;
    if (workload != nullptr && !rule.MatchesWorkload(*workload)) continue;
    matched = true;
    if (!guarded || rule.allow_protected) return absl::OkStatus();
  }
  if (matched) {
    absl::Status refused = absl::PermissionDeniedError(
        absl::StrCat("namespace ", ns, " is protected: principal ", principal.name, " may not ",
                     VerbName(verb), " there (it takes a rule with allowProtected: true)"));
    refused.SetPayload(kRefusalPayload, absl::Cord(kProtectedNamespace));
    return refused;
  }
  if (namespace_allowed && workload != nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(
        "principal ", principal.name, " may not ", VerbName(verb), " ",
        workload->empty() ? std::string("every workload") : absl::StrCat("workload \"", *workload, "\""),
        " ", Where(ns)));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("principal ", principal.name, " may not ", VerbName(verb), " ", Where(ns)));
}

}  // namespace herd::auth
