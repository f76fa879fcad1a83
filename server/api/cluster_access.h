// Asking the cluster, before an operation starts, whether its caller may
// make its writes (herdd --impersonate): one SelfSubjectAccessReview per
// permission of the plan, sent as the caller, so the cluster's RBAC answers
// the way it would answer the writes themselves.
//
//   auto as_caller = kube->Impersonate({.user = "alice", .groups = {"ci"}});
//   absl::Status st = CheckWrites(**as_caller, "alice", plan);
//   // PERMISSION_DENIED: deployments.apps "web" is forbidden: User "alice"
//   // cannot patch resource "deployments" in API group "apps" in the
//   // namespace "shop" (…)
#ifndef HERD_SERVER_API_CLUSTER_ACCESS_H_
#define HERD_SERVER_API_CLUSTER_ACCESS_H_

#include <string>

#include "absl/status/status.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"

namespace herd::api {

// OK when the cluster allows `user` (whom `as_caller` acts as) every
// permission of `plan`. PERMISSION_DENIED for the first it refuses, worded
// as the API server words a refusal; the review's own error when it could
// not be asked.
absl::Status CheckWrites(kube::KubeClient& as_caller, const std::string& user, const v1::Plan& plan);

// "User "alice" cannot patch resource "deployments" in API group "apps" in
// the namespace "shop"", as the API server's Forbidden message says it,
// with the object first when the permission names one.
std::string RefusalMessage(const std::string& user, const v1::Permission& p);

}  // namespace herd::api

#endif  // HERD_SERVER_API_CLUSTER_ACCESS_H_
