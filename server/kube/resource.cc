#include "server/kube/resource.h"

#include "absl/strings/str_cat.h"

namespace herd::kube {

std::string Resource::ApiVersion() const {
  if (group.empty()) return std::string(version);
  return absl::StrCat(group, "/", version);
}

std::string Resource::GroupResource() const {
  if (group.empty()) return std::string(plural);
  return absl::StrCat(plural, ".", group);
}

std::string Resource::Path(absl::string_view ns, absl::string_view name, absl::string_view subresource) const {
  std::string out = group.empty() ? absl::StrCat("/api/", version) : absl::StrCat("/apis/", group, "/", version);
  if (namespaced && !ns.empty()) absl::StrAppend(&out, "/namespaces/", ns);
  absl::StrAppend(&out, "/", plural);
  if (!name.empty()) {
    absl::StrAppend(&out, "/", name);
    if (!subresource.empty()) absl::StrAppend(&out, "/", subresource);
  }
  return out;
}

}  // namespace herd::kube
