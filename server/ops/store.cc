#include "server/ops/store.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "server/kube/errors.h"
#include "server/ops/names.h"
#include "server/ops/operation.h"

namespace herd::ops {
namespace {

constexpr char kOperationLabel[] = "herd.dev/operation";
constexpr char kStateLabel[] = "herd.dev/state";
constexpr char kKindLabel[] = "herd.dev/kind";
constexpr char kCancelAnnotation[] = "herd.dev/cancel-requested";
constexpr char kRequestKey[] = "request";
constexpr char kHeldRequestKey[] = "heldRequest";

std::string StateLabel(v1::OperationState s) {
  switch (s) {
    case v1::OPERATION_STATE_PENDING: return "pending";
    case v1::OPERATION_STATE_RUNNING: return "running";
    case v1::OPERATION_STATE_SUCCEEDED: return "succeeded";
    case v1::OPERATION_STATE_FAILED: return "failed";
    case v1::OPERATION_STATE_CANCELLED: return "cancelled";
    case v1::OPERATION_STATE_ROLLED_BACK: return "rolled-back";
    case v1::OPERATION_STATE_PENDING_APPROVAL: return "pending-approval";
    default: return "unknown";
  }
}

std::string KindLabel(v1::OperationKind k) {
  std::string name = v1::OperationKind_Name(k);
  constexpr absl::string_view kPrefix = "OPERATION_KIND_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(kPrefix.size());
  std::string out;
  for (char c : name) out.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

}  // namespace

OperationStore::OperationStore(kube::KubeClient& kube, std::string ns, StoreOptions options)
    : kube_(kube), ns_(std::move(ns)), options_(options) {}

OperationStore::~OperationStore() { Stop(); }

void OperationStore::Start() {
  if (informer_) return;
  kube::InformerOptions o;
  o.label_selector = absl::StrCat(kOperationLabel, "=true");
  informer_ = std::make_unique<kube::Informer>(kube_, kube::kConfigMaps, ns_, o, &notifier_);
  informer_->Start();
}

void OperationStore::Stop() {
  if (informer_) informer_->Stop();
}

absl::Status OperationStore::WaitForSync(absl::Time deadline) {
  if (!informer_) return absl::FailedPreconditionError("the operation store was not started");
  return informer_->WaitForSync(deadline);
}

kube::Json OperationStore::ToConfigMap(const Record& r) const {
  std::string id = r.op.name().substr(r.op.name().find('/') + 1);
  kube::Json checkpoint = kube::Json::object();
  for (const auto& [k, v] : r.checkpoint) checkpoint[k] = v;
  kube::Json cm = {
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata",
       {{"name", ConfigMapName(id)},
        {"namespace", ns_},
        {"labels",
         {{kOperationLabel, "true"},
          {kStateLabel, StateLabel(r.op.state())},
          {kKindLabel, KindLabel(r.op.kind())},
          {"app.kubernetes.io/managed-by", "herd"}}},
        {"annotations", {{"herd.dev/target", r.op.target()}}}}},
      {"data",
       {{"operation", ToJson(r.op)},
        // A held operation's request is kept under another key: a replica
        // of a herd without approvals reads the state as unknown, not
        // final, and would adopt and run it; without a request it cannot.
        {r.op.state() == v1::OPERATION_STATE_PENDING_APPROVAL ? kHeldRequestKey : kRequestKey, r.request_json},
        {"checkpoint", checkpoint.dump()},
        {"owner", r.owner}}}};
  if (!r.cancel_reason.empty()) cm["metadata"]["annotations"][kCancelAnnotation] = r.cancel_reason;
  return cm;
}

absl::StatusOr<Record> OperationStore::Parse(const kube::Json& cm) const {
  Record r;
  const kube::Json data = cm.value("data", kube::Json::object());
  std::string op_json = data.value("operation", "");
  google::protobuf::util::JsonParseOptions po;
  po.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(op_json, &r.op, po);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat("operation record ", cm["metadata"].value("name", ""),
                                            " is unreadable: ", st.message().as_string()));
  }
  r.request_json = data.value(kRequestKey, data.value(kHeldRequestKey, ""));
  r.owner = data.value("owner", "");
  kube::Json checkpoint = kube::Json::parse(data.value("checkpoint", "{}"), nullptr, false);
  if (checkpoint.is_object()) {
    for (const auto& [k, v] : checkpoint.items()) {
      if (v.is_string()) r.checkpoint[k] = v.get<std::string>();
    }
  }
  const kube::Json annotations = cm["metadata"].value("annotations", kube::Json::object());
  r.cancel_reason = annotations.value(kCancelAnnotation, "");
  if (auto created = k8s::ParseTime(cm["metadata"].value("creationTimestamp", "")); created.ok()) r.created = *created;
  return r;
}

void OperationStore::Remember(const Record& r, const kube::Json& written) {
  absl::MutexLock lock(&written_mu_);
  if (IsFinal(r.op.state())) {
    written_.erase(r.op.name());
    return;
  }
  written_[r.op.name()] = {written["metadata"].value("resourceVersion", ""), r.request_json, r.cancel_reason, r.owner};
}

