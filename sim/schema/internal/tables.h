// The tables behind schema.h, one file per API group family, and the notes
// (descriptions, list semantics, enums) that OpenAPI adds to them.
#ifndef HERD_SIM_SCHEMA_INTERNAL_TABLES_H_
#define HERD_SIM_SCHEMA_INTERNAL_TABLES_H_

#include "absl/types/span.h"
#include "sim/schema/schema.h"

namespace herd::sim::schema::internal {

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
