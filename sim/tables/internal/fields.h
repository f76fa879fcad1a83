// Lenient reads of API objects held as JSON, and the small formatting rules
// upstream's printers share (ages, container lists, selectors). Stored
// objects have passed validation, but a missing or mistyped field must still
// render as the zero value, as it would after Go's decoding, never throw.
#ifndef HERD_SIM_TABLES_INTERNAL_FIELDS_H_
#define HERD_SIM_TABLES_INTERNAL_FIELDS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace herd::sim::tables_internal {

using Path = std::initializer_list<const char*>;

// The value at `path` below `obj`, or nullptr when a step is missing, null,
// or not an object. An empty path gives `obj` itself (nullptr when null).
const nlohmann::json* Find(const nlohmann::json& obj, Path path);
// Whether `path` holds a non-null value: how a Go pointer field reads as set.
bool Has(const nlohmann::json& obj, Path path);
// The string at `path`, or "" when absent or not a string.
std::string Str(const nlohmann::json& obj, Path path);
// The integer at `path`, or `def` when absent or not a number.
int64_t Int(const nlohmann::json& obj, Path path, int64_t def = 0);
// The integer at `path`, or nullopt when absent: an optional *int32 field.
std::optional<int64_t> OptInt(const nlohmann::json& obj, Path path);
// The boolean at `path`, or nullopt when absent or not a boolean.
std::optional<bool> OptBool(const nlohmann::json& obj, Path path);
// The array at `path`, or an empty array.
const nlohmann::json& Array(const nlohmann::json& obj, Path path);
// Number of members (object) or elements (array) at `path`; 0 otherwise.
int64_t Size(const nlohmann::json& obj, Path path);

// A timestamp at `path`, or nullopt when absent, null or unparseable (a zero
// metav1.Time).
std::optional<absl::Time> Time(const nlohmann::json& obj, Path path);
// translateTimestampSince: "<unknown>" for a zero time, else HumanDuration.
std::string Since(const std::optional<absl::Time>& t, absl::Time now);
// The AGE cell: time since metadata.creationTimestamp.
std::string Age(const nlohmann::json& obj, absl::Time now);

// layoutContainerCells: names and images of `containers`, comma-joined.
struct ContainerCells {
  std::string names;
  std::string images;
};
ContainerCells Containers(const nlohmann::json& containers);

// metav1.FormatLabelSelector: "<none>" when it selects everything (or is
// absent), "<error>" when it does not parse.
std::string FormatLabelSelector(const nlohmann::json* selector);
// LabelSelectorAsSelector(...).String(): "" when it selects everything,
// "<invalid>" when it does not parse (printDeployment's wording).
std::string LabelSelectorString(const nlohmann::json* selector);
// labels.FormatLabels: "k=v" sorted by key, comma-joined; "<none>" if empty.
std::string FormatLabels(const nlohmann::json* labels);

// intstr.IntOrString.String(): the integer in decimal or the string as is.
std::string IntOrString(const nlohmann::json& value);
// resource.Quantity.String() for a stored quantity; "<nil>" when absent, as
// Go prints a nil *Quantity. Stored quantities are printed as written.
std::string Quantity(const nlohmann::json* value);

}  // namespace herd::sim::tables_internal

#endif  // HERD_SIM_TABLES_INTERNAL_FIELDS_H_
