// The three patch types of the Kubernetes API, applied the way the API
// server applies them.
//
//   auto merged = herd::sim::ApplyStrategicMergePatch(deploy, patch, "Deployment");
//   if (!merged.ok()) …   // INVALID_ARGUMENT with a message like the API server's
//
// Strategic merge knows the patch metadata (merge keys, strategies) of the
// kinds kubesim serves: lists such as containers merge by name instead of
// being replaced, and the directives kubectl sends ($patch, $setElementOrder,
// $retainKeys, $deleteFromPrimitiveList) are honoured.
#ifndef HERD_SIM_PATCH_PATCH_H_
#define HERD_SIM_PATCH_PATCH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace herd::sim {

// RFC 7386 JSON merge patch (application/merge-patch+json).
absl::StatusOr<nlohmann::json> ApplyMergePatch(const nlohmann::json& original, const nlohmann::json& patch);

// RFC 6902 JSON patch (application/json-patch+json): add, remove, replace,
// move, copy, test. A failed test or a missing path is an error.
absl::StatusOr<nlohmann::json> ApplyJsonPatch(const nlohmann::json& original, const nlohmann::json& patch);

// Strategic merge patch (application/strategic-merge-patch+json) for an
// object of `kind` ("Deployment", "Pod", "Scale", …). Kinds without known
// metadata merge like a JSON merge patch, except that directives are still
// understood.
absl::StatusOr<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& original,
                                                        const nlohmann::json& patch, absl::string_view kind);

}  // namespace herd::sim

#endif  // HERD_SIM_PATCH_PATCH_H_
