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

// Selectors are values: const methods are safe to call concurrently.
class LabelSelector {
 public:
  // `==` parses as kEquals. kGreaterThan / kLessThan ("replicas>2") compare
  // labels as base-10 integers; the API server accepts them in the string
  // form only, not in a metav1.LabelSelector.
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  struct Requirement {
    std::string key;
    Op op;
    // Sorted and unique. kIn/kNotIn: one or more; kEquals, kNotEquals,
    // kGreaterThan, kLessThan: exactly one; kExists/kDoesNotExist: none.
    std::vector<std::string> values;
  };

  // The empty selector: matches everything.
  LabelSelector() = default;

  // Parses the string form used in ?labelSelector= (=, ==, !=, in, notin,
  // key, !key). Errors are INVALID_ARGUMENT with the API server's message,
  // e.g. "unable to parse requirement: found '=', expected: identifier".
  static absl::StatusOr<LabelSelector> Parse(absl::string_view text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions} with
  // operators In, NotIn, Exists, DoesNotExist); null or {} selects
  // everything. Errors are INVALID_ARGUMENT, worded like
  // metav1.LabelSelectorAsSelector ("\"Gt\" is not a valid label selector
  // operator", "values: Invalid value: ...").
  static absl::StatusOr<LabelSelector> FromJson(const nlohmann::json& selector);
  // A selector requiring every label of `labels` (a JSON object of strings).
  static LabelSelector FromLabels(const nlohmann::json& labels);

  // `labels`: a JSON object of string values, or null (no labels). kNotEquals
  // and kNotIn match when the key is absent, as in Kubernetes.
  bool Matches(const nlohmann::json& labels) const;
  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return reqs_.empty(); }
  const std::vector<Requirement>& requirements() const { return reqs_; }
  // The canonical string form ("app=web,tier in (a,b)"): requirements sorted
  // by key, values sorted, `==` written as `=`. Parse(ToString()) round-trips.
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
  // Parses "a=b,c!=d" ("==" too). In values, "\,", "\=" and "\\" stand for a
  // comma, an equals sign and a backslash. Terms are kept sorted and empty
  // terms skipped, so "" selects everything. Errors are INVALID_ARGUMENT with
  // the API server's wording.
  static absl::StatusOr<FieldSelector> Parse(absl::string_view text);

  // `lookup` gives a field's value, or nullopt when the resource does not
  // support that field (then Matches is false).
  using Lookup = std::function<std::optional<std::string>(absl::string_view field)>;
  bool Matches(const Lookup& lookup) const;
  bool Empty() const { return reqs_.empty(); }
  const std::vector<Requirement>& requirements() const { return reqs_; }
  // "a=b,c!=d", values escaped again.
  std::string ToString() const;

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace herd::k8s

#endif  // HERD_COMMON_K8S_SELECTOR_H_
