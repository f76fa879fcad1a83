// Label and field selectors (common/k8s/selector.h), as they come in
// ?labelSelector= / ?fieldSelector= and from metav1.LabelSelector objects.
//
// Input: the first line is a selector, parsed both as a label and as a field
// selector; each further line "key=value" is a label (and a field) to match
// against. The whole input is also tried as a metav1.LabelSelector in JSON.
// Beyond not crashing, a parsed selector must round-trip: Parse(ToString())
// succeeds, has the same terms and matches the same (a label selector also
// prints the same).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/k8s/selector.h"
#include "nlohmann/json.hpp"

namespace {

using herd::k8s::FieldSelector;
using herd::k8s::LabelSelector;

// Says what differed, for the report, then stops the run.
[[noreturn]] void Fail(const std::string& what, const std::string& first, const std::string& second) {
  std::fprintf(stderr, "selector_fuzzer: %s\n  first:  %s\n  second: %s\n", what.c_str(), first.c_str(),
               second.c_str());
  __builtin_trap();
}

void CheckLabelSelector(const LabelSelector& sel, const std::map<std::string, std::string>& labels,
                        const nlohmann::json& labels_json) {
  const bool matches = sel.Matches(labels);
  const std::string text = sel.ToString();
  if (labels_json.is_object() && sel.Matches(labels_json) != matches) Fail("Matches(json) differs", text, "");
  absl::StatusOr<LabelSelector> again = LabelSelector::Parse(text);
  if (!again.ok()) Fail("ToString does not parse", text, again.status().ToString());
  if (again->ToString() != text) Fail("ToString changes on a round trip", text, again->ToString());
  if (again->Matches(labels) != matches) Fail("Matches changes on a round trip", text, "");
  if (sel.Empty() != again->Empty()) Fail("Empty changes on a round trip", text, "");
}

std::vector<std::tuple<std::string, bool, std::string>> Terms(const FieldSelector& s) {
  std::vector<std::tuple<std::string, bool, std::string>> out;
  for (const FieldSelector::Requirement& r : s.requirements()) out.emplace_back(r.field, r.equals, r.value);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  const absl::string_view selector = lines[0];

  std::map<std::string, std::string> labels;
  // JSON can only hold valid UTF-8; labels that are not stay out of it.
  nlohmann::json labels_json = nlohmann::json::object();
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits('=', 1));
    labels[kv.first] = kv.second;
  }
  try {
    for (const auto& [k, v] : labels) labels_json[k] = v;
    (void)labels_json.dump();
  } catch (const nlohmann::json::exception&) {
    labels_json = nullptr;
  }

  if (absl::StatusOr<LabelSelector> sel = LabelSelector::Parse(selector); sel.ok()) {
    CheckLabelSelector(*sel, labels, labels_json);
  }

  if (absl::StatusOr<FieldSelector> fs = FieldSelector::Parse(selector); fs.ok()) {
    FieldSelector::Lookup lookup = [&labels](absl::string_view field) -> std::optional<std::string> {
      auto it = labels.find(std::string(field));
      if (it == labels.end()) return std::nullopt;
      return it->second;
    };
    const bool matches = fs->Matches(lookup);
    const std::string text = fs->ToString();
    absl::StatusOr<FieldSelector> again = FieldSelector::Parse(text);
    if (!again.ok()) Fail("field selector ToString does not parse", text, again.status().ToString());
    // Terms are ordered by their text as written (as the API server does), so
    // the order may change once ToString() has escaped them again; the terms
    // themselves may not.
    if (Terms(*again) != Terms(*fs)) Fail("field selector terms change on a round trip", text, again->ToString());
    if (again->Matches(lookup) != matches) Fail("field selector Matches changes on a round trip", text, "");
  }

  nlohmann::json j = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (absl::StatusOr<LabelSelector> sel = LabelSelector::FromJson(j); sel.ok()) {
      CheckLabelSelector(*sel, labels, labels_json);
    }
    if (j.is_object()) {
      LabelSelector from_labels = LabelSelector::FromLabels(j);
      (void)from_labels.Matches(j);
      (void)from_labels.ToString();
    }
  }
  return 0;
}
