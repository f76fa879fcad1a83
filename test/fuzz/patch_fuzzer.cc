// The three Kubernetes patch types as kubesim applies them
// (sim/patch/patch.h) to an object and a patch from the outside.
//
// Input, line by line: "TYPE KIND" (TYPE: json, merge or strategic; KIND:
// Deployment, Pod, … or anything), then the original object's JSON, a line
// "---", then the patch's JSON. A patch either applies or is refused with a
// status; the result is JSON that prints and parses back to itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "sim/patch/patch.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::pair<absl::string_view, absl::string_view> head = absl::StrSplit(input, absl::MaxSplits('\n', 1));
  const std::pair<absl::string_view, absl::string_view> kind_line = absl::StrSplit(head.first, absl::MaxSplits(' ', 1));
  const std::pair<absl::string_view, absl::string_view> docs =
      absl::StrSplit(head.second, absl::MaxSplits("\n---\n", 1));

  json original = json::parse(docs.first, nullptr, /*allow_exceptions=*/false);
  json patch = json::parse(docs.second, nullptr, /*allow_exceptions=*/false);
  if (original.is_discarded() || patch.is_discarded()) return 0;
  const json original_copy = original;
  const json patch_copy = patch;

  absl::StatusOr<json> result;
  const absl::string_view type = kind_line.first;
  if (type == "json") {
    result = herd::sim::ApplyJsonPatch(original, patch);
  } else if (type == "merge") {
    result = herd::sim::ApplyMergePatch(original, patch);
  } else {
    result = herd::sim::ApplyStrategicMergePatch(original, patch, kind_line.second);
  }
  // Pure: the inputs are untouched.
  if (original != original_copy || patch != patch_copy) __builtin_trap();
  if (result.ok()) {
    // What kubesim does next with a patched object: store and print it.
    const std::string text = result->dump();
    if (json::parse(text, nullptr, false) != *result) __builtin_trap();
  }
  return 0;
}
