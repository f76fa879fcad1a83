// Trimming objects on their way into a cache: only what herd reads is kept,
// so a cache's memory grows with what herd needs, not with what the cluster
// stores (like client-go's transform functions).
//
//   InformerSet informers(client, {.transform = herd::kube::TrimForCache});
//
// Every object loses metadata.managedFields and kubectl's
// last-applied-configuration annotation. Pods keep in their spec only the
// node, the containers' and init containers' names and images and the
// termination grace period, and their status loses what kubelets report
// that herd never reads (pod and host addresses, QoS class, container and
// image ids, probe times); their metadata stays whole. ControllerRevisions keep of their data (a
// copy of a template) only the containers' names and images. Other kinds keep their spec and
// status: herd reads templates (ReplicaSets' too, to find a Deployment's
// own), selectors and strategies there.
//
// A trimmed object is for reading; herd never writes one back (an update
// starts from a fresh GET).
#ifndef HERD_SERVER_KUBE_TRIM_H_
#define HERD_SERVER_KUBE_TRIM_H_

#include "server/kube/client.h"
#include "server/kube/resource.h"

namespace herd::kube {

// Trims `obj`, an object of `r`, in place.
void TrimForCache(const Resource& r, Json& obj);

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_TRIM_H_
