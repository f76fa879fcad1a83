// Server-side tables (meta.k8s.io/v1 Table): the columns and cells a v1.26
// API server sends when a client asks for `as=Table`, which `kubectl get`
// prints as they are. One definition per served kind, following upstream's
// printers (pkg/printers/internalversion).
//
//   Json cols = TableColumns(kPods);                  // columnDefinitions
//   Json cells = TableCells(kPods, pod, absl::Now());  // one row's cells
#ifndef HERD_SIM_TABLES_TABLES_H_
#define HERD_SIM_TABLES_TABLES_H_

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "sim/resources.h"

namespace herd::sim {

// The columnDefinitions array for `r`: name, type, format, description,
// priority (0: always shown, 1: only with -o wide).
const nlohmann::json& TableColumns(ResourceId r);

// The cells of `object`'s row, one per column, as upstream renders them
// (strings, or integers where upstream uses int64 cells). `now` is the
// time ages are measured against.
nlohmann::json TableCells(ResourceId r, const nlohmann::json& object, absl::Time now);

}  // namespace herd::sim

#endif  // HERD_SIM_TABLES_TABLES_H_
