#include "sim/schema/schema.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sim/schema/internal/tables.h"

namespace herd::sim::schema {
namespace {

// clang-format off
const KindInfo kKinds[] = {
    {"v1", "Pod", "core.v1.Pod"},
    {"v1", "Namespace", "core.v1.Namespace"},
    {"v1", "ConfigMap", "core.v1.ConfigMap"},
    {"v1", "Secret", "core.v1.Secret"},
    {"v1", "Service", "core.v1.Service"},
    {"v1", "ServiceAccount", "core.v1.ServiceAccount"},
    {"v1", "Node", "core.v1.Node"},
    {"v1", "Event", "core.v1.Event"},
    {"v1", "Binding", "core.v1.Binding"},
    {"v1", "Status", "meta.v1.Status"},
    {"apps/v1", "Deployment", "apps.v1.Deployment"},
    {"apps/v1", "ReplicaSet", "apps.v1.ReplicaSet"},
    {"apps/v1", "StatefulSet", "apps.v1.StatefulSet"},
    {"apps/v1", "ControllerRevision", "apps.v1.ControllerRevision"},
    {"batch/v1", "Job", "batch.v1.Job"},
    {"batch/v1", "CronJob", "batch.v1.CronJob"},
    {"policy/v1", "PodDisruptionBudget", "policy.v1.PodDisruptionBudget"},
    {"policy/v1", "Eviction", "policy.v1.Eviction"},
    {"coordination.k8s.io/v1", "Lease", "coordination.v1.Lease"},
    {"autoscaling/v1", "Scale", "autoscaling.v1.Scale"},
    {"autoscaling/v1", "HorizontalPodAutoscaler", "autoscaling.v1.HorizontalPodAutoscaler"},
    {"autoscaling/v2", "HorizontalPodAutoscaler", "autoscaling.v2.HorizontalPodAutoscaler"},
    {"rbac.authorization.k8s.io/v1", "Role", "rbac.v1.Role"},
    {"rbac.authorization.k8s.io/v1", "ClusterRole", "rbac.v1.ClusterRole"},
    {"rbac.authorization.k8s.io/v1", "RoleBinding", "rbac.v1.RoleBinding"},
    {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "rbac.v1.ClusterRoleBinding"},
    {"authorization.k8s.io/v1", "SelfSubjectAccessReview", "authorization.v1.SelfSubjectAccessReview"},
    {"authorization.k8s.io/v1", "SelfSubjectRulesReview", "authorization.v1.SelfSubjectRulesReview"},
    {"authorization.k8s.io/v1", "SubjectAccessReview", "authorization.v1.SubjectAccessReview"},
    {"authorization.k8s.io/v1", "LocalSubjectAccessReview", "authorization.v1.LocalSubjectAccessReview"},
    {"authentication.k8s.io/v1", "TokenRequest", "authentication.v1.TokenRequest"},
    {"authentication.k8s.io/v1", "TokenReview", "authentication.v1.TokenReview"},
};
// clang-format on

struct Index {
  absl::flat_hash_map<absl::string_view, const Message*> by_name;
  std::vector<const Message*> all;
  // message → JSON name → (field, declaring message), inline fields flattened.
  absl::flat_hash_map<const Message*, absl::flat_hash_map<absl::string_view, std::pair<const Field*, const Message*>>>
      json;
  absl::flat_hash_map<std::string, const FieldSemantics*> field_notes;
  absl::flat_hash_map<absl::string_view, const MessageSemantics*> message_notes;

  void AddJson(const Message* top, const Message* m, int depth) {
    if (depth > 4) return;
    for (const Field& f : m->fields) {
      if (f.inlined()) {
        auto it = by_name.find(f.message);
        if (it != by_name.end()) AddJson(top, it->second, depth + 1);
        continue;
      }
      json[top].emplace(f.json, std::make_pair(&f, m));
    }
  }
};

const Index& TheIndex() {
  static const Index* const index = [] {
    auto* ix = new Index();
    for (auto span : {internal::MetaMessages(), internal::CoreMessages(), internal::AppsMessages(),
                      internal::AuthMessages()}) {
      for (const Message& m : span) {
        ix->by_name.emplace(m.name, &m);
        ix->all.push_back(&m);
      }
    }
    for (const Message* m : ix->all) ix->AddJson(m, m, 0);
    for (const auto& n : internal::FieldNotes()) {
      ix->field_notes.emplace(absl::StrCat(n.message, ".", n.field), &n.semantics);
    }
    for (const auto& n : internal::MessageNotes()) ix->message_notes.emplace(n.message, &n.semantics);
    return ix;
  }();
  return *index;
}

}  // namespace

const Field* Message::Find(uint32_t number) const {
  auto it =
      std::lower_bound(fields.begin(), fields.end(), number, [](const Field& f, uint32_t n) { return f.number < n; });
  return it != fields.end() && it->number == number ? it : nullptr;
}

const Message* FindMessage(absl::string_view name) {
  const Index& ix = TheIndex();
  auto it = ix.by_name.find(name);
  return it == ix.by_name.end() ? nullptr : it->second;
}

absl::Span<const Message* const> AllMessages() { return TheIndex().all; }

const Field* FindJsonField(const Message& m, absl::string_view json, const Message** owner) {
  const Index& ix = TheIndex();
  auto it = ix.json.find(&m);
  if (it == ix.json.end()) return nullptr;
  auto f = it->second.find(json);
  if (f == it->second.end()) return nullptr;
  if (owner != nullptr) *owner = f->second.second;
  return f->second.first;
}

const FieldSemantics& Semantics(const Message& m, const Field& f) {
  static const FieldSemantics kNone;
  const Index& ix = TheIndex();
  auto it = ix.field_notes.find(absl::StrCat(m.name, ".", f.json));
  return it == ix.field_notes.end() ? kNone : *it->second;
}

const MessageSemantics& Semantics(const Message& m) {
  static const MessageSemantics kNone;
  const Index& ix = TheIndex();
  auto it = ix.message_notes.find(m.name);
  return it == ix.message_notes.end() ? kNone : *it->second;
}

absl::Span<const KindInfo> Kinds() { return kKinds; }

const Message* FindKind(absl::string_view api_version, absl::string_view kind) {
  if (kind == "DeleteOptions") return FindMessage("meta.v1.DeleteOptions");
  for (const KindInfo& k : kKinds) {
    if (api_version == k.api_version && kind == k.kind) return FindMessage(k.message);
  }
  return nullptr;
}

std::string FullName(absl::string_view name) {
  if (absl::StartsWith(name, "meta.")) return absl::StrCat("k8s.io.apimachinery.pkg.apis.", name);
  return absl::StrCat("k8s.io.api.", name);
}

std::string DefinitionName(absl::string_view name) {
  if (absl::StartsWith(name, "meta.")) return absl::StrCat("io.k8s.apimachinery.pkg.apis.", name);
  return absl::StrCat("io.k8s.api.", name);
}

}  // namespace herd::sim::schema
