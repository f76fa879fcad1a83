// Kubernetes label and field selectors: parsing (with the API server's own
// error messages), matching, and conversion from a metav1.LabelSelector.
//
//   auto sel = herd::k8s::LabelSelector::Parse("app=web,tier in (a,b),!canary");
//   if (!sel.ok()) return sel.status();          // INVALID_ARGUMENT, API wording
//   bool m = sel->Matches(object["metadata"]["labels"]);
//
//   auto fs = herd::k8s::FieldSelector::Parse("spec.nodeName=n1,status.phase!=Failed");
//   bool m2 = fs->Matches([&](absl::string_view field) -> std::optional<std::string> { … });
#ifndef HERD_COMMON_K8S_SELECTOR_H_
#define HERD_COMMON_K8S_SELECTOR_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace herd::k8s {

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;  // sorted, for kIn/kNotIn; one for (Not)Equals
  };

  // The empty selector: matches everything.
  LabelSelector() = default;

  // Parses the string form used in ?labelSelector= (=, ==, !=, in, notin,
  // key, !key). Errors are INVALID_ARGUMENT with the API server's message,
  // e.g. "unable to parse requirement: found '=', expected: identifier".
  static absl::StatusOr<LabelSelector> Parse(absl::string_view text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions});
  // null or {} selects everything.
  static absl::StatusOr<LabelSelector> FromJson(const nlohmann::json& selector);
  // A selector requiring every label of `labels` (a JSON object of strings).
  static LabelSelector FromLabels(const nlohmann::json& labels);

  // `labels`: a JSON object of string values, or null (no labels).
  bool Matches(const nlohmann::json& labels) const;
  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return reqs_.empty(); }
  const std::vector<Requirement>& requirements() const { return reqs_; }
  // The canonical string form ("app=web,tier in (a,b)").
  std::string ToString() const;

 private:
  std::vector<Requirement> reqs_;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    bool equals;  // = / == when true, != when false
    std::string value;
  };

  FieldSelector() = default;
  // Parses "a=b,c!=d" ("==" too; "\," escapes a comma). Errors are
  // INVALID_ARGUMENT with the API server's wording.
  static absl::StatusOr<FieldSelector> Parse(absl::string_view text);

  // `lookup` gives a field's value, or nullopt when the resource does not
  // support that field (then Matches is false).
  using Lookup = std::function<std::optional<std::string>(absl::string_view field)>;
  bool Matches(const Lookup& lookup) const;
  bool Empty() const { return reqs_.empty(); }
  const std::vector<Requirement>& requirements() const { return reqs_; }
  std::string ToString() const;

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace herd::k8s

#endif  // HERD_COMMON_K8S_SELECTOR_H_
