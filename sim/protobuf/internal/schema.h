// The wire contract of the Kubernetes API types kubesim decodes from
// protobuf: for each message, its fields by number with the JSON name and
// shape the API server's JSON encoding gives them.
//
//   const Message* spec = FindMessage("core.v1.PodSpec");
//   const Field* f = spec->Find(2);   // {2, "containers", "core.v1.Container", kRepeated}
//
// Numbers and names follow upstream's generated.proto files
// (k8s.io/api/<group>/<version>, k8s.io/apimachinery/pkg/apis/meta/v1);
// which zero values are kept follows the Go types (pointer fields and fields
// without omitempty keep them). The table is constant and thread-safe.
#ifndef HERD_SIM_PROTOBUF_INTERNAL_SCHEMA_H_
#define HERD_SIM_PROTOBUF_INTERNAL_SCHEMA_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace herd::sim::protobuf_internal {

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
};

struct Message {
  // Short name: "core.v1.PodSpec", "apps.v1.Deployment", "meta.v1.ObjectMeta".
  const char* name;
  std::initializer_list<Field> fields;

  const Field* Find(uint32_t number) const;
};

// A message by short name, or nullptr.
const Message* FindMessage(absl::string_view name);

// Every message in the table (for consistency checks).
absl::Span<const Message> AllMessages();

// The protobuf full name of a short name: "k8s.io.api.core.v1.PodSpec",
// "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta".
std::string FullName(absl::string_view name);

// The top-level message for an object's apiVersion and kind, or nullptr.
// DeleteOptions is accepted under any apiVersion: clients register it in
// every group version.
const Message* FindKind(absl::string_view api_version, absl::string_view kind);

}  // namespace herd::sim::protobuf_internal

#endif  // HERD_SIM_PROTOBUF_INTERNAL_SCHEMA_H_
