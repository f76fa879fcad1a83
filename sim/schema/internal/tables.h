// The tables behind schema.h, one file per API group family, and the notes
// (descriptions, list semantics, enums) that OpenAPI adds to them.
#ifndef HERD_SIM_SCHEMA_INTERNAL_TABLES_H_
#define HERD_SIM_SCHEMA_INTERNAL_TABLES_H_

#include <cstdint>

#include "absl/types/span.h"
#include "sim/schema/schema.h"

namespace herd::sim::schema::internal {

// Short names the tables use for field kinds and flags.
constexpr Kind S = Kind::kString;
constexpr Kind B = Kind::kBool;
constexpr Kind I32 = Kind::kInt32;
constexpr Kind I64 = Kind::kInt64;
constexpr Kind Y = Kind::kBytes;
constexpr Kind T = Kind::kTime;
constexpr Kind MT = Kind::kMicroTime;
constexpr Kind IOS = Kind::kIntOrString;
constexpr Kind Q = Kind::kQuantity;
constexpr Kind RAW = Kind::kRawJson;
constexpr uint8_t R = kRepeated;
constexpr uint8_t MAP = kMap;
constexpr uint8_t K = kKeepZero;
constexpr uint8_t IN = kInline;

absl::Span<const Message> MetaMessages();
absl::Span<const Message> CoreMessages();
absl::Span<const Message> AppsMessages();  // apps, batch, policy, coordination, autoscaling
absl::Span<const Message> AuthMessages();  // rbac, authorization, authentication, autoscaling/v1 HPA

struct FieldNote {
  const char* message;  // short name
  const char* field;    // JSON name
  FieldSemantics semantics;
};
absl::Span<const FieldNote> FieldNotes();

struct MessageNote {
  const char* message;
  MessageSemantics semantics;
};
absl::Span<const MessageNote> MessageNotes();

}  // namespace herd::sim::schema::internal

#endif  // HERD_SIM_SCHEMA_INTERNAL_TABLES_H_
