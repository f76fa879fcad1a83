// Strategic merge patch metadata: the patchStrategy / patchMergeKey struct
// tags of k8s.io/api (v1.26) for the kinds kubesim serves, as a tree of
// types. Only what changes how a patch applies is recorded; a field that is
// absent has no metadata (objects merge key by key, lists are replaced).
//
//   const TypeMeta* deploy = TypeMetaForKind("Deployment");
//   const FieldMeta* spec = deploy->Field("spec");          // DeploymentSpec
//   const FieldMeta* c = FieldOf(FieldOf(FieldOf(spec, "template"), "spec"), "containers");
//   // c->merge == true, c->merge_key == "name"
//
// The table is built once, on first use, and never changes: safe to read
// from any thread.
#ifndef HERD_SIM_PATCH_INTERNAL_PATCH_META_H_
#define HERD_SIM_PATCH_INTERNAL_PATCH_META_H_

#include <functional>
#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace herd::sim::patch_internal {

struct TypeMeta;

struct FieldMeta {
  // patchStrategy "merge": a list merges with the live one (objects by
  // merge_key, primitives as a set) instead of replacing it.
  bool merge = false;
  // patchStrategy "replace": an object field is replaced, not merged.
  bool replace = false;
  // patchStrategy "retainKeys". Recorded for completeness: clients use it to
  // generate $retainKeys, and the server honours a $retainKeys directive
  // wherever it appears.
  bool retain_keys = false;
  // patchMergeKey, for lists of objects with merge.
  std::string merge_key;
  // The field's struct type, or a list's element type; nullptr when nothing
  // below this field has metadata.
  const TypeMeta* type = nullptr;
};

struct TypeMeta {
  std::string name;  // the Go type's name, for error messages
  std::map<std::string, FieldMeta, std::less<>> fields;

  // nullptr when the field has no metadata.
  const FieldMeta* Field(absl::string_view field) const;
};

// The root type of `kind` ("Deployment", "Pod", "Scale", …), or nullptr for
// kinds without metadata.
const TypeMeta* TypeMetaForKind(absl::string_view kind);

// `field` of the type below `parent`; nullptr when either has no metadata.
inline const FieldMeta* FieldOf(const FieldMeta* parent, absl::string_view field) {
  return parent != nullptr && parent->type != nullptr ? parent->type->Field(field) : nullptr;
}

}  // namespace herd::sim::patch_internal

#endif  // HERD_SIM_PATCH_INTERNAL_PATCH_META_H_
