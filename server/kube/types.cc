#include "server/kube/types.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "common/k8s/time.h"

namespace herd::kube {
namespace {

const ObjectPtr& EmptyObject() {
  static const ObjectPtr* empty = new ObjectPtr(std::make_shared<const Json>(Json::object()));
  return *empty;
}

int32_t Clamp32(int64_t v) {
  return static_cast<int32_t>(
      std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}

std::string StringField(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// json::value() throws when the field is there with another type; an API
// answer with "ready": "yes" must read as false, not end the process.
bool BoolField(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::map<std::string, std::string> StringMap(const Json* j) {
  std::map<std::string, std::string> out;
  if (j == nullptr || !j->is_object()) return out;
  for (auto it = j->begin(); it != j->end(); ++it) {
    if (it.value().is_string()) out.emplace(it.key(), it.value().get<std::string>());
  }
  return out;
}

std::optional<absl::Time> ParsedTime(const Json* j) {
  if (j == nullptr || !j->is_string()) return std::nullopt;
  absl::StatusOr<absl::Time> t = k8s::ParseTime(j->get<std::string>());
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::map<std::string, std::string> ImagesOf(const std::vector<Container>& containers) {
  std::map<std::string, std::string> out;
  for (const Container& c : containers) out.emplace(c.name, c.image);
  return out;
}

absl::StatusOr<k8s::LabelSelector> SelectorOf(const Json* j) {
  return k8s::LabelSelector::FromJson(j == nullptr ? Json() : *j);
}

std::optional<Condition> Find(const std::vector<Condition>& conditions, absl::string_view type) {
  for (const Condition& c : conditions) {
    if (c.type == type) return c;
  }
  return std::nullopt;
}

std::vector<ContainerStatus> StatusesOf(const Json* j) {
  std::vector<ContainerStatus> out;
  if (j == nullptr || !j->is_array()) return out;
  for (const Json& s : *j) {
    if (!s.is_object()) continue;
    ContainerStatus cs;
    cs.name = StringField(s, "name");
    cs.image = StringField(s, "image");
    cs.ready = BoolField(s, "ready");
    if (auto started = s.find("started"); started != s.end() && started->is_boolean()) cs.started = *started;
    if (auto rc = s.find("restartCount"); rc != s.end() && rc->is_number_integer()) {
      cs.restart_count = Clamp32(rc->get<int64_t>());
    }
    if (auto state = s.find("state"); state != s.end() && state->is_object()) {
      if (auto w = state->find("waiting"); w != state->end() && w->is_object()) {
        cs.waiting_reason = StringField(*w, "reason");
        cs.waiting_message = StringField(*w, "message");
      }
      if (auto t = state->find("terminated"); t != state->end() && t->is_object()) {
        cs.terminated_reason = StringField(*t, "reason");
        if (auto code = t->find("exitCode"); code != t->end() && code->is_number_integer()) {
          cs.exit_code = Clamp32(code->get<int64_t>());
        }
      }
    }
    if (auto last = s.find("lastState"); last != s.end() && last->is_object()) {
      if (auto t = last->find("terminated"); t != last->end() && t->is_object()) {
        cs.last_terminated_reason = StringField(*t, "reason");
      }
    }
    out.push_back(std::move(cs));
  }
  return out;
}

bool IsFailureReason(absl::string_view reason) {
  return reason == "CrashLoopBackOff" || reason == "ImagePullBackOff" || reason == "ErrImagePull" ||
         reason == "InvalidImageName" || reason == "CreateContainerConfigError" ||
         reason == "CreateContainerError" || reason == "RunContainerError";
}

}  // namespace

// ---- Object -----------------------------------------------------------------

Object::Object() : json_(EmptyObject()) {}
Object::Object(Json json) : json_(std::make_shared<const Json>(std::move(json))) {}
Object::Object(ObjectPtr json) : json_(json != nullptr ? std::move(json) : EmptyObject()) {}

const Json* Object::At(std::initializer_list<const char*> path) const {
  const Json* j = json_.get();
  for (const char* key : path) {
    if (!j->is_object()) return nullptr;
    auto it = j->find(key);
    if (it == j->end()) return nullptr;
    j = &*it;
  }
  return j;
}

std::string Object::Str(std::initializer_list<const char*> path) const {
  const Json* j = At(path);
  return j != nullptr && j->is_string() ? j->get<std::string>() : "";
}

int64_t Object::Int(std::initializer_list<const char*> path, int64_t absent) const {
  const Json* j = At(path);
  if (j == nullptr || !j->is_number_integer()) return absent;
  return j->get<int64_t>();
}

int32_t Object::Int32(std::initializer_list<const char*> path, int32_t absent) const {
  return Clamp32(Int(path, absent));
}

bool Object::Bool(std::initializer_list<const char*> path, bool absent) const {
  const Json* j = At(path);
  return j != nullptr && j->is_boolean() ? j->get<bool>() : absent;
}

std::optional<absl::Time> Object::Time(std::initializer_list<const char*> path) const { return ParsedTime(At(path)); }

std::string Object::IntOrString(std::initializer_list<const char*> path) const {
  const Json* j = At(path);
  if (j == nullptr) return "";
  if (j->is_string()) return j->get<std::string>();
  if (j->is_number_integer()) return std::to_string(j->get<int64_t>());
  return "";
}

std::vector<Condition> Object::Conditions(std::initializer_list<const char*> path) const {
  std::vector<Condition> out;
  const Json* j = At(path);
  if (j == nullptr || !j->is_array()) return out;
  for (const Json& c : *j) {
    if (!c.is_object()) continue;
    Condition cond;
    cond.type = StringField(c, "type");
    cond.status = StringField(c, "status");
    cond.reason = StringField(c, "reason");
    cond.message = StringField(c, "message");
    if (auto it = c.find("lastTransitionTime"); it != c.end()) cond.last_transition_time = ParsedTime(&*it);
    if (auto it = c.find("lastUpdateTime"); it != c.end()) cond.last_update_time = ParsedTime(&*it);
    out.push_back(std::move(cond));
  }
  return out;
}

std::vector<Container> Object::Containers(std::initializer_list<const char*> path) const {
  std::vector<Container> out;
  const Json* j = At(path);
  if (j == nullptr || !j->is_array()) return out;
  for (const Json& c : *j) {
    if (c.is_object()) out.push_back({StringField(c, "name"), StringField(c, "image")});
  }
  return out;
}

std::string Object::api_version() const { return Str({"apiVersion"}); }
std::string Object::kind() const { return Str({"kind"}); }
std::string Object::name() const { return Str({"metadata", "name"}); }
std::string Object::ns() const { return Str({"metadata", "namespace"}); }
std::string Object::uid() const { return Str({"metadata", "uid"}); }
std::string Object::resource_version() const { return Str({"metadata", "resourceVersion"}); }
int64_t Object::generation() const { return Int({"metadata", "generation"}); }
std::map<std::string, std::string> Object::labels() const { return StringMap(At({"metadata", "labels"})); }
std::map<std::string, std::string> Object::annotations() const {
  return StringMap(At({"metadata", "annotations"}));
}

std::string Object::label(absl::string_view key) const {
  const Json* labels = At({"metadata", "labels"});
  return labels != nullptr ? StringField(*labels, std::string(key).c_str()) : "";
}

std::string Object::annotation(absl::string_view key) const {
  const Json* a = At({"metadata", "annotations"});
  return a != nullptr ? StringField(*a, std::string(key).c_str()) : "";
}

std::vector<OwnerReference> Object::owner_references() const {
  std::vector<OwnerReference> out;
  const Json* refs = At({"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return out;
  for (const Json& r : *refs) {
    if (!r.is_object()) continue;
    OwnerReference o;
    o.api_version = StringField(r, "apiVersion");
    o.kind = StringField(r, "kind");
    o.name = StringField(r, "name");
    o.uid = StringField(r, "uid");
    o.controller = BoolField(r, "controller");
    out.push_back(std::move(o));
  }
  return out;
}

std::optional<OwnerReference> Object::controller_ref() const {
  for (OwnerReference& r : owner_references()) {
    if (r.controller) return std::move(r);
  }
  return std::nullopt;
}

std::optional<absl::Time> Object::creation_timestamp() const { return Time({"metadata", "creationTimestamp"}); }
std::optional<absl::Time> Object::deletion_timestamp() const { return Time({"metadata", "deletionTimestamp"}); }

// ---- Deployment -------------------------------------------------------------

int32_t Deployment::replicas() const { return Int32({"spec", "replicas"}, 1); }
const Json* Deployment::selector() const { return At({"spec", "selector"}); }
absl::StatusOr<k8s::LabelSelector> Deployment::label_selector() const { return SelectorOf(selector()); }
std::vector<Container> Deployment::containers() const {
  return Containers({"spec", "template", "spec", "containers"});
}
std::map<std::string, std::string> Deployment::images() const { return ImagesOf(containers()); }
std::string Deployment::strategy_type() const {
  std::string t = Str({"spec", "strategy", "type"});
  return t.empty() ? "RollingUpdate" : t;
}
std::string Deployment::max_surge() const {
  if (strategy_type() != "RollingUpdate") return "";
  std::string v = IntOrString({"spec", "strategy", "rollingUpdate", "maxSurge"});
  return v.empty() ? "25%" : v;
}
std::string Deployment::max_unavailable() const {
  if (strategy_type() != "RollingUpdate") return "";
  std::string v = IntOrString({"spec", "strategy", "rollingUpdate", "maxUnavailable"});
  return v.empty() ? "25%" : v;
}
int32_t Deployment::progress_deadline_seconds() const { return Int32({"spec", "progressDeadlineSeconds"}, 600); }
bool Deployment::paused() const { return Bool({"spec", "paused"}); }
int64_t Deployment::revision() const {
  int64_t r = 0;
  return absl::SimpleAtoi(annotation(kRevisionAnnotation), &r) ? r : 0;
}
int64_t Deployment::observed_generation() const { return Int({"status", "observedGeneration"}); }
int32_t Deployment::status_replicas() const { return Int32({"status", "replicas"}); }
int32_t Deployment::updated_replicas() const { return Int32({"status", "updatedReplicas"}); }
int32_t Deployment::ready_replicas() const { return Int32({"status", "readyReplicas"}); }
int32_t Deployment::available_replicas() const { return Int32({"status", "availableReplicas"}); }
int32_t Deployment::unavailable_replicas() const { return Int32({"status", "unavailableReplicas"}); }
std::vector<Condition> Deployment::conditions() const { return Conditions({"status", "conditions"}); }
std::optional<Condition> Deployment::condition(absl::string_view type) const { return Find(conditions(), type); }

bool Deployment::ProgressDeadlineExceeded() const {
  std::optional<Condition> c = condition("Progressing");
  return c.has_value() && c->status == "False" && c->reason == "ProgressDeadlineExceeded";
}

bool Deployment::RolloutComplete() const {
  return observed_generation() >= generation() && updated_replicas() == replicas() &&
         status_replicas() == updated_replicas() && available_replicas() == updated_replicas();
}

// ---- ReplicaSet -------------------------------------------------------------

int32_t ReplicaSet::replicas() const { return Int32({"spec", "replicas"}, 1); }
std::string ReplicaSet::pod_template_hash() const { return label(kPodTemplateHashLabel); }
int64_t ReplicaSet::revision() const {
  int64_t r = 0;
  return absl::SimpleAtoi(annotation(kRevisionAnnotation), &r) ? r : 0;
}
std::vector<Container> ReplicaSet::containers() const {
  return Containers({"spec", "template", "spec", "containers"});
}
std::map<std::string, std::string> ReplicaSet::images() const { return ImagesOf(containers()); }
int64_t ReplicaSet::observed_generation() const { return Int({"status", "observedGeneration"}); }
int32_t ReplicaSet::status_replicas() const { return Int32({"status", "replicas"}); }
int32_t ReplicaSet::ready_replicas() const { return Int32({"status", "readyReplicas"}); }
int32_t ReplicaSet::available_replicas() const { return Int32({"status", "availableReplicas"}); }

// ---- StatefulSet ------------------------------------------------------------

int32_t StatefulSet::replicas() const { return Int32({"spec", "replicas"}, 1); }
absl::StatusOr<k8s::LabelSelector> StatefulSet::label_selector() const {
  return SelectorOf(At({"spec", "selector"}));
}
std::vector<Container> StatefulSet::containers() const {
  return Containers({"spec", "template", "spec", "containers"});
}
std::map<std::string, std::string> StatefulSet::images() const { return ImagesOf(containers()); }
std::string StatefulSet::update_strategy_type() const {
  std::string t = Str({"spec", "updateStrategy", "type"});
  return t.empty() ? "RollingUpdate" : t;
}
int32_t StatefulSet::partition() const { return Int32({"spec", "updateStrategy", "rollingUpdate", "partition"}); }
std::string StatefulSet::pod_management_policy() const {
  std::string p = Str({"spec", "podManagementPolicy"});
  return p.empty() ? "OrderedReady" : p;
}
int64_t StatefulSet::observed_generation() const { return Int({"status", "observedGeneration"}); }
int32_t StatefulSet::status_replicas() const { return Int32({"status", "replicas"}); }
int32_t StatefulSet::ready_replicas() const { return Int32({"status", "readyReplicas"}); }
int32_t StatefulSet::current_replicas() const { return Int32({"status", "currentReplicas"}); }
int32_t StatefulSet::updated_replicas() const { return Int32({"status", "updatedReplicas"}); }
int32_t StatefulSet::available_replicas() const { return Int32({"status", "availableReplicas"}); }
std::string StatefulSet::current_revision() const { return Str({"status", "currentRevision"}); }
std::string StatefulSet::update_revision() const { return Str({"status", "updateRevision"}); }

bool StatefulSet::RolloutComplete() const {
  if (observed_generation() == 0 || observed_generation() < generation()) return false;
  if (ready_replicas() < replicas()) return false;
  if (update_strategy_type() == "RollingUpdate" && partition() > 0) {
    // Only the pods at or above the partition are updated.
    return updated_replicas() >= replicas() - partition();
  }
  return update_revision() == current_revision();
}

// ---- Pod --------------------------------------------------------------------

std::string Pod::phase() const { return Str({"status", "phase"}); }
std::string Pod::node_name() const { return Str({"spec", "nodeName"}); }
std::string Pod::pod_ip() const { return Str({"status", "podIP"}); }
std::vector<Container> Pod::containers() const { return Containers({"spec", "containers"}); }
std::optional<absl::Time> Pod::start_time() const { return Time({"status", "startTime"}); }
std::vector<Condition> Pod::conditions() const { return Conditions({"status", "conditions"}); }
std::optional<Condition> Pod::ready_condition() const { return Find(conditions(), "Ready"); }
bool Pod::ready() const {
  std::optional<Condition> c = ready_condition();
  return c.has_value() && c->IsTrue();
}
std::vector<ContainerStatus> Pod::container_statuses() const {
  return StatusesOf(At({"status", "containerStatuses"}));
}
std::vector<ContainerStatus> Pod::init_container_statuses() const {
  return StatusesOf(At({"status", "initContainerStatuses"}));
}
int32_t Pod::restart_count() const {
  int64_t total = 0;
  for (const ContainerStatus& s : container_statuses()) total += s.restart_count;
  return Clamp32(total);
}
bool Pod::terminal() const {
  std::string p = phase();
  return p == "Succeeded" || p == "Failed";
}
std::string Pod::FailureReason() const {
  for (const auto& statuses : {init_container_statuses(), container_statuses()}) {
    for (const ContainerStatus& s : statuses) {
      if (IsFailureReason(s.waiting_reason)) return s.waiting_reason;
    }
  }
  return "";
}

// ---- PodDisruptionBudget ----------------------------------------------------

std::string PodDisruptionBudget::min_available() const { return IntOrString({"spec", "minAvailable"}); }
std::string PodDisruptionBudget::max_unavailable() const { return IntOrString({"spec", "maxUnavailable"}); }
absl::StatusOr<k8s::LabelSelector> PodDisruptionBudget::label_selector() const {
  return SelectorOf(At({"spec", "selector"}));
}
int32_t PodDisruptionBudget::current_healthy() const { return Int32({"status", "currentHealthy"}); }
int32_t PodDisruptionBudget::desired_healthy() const { return Int32({"status", "desiredHealthy"}); }
int32_t PodDisruptionBudget::disruptions_allowed() const { return Int32({"status", "disruptionsAllowed"}); }
int32_t PodDisruptionBudget::expected_pods() const { return Int32({"status", "expectedPods"}); }
int64_t PodDisruptionBudget::observed_generation() const { return Int({"status", "observedGeneration"}); }

// ---- CronJob ----------------------------------------------------------------

std::string CronJob::schedule() const { return Str({"spec", "schedule"}); }
std::string CronJob::time_zone() const { return Str({"spec", "timeZone"}); }
bool CronJob::suspend() const { return Bool({"spec", "suspend"}); }
std::string CronJob::concurrency_policy() const {
  std::string p = Str({"spec", "concurrencyPolicy"});
  return p.empty() ? "Allow" : p;
}
const Json* CronJob::job_template() const { return At({"spec", "jobTemplate"}); }
std::vector<ObjectReference> CronJob::active() const {
  std::vector<ObjectReference> out;
  const Json* a = At({"status", "active"});
  if (a == nullptr || !a->is_array()) return out;
  for (const Json& r : *a) {
    if (!r.is_object()) continue;
    out.push_back({StringField(r, "apiVersion"), StringField(r, "kind"), StringField(r, "namespace"),
                   StringField(r, "name"), StringField(r, "uid")});
  }
  return out;
}
std::optional<absl::Time> CronJob::last_schedule_time() const { return Time({"status", "lastScheduleTime"}); }
std::optional<absl::Time> CronJob::last_successful_time() const { return Time({"status", "lastSuccessfulTime"}); }

// ---- Job --------------------------------------------------------------------

int32_t Job::parallelism() const { return Int32({"spec", "parallelism"}, 1); }
int32_t Job::completions() const { return Int32({"spec", "completions"}, 1); }
int32_t Job::active() const { return Int32({"status", "active"}); }
int32_t Job::succeeded() const { return Int32({"status", "succeeded"}); }
int32_t Job::failed() const { return Int32({"status", "failed"}); }
std::optional<absl::Time> Job::start_time() const { return Time({"status", "startTime"}); }
std::optional<absl::Time> Job::completion_time() const { return Time({"status", "completionTime"}); }
std::vector<Condition> Job::conditions() const { return Conditions({"status", "conditions"}); }
bool Job::complete() const {
  auto c = Find(conditions(), "Complete");
  return c.has_value() && c->IsTrue();
}
bool Job::failed_condition() const {
  auto c = Find(conditions(), "Failed");
  return c.has_value() && c->IsTrue();
}

// ---- Lease ------------------------------------------------------------------

std::string Lease::holder_identity() const { return Str({"spec", "holderIdentity"}); }
int32_t Lease::lease_duration_seconds() const { return Int32({"spec", "leaseDurationSeconds"}); }
std::optional<absl::Time> Lease::acquire_time() const { return Time({"spec", "acquireTime"}); }
std::optional<absl::Time> Lease::renew_time() const { return Time({"spec", "renewTime"}); }
int32_t Lease::lease_transitions() const { return Int32({"spec", "leaseTransitions"}); }
bool Lease::HeldAt(absl::Time now) const {
  if (holder_identity().empty()) return false;
  std::optional<absl::Time> renewed = renew_time();
  if (!renewed) renewed = acquire_time();
  if (!renewed) return false;
  return now < *renewed + absl::Seconds(lease_duration_seconds());
}

// ---- HorizontalPodAutoscaler ------------------------------------------------

int32_t HorizontalPodAutoscaler::min_replicas() const { return Int32({"spec", "minReplicas"}, 1); }
int32_t HorizontalPodAutoscaler::max_replicas() const { return Int32({"spec", "maxReplicas"}); }
std::string HorizontalPodAutoscaler::target_kind() const { return Str({"spec", "scaleTargetRef", "kind"}); }
std::string HorizontalPodAutoscaler::target_name() const { return Str({"spec", "scaleTargetRef", "name"}); }
int32_t HorizontalPodAutoscaler::current_replicas() const { return Int32({"status", "currentReplicas"}); }
int32_t HorizontalPodAutoscaler::desired_replicas() const { return Int32({"status", "desiredReplicas"}); }

}  // namespace herd::kube
