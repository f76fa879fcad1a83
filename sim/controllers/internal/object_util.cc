#include "sim/controllers/internal/object_util.h"

#include "common/k8s/time.h"

namespace herd::sim::internal {

const Json& Field(const Json& obj, const char* key) {
  static const Json* const kNull = new Json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it == obj.end() ? *kNull : *it;
}

int64_t Int(const Json& obj, const char* key, int64_t def) {
  const Json& v = Field(obj, key);
  return v.is_number_integer() ? v.get<int64_t>() : def;
}

std::string Str(const Json& obj, const char* key) {
  const Json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string Uid(const Json& obj) { return Str(Field(obj, "metadata"), "uid"); }

bool Deleting(const Json& obj) {
  const Json& ts = Field(Field(obj, "metadata"), "deletionTimestamp");
  return ts.is_string() && !ts.get<std::string>().empty();
}

bool HasFinalizer(const Json& obj, const std::string& finalizer) {
  const Json& list = Field(Field(obj, "metadata"), "finalizers");
  if (!list.is_array()) return false;
  for (const auto& f : list) {
    if (f.is_string() && f.get<std::string>() == finalizer) return true;
  }
  return false;
}

bool RemoveFinalizer(Json& obj, const std::string& finalizer) {
  if (!HasFinalizer(obj, finalizer)) return false;
  Json& meta = obj["metadata"];
  Json kept = Json::array();
  for (const auto& f : meta["finalizers"]) {
    if (!(f.is_string() && f.get<std::string>() == finalizer)) kept.push_back(f);
  }
  if (kept.empty()) {
    meta.erase("finalizers");
  } else {
    meta["finalizers"] = std::move(kept);
  }
  return true;
}

const Json* FindCondition(const Json& status, const std::string& type) {
  const Json& conds = Field(status, "conditions");
  if (!conds.is_array()) return nullptr;
  for (const auto& c : conds) {
    if (Str(c, "type") == type) return &c;
  }
  return nullptr;
}

bool ConditionTrue(const Json& status, const std::string& type) {
  const Json* c = FindCondition(status, type);
  return c && Str(*c, "status") == "True";
}

absl::Time TimeField(const Json& obj, const char* key) {
  const Json& v = Field(obj, key);
  if (!v.is_string()) return absl::InfinitePast();
  auto t = k8s::ParseTime(v.get<std::string>());
  return t.ok() ? *t : absl::InfinitePast();
}

}  // namespace herd::sim::internal
