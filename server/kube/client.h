// The Kubernetes API as herd uses it: an interface (KubeClient) with one
// real implementation over HTTP (rest_client.h), plus the options and result
// types of each verb. Objects are JSON (nlohmann::json) in the API's own
// shape; typed views over them live in types.h.
//
//   std::unique_ptr<KubeClient> kube = ...;   // see rest_client.h
//   auto deploy = kube->Get(kDeployments, "shop", "web");
//   if (!deploy.ok()) { if (IsNotFound(deploy.status())) ...; }
//   auto pods = kube->List(kPods, "shop", {.label_selector = "app=web"});
//   kube->Patch(kDeployments, "shop", "web", PatchType::kStrategicMerge,
//               R"({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}})");
//
// Every method is thread-safe. Errors are absl::Status values built by
// errors.h: the Kubernetes reason, HTTP code and Status object are kept.
#ifndef HERD_SERVER_KUBE_CLIENT_H_
#define HERD_SERVER_KUBE_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/kube/resource.h"

namespace herd::kube {

using Json = nlohmann::json;

struct ListOptions {
  std::string label_selector;  // "app=web,tier in (a,b)"
  std::string field_selector;  // "metadata.name=web"
  int64_t limit = 0;           // 0: no limit (one page)
  std::string continue_token;
  // "" (most recent, from storage), "0" (any, from the watch cache), or a version.
  std::string resource_version;
  absl::Duration timeout = absl::ZeroDuration();  // 0: the client default
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this version ("" or "0": from now, with ADDED events)
  bool allow_bookmarks = true;
  // Asks the server to end the stream after this long (timeoutSeconds).
  absl::Duration server_timeout = absl::Minutes(5);
};

struct WriteOptions {
  bool dry_run = false;                 // dryRun=All: validated, nothing stored
  std::string field_manager = "herd";   // fieldManager
  std::string subresource;              // e.g. "status", "scale"
};

struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json
  kJson,            // application/json-patch+json (RFC 6902)
};

struct ObjectList {
  std::string resource_version;
  std::string continue_token;
  std::optional<int64_t> remaining_item_count;
  std::vector<Json> items;  // each with apiVersion and kind filled in
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark };
  Type type;
  Json object;
};

// An open watch. Next() blocks; Cancel() may be called from any thread and
// makes a blocked Next() return CANCELLED at once.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event. OUT_OF_RANGE when the server ended the stream normally
  // (resume from the last version seen); an error event from the server
  // comes back as its status (410 Expired: IsGone()); CANCELLED after Cancel().
  virtual absl::StatusOr<WatchEvent> Next() = 0;
  virtual void Cancel() = 0;
};

struct Scale {
  int32_t replicas = 0;         // spec.replicas
  int32_t status_replicas = 0;  // status.replicas
  std::string selector;         // status.selector
  std::string resource_version;
};

// Whom requests act as (the Impersonate-User and Impersonate-Group
// headers): the cluster's RBAC decides, and its audit log names them.
struct Impersonation {
  std::string user;
  std::vector<std::string> groups;
};

// What GET pods/NAME/log returns.
struct LogOptions {
  std::string container;  // "" for a pod with one container
  bool previous = false;  // the run before the current one (a crash loop's last)
  int64_t tail_lines = 0;  // 0: all
  int64_t limit_bytes = 0;  // 0: no limit
};

class KubeClient {
 public:
  virtual ~KubeClient() = default;

  virtual absl::StatusOr<Json> Get(const Resource& r, absl::string_view ns, absl::string_view name,
                                   absl::string_view subresource = "") = 0;
  // All namespaces when `ns` is empty. One page: follow continue_token for more
  // (ListAll does it).
  virtual absl::StatusOr<ObjectList> List(const Resource& r, absl::string_view ns,
                                          const ListOptions& options = {}) = 0;
  virtual absl::StatusOr<std::unique_ptr<WatchStream>> Watch(const Resource& r, absl::string_view ns,
                                                             const WatchOptions& options = {}) = 0;
  virtual absl::StatusOr<Json> Create(const Resource& r, absl::string_view ns, const Json& object,
                                      const WriteOptions& options = {}) = 0;
  // PUT of the whole object; metadata.resourceVersion makes it conditional
  // (a mismatch is a Conflict, returned, not retried).
  virtual absl::StatusOr<Json> Update(const Resource& r, absl::string_view ns, const Json& object,
                                      const WriteOptions& options = {}) = 0;
  virtual absl::StatusOr<Json> Patch(const Resource& r, absl::string_view ns, absl::string_view name,
                                     PatchType type, absl::string_view patch,
                                     const WriteOptions& options = {}) = 0;
  // The object as the server returned it: still present with a
  // deletionTimestamp when deletion is graceful, or the final state.
  virtual absl::StatusOr<Json> Delete(const Resource& r, absl::string_view ns, absl::string_view name,
                                      const DeleteOptions& options = {}) = 0;
  virtual absl::Status DeleteCollection(const Resource& r, absl::string_view ns,
                                        const ListOptions& selection,
                                        const DeleteOptions& options = {}) = 0;
  // POST …/pods/NAME/eviction. A PodDisruptionBudget refusal is
  // RESOURCE_EXHAUSTED with reason TooManyRequests; DisruptionBudgetCause()
  // tells which budget.
  virtual absl::Status Evict(absl::string_view ns, absl::string_view pod,
                             const DeleteOptions& options = {}) = 0;
  virtual absl::StatusOr<Scale> GetScale(const Resource& r, absl::string_view ns, absl::string_view name) = 0;
  // Sets spec.replicas through the scale subresource; a non-empty
  // `resource_version` makes it conditional.
  virtual absl::StatusOr<Scale> UpdateScale(const Resource& r, absl::string_view ns, absl::string_view name,
                                            int32_t replicas, absl::string_view resource_version = "") = 0;

  // A container's log, as text (GET …/pods/NAME/log). Not every client
  // reads logs: the default answers UNIMPLEMENTED.
  virtual absl::StatusOr<std::string> Logs(absl::string_view ns, absl::string_view pod, const LogOptions& options);

  // A client whose requests act as `who`, sharing this one's connections
  // (this one must outlive it). Not every client impersonates: the default
  // answers UNIMPLEMENTED.
  virtual absl::StatusOr<std::unique_ptr<KubeClient>> Impersonate(const Impersonation& who);

  // Every page of a list, following continue tokens. `each` (may be empty)
  // sees every item as its page arrives, before the next page is asked
  // for: a cache that trims what it keeps never holds the list untrimmed.
  absl::StatusOr<ObjectList> ListAll(const Resource& r, absl::string_view ns, ListOptions options = {},
                                     const std::function<void(Json&)>& each = {});
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_CLIENT_H_
