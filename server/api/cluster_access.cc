#include "server/api/cluster_access.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "server/kube/resource.h"

namespace herd::api {

std::string RefusalMessage(const std::string& user, const v1::Permission& p) {
  std::string resource = p.subresource().empty() ? p.resource() : absl::StrCat(p.resource(), "/", p.subresource());
  std::string object = p.group().empty() ? p.resource() : absl::StrCat(p.resource(), ".", p.group());
  std::string where = p.namespace_().empty() ? " at the cluster scope" : absl::StrCat(" in the namespace \"", p.namespace_(), "\"");
  return absl::StrCat(p.name().empty() ? "" : absl::StrCat(object, " \"", p.name(), "\" is forbidden: "), "User \"", user,
                      "\" cannot ", p.verb(), " resource \"", resource, "\" in API group \"", p.group(), "\"", where);
}

absl::Status CheckWrites(kube::KubeClient& as_caller, const std::string& user, const v1::Plan& plan) {
  std::set<std::string> asked;
  for (const v1::Permission& p : plan.permissions()) {
    if (!asked.insert(p.SerializeAsString()).second) continue;
    kube::Json attributes = {{"verb", p.verb()},         {"group", p.group()},      {"resource", p.resource()},
                             {"subresource", p.subresource()}, {"namespace", p.namespace_()}, {"name", p.name()}};
    kube::Json review = {{"apiVersion", "authorization.k8s.io/v1"},
                         {"kind", "SelfSubjectAccessReview"},
                         {"spec", {{"resourceAttributes", attributes}}}};
    auto answer = as_caller.Create(kube::kSelfSubjectAccessReviews, "", review);
    if (!answer.ok()) {
      return absl::Status(answer.status().code(),
                          absl::StrCat("asking the cluster whether ", user, " may ", p.verb(), " ", p.resource(), ": ",
                                       answer.status().message()));
    }
    const kube::Json status = answer->value("status", kube::Json::object());
    if (status.value("allowed", false)) continue;
    std::string why = status.value("reason", "");
    return absl::PermissionDeniedError(
        absl::StrCat(RefusalMessage(user, p), why.empty() ? "" : absl::StrCat(" (", why, ")"),
                     "; herdd acts as its callers (--impersonate), so the cluster's RBAC decides, and nothing was started"));
  }
  return absl::OkStatus();
}

}  // namespace herd::api
