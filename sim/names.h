// Names kubesim makes up the way Kubernetes does: generateName suffixes,
// UIDs, pod-template-hash values and fake container IDs.
#ifndef HERD_SIM_NAMES_H_
#define HERD_SIM_NAMES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace herd::sim {

// `n` characters from the alphabet Kubernetes uses for generated names
// (no vowels, no look-alike characters).
std::string RandomSuffix(int n);
// A random (version 4) UUID.
std::string NewUid();
// Random lowercase hex, for fake container and image IDs.
std::string RandomHex(int n);
// Makes every later random name repeatable (tests, benchmarks).
void SeedNames(uint64_t seed);

// Kubernetes' SafeEncodeString: maps each byte onto the name alphabet.
std::string SafeEncode(absl::string_view s);
// The pod-template-hash label value for a pod template: FNV-32a of its
// canonical JSON (and the collision count), safe-encoded as upstream does.
std::string PodTemplateHash(const nlohmann::json& pod_template, int64_t collision_count = 0);

}  // namespace herd::sim

#endif  // HERD_SIM_NAMES_H_
