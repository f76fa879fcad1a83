// Typed views over the JSON objects of the resources herd works with: the
// fields herd reads, with the API's defaults for absent ones, plus Api<T>
// for typed calls through a KubeClient.
//
//   Api<Deployment> deployments(client);
//   absl::StatusOr<Deployment> d = deployments.Get("shop", "web");
//   if (d.ok() && d->ProgressDeadlineExceeded()) { ... }
//
//   for (const ObjectPtr& p : pod_informer.List("shop", selector)) {
//     Pod pod(p);                        // shares the cached object, no copy
//     if (pod.FailureReason() == "CrashLoopBackOff") { ... }
//   }
//
// A view owns (a share of) an immutable object: cheap to copy, safe to keep,
// thread-safe to read. To change an object, copy json(), edit it, and
// build a new view (or send the JSON). Absent or mistyped fields read as
// their zero value or the API default, never throw.
#ifndef HERD_SERVER_KUBE_TYPES_H_
#define HERD_SERVER_KUBE_TYPES_H_

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/k8s/selector.h"
#include "server/kube/client.h"
#include "server/kube/resource.h"

namespace herd::kube {

// The same as informer.h's: views share objects with informer caches.
using ObjectPtr = std::shared_ptr<const Json>;

inline constexpr absl::string_view kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr absl::string_view kPodTemplateHashLabel = "pod-template-hash";

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  std::optional<absl::Time> last_transition_time;
  std::optional<absl::Time> last_update_time;
  bool IsTrue() const { return status == "True"; }
};

struct Container {
  std::string name;
  std::string image;
};

// The metadata every object has.
class Object {
 public:
  Object();  // an empty object
  explicit Object(Json json);
  explicit Object(ObjectPtr json);  // null is treated as empty

  const Json& json() const { return *json_; }
  const ObjectPtr& ptr() const { return json_; }

  std::string api_version() const;
  std::string kind() const;
  std::string name() const;
  std::string ns() const;
  std::string uid() const;
  std::string resource_version() const;
  int64_t generation() const;
  std::map<std::string, std::string> labels() const;
  std::map<std::string, std::string> annotations() const;
  // "" when absent.
  std::string label(absl::string_view key) const;
  std::string annotation(absl::string_view key) const;
  std::vector<OwnerReference> owner_references() const;
  // The owner reference with controller: true.
  std::optional<OwnerReference> controller_ref() const;
  std::optional<absl::Time> creation_timestamp() const;
  std::optional<absl::Time> deletion_timestamp() const;
  bool terminating() const { return deletion_timestamp().has_value(); }

 protected:
  // The value at a path of object keys, or null.
  const Json* At(std::initializer_list<const char*> path) const;
  std::string Str(std::initializer_list<const char*> path) const;
  int64_t Int(std::initializer_list<const char*> path, int64_t absent = 0) const;
  int32_t Int32(std::initializer_list<const char*> path, int32_t absent = 0) const;
  bool Bool(std::initializer_list<const char*> path, bool absent = false) const;
  std::optional<absl::Time> Time(std::initializer_list<const char*> path) const;
  // An int-or-string field as written ("25%", "1"); "" when absent.
  std::string IntOrString(std::initializer_list<const char*> path) const;
  std::vector<Condition> Conditions(std::initializer_list<const char*> path) const;
  std::vector<Container> Containers(std::initializer_list<const char*> path) const;

 private:
  ObjectPtr json_;
};

// apps/v1 Deployment.
class Deployment : public Object {
 public:
  static constexpr const Resource& kResource = kDeployments;
  using Object::Object;

  int32_t replicas() const;  // spec.replicas; 1 when absent
  const Json* selector() const;  // spec.selector (a metav1.LabelSelector), or null
  absl::StatusOr<k8s::LabelSelector> label_selector() const;
  std::vector<Container> containers() const;          // of the pod template
  std::map<std::string, std::string> images() const;  // container name → image
  std::string strategy_type() const;                  // "RollingUpdate" (default) or "Recreate"
  std::string max_surge() const;                      // "25%" by default
  std::string max_unavailable() const;                // "25%" by default
  int32_t progress_deadline_seconds() const;          // 600 by default
  bool paused() const;
  // deployment.kubernetes.io/revision; 0 when absent.
  int64_t revision() const;

