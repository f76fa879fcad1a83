// Resource names in herd's API ("namespaces/shop/deployments/web") and the
// ids herd gives operations.
//
//   auto w = herd::ops::ParseWorkloadName("namespaces/shop/deployments/web");
//   w->ns; w->resource->kind;  // "shop", "Deployment"
#ifndef HERD_SERVER_OPS_NAMES_H_
#define HERD_SERVER_OPS_NAMES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/resource.h"

namespace herd::ops {

struct WorkloadName {
  std::string ns;
  const kube::Resource* resource = nullptr;  // kDeployments, kStatefulSets, kCronJobs or kPods
  std::string name;

  // "namespaces/shop/deployments/web"
  std::string ToString() const;
  // "deployments/web", as herdctl and kubectl print it.
  std::string Short() const;
};

// Parses "namespaces/{ns}/{deployments|statefulsets|cronjobs|pods}/{name}".
// `allowed` lists the plural resource names accepted (empty: all four).
// INVALID_ARGUMENT with a message naming the expected form otherwise.
absl::StatusOr<WorkloadName> ParseWorkloadName(absl::string_view text,
                                               const std::vector<std::string>& allowed = {});

// "operations/{id}" → id; INVALID_ARGUMENT when not of that form.
absl::StatusOr<std::string> ParseOperationName(absl::string_view text);
inline std::string OperationName(absl::string_view id) { return "operations/" + std::string(id); }

// A new, time-ordered operation id: "20261125-113045-k3x9q".
std::string NewOperationId(absl::Time now);

// The verb an operation's kind is called by in rules, audit and
// notifications: "rollout", "undo", "scale", "purge", "kill", "cronjob".
std::string OperationVerb(v1::OperationKind kind);
// The id an idempotent request gets: the same principal and request id
// always give the same operation.
std::string OperationIdForRequest(absl::string_view principal, absl::string_view request_id);

// A Kubernetes name (≤ 63 chars, [a-z0-9-], alphanumeric at both ends) made
// from parts: kept as it is when short and made only of [a-z0-9-] and '/'
// (as '-'), else readable up to 52 characters and ended with a hash of the
// whole, so two different inputs never share a name.
std::string SafeName(absl::string_view prefix, const std::vector<std::string>& parts);

}  // namespace herd::ops

#endif  // HERD_SERVER_OPS_NAMES_H_
