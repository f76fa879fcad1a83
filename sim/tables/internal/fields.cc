#include "sim/tables/internal/fields.h"

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/k8s/selector.h"
#include "common/k8s/time.h"

namespace herd::sim::tables_internal {

using nlohmann::json;

const json* Find(const json& obj, Path path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

bool Has(const json& obj, Path path) { return Find(obj, path) != nullptr; }

std::string Str(const json& obj, Path path) {
  const json* v = Find(obj, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t Int(const json& obj, Path path, int64_t def) { return OptInt(obj, path).value_or(def); }

std::optional<int64_t> OptInt(const json& obj, Path path) {
  const json* v = Find(obj, path);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) return static_cast<int64_t>(v->get<double>());
  return std::nullopt;
}

std::optional<bool> OptBool(const json& obj, Path path) {
  const json* v = Find(obj, path);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

const json& Array(const json& obj, Path path) {
  static const json* const kEmpty = new json(json::array());
  const json* v = Find(obj, path);
  return v != nullptr && v->is_array() ? *v : *kEmpty;
}

int64_t Size(const json& obj, Path path) {
  const json* v = Find(obj, path);
  if (v == nullptr || !(v->is_object() || v->is_array())) return 0;
  return static_cast<int64_t>(v->size());
}

std::optional<absl::Time> Time(const json& obj, Path path) {
  const json* v = Find(obj, path);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  absl::StatusOr<absl::Time> t = k8s::ParseTime(v->get<std::string>());
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::string Since(const std::optional<absl::Time>& t, absl::Time now) {
  if (!t.has_value()) return "<unknown>";
  return k8s::HumanDuration(now - *t);
}

std::string Age(const json& obj, absl::Time now) { return Since(Time(obj, {"metadata", "creationTimestamp"}), now); }

ContainerCells Containers(const json& containers) {
  ContainerCells out;
  if (!containers.is_array()) return out;
  bool first = true;
  for (const json& c : containers) {
    if (!first) {
      out.names.push_back(',');
      out.images.push_back(',');
    }
    first = false;
    absl::StrAppend(&out.names, Str(c, {"name"}));
    absl::StrAppend(&out.images, Str(c, {"image"}));
  }
  return out;
}

namespace {

absl::StatusOr<std::string> SelectorString(const json* selector) {
  absl::StatusOr<k8s::LabelSelector> sel = k8s::LabelSelector::FromJson(selector != nullptr ? *selector : json());
  if (!sel.ok()) return sel.status();
  return sel->ToString();
}

}  // namespace

std::string FormatLabelSelector(const json* selector) {
  absl::StatusOr<std::string> s = SelectorString(selector);
  if (!s.ok()) return "<error>";
  return s->empty() ? "<none>" : *s;
}

std::string LabelSelectorString(const json* selector) {
  absl::StatusOr<std::string> s = SelectorString(selector);
  return s.ok() ? *s : "<invalid>";
}

std::string FormatLabels(const json* labels) {
  if (labels == nullptr || !labels->is_object() || labels->empty()) return "<none>";
  // Go sorts the keys; nlohmann::json objects already iterate in key order,
  // but the order is spelled out here so a switch to ordered_json keeps it.
  std::map<std::string, std::string> sorted;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    sorted[it.key()] = it.value().is_string() ? it.value().get<std::string>() : std::string();
  }
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

std::string IntOrString(const json& value) {
  if (value.is_number_integer()) return absl::StrCat(value.get<int64_t>());
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return absl::StrCat(static_cast<int64_t>(value.get<double>()));
  return "";
}

std::string Quantity(const json* value) {
  if (value == nullptr) return "<nil>";
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number_integer()) return absl::StrCat(value->get<int64_t>());
  if (value->is_number_float()) return absl::StrCat(value->get<double>());
  return "<nil>";
}

}  // namespace herd::sim::tables_internal