void OperationStore::Forget(const std::string& name) {
  absl::MutexLock lock(&written_mu_);
  written_.erase(name);
}

absl::Status OperationStore::Create(const Record& record) {
  auto created = kube_.Create(kube::kConfigMaps, ns_, ToConfigMap(record));
  if (!created.ok()) {
    if (kube::IsAlreadyExists(created.status())) {
      return absl::AlreadyExistsError(absl::StrCat(record.op.name(), " already exists"));
    }
    return created.status();
  }
  Remember(record, *created);
  return absl::OkStatus();
}

absl::Status OperationStore::Save(const v1::Operation& op, const std::map<std::string, std::string>& checkpoint,
                                  const std::string& owner) {
  auto id = ParseOperationName(op.name());
  if (!id.ok()) return id.status();
  std::optional<Written> last;
  {
    absl::MutexLock lock(&written_mu_);
    if (auto it = written_.find(op.name()); it != written_.end()) last = it->second;
  }
  // The record as this store last wrote it is what the owner writes over
  // (a conflict means someone else wrote since: read it and look who).
  if (last && !last->resource_version.empty() && last->owner == owner) {
    Record rec{op, last->request_json, checkpoint, owner, last->cancel_reason};
    kube::Json cm = ToConfigMap(rec);
    cm["metadata"]["resourceVersion"] = last->resource_version;
    auto updated = kube_.Update(kube::kConfigMaps, ns_, cm);
    if (updated.ok()) {
      Remember(rec, *updated);
      return absl::OkStatus();
    }
    if (!kube::IsConflict(updated.status())) return updated.status();
  }
  // Read-modify-write keeps the request and any cancel request written by
  // others; a conflict means someone else wrote in between: try again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = kube_.Get(kube::kConfigMaps, ns_, ConfigMapName(*id));
    if (!current.ok()) return current.status();
    auto rec = Parse(*current);
    if (!rec.ok()) return rec.status();
    if (IsFinal(rec->op.state())) {
      Forget(op.name());
      return absl::FailedPreconditionError(absl::StrCat(op.name(), " has ended already (",
                                                        v1::OperationState_Name(rec->op.state()), ", by ", rec->owner,
                                                        "): not written again"));
    }
    if (rec->owner != owner) {
      Forget(op.name());
      return absl::FailedPreconditionError(
          absl::StrCat(op.name(), " is run by ", rec->owner, " now (its lease ran out): ", owner, " no longer writes it"));
    }
    rec->op = op;
    rec->checkpoint = checkpoint;
    rec->owner = owner;
    kube::Json cm = ToConfigMap(*rec);
    cm["metadata"]["resourceVersion"] = (*current)["metadata"].value("resourceVersion", "");
    auto updated = kube_.Update(kube::kConfigMaps, ns_, cm);
    if (updated.ok()) {
      Remember(*rec, *updated);
      return absl::OkStatus();
    }
    if (!kube::IsConflict(updated.status())) return updated.status();
  }
  return absl::AbortedError(absl::StrCat("could not save ", op.name(), ": the record kept changing"));
}

absl::StatusOr<Record> OperationStore::TakeOver(const std::string& id, const std::string& owner,
                                                std::string* previous_owner) {
  // Guarded by the version read: a save of the previous owner in between
  // makes the write conflict, and the record is read again with it.
  std::string previous;
  auto rec = ReadModifyWrite(id, [&](Record& r) -> absl::Status {
    if (IsFinal(r.op.state())) {
      return absl::FailedPreconditionError(absl::StrCat(r.op.name(), " has ended already (",
                                                        v1::OperationState_Name(r.op.state()), ", by ", r.owner, ")"));
    }
    previous = std::exchange(r.owner, owner);
    return absl::OkStatus();
  }, /*remember=*/true);
  if (rec.ok() && previous_owner) *previous_owner = std::move(previous);
  return rec;
}

absl::StatusOr<Record> OperationStore::Update(const std::string& id,
                                              const std::function<absl::Status(Record&)>& edit) {
  return ReadModifyWrite(id, edit, /*remember=*/false);
}

absl::StatusOr<Record> OperationStore::ReadModifyWrite(const std::string& id,
                                                       const std::function<absl::Status(Record&)>& edit,
                                                       bool remember) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = kube_.Get(kube::kConfigMaps, ns_, ConfigMapName(id));
    if (!current.ok()) {
      if (kube::IsNotFound(current.status())) return absl::NotFoundError(absl::StrCat("operations/", id, " not found"));
      return current.status();
    }
    auto rec = Parse(*current);
    if (!rec.ok()) return rec.status();
    if (absl::Status st = edit(*rec); !st.ok()) return st;
    kube::Json cm = ToConfigMap(*rec);
    cm["metadata"]["resourceVersion"] = (*current)["metadata"].value("resourceVersion", "");
    auto updated = kube_.Update(kube::kConfigMaps, ns_, cm);
    if (updated.ok()) {
      // Only the runner's own records are remembered (for its saves).
      if (remember) {
        Remember(*rec, *updated);
      } else {
        Forget(rec->op.name());
      }
      return *std::move(rec);
    }
    if (!kube::IsConflict(updated.status())) return updated.status();
  }
  return absl::AbortedError(absl::StrCat("could not write operations/", id, ": the record kept changing"));
}

