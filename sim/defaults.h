// The defaults a v1.26 API server fills in on create and update, and the
// admission steps kubesim imitates (service account token volume, default
// tolerations), per kind.
#ifndef HERD_SIM_DEFAULTS_H_
#define HERD_SIM_DEFAULTS_H_

#include "nlohmann/json.hpp"
#include "sim/resources.h"

namespace herd::sim {

// Fills in what the API server defaults for an object of type `r`; runs on
// every create and update, as the real defaulting does.
void ApplyDefaults(ResourceId r, nlohmann::json& object);

// Defaults of a pod template's or a pod's spec.
void DefaultPodSpec(nlohmann::json& spec);

// What the API server adds to a new Job (upstream's job strategy): unless
// spec.manualSelector, the selector on controller-uid and the template
// labels controller-uid and job-name; the batch.kubernetes.io/job-tracking
// annotation; and, as every read of a Job defaults them, metadata.labels
// from the template's when it has none. Needs metadata.uid.
void PrepareJobForCreate(nlohmann::json& job);

// What admission adds to a new Pod: the service account, its token volume
// and mounts, default tolerations, priority, QoS class.
void AdmitNewPod(nlohmann::json& pod);

}  // namespace herd::sim

#endif  // HERD_SIM_DEFAULTS_H_
