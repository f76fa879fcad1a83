#include "server/kube/trim.h"

#include <utility>

namespace herd::kube {
namespace {

constexpr char kLastApplied[] = "kubectl.kubernetes.io/last-applied-configuration";

// Each container's name and image, nothing else.
Json NamesAndImages(const Json& containers) {
  Json out = Json::array();
  for (const Json& c : containers) {
    if (!c.is_object()) continue;
    Json kept = Json::object();
    for (const char* key : {"name", "image"}) {
      if (auto it = c.find(key); it != c.end()) kept[key] = *it;
    }
    out.push_back(std::move(kept));
  }
  return out;
}

void TrimPodSpec(Json& spec) {
  Json kept = Json::object();
  for (const char* key : {"nodeName", "terminationGracePeriodSeconds"}) {
    if (auto it = spec.find(key); it != spec.end()) kept[key] = std::move(*it);
  }
  for (const char* key : {"containers", "initContainers"}) {
    if (auto it = spec.find(key); it != spec.end() && it->is_array()) kept[key] = NamesAndImages(*it);
  }
  spec = std::move(kept);
}

// What kubelets report that herd never reads: addresses, QoS class,
// container and image ids, probe times.
void TrimPodStatus(Json& status) {
  for (const char* key : {"podIPs", "hostIP", "hostIPs", "qosClass"}) status.erase(key);
  if (auto it = status.find("conditions"); it != status.end() && it->is_array()) {
    for (Json& c : *it) {
      if (c.is_object()) c.erase("lastProbeTime");
    }
  }
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    auto it = status.find(list);
    if (it == status.end() || !it->is_array()) continue;
    for (Json& cs : *it) {
      if (!cs.is_object()) continue;
      cs.erase("containerID");
      cs.erase("imageID");
    }
  }
}

}  // namespace

void TrimForCache(const Resource& r, Json& obj) {
  if (!obj.is_object()) return;
  if (auto meta = obj.find("metadata"); meta != obj.end() && meta->is_object()) {
    meta->erase("managedFields");
    if (auto ann = meta->find("annotations"); ann != meta->end() && ann->is_object()) {
      ann->erase(kLastApplied);
      if (ann->empty()) meta->erase(ann);
    }
  }
  if (r.group.empty() && r.plural == "pods") {
    if (auto spec = obj.find("spec"); spec != obj.end() && spec->is_object()) TrimPodSpec(*spec);
    if (auto status = obj.find("status"); status != obj.end() && status->is_object()) TrimPodStatus(*status);
  } else if (r.group == "apps" && r.plural == "controllerrevisions") {
    // The whole pod template, again: herd reads the revision number, and
    // the containers' names and images (a workload's revisions).
    Json containers = Json::array();
    const Json* at = &obj;
    for (const char* key : {"data", "spec", "template", "spec", "containers"}) {
      auto next = at->is_object() ? at->find(key) : at->end();
      at = next != at->end() ? &*next : nullptr;
      if (at == nullptr) break;
    }
    if (at != nullptr && at->is_array()) containers = NamesAndImages(*at);
    obj.erase("data");
    if (!containers.empty()) obj["data"] = {{"spec", {{"template", {{"spec", {{"containers", std::move(containers)}}}}}}}};
  }
}

}  // namespace herd::kube
