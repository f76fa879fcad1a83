// Small readers and editors of API objects (as JSON) that the controllers
// share: typed field access without copies, finalizers, conditions.
//
//   int64_t replicas = internal::Int(internal::Field(sts, "spec"), "replicas", 1);
//   if (internal::Deleting(obj) && internal::HasFinalizer(obj, "orphan")) { … }
#ifndef HERD_SIM_CONTROLLERS_INTERNAL_OBJECT_UTIL_H_
#define HERD_SIM_CONTROLLERS_INTERNAL_OBJECT_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace herd::sim::internal {

using Json = nlohmann::json;

// obj[key], or a null when `obj` is not an object or lacks `key`; never copies.
const Json& Field(const Json& obj, const char* key);
// An integer field, or `def` when absent or not an integer.
int64_t Int(const Json& obj, const char* key, int64_t def = 0);
// A string field, or "" when absent or not a string.
std::string Str(const Json& obj, const char* key);

std::string Uid(const Json& obj);
// metadata.deletionTimestamp is set.
bool Deleting(const Json& obj);
bool HasFinalizer(const Json& obj, const std::string& finalizer);
// Removes `finalizer` from metadata.finalizers, dropping the list when it
// empties (Go's omitempty); true when it was there.
bool RemoveFinalizer(Json& obj, const std::string& finalizer);

// The condition of `type` in status.conditions, or null.
const Json* FindCondition(const Json& status, const std::string& type);
bool ConditionTrue(const Json& status, const std::string& type);

// A time field parsed, or InfinitePast when absent or malformed.
absl::Time TimeField(const Json& obj, const char* key);

}  // namespace herd::sim::internal

#endif  // HERD_SIM_CONTROLLERS_INTERNAL_OBJECT_UTIL_H_
