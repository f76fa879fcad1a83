#include "server/kube/client.h"

#include <utility>

namespace herd::kube {

absl::StatusOr<std::string> KubeClient::Logs(absl::string_view, absl::string_view, const LogOptions&) {
  return absl::UnimplementedError("this Kubernetes client does not read logs");
}

absl::StatusOr<std::unique_ptr<KubeClient>> KubeClient::Impersonate(const Impersonation&) {
  return absl::UnimplementedError("this Kubernetes client does not impersonate");
}

absl::StatusOr<ObjectList> KubeClient::ListAll(const Resource& r, absl::string_view ns, ListOptions options,
                                               const std::function<void(Json&)>& each) {
  ObjectList all;
  options.continue_token.clear();
  while (true) {
    absl::StatusOr<ObjectList> page = List(r, ns, options);
    if (!page.ok()) return page.status();
    // The first page fixes the snapshot; later pages are read at its version.
    if (all.resource_version.empty()) all.resource_version = page->resource_version;
    all.items.reserve(all.items.size() + page->items.size());
    for (Json& item : page->items) {
      if (each) each(item);
      all.items.push_back(std::move(item));
    }
    if (page->continue_token.empty()) break;
    options.continue_token = std::move(page->continue_token);
    // A continued list must not name a version: the token carries it.
    options.resource_version.clear();
  }
  return all;
}

}  // namespace herd::kube