  int64_t observed_generation() const;
  int32_t status_replicas() const;
  int32_t updated_replicas() const;
  int32_t ready_replicas() const;
  int32_t available_replicas() const;
  int32_t unavailable_replicas() const;
  std::vector<Condition> conditions() const;
  std::optional<Condition> condition(absl::string_view type) const;

  // Progressing is False with reason ProgressDeadlineExceeded.
  bool ProgressDeadlineExceeded() const;
  // kubectl rollout status's test: the controller saw this generation and
  // every replica is updated and available, with no old ones left.
  bool RolloutComplete() const;
};

// apps/v1 ReplicaSet.
class ReplicaSet : public Object {
 public:
  static constexpr const Resource& kResource = kReplicaSets;
  using Object::Object;

  int32_t replicas() const;  // 1 when absent
  std::string pod_template_hash() const;
  int64_t revision() const;  // deployment.kubernetes.io/revision; 0 when absent
  std::vector<Container> containers() const;
  std::map<std::string, std::string> images() const;
  int64_t observed_generation() const;
  int32_t status_replicas() const;
  int32_t ready_replicas() const;
  int32_t available_replicas() const;
};

// apps/v1 StatefulSet.
class StatefulSet : public Object {
 public:
  static constexpr const Resource& kResource = kStatefulSets;
  using Object::Object;

  int32_t replicas() const;  // 1 when absent
  absl::StatusOr<k8s::LabelSelector> label_selector() const;
  std::vector<Container> containers() const;
  std::map<std::string, std::string> images() const;
  std::string update_strategy_type() const;  // "RollingUpdate" (default) or "OnDelete"
  int32_t partition() const;                 // rollingUpdate.partition; 0 by default
  std::string pod_management_policy() const;  // "OrderedReady" (default) or "Parallel"

  int64_t observed_generation() const;
  int32_t status_replicas() const;
  int32_t ready_replicas() const;
  int32_t current_replicas() const;
  int32_t updated_replicas() const;
  int32_t available_replicas() const;
  std::string current_revision() const;
  std::string update_revision() const;
  // kubectl rollout status's test for RollingUpdate (with partitions).
  bool RolloutComplete() const;
};

struct ContainerStatus {
  std::string name;
  std::string image;
  bool ready = false;
  bool started = false;
  int32_t restart_count = 0;
  std::string waiting_reason;  // "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", …
  std::string waiting_message;
  std::string terminated_reason;  // of the current state
  std::optional<int32_t> exit_code;
  std::string last_terminated_reason;  // lastState.terminated.reason ("OOMKilled", "Error")
};

// core/v1 Pod.
class Pod : public Object {
 public:
  static constexpr const Resource& kResource = kPods;
  using Object::Object;

  std::string phase() const;  // "Pending", "Running", "Succeeded", "Failed", "Unknown"
  std::string node_name() const;
  std::string pod_ip() const;
  std::vector<Container> containers() const;
  std::optional<absl::Time> start_time() const;
  std::vector<Condition> conditions() const;
  // The Ready condition is True.
  bool ready() const;
  std::optional<Condition> ready_condition() const;
  std::vector<ContainerStatus> container_statuses() const;
  std::vector<ContainerStatus> init_container_statuses() const;
  int32_t restart_count() const;  // summed over containers
  // Succeeded or Failed: the pod will not run again.
  bool terminal() const;
  // The first waiting reason that means the pod will not become ready by
  // itself (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
  // InvalidImageName, CreateContainerConfigError, CreateContainerError,
  // RunContainerError), init containers first; "" when none.
  std::string FailureReason() const;
};

// policy/v1 PodDisruptionBudget.
class PodDisruptionBudget : public Object {
 public:
  static constexpr const Resource& kResource = kPodDisruptionBudgets;
  using Object::Object;

  std::string min_available() const;    // "" when unset
  std::string max_unavailable() const;  // "" when unset
  absl::StatusOr<k8s::LabelSelector> label_selector() const;
  int32_t current_healthy() const;
  int32_t desired_healthy() const;
  int32_t disruptions_allowed() const;
  int32_t expected_pods() const;
  int64_t observed_generation() const;
};

struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
};

// batch/v1 CronJob.
class CronJob : public Object {
 public:
  static constexpr const Resource& kResource = kCronJobs;
  using Object::Object;

  std::string schedule() const;
  std::string time_zone() const;
  bool suspend() const;
  std::string concurrency_policy() const;  // "Allow" by default
  const Json* job_template() const;        // spec.jobTemplate, or null
  std::vector<ObjectReference> active() const;
  std::optional<absl::Time> last_schedule_time() const;
  std::optional<absl::Time> last_successful_time() const;
};

// batch/v1 Job.
class Job : public Object {
 public:
  static constexpr const Resource& kResource = kJobs;
  using Object::Object;

  int32_t parallelism() const;  // 1 by default
  int32_t completions() const;  // 1 by default
  int32_t active() const;
  int32_t succeeded() const;
  int32_t failed() const;
  std::optional<absl::Time> start_time() const;
  std::optional<absl::Time> completion_time() const;
  std::vector<Condition> conditions() const;
  bool complete() const;  // condition Complete is True
  bool failed_condition() const;  // condition Failed is True
  bool finished() const { return complete() || failed_condition(); }
};

// coordination.k8s.io/v1 Lease.
class Lease : public Object {
 public:
  static constexpr const Resource& kResource = kLeases;
  using Object::Object;

  std::string holder_identity() const;
  int32_t lease_duration_seconds() const;
  std::optional<absl::Time> acquire_time() const;
  std::optional<absl::Time> renew_time() const;
  int32_t lease_transitions() const;
  // Held by someone and renewed less than lease_duration before `now`.
  bool HeldAt(absl::Time now) const;
};

// autoscaling/v2 HorizontalPodAutoscaler.
class HorizontalPodAutoscaler : public Object {
 public:
  static constexpr const Resource& kResource = kHorizontalPodAutoscalers;
  using Object::Object;

  int32_t min_replicas() const;  // 1 by default
  int32_t max_replicas() const;
  std::string target_kind() const;  // spec.scaleTargetRef
  std::string target_name() const;
  int32_t current_replicas() const;
  int32_t desired_replicas() const;
};

// Typed calls for one resource type. Thread-safe as the client is; the
// client must outlive it.
template <class T>
class Api {
 public:
  explicit Api(KubeClient& client) : client_(client) {}

  absl::StatusOr<T> Get(absl::string_view ns, absl::string_view name) const {
    return Wrap(client_.Get(T::kResource, ns, name));
  }
  // Every page.
  absl::StatusOr<std::vector<T>> List(absl::string_view ns, ListOptions options = {}) const {
    absl::StatusOr<ObjectList> list = client_.ListAll(T::kResource, ns, std::move(options));
    if (!list.ok()) return list.status();
    std::vector<T> out;
    out.reserve(list->items.size());
    for (Json& item : list->items) out.emplace_back(std::move(item));
    return out;
  }
  // In the object's own namespace.
  absl::StatusOr<T> Create(const T& object, const WriteOptions& options = {}) const {
    return Wrap(client_.Create(T::kResource, object.ns(), object.json(), options));
  }
  absl::StatusOr<T> Update(const T& object, const WriteOptions& options = {}) const {
    return Wrap(client_.Update(T::kResource, object.ns(), object.json(), options));
  }
  absl::StatusOr<T> Patch(absl::string_view ns, absl::string_view name, PatchType type, absl::string_view patch,
                          const WriteOptions& options = {}) const {
    return Wrap(client_.Patch(T::kResource, ns, name, type, patch, options));
  }
  absl::Status Delete(absl::string_view ns, absl::string_view name, const DeleteOptions& options = {}) const {
    return client_.Delete(T::kResource, ns, name, options).status();
  }

 private:
  static absl::StatusOr<T> Wrap(absl::StatusOr<Json> j) {
    if (!j.ok()) return j.status();
    return T(*std::move(j));
  }
  KubeClient& client_;
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_TYPES_H_
