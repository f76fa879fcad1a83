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
  } else if (r.group == "apps" && r.plural == "controllerrevisions") {
    obj.erase("data");  // the whole pod template, again: herd reads the revision number
  }
}

}  // namespace herd::kube
