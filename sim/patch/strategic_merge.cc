// Strategic merge patch, following k8s.io/apimachinery/pkg/util/strategicpatch
// (StrategicMergeMapPatch: parallel lists merged, unmatched nulls dropped).
//
// Where the Go code copies a patch value into the result untouched (a field
// the live object lacks, an element appended to a list, a list without merge
// strategy), the API server then decodes the result into a typed object,
// which drops directive keys and nulls. Here such values go through the same
// merge against an empty value instead, which gives the decoded result while
// keeping the object plain JSON.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "sim/patch/internal/patch_meta.h"
#include "sim/patch/patch.h"

namespace herd::sim {
namespace {

using json = nlohmann::json;
using patch_internal::FieldMeta;
using patch_internal::TypeMeta;

constexpr char kDirectiveMarker[] = "$patch";
constexpr char kDeleteDirective[] = "delete";
constexpr char kReplaceDirective[] = "replace";
constexpr char kMergeDirective[] = "merge";
constexpr char kRetainKeysDirective[] = "$retainKeys";
constexpr char kDeleteFromPrimitiveListPrefix[] = "$deleteFromPrimitiveList";
constexpr char kSetElementOrderPrefix[] = "$setElementOrder";

// The upstream error texts (k8s.io/apimachinery/pkg/util/mergepatch).
constexpr char kBadPatchFormatForPrimitiveList[] = "invalid patch format of primitive list";
constexpr char kBadPatchFormatForRetainKeys[] = "invalid patch format of retainKeys";
constexpr char kBadPatchFormatForSetElementOrderList[] = "invalid patch format of setElementOrder list";
constexpr char kNoListOfLists[] = "lists of lists are not supported";

absl::Status Invalid(absl::string_view msg) { return absl::InvalidArgumentError(msg); }

// Values in messages are shown as compact JSON where Go prints its %v.
std::string Render(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// The Go type a JSON value decodes to, for messages worded like Go's.
const char* GoTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "map[string]interface {}";
    case json::value_t::array: return "[]interface {}";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "bool";
    case json::value_t::null: return "<nil>";
    default: return "float64";
  }
}

absl::Status BadArgType(const char* expected, const json& actual) {
  return Invalid(absl::StrCat("expected a ", expected, ", but received a ", GoTypeName(actual)));
}

absl::Status NoMergeKey(const json& m, absl::string_view key) {
  return Invalid(absl::StrCat("map: ", Render(m), " does not contain declared merge key: ", key));
}

absl::Status BadPatchType(const json& type, const json& m) {
  return Invalid(absl::StrCat("unknown patch type: ", type.is_string() ? type.get<std::string>() : Render(type),
                              " in map: ", Render(m)));
}

// Like Go's reflect type equality on decoded JSON: every number is a float64.
bool SameType(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return true;
  return a.type() == b.type();
}

enum class ElementKind { kObject, kScalar };

// sliceElementType: all elements of all lists share one type, and none is a
// list.
absl::StatusOr<ElementKind> ListElementKind(std::initializer_list<const json*> lists) {
  const json* first = nullptr;
  for (const json* list : lists) {
    for (const json& v : *list) {
      if (first == nullptr) {
        if (v.is_array()) return Invalid(kNoListOfLists);
        first = &v;
      } else if (!SameType(*first, v)) {
        json all = json::array();
        for (const json* l : lists) all.push_back(*l);
        return Invalid(absl::StrCat("list element types are not identical: ", Render(all)));
      }
    }
  }
  if (first == nullptr) return Invalid("no elements in any of the given slices");
  return first->is_object() ? ElementKind::kObject : ElementKind::kScalar;
}

bool HasDirectiveMarker(const json& v) { return v.is_object() && v.contains(kDirectiveMarker); }

bool IsDeleteDirective(const json& v) {
  if (!v.is_object()) return false;
  auto it = v.find(kDirectiveMarker);
  return it != v.end() && *it == kDeleteDirective;
}

// The merge key's value, or null when absent (Go's m[key] on a missing key).
const json& MergeKeyValue(const json& item, absl::string_view merge_key) {
  static const json* const kNull = new json(nullptr);
  if (!item.is_object()) return *kNull;
  auto it = item.find(merge_key);
  return it == item.end() ? *kNull : *it;
}

// index(): position of `item` in `list`, comparing merge key values for
// objects and whole values for scalars; -1 when absent.
int64_t IndexOf(const json& list, const json& item, absl::string_view merge_key, ElementKind kind) {
  for (size_t i = 0; i < list.size(); ++i) {
    const bool equal = kind == ElementKind::kObject ? MergeKeyValue(list[i], merge_key) == MergeKeyValue(item, merge_key)
                                                    : list[i] == item;
    if (equal) return static_cast<int64_t>(i);
  }
  return -1;
}

absl::Status ValidateMergeKeys(absl::string_view merge_key, std::initializer_list<const json*> lists) {
  for (const json* list : lists) {
    for (const json& item : *list) {
      if (!item.is_object()) return BadArgType("map[string]interface {}", item);
      if (!item.contains(merge_key)) return NoMergeKey(item, merge_key);
    }
  }
  return absl::OkStatus();
}

// normalizeSliceOrder: sorts `to_sort` by the positions of its items in
// `order`, stably; items marked for deletion go last.
absl::StatusOr<json> NormalizeSliceOrder(json to_sort, const json& order, absl::string_view merge_key, ElementKind kind) {
  std::vector<json> deletions;
  if (kind == ElementKind::kObject) {
    if (absl::Status s = ValidateMergeKeys(merge_key, {&to_sort, &order}); !s.ok()) return s;
    json kept = json::array();
    for (json& v : to_sort) {
      if (IsDeleteDirective(v)) {
        deletions.push_back(std::move(v));
      } else {
        kept.push_back(std::move(v));
      }
    }
    to_sort = std::move(kept);
  }
  // Items missing from `order` keep their place after the others (Go's
  // comparator is not a strict weak order for them; this is).
  std::vector<std::pair<int64_t, json>> keyed;
  keyed.reserve(to_sort.size());
  for (json& v : to_sort) {
    int64_t i = IndexOf(order, v, merge_key, kind);
    keyed.emplace_back(i < 0 ? INT64_MAX : i, std::move(v));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json out = json::array();
  for (auto& [unused, v] : keyed) out.push_back(std::move(v));
  for (json& v : deletions) out.push_back(std::move(v));
  return out;
}

// mergeSortedSlice: interleaves two lists already in order, keeping the
// relative order of each. An item of `left` goes first only when both items
// are in `server_order` and it is earlier there, so items new to the server
// come as soon as they are reached.
json MergeSortedSlice(json left, json right, const json& server_order, absl::string_view merge_key, ElementKind kind) {
  json out = json::array();
  size_t i = 0, j = 0;
  while (i < left.size() || j < right.size()) {
    if (i >= left.size()) {
      out.push_back(std::move(right[j++]));
    } else if (j >= right.size()) {
      out.push_back(std::move(left[i++]));
    } else {
      const int64_t li = IndexOf(server_order, left[i], merge_key, kind);
      const int64_t ri = IndexOf(server_order, right[j], merge_key, kind);
      if (li >= 0 && ri >= 0 && li < ri) {
        out.push_back(std::move(left[i++]));
      } else {
        out.push_back(std::move(right[j++]));
      }
    }
  }
  return out;
}

// normalizeElementOrder: patch items in patch order, server-only items in
// server order, then both interleaved.
absl::StatusOr<json> NormalizeElementOrder(json patch_items, json server_only, const json& patch_order,
                                           const json& server_order, absl::string_view merge_key, ElementKind kind) {
  absl::StatusOr<json> p = NormalizeSliceOrder(std::move(patch_items), patch_order, merge_key, kind);
  if (!p.ok()) return p.status();
  absl::StatusOr<json> s = NormalizeSliceOrder(std::move(server_only), server_order, merge_key, kind);
  if (!s.ok()) return s.status();
  return MergeSortedSlice(*std::move(s), *std::move(p), server_order, merge_key, kind);
}

// Splits `merged` into the items present in `by` (by merge key for objects,
// by value for primitives) and the rest.
absl::Status Partition(json merged, const json& by, absl::string_view merge_key, json* in_by, json* rest) {
  *in_by = json::array();
  *rest = json::array();
  for (json& v : merged) {
    bool found;
    if (merge_key.empty()) {
      found = std::find(by.begin(), by.end(), v) != by.end();
    } else {
      if (!v.is_object()) return BadArgType("map[string]interface {}", v);
      auto key = v.find(merge_key);
      if (key == v.end()) return NoMergeKey(v, merge_key);
      found = std::any_of(by.begin(), by.end(), [&](const json& b) {
        if (!b.is_object()) return false;
        auto bk = b.find(merge_key);
        return bk != b.end() && *bk == *key;
      });
    }
    (found ? in_by : rest)->push_back(std::move(v));
  }
  return absl::OkStatus();
}

// "$setElementOrder/containers" -> "containers".
absl::StatusOr<std::string> ExtractKey(absl::string_view s, absl::string_view prefix) {
  const size_t slash = s.find('/');
  if (slash == absl::string_view::npos || s.substr(0, slash) != prefix) {
    if (prefix == kDeleteFromPrimitiveListPrefix) return Invalid(kBadPatchFormatForPrimitiveList);
    return Invalid(kBadPatchFormatForSetElementOrderList);
  }
  return std::string(s.substr(slash + 1));
}

const TypeMeta* TypeOf(const FieldMeta* meta) { return meta == nullptr ? nullptr : meta->type; }

class StrategicMerger {
 public:
  // mergeMap: merges `patch` (an object) into `original`.
  absl::StatusOr<json> MergeMap(json original, json patch, const TypeMeta* type) {
    if (auto it = patch.find(kDirectiveMarker); it != patch.end()) {
      if (*it == kReplaceDirective) {
        patch.erase(it);
        return MergeMap(json::object(), std::move(patch), type);
      }
      if (*it == kDeleteDirective) return json::object();
      return BadPatchType(*it, patch);
    }
    if (!original.is_object()) original = json::object();

    if (absl::Status s = ApplyRetainKeys(original, patch); !s.ok()) return s;
    if (absl::Status s = MergeSetElementOrder(original, patch, type); !s.ok()) return s;

    for (auto& [patch_key, patch_value] : patch.items()) {
      std::string key = patch_key;
      bool is_delete_list = false;
      if (absl::StartsWith(key, kDeleteFromPrimitiveListPrefix)) {
        absl::StatusOr<std::string> k = ExtractKey(key, kDeleteFromPrimitiveListPrefix);
        if (!k.ok()) return k.status();
        key = *std::move(k);
        is_delete_list = true;
      }
      // A null deletes the field; one with nothing to delete is dropped.
      if (patch_value.is_null()) {
        original.erase(key);
        continue;
      }
      const FieldMeta* meta = type == nullptr ? nullptr : type->Field(key);
      auto orig = original.find(key);
      if (orig == original.end() || !SameType(*orig, patch_value)) {
        if (is_delete_list) continue;
        absl::StatusOr<json> v = NewValue(std::move(patch_value), meta);
        if (!v.ok()) return v.status();
        original[key] = *std::move(v);
        continue;
      }
      absl::StatusOr<json> merged;
      if (patch_value.is_object()) {
        merged = meta != nullptr && meta->replace ? NewValue(std::move(patch_value), meta)
                                                  : MergeMap(std::move(*orig), std::move(patch_value), TypeOf(meta));
      } else if (patch_value.is_array()) {
        if (is_delete_list) {
          merged = DeleteFromPrimitiveList(std::move(*orig), patch_value);
        } else if (meta != nullptr && meta->merge) {
          merged = MergeList(std::move(*orig), std::move(patch_value), *meta);
        } else {
          merged = NewValue(std::move(patch_value), meta);
        }
      } else {
        merged = std::move(patch_value);
      }
      if (!merged.ok()) return merged.status();
      original[key] = *std::move(merged);
    }
    return original;
  }

 private:
  // A patch value with nothing to merge into, as the API server would store
  // it: directives applied, nulls dropped.
  absl::StatusOr<json> NewValue(json v, const FieldMeta* meta) {
    if (v.is_object()) return MergeMap(json::object(), std::move(v), TypeOf(meta));
    if (!v.is_array()) return v;
    if (meta != nullptr && meta->merge) return MergeList(json::array(), std::move(v), *meta);
    for (json& item : v) {
      if (!item.is_object()) continue;
      absl::StatusOr<json> clean = MergeMap(json::object(), std::move(item), TypeOf(meta));
      if (!clean.ok()) return clean.status();
      item = *std::move(clean);
    }
    return v;
  }

  // applyRetainKeysDirective: fields of `original` not listed are cleared,
  // and the patch may only set listed fields.
  static absl::Status ApplyRetainKeys(json& original, json& patch) {
    auto it = patch.find(kRetainKeysDirective);
    if (it == patch.end()) return absl::OkStatus();
    const json retain = std::move(*it);
    patch.erase(it);
    if (!retain.is_array()) return Invalid(kBadPatchFormatForRetainKeys);
    std::set<std::string, std::less<>> keep;
    for (const json& k : retain) {
      if (k.is_string()) keep.insert(k.get<std::string>());
    }
    for (const auto& [k, v] : patch.items()) {
      if (v.is_null() || absl::StartsWith(k, kDeleteFromPrimitiveListPrefix) ||
          absl::StartsWith(k, kSetElementOrderPrefix)) {
        continue;
      }
      if (keep.count(k) == 0) return Invalid(kBadPatchFormatForRetainKeys);
    }
    for (auto o = original.begin(); o != original.end();) {
      if (keep.count(o.key()) == 0) {
        o = original.erase(o);
      } else {
        ++o;
      }
    }
    return absl::OkStatus();
  }

  // validatePatchWithSetOrderList: the patch list's items must appear in the
  // $setElementOrder list, in the same relative order.
  static absl::Status ValidatePatchWithSetOrderList(const json& patch_list, const json& set_order,
                                                    absl::string_view merge_key) {
    if (set_order.empty() || patch_list.empty()) return absl::OkStatus();
    std::vector<const json*> items;
    for (const json& v : patch_list) {
      if (!merge_key.empty()) {
        if (!v.is_object()) return BadArgType("map[string]interface {}", v);
        if (IsDeleteDirective(v)) continue;
      }
      items.push_back(&v);
    }
    size_t p = 0, s = 0;
    while (p < items.size() && s < set_order.size()) {
      if (HasDirectiveMarker(*items[p])) {
        ++p;
        continue;
      }
      bool equal;
      if (merge_key.empty()) {
        equal = *items[p] == set_order[s];
      } else {
        const json& left = *items[p];
        const json& right = set_order[s];
        if (!right.is_object()) return BadArgType("map[string]interface {}", right);
        if (!left.contains(merge_key)) return NoMergeKey(left, merge_key);
        if (!right.contains(merge_key)) return NoMergeKey(right, merge_key);
        equal = *left.find(merge_key) == *right.find(merge_key);
      }
      if (equal) ++p;
      ++s;
    }
    if (p < items.size()) {
      return Invalid(absl::StrCat("The order in patch list:\n", Render(patch_list), "\n doesn't match ",
                                  kSetElementOrderPrefix, " list:\n", Render(set_order), "\n"));
    }
    return absl::OkStatus();
  }

  // mergePatchIntoOriginal: each $setElementOrder/<list> merges <list> and
  // then orders it: $setElementOrder first, then the patch, then the server.
  absl::Status MergeSetElementOrder(json& original, json& patch, const TypeMeta* type) {
    std::vector<std::string> directives;
    for (const auto& [k, unused] : patch.items()) {
      if (absl::StartsWith(k, kSetElementOrderPrefix)) directives.push_back(k);
    }
    for (const std::string& directive : directives) {
      json set_order = std::move(patch[directive]);
      patch.erase(directive);
      if (!set_order.is_array()) return BadArgType("[]interface {}", set_order);
      absl::StatusOr<std::string> key = ExtractKey(directive, kSetElementOrderPrefix);
      if (!key.ok()) return key.status();

      auto orig = original.find(*key);
      auto in_patch = patch.find(*key);
      const bool found_original = orig != original.end();
      const bool found_patch = in_patch != patch.end();
      if (found_original && !orig->is_array()) return BadArgType("[]interface {}", *orig);
      if (found_patch && !in_patch->is_array()) return BadArgType("[]interface {}", *in_patch);
      if (!found_original && !found_patch) continue;

      const FieldMeta* meta = type == nullptr ? nullptr : type->Field(*key);
      const std::string merge_key = meta == nullptr ? "" : meta->merge_key;
      const json original_list = found_original ? *orig : json::array();
      json patch_list = found_patch ? std::move(*in_patch) : json::array();
      if (found_patch) patch.erase(in_patch);
      if (absl::Status s = ValidatePatchWithSetOrderList(patch_list, set_order, merge_key); !s.ok()) return s;

      absl::StatusOr<json> merged;
      if (!found_patch) {
        merged = original_list;
      } else if (meta != nullptr && meta->merge) {
        merged = MergeList(original_list, std::move(patch_list), *meta);
      } else {
        merged = NewValue(std::move(patch_list), meta);
      }
      if (!merged.ok()) return merged.status();
      if (merged->empty()) {
        original[*key] = *std::move(merged);
        continue;
      }
      absl::StatusOr<ElementKind> kind = ListElementKind({&*merged});
      if (!kind.ok()) return kind.status();
      json patch_items, server_only;
      if (absl::Status s = Partition(*std::move(merged), set_order, merge_key, &patch_items, &server_only); !s.ok()) {
        return s;
      }
      absl::StatusOr<json> ordered = NormalizeElementOrder(std::move(patch_items), std::move(server_only), set_order,
                                                           original_list, merge_key, *kind);
      if (!ordered.ok()) return ordered.status();
      original[*key] = *std::move(ordered);
    }
    return absl::OkStatus();
  }

  // mergeSlice for a list with patchStrategy "merge".
  absl::StatusOr<json> MergeList(json original, json patch, const FieldMeta& meta) {
    if (original.empty() && patch.empty()) return original;
    absl::StatusOr<ElementKind> kind = ListElementKind({&original, &patch});
    if (!kind.ok()) return kind.status();
    const std::string& merge_key = meta.merge_key;

    json merged;
    if (*kind == ElementKind::kScalar) {
      // A set union; duplicates go, first occurrences stay.
      merged = json::array();
      for (const json* list : {&original, &patch}) {
        for (const json& v : *list) {
          if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
        }
      }
    } else {
      if (merge_key.empty()) {
        return Invalid(absl::StrCat("cannot merge lists without merge key for ",
                                    meta.type == nullptr ? "<unknown>" : meta.type->name));
      }
      // mergeSliceWithSpecialElements: $patch elements delete by key or
      // replace the whole list.
      json rest = json::array();
      bool replace = false;
      for (json& v : patch) {
        auto directive = v.find(kDirectiveMarker);
        if (directive == v.end()) {
          rest.push_back(std::move(v));
        } else if (*directive == kDeleteDirective) {
          auto value = v.find(merge_key);
          if (value == v.end()) return NoMergeKey(v, merge_key);
          // Every element with that key goes, duplicates included.
          json kept = json::array();
          for (json& o : original) {
            auto ov = o.find(merge_key);
            if (ov == o.end() || *ov != *value) kept.push_back(std::move(o));
          }
          original = std::move(kept);
        } else if (*directive == kReplaceDirective) {
          replace = true;
        } else if (*directive == kMergeDirective) {
          return Invalid("merging lists cannot yet be specified in the patch");
        } else {
          return BadPatchType(*directive, v);
        }
      }
      if (replace) {
        for (json& v : rest) {
          absl::StatusOr<json> clean = MergeMap(json::object(), std::move(v), meta.type);
          if (!clean.ok()) return clean.status();
          v = *std::move(clean);
        }
        original = std::move(rest);
        patch = json::array();
      } else {
        patch = std::move(rest);
      }

      // mergeSliceWithoutSpecialElements: same key merges, new keys append.
      merged = original;
      for (const json& v : patch) {
        auto value = v.find(merge_key);
        if (value == v.end()) return NoMergeKey(v, merge_key);
        std::optional<size_t> found;
        for (size_t i = 0; i < merged.size(); ++i) {
          auto mv = merged[i].find(merge_key);
          if (mv != merged[i].end() && *mv == *value) {
            found = i;
            break;
          }
        }
        absl::StatusOr<json> item =
            found.has_value() ? MergeMap(std::move(merged[*found]), v, meta.type) : MergeMap(json::object(), v, meta.type);
        if (!item.ok()) return item.status();
        if (found.has_value()) {
          merged[*found] = *std::move(item);
        } else {
          merged.push_back(*std::move(item));
        }
      }
    }

    const std::string partition_key = *kind == ElementKind::kObject ? merge_key : "";
    json patch_items, server_only;
    if (absl::Status s = Partition(std::move(merged), patch, partition_key, &patch_items, &server_only); !s.ok()) {
      return s;
    }
    return NormalizeElementOrder(std::move(patch_items), std::move(server_only), patch, original, partition_key, *kind);
  }

  // $deleteFromPrimitiveList/<list>: removes every listed value.
  static absl::StatusOr<json> DeleteFromPrimitiveList(json original, const json& to_delete) {
    if (original.empty() || to_delete.empty()) return original;
    absl::StatusOr<ElementKind> kind = ListElementKind({&original, &to_delete});
    if (!kind.ok()) return kind.status();
    if (*kind != ElementKind::kScalar) return Invalid(kBadPatchFormatForPrimitiveList);
    json kept = json::array();
    for (json& v : original) {
      if (std::find(to_delete.begin(), to_delete.end(), v) == to_delete.end()) kept.push_back(std::move(v));
    }
    return kept;
  }
};

const char* JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "bool";
    default: return "number";
  }
}

}  // namespace

absl::StatusOr<json> ApplyStrategicMergePatch(const json& original, const json& patch, absl::string_view kind) {
  // JSON null decodes to an empty patch.
  if (patch.is_null()) return original;
  if (!patch.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("json: cannot unmarshal ", JsonTypeName(patch), " into Go value of type map[string]interface {}"));
  }
  if (!original.is_object()) return absl::InvalidArgumentError("invalid JSON document: the object must be a JSON object");
  return StrategicMerger().MergeMap(original, patch, patch_internal::TypeMetaForKind(kind));
}

}  // namespace herd::sim
