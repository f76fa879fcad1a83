// What herd could have written to Kubernetes objects, for tests that check
// a call changed nothing. The controllers may still be writing status when
// a test looks (a ReplicaSet's availableReplicas a moment after its pods
// are Ready, a Deployment's conditions after a rollout): comparing
// resourceVersions would compare a cluster in motion.
#ifndef HERD_TEST_INTEGRATION_WRITABLE_PARTS_H_
#define HERD_TEST_INTEGRATION_WRITABLE_PARTS_H_

#include <vector>

#include "nlohmann/json.hpp"

namespace herd::testing {

// The object without its status and the versions status updates move.
inline nlohmann::json WritableParts(nlohmann::json obj) {
  obj.erase("status");
  if (obj.contains("metadata")) {
    obj["metadata"].erase("resourceVersion");
    obj["metadata"].erase("managedFields");
  }
  return obj;
}

inline std::vector<nlohmann::json> WritableParts(const std::vector<nlohmann::json>& items) {
  std::vector<nlohmann::json> out;
  out.reserve(items.size());
  for (const auto& o : items) out.push_back(WritableParts(o));
  return out;
}

}  // namespace herd::testing

#endif  // HERD_TEST_INTEGRATION_WRITABLE_PARTS_H_
