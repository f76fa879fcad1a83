// The one description of the Kubernetes API types kubesim serves: every
// message with its fields (protobuf number, JSON name, shape), what the
// OpenAPI documents say about them (descriptions, enums, list and map
// semantics, required fields) and which message each apiVersion/kind is.
// The protobuf decoder, the OpenAPI documents (v2 JSON and protobuf, v3,
// hence `kubectl explain` and client-side validation) and the server's
// field validation (unknown fields) all read it, so they cannot disagree.
//
//   const Message* spec = FindMessage("core.v1.PodSpec");
//   const Field* f = spec->Find(2);              // {2, "containers", "core.v1.Container", kRepeated}
//   const Field* c = FindJsonField(*spec, "containers");
//   Semantics(*spec, *c).map_keys;               // "name"
//   FindKind("apps/v1", "Deployment")->name;     // "apps.v1.Deployment"
//
// Numbers and names follow upstream's generated.proto files
// (k8s.io/api/<group>/<version>, k8s.io/apimachinery/pkg/apis/meta/v1);
// which zero values are kept follows the Go types (pointer fields and fields
// without omitempty keep them). Everything is constant and thread-safe.
#ifndef HERD_SIM_SCHEMA_SCHEMA_H_
#define HERD_SIM_SCHEMA_SCHEMA_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace herd::sim::schema {

enum class Kind : uint8_t {
  kString,
  kBool,
  kInt32,
  kInt64,
  kDouble,
  kBytes,        // base64 in JSON
  kMessage,      // Field::message names it
  kTime,         // metav1.Time: RFC 3339 seconds, null when zero
  kMicroTime,    // metav1.MicroTime: RFC 3339 with microseconds
  kDuration,     // metav1.Duration: Go duration string ("1m30s")
  kIntOrString,  // intstr.IntOrString: a number or a string
  kQuantity,     // resource.Quantity: its string
  kRawJson,      // runtime.RawExtension, metav1.FieldsV1: embedded JSON
};

// Field flags.
inline constexpr uint8_t kRepeated = 1;
// map<string, V>: the field's kind is the kind of V.
inline constexpr uint8_t kMap = 2;
// A scalar whose zero value is still shown: Go pointer fields (`replicas: 0`
// is not "unset") and fields without omitempty.
inline constexpr uint8_t kKeepZero = 4;
// A message whose fields are inlined into the parent's JSON object
// (`json:",inline"`, as VolumeSource in Volume).
inline constexpr uint8_t kInline = 8;

struct Field {
  constexpr Field(uint32_t n, const char* j, Kind k, uint8_t f = 0) : number(n), json(j), kind(k), flags(f) {}
  // A message-typed field (or a map whose values are messages, with kMap).
  constexpr Field(uint32_t n, const char* j, const char* m, uint8_t f = 0)
      : number(n), json(j), kind(Kind::kMessage), flags(f), message(m) {}

  uint32_t number;
  const char* json;  // "" for inline fields
  Kind kind;
  uint8_t flags = 0;
  const char* message = nullptr;  // short name of the message type, for kMessage

  bool repeated() const { return flags & kRepeated; }
  bool map() const { return flags & kMap; }
  bool inlined() const { return flags & kInline; }
};

struct Message {
  // Short name: "core.v1.PodSpec", "apps.v1.Deployment", "meta.v1.ObjectMeta".
  const char* name;
  std::initializer_list<Field> fields;

  // By protobuf number; nullptr when unknown.
  const Field* Find(uint32_t number) const;
};

// A message by short name, or nullptr.
const Message* FindMessage(absl::string_view name);

// Every message, in no particular order.
absl::Span<const Message* const> AllMessages();

// The field whose JSON name is `json`, looking through inline fields (a
// Volume's "configMap" is its inline VolumeSource's); nullptr when the
// message has none. `owner`, when given, receives the message that declares
// the field.
const Field* FindJsonField(const Message& m, absl::string_view json, const Message** owner = nullptr);

// How a list field merges, as x-kubernetes-list-type says (server-side
// apply) and patchStrategy says (strategic merge patch).
enum class ListType : uint8_t { kAtomic, kSet, kAssociative };

// What OpenAPI says about a field beyond its shape. Every member is empty
// (or false, or kAtomic) when nothing is said.
struct FieldSemantics {
  const char* description = "";
  // For repeated fields: kAssociative lists (listType map) are keyed by map_keys ("name",
  // "containerPort,protocol"); kSet lists hold unique scalars.
  ListType list_type = ListType::kAtomic;
  const char* map_keys = "";
  // x-kubernetes-patch-strategy ("merge", "retainKeys", "merge,retainKeys",
  // "replace") and x-kubernetes-patch-merge-key.
  const char* patch_strategy = "";
  const char* merge_key = "";
  // Allowed values, comma-separated ("Recreate,RollingUpdate").
  const char* enum_values = "";
  bool required = false;
};
const FieldSemantics& Semantics(const Message& m, const Field& f);

struct MessageSemantics {
  const char* description = "";
  // x-kubernetes-map-type: atomic: replaced as a whole by server-side apply.
  bool atomic = false;
};
const MessageSemantics& Semantics(const Message& m);

// A top-level kind: the message of an apiVersion and kind.
struct KindInfo {
  const char* api_version;  // "apps/v1", "v1"
  const char* kind;
  const char* message;
};
absl::Span<const KindInfo> Kinds();

// The top-level message for an object's apiVersion and kind, or nullptr.
// DeleteOptions is accepted under any apiVersion: clients register it in
// every group version.
const Message* FindKind(absl::string_view api_version, absl::string_view kind);

// The protobuf full name of a short name: "k8s.io.api.core.v1.PodSpec",
// "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta".
std::string FullName(absl::string_view name);
// The OpenAPI definition name: "io.k8s.api.core.v1.PodSpec",
// "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".
std::string DefinitionName(absl::string_view name);

}  // namespace herd::sim::schema

#endif  // HERD_SIM_SCHEMA_SCHEMA_H_
