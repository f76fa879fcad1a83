// Container image references ("registry:5000/shop/web:1.4@sha256:…"): a new
// tag on the same repository, as a release sets one tag on every service.
//
//   k8s::WithTag("registry:5000/shop/web:1.4", "42")   // "registry:5000/shop/web:42"
//   k8s::CheckImageTag("v1.2.3")                        // OK
#ifndef HERD_COMMON_K8S_IMAGE_H_
#define HERD_COMMON_K8S_IMAGE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace herd::k8s {

// The image's repository with `tag`: its own tag and digest dropped (a port
// in the registry's host is not a tag).
std::string WithTag(absl::string_view image, absl::string_view tag);

// A tag as registries take it: letters, digits, '_', '.', '-', at most 128,
// not starting with '.' or '-'. INVALID_ARGUMENT saying so otherwise.
absl::Status CheckImageTag(absl::string_view tag);

}  // namespace herd::k8s

#endif  // HERD_COMMON_K8S_IMAGE_H_
