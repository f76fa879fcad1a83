// A KubeClient that passes every request on to another: tests derive from
// it and override only the requests they watch or change.
//
//   class CountingEvictions : public ForwardingClient {
//    public:
//     using ForwardingClient::ForwardingClient;
//     absl::Status Evict(absl::string_view ns, absl::string_view pod, const DeleteOptions& o) override {
//       ++evictions;
//       return ForwardingClient::Evict(ns, pod, o);
//     }
//     int evictions = 0;
//   };
#ifndef HERD_SERVER_KUBE_TESTING_FORWARDING_CLIENT_H_
#define HERD_SERVER_KUBE_TESTING_FORWARDING_CLIENT_H_

#include <memory>
#include <string>

#include "server/kube/client.h"

namespace herd::kube {

class ForwardingClient : public KubeClient {
 public:
  // `inner` must outlive this client.
  explicit ForwardingClient(KubeClient& inner) : inner_(inner) {}
  // Owns `inner`.
  explicit ForwardingClient(std::unique_ptr<KubeClient> inner) : owned_(std::move(inner)), inner_(*owned_) {}

  absl::StatusOr<Json> Get(const Resource& r, absl::string_view ns, absl::string_view name,
                           absl::string_view subresource) override {
    return inner_.Get(r, ns, name, subresource);
  }
  absl::StatusOr<ObjectList> List(const Resource& r, absl::string_view ns, const ListOptions& o) override {
    return inner_.List(r, ns, o);
  }
  absl::StatusOr<std::unique_ptr<WatchStream>> Watch(const Resource& r, absl::string_view ns,
                                                     const WatchOptions& o) override {
    return inner_.Watch(r, ns, o);
  }
  absl::StatusOr<Json> Create(const Resource& r, absl::string_view ns, const Json& object,
                              const WriteOptions& o) override {
    return inner_.Create(r, ns, object, o);
  }
  absl::StatusOr<Json> Update(const Resource& r, absl::string_view ns, const Json& object,
                              const WriteOptions& o) override {
    return inner_.Update(r, ns, object, o);
  }
  absl::StatusOr<Json> Patch(const Resource& r, absl::string_view ns, absl::string_view name, PatchType type,
                             absl::string_view patch, const WriteOptions& o) override {
    return inner_.Patch(r, ns, name, type, patch, o);
  }
  absl::StatusOr<Json> Delete(const Resource& r, absl::string_view ns, absl::string_view name,
                              const DeleteOptions& o) override {
    return inner_.Delete(r, ns, name, o);
  }
  absl::Status DeleteCollection(const Resource& r, absl::string_view ns, const ListOptions& selection,
                                const DeleteOptions& o) override {
    return inner_.DeleteCollection(r, ns, selection, o);
  }
  absl::Status Evict(absl::string_view ns, absl::string_view pod, const DeleteOptions& o) override {
    return inner_.Evict(ns, pod, o);
  }
  absl::StatusOr<Scale> GetScale(const Resource& r, absl::string_view ns, absl::string_view name) override {
    return inner_.GetScale(r, ns, name);
  }
  absl::StatusOr<Scale> UpdateScale(const Resource& r, absl::string_view ns, absl::string_view name, int32_t replicas,
                                    absl::string_view resource_version) override {
    return inner_.UpdateScale(r, ns, name, replicas, resource_version);
  }
  absl::StatusOr<std::string> Logs(absl::string_view ns, absl::string_view pod, const LogOptions& o) override {
    return inner_.Logs(ns, pod, o);
  }
  absl::StatusOr<std::unique_ptr<KubeClient>> Impersonate(const Impersonation& who) override {
    return inner_.Impersonate(who);
  }

 private:
  std::unique_ptr<KubeClient> owned_;  // before inner_: set first
  KubeClient& inner_;
};

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_TESTING_FORWARDING_CLIENT_H_