absl::Status OperationStore::RequestCancel(const std::string& id, const std::string& reason) {
  kube::Json patch = {{"metadata", {{"annotations", {{kCancelAnnotation, reason.empty() ? "cancelled" : reason}}}}}};
  auto st = kube_.Patch(kube::kConfigMaps, ns_, ConfigMapName(id), kube::PatchType::kMerge, patch.dump());
  if (!st.ok()) {
    if (kube::IsNotFound(st.status())) return absl::NotFoundError(absl::StrCat("operations/", id, " not found"));
    return st.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> OperationStore::Get(const std::string& id) {
  if (informer_ && informer_->HasSynced()) {
    if (kube::ObjectPtr cm = informer_->Get(ns_, ConfigMapName(id))) return Parse(*cm);
  }
  return Fetch(id);
}

absl::Status OperationStore::Delete(const std::string& id) {
  auto st = kube_.Delete(kube::kConfigMaps, ns_, ConfigMapName(id));
  if (!st.ok() && !kube::IsNotFound(st.status())) return st.status();
  absl::MutexLock lock(&written_mu_);
  written_.erase(OperationName(id));
  return absl::OkStatus();
}

absl::Status OperationStore::Withdraw(const std::string& id, const std::string& owner) {
  const std::string name = OperationName(id);
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string version;
    {
      absl::MutexLock lock(&written_mu_);
      if (auto it = written_.find(name); attempt == 0 && it != written_.end() && it->second.owner == owner) {
        version = it->second.resource_version;
      }
    }
    if (version.empty()) {
      auto current = kube_.Get(kube::kConfigMaps, ns_, ConfigMapName(id));
      if (kube::IsNotFound(current.status())) return absl::OkStatus();
      if (!current.ok()) return current.status();
      auto rec = Parse(*current);
      if (!rec.ok()) return rec.status();
      if (IsFinal(rec->op.state()) || rec->owner != owner) {
        Forget(name);
        return absl::FailedPreconditionError(absl::StrCat(name, " is ", rec->owner, "'s now (",
                                                          v1::OperationState_Name(rec->op.state()), ")"));
      }
      version = (*current)["metadata"].value("resourceVersion", "");
    }
    kube::DeleteOptions o;
    o.precondition_resource_version = version;
    auto st = kube_.Delete(kube::kConfigMaps, ns_, ConfigMapName(id), o);
    if (st.ok() || kube::IsNotFound(st.status())) {
      Forget(name);
      return absl::OkStatus();
    }
    if (!kube::IsConflict(st.status())) return st.status();
  }
  return absl::AbortedError(absl::StrCat("could not withdraw ", name, ": the record kept changing"));
}

absl::StatusOr<Record> OperationStore::Fetch(const std::string& id) {
  auto cm = kube_.Get(kube::kConfigMaps, ns_, ConfigMapName(id));
  if (!cm.ok()) {
    if (kube::IsNotFound(cm.status())) return absl::NotFoundError(absl::StrCat("operations/", id, " not found"));
    return cm.status();
  }
  if ((*cm)["metadata"].value("labels", kube::Json::object()).value(kOperationLabel, "") != "true") {
    return absl::NotFoundError(absl::StrCat("operations/", id, " not found"));
  }
  return Parse(*cm);
}

std::vector<Record> OperationStore::List() {
  std::vector<Record> out;
  if (!informer_) return out;
  for (const kube::ObjectPtr& cm : informer_->List(ns_)) {
    auto r = Parse(*cm);
    if (r.ok()) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) {
    const auto& ta = a.op.create_time();
    const auto& tb = b.op.create_time();
    if (ta.seconds() != tb.seconds()) return ta.seconds() > tb.seconds();
    if (ta.nanos() != tb.nanos()) return ta.nanos() > tb.nanos();
    return a.op.name() > b.op.name();
  });
  return out;
}

void OperationStore::CollectGarbage(absl::Time now) {
  std::vector<Record> finished;
  for (auto& r : List()) {
    if (IsFinal(r.op.state())) finished.push_back(std::move(r));
  }
  for (size_t i = 0; i < finished.size(); ++i) {
    const Record& r = finished[i];
    absl::Time ended = r.op.has_end_time() ? FromProto(r.op.end_time()) : FromProto(r.op.create_time());
    if (i < options_.max_finished && now - ended < options_.retention) continue;
    auto id = ParseOperationName(r.op.name());
    if (!id.ok()) continue;
    auto st = kube_.Delete(kube::kConfigMaps, ns_, ConfigMapName(*id));
    if (!st.ok() && !kube::IsNotFound(st.status())) {
      log::Warn("could not delete an old operation record", {{"op", r.op.name()}, {"error", st.status()}});
    }
  }
}

}  // namespace herd::ops
