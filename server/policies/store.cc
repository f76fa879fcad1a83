#include "server/policies/store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "server/kube/errors.h"

namespace herd::policies {
namespace {

constexpr char kPolicyLabel[] = "herd.dev/policy";

// Keeps the newest kMaxDecisions, and every run still STARTING (one not
// settled must not be forgotten).
void TrimDecisions(v1::Policy& p) {
  auto* ds = p.mutable_decisions();
  for (int i = ds->size() - 1; i >= 0 && ds->size() > kMaxDecisions; --i) {
    if (ds->Get(i).outcome() != v1::POLICY_OUTCOME_STARTING) ds->DeleteSubrange(i, 1);
  }
}

}  // namespace

void AddDecision(v1::Policy& p, v1::PolicyDecision d) {
  auto* ds = p.mutable_decisions();
  *ds->Add() = std::move(d);
  for (int i = ds->size() - 1; i > 0; --i) ds->SwapElements(i, i - 1);
}

PolicyStore::PolicyStore(kube::KubeClient& kube, std::string ns) : kube_(kube), ns_(std::move(ns)) {}

PolicyStore::~PolicyStore() { Stop(); }

void PolicyStore::Start() {
  if (informer_) return;
  kube::InformerOptions o;
  o.label_selector = absl::StrCat(kPolicyLabel, "=true");
  informer_ = std::make_unique<kube::Informer>(kube_, kube::kConfigMaps, ns_, o, &notifier_);
  informer_->Start();
}

void PolicyStore::Stop() {
  if (informer_) informer_->Stop();
}

void PolicyStore::OnChange(std::function<void()> fn) {
  if (!informer_) return;
  auto call = [fn = std::move(fn)](const kube::ObjectPtr&) { fn(); };
  informer_->AddHandlers({.on_add = call,
                          .on_update = [call](const kube::ObjectPtr&, const kube::ObjectPtr& obj) { call(obj); },
                          .on_delete = call});
}

bool PolicyStore::HasSynced() const { return informer_ && informer_->HasSynced(); }

absl::Status PolicyStore::WaitForSync(absl::Time deadline) {
  if (!informer_) return absl::FailedPreconditionError("the policy store was not started");
  return informer_->WaitForSync(deadline);
}

kube::Json PolicyStore::ToConfigMap(const StoredPolicy& p) const {
  v1::Policy stored = p.policy;
  stored.clear_next_runs();
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(stored, &json);
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", ConfigMapName(IdOf(p.policy))},
            {"namespace", ns_},
            {"labels", {{kPolicyLabel, "true"}, {"app.kubernetes.io/managed-by", "herd"}}}}},
          {"data", {{"policy", json}, {"lastScheduled", k8s::FormatTime(p.last_scheduled)}}}};
}

absl::StatusOr<StoredPolicy> PolicyStore::Parse(const kube::Json& cm) const {
  StoredPolicy p;
  const kube::Json data = cm.value("data", kube::Json::object());
  google::protobuf::util::JsonParseOptions po;
  po.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(data.value("policy", ""), &p.policy, po);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat("policy record ", cm["metadata"].value("name", ""),
                                            " is unreadable: ", st.message().as_string()));
  }
  auto last = k8s::ParseTime(data.value("lastScheduled", ""));
  if (!last.ok()) {
    return absl::DataLossError(absl::StrCat("policy record ", cm["metadata"].value("name", ""),
                                            " has no readable lastScheduled"));
  }
  p.last_scheduled = *last;
  return p;
}

absl::Status PolicyStore::Create(const StoredPolicy& p) {
  auto created = kube_.Create(kube::kConfigMaps, ns_, ToConfigMap(p));
  if (created.ok()) return absl::OkStatus();
  if (kube::IsAlreadyExists(created.status())) return absl::AlreadyExistsError(absl::StrCat(p.policy.name(), " already exists"));
  return created.status();
}

absl::StatusOr<StoredPolicy> PolicyStore::Get(const std::string& id) const {
  kube::ObjectPtr obj = informer_ ? informer_->Get(ns_, ConfigMapName(id)) : nullptr;
  if (obj != nullptr) return Parse(*obj);
  // Just created, its watch event still on the way: the API has it.
  auto live = kube_.Get(kube::kConfigMaps, ns_, ConfigMapName(id));
  if (live.ok()) return Parse(*live);
  if (kube::IsNotFound(live.status())) return absl::NotFoundError(absl::StrCat("policies/", id, " not found"));
  return live.status();
}

std::vector<StoredPolicy> PolicyStore::List() const {
  std::vector<StoredPolicy> out;
  if (!informer_) return out;
  for (const kube::ObjectPtr& obj : informer_->List(ns_)) {
    auto p = Parse(*obj);
    if (p.ok()) {
      out.push_back(*std::move(p));
    } else {
      log::Warn("a policy record is unreadable; it is left alone", {{"error", p.status()}});
    }
  }
  return out;
}

absl::StatusOr<StoredPolicy> PolicyStore::Fetch(const std::string& id, std::string* resource_version) {
  auto current = kube_.Get(kube::kConfigMaps, ns_, ConfigMapName(id));
  if (!current.ok()) {
    if (kube::IsNotFound(current.status())) return absl::NotFoundError(absl::StrCat("policies/", id, " not found"));
    return current.status();
  }
  *resource_version = (*current)["metadata"].value("resourceVersion", "");
  return Parse(*current);
}

absl::StatusOr<StoredPolicy> PolicyStore::Update(const std::string& id,
                                                 const std::function<absl::Status(StoredPolicy&)>& edit) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string version;
    auto p = Fetch(id, &version);
    if (!p.ok()) return p.status();
    if (absl::Status st = edit(*p); !st.ok()) return st;
    TrimDecisions(p->policy);
    kube::Json cm = ToConfigMap(*p);
    cm["metadata"]["resourceVersion"] = version;
    auto updated = kube_.Update(kube::kConfigMaps, ns_, cm);
    if (updated.ok()) return p;
    if (!kube::IsConflict(updated.status())) return updated.status();
  }
  return absl::AbortedError(absl::StrCat("could not write policies/", id, ": it kept changing"));
}

absl::StatusOr<StoredPolicy> PolicyStore::Delete(const std::string& id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    kube::DeleteOptions o;
    auto p = Fetch(id, &o.precondition_resource_version);
    if (!p.ok()) return p.status();
    auto deleted = kube_.Delete(kube::kConfigMaps, ns_, ConfigMapName(id), o);
    if (deleted.ok() || kube::IsNotFound(deleted.status())) return p;
    if (!kube::IsConflict(deleted.status())) return deleted.status();
  }
  return absl::AbortedError(absl::StrCat("could not delete policies/", id, ": it kept changing"));
}

}  // namespace herd::policies
