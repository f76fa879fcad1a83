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
//
// All functions are pure (inputs are not modified) and thread-safe.
#ifndef HERD_SIM_PATCH_PATCH_H_
#define HERD_SIM_PATCH_PATCH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace herd::sim {

// RFC 7386 JSON merge patch (application/merge-patch+json): objects merge
// key by key, null deletes, anything else (lists included) replaces. The
// patch must be a JSON object, since it patches an API object.
absl::StatusOr<nlohmann::json> ApplyMergePatch(const nlohmann::json& original, const nlohmann::json& patch);

// RFC 6902 JSON patch (application/json-patch+json): add, remove, replace,
// move, copy, test, with RFC 6901 pointers ("~1" is '/', "~0" is '~', "-"
// appends to a list). A failed test, a missing path or an index out of range
// is an error and nothing is applied.
absl::StatusOr<nlohmann::json> ApplyJsonPatch(const nlohmann::json& original, const nlohmann::json& patch);

// Strategic merge patch (application/strategic-merge-patch+json) for an
// object of `kind` ("Deployment", "Pod", "Scale", …), as
// k8s.io/apimachinery/pkg/util/strategicpatch applies it on the server:
//  - Lists tagged patchStrategy "merge" merge element-wise by their merge key
//    (containers by name, env by name, ports by containerPort, …); lists of
//    primitives so tagged (finalizers) are unioned. Other lists are replaced.
//  - Order of a merged list: items named in the patch take the patch's
//    order; items only on the server keep theirs and stay ahead of patch
//    items that came after them on the server. An item new to the server is
//    placed where the patch reaches it, which puts a lone new item first;
//    kubectl sends $setElementOrder/<list> when the order matters.
//  - null deletes a field. In a map, "$patch": "replace" replaces the map
//    and "$patch": "delete" empties it; in a merge list an element
//    {"<key>": …, "$patch": "delete"} deletes that element and
//    {"$patch": "replace"} makes the patch's elements the whole list.
//    "$patch": "merge" is rejected, as the API server rejects it.
//  - $setElementOrder/<list> orders a list, $retainKeys clears the fields
//    of a map that it does not name, $deleteFromPrimitiveList/<list> removes
//    values from a list of primitives.
// Kinds without known metadata merge like a JSON merge patch, directives
// still understood. Values with nothing to merge into come out as the API
// server would store them: directives applied, nulls dropped. Errors are
// INVALID_ARGUMENT worded like the API server's ("map: {...} does not contain
// declared merge key: name", "invalid patch format of retainKeys", …).
absl::StatusOr<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& original,
                                                        const nlohmann::json& patch, absl::string_view kind);

}  // namespace herd::sim

#endif  // HERD_SIM_PATCH_PATCH_H_
